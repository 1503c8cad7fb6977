# SPDX-License-Identifier: GPL-2.0
#
# Guest script: runs every qemu/tests/*.sh (or those named as arguments),
# each in its own shell, and reports KTAP-style lines the host counts:
#   ok N name | not ok N name | ok N name # SKIP reason
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

if [ $# -gt 0 ]; then
	tests="$*"
else
	tests=$(ls "$IPVS_AUTH_TOP"/qemu/tests/*.sh)
fi
n=0
for t in $tests; do
	n=$((n + 1))
done
echo "TAP version 13"
echo "1..$n"
i=0
failed=0
for t in $tests; do
	i=$((i + 1))
	name=$(basename "$t" .sh)
	log="$IPVS_AUTH_OUT/test-$name.log"
	SUFFIX=$i sh "$t" >"$log" 2>&1
	rc=$?
	sed 's/^/    /' "$log"
	case $rc in
	0) echo "ok $i $name" ;;
	4) echo "ok $i $name # SKIP $(grep -m1 '^# SKIP:' "$log" | sed 's/^# SKIP: //')" ;;
	*)
		echo "not ok $i $name (exit $rc)"
		failed=$((failed + 1))
		;;
	esac
	# A test must leave no module or namespace behind for the next one.
	unload_module >/dev/null 2>&1
done
[ "$failed" = 0 ]
