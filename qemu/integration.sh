# SPDX-License-Identifier: GPL-2.0
#
# Guest script: runs every qemu/tests/*.sh (or those named as arguments,
# or listed one a line in the file after --plan), each in its own shell,
# and reports KTAP-style lines the host counts:
#   ok N name | not ok N name | ok N name # SKIP reason
# and, before each verdict, "# name: N s" (its run time). make check
# passes its plan as a file: the guest's command travels on the kernel
# command line, which holds 2048 bytes.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

if [ "${1:-}" = --plan ]; then
	tests=$(cat "$2") || exit 1
elif [ $# -gt 0 ]; then
	tests="$*"
else
	tests=$(ls "$IPVS_AUTH_TOP"/qemu/tests/*.sh)
fi
# Results also go to a file on the shared directory: the host reads that,
# so that a lost console cannot lose a verdict.
TAP="$IPVS_AUTH_OUT/integration.tap"
: >"$TAP"
emit() {
	echo "$*"
	echo "$*" >>"$TAP"
}

n=0
for t in $tests; do
	n=$((n + 1))
done
emit "TAP version 13"
emit "1..$n"
i=0
failed=0
for t in $tests; do
	i=$((i + 1))
	name=$(basename "$t" .sh)
	log="$IPVS_AUTH_OUT/test-$name.log"
	t0=$(date +%s)
	SUFFIX=$i sh "$t" >"$log" 2>&1
	rc=$?
	sed 's/^/    /' "$log"
	# Diagnostic line (KTAP "#"): how long each test takes on this kernel.
	emit "# $name: $(($(date +%s) - t0)) s"
	case $rc in
	0) emit "ok $i $name" ;;
	4) emit "ok $i $name # SKIP $(grep -m1 '^# SKIP:' "$log" | sed 's/^# SKIP: //')" ;;
	*)
		emit "not ok $i $name (exit $rc)"
		failed=$((failed + 1))
		;;
	esac
	# A test must leave no module or namespace behind for the next one.
	unload_module >/dev/null 2>&1
done
[ "$failed" = 0 ]
