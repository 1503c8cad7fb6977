#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Output that survives redirection. QEMU used to write the guest's stdout
# and stderr through chardevs that it opened as files at /proc/self/fd/1
# and /proc/self/fd/2, with O_TRUNC and at offset 0: `make demo > log` left
# a log starting mid-line inside the guest's output, everything before it
# (set-up, build) gone. And the demo's background helpers printed stray
# "Terminated" lines. Checks, on the host:
#
#   1. qemu/run.sh with both streams appended to one file that already
#      holds a line: that line stays first, every guest line of either
#      stream is there once and in its stream's order, and a line the host
#      writes afterwards comes last;
#   2. `make demo > log 2> err`: log starts with the host's first output
#      (the module's path, from the build), then the guest's, and holds the
#      demo's first and last sections in order; err starts with the set-up's
#      lines; neither has a "Terminated" line.
#
#   scripts/test-output.sh      (make check-deploy runs it)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
out=${IPVS_AUTH_OUT:-$top/out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
failed=0
ok() { echo "PASS  output: $*"; }
ko() {
	echo "FAIL  output: $*"
	failed=1
}

# 1. Both streams into one file opened for appending.
guest="$out/output-guest.sh"
cat >"$guest" <<'EOF'
i=1
while [ $i -le 20 ]; do
	echo "guest stdout $i"
	echo "guest stderr $i" >&2
	i=$((i + 1))
done
EOF
log="$out/output-run.log"
echo "host line before the guest" >"$log"
"$top/qemu/run.sh" "$guest" >>"$log" 2>&1
rc=$?
echo "host line after the guest" >>"$log"
problems=""
[ "$rc" = 0 ] || problems="$problems run.sh exited $rc;"
[ "$(head -n 1 "$log")" = "host line before the guest" ] || problems="$problems first line is '$(head -n 1 "$log")';"
[ "$(tail -n 1 "$log")" = "host line after the guest" ] || problems="$problems last line is '$(tail -n 1 "$log")';"
for s in stdout stderr; do
	want=$(seq -f "guest $s %g" 1 20)
	got=$(grep "^guest $s " "$log")
	[ "$got" = "$want" ] || problems="$problems guest $s lines missing, repeated or out of order;"
done
if [ -z "$problems" ]; then
	ok "run.sh >>log 2>&1: the host's lines first and last, 20 + 20 guest lines in order"
else
	cat "$log"
	ko "run.sh >>log 2>&1:$problems"
fi

# 2. make demo > log 2> err.
log="$out/output-demo.log"
err="$out/output-demo.err"
t0=$(date +%s)
make -s -C "$top" demo >"$log" 2>"$err"
rc=$?
problems=""
[ "$rc" = 0 ] || problems="$problems make demo exited $rc;"
[ "$(head -n 1 "$log")" = "$top/src/ip_vs_sync_auth.ko" ] ||
	problems="$problems log starts with '$(head -n 1 "$log")', not the build's module path;"
first=$(grep -n -m1 '^ip_vs_sync_auth: loaded' "$log" | cut -d: -f1)
a=$(grep -n -m1 '>>> Director A: virtual service' "$log" | cut -d: -f1)
z=$(grep -n -m1 '>>> Director: the gate (/proc/net/ip_vs_ipsec)' "$log" | cut -d: -f1)
if [ -z "$first" ] || [ -z "$a" ] || [ -z "$z" ]; then
	problems="$problems demo sections missing (loaded: ${first:-none}, first: ${a:-none}, last: ${z:-none});"
elif ! [ "$first" = 2 ] || ! [ "$a" -gt "$first" ] || ! [ "$z" -gt "$a" ]; then
	problems="$problems demo sections out of order ($first, $a, $z);"
fi
case $(head -n 1 "$err") in
"[ip_vs_sync_auth] "*) ;;
*) problems="$problems err starts with '$(head -n 1 "$err")', not the set-up's lines;" ;;
esac
if grep -n 'Terminated' "$log" "$err"; then
	problems="$problems 'Terminated' in the output;"
fi
if [ -z "$problems" ]; then
	ok "make demo >log 2>err: log begins with the build's output, then the guest's; err with the set-up's; no 'Terminated' ($(($(date +%s) - t0)) s)"
else
	head -n 5 "$log"
	head -n 5 "$err"
	ko "make demo >log 2>err:$problems"
fi
[ "$failed" = 0 ]
