# SPDX-License-Identifier: GPL-2.0
#
# Non-regression against upstream: the kernel's own IPVS selftest
# (tools/testing/selftests/net/netfilter/ipvs.sh: DR, NAT and TUN through
# IPVS across namespaces), unmodified, from the kernel source we build, run
# (a) with stock IPVS, (b) with ip_vs_sync_auth loaded and a sync key set in
# every namespace -- the init namespace and each one the selftest creates,
# set by an `ip` shim as the selftest creates it, before it uses it (each
# instance of a name the selftest deletes and creates again included,
# checked against what it created) --
# and (c) with the IPsec gate active.
# A failure in (b) or (c) that (a) does not show is ours.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

SELFTEST="$KSRC/tools/testing/selftests/net/netfilter/ipvs.sh"
[ -f "$SELFTEST" ] || skip "no $SELFTEST in the kernel source"
load_ip_vs
modprobe ipip 2>/dev/null

# Under TCG the guest runs many times slower than the hardware the
# selftest's fixed waits were written for: its `sleep 0.2` between starting
# the listener (ip netns exec + timeout + socat) and connecting is too
# short, and DR/TUN fail with "Connection refused" even on stock IPVS. The
# script stays unmodified; a `sleep` and a `timeout` first on its PATH
# stretch every fixed wait and time limit by $SLEEP_SCALE (time dilation),
# and nothing else changes. Both, because a longer wait alone would outlast
# the listener's `timeout 5`. The KASAN guest is ten times slower again
# (IPVS_AUTH_TIME_SCALE): there a factor of 10 still left "Connection
# refused" on stock IPVS (2026-12-03, while udev still ran in that guest
# and a process start took 5 s; 1.8 s without it, see
# Documentation/development.rst). The factor is capped at 100 (the
# listener's three process starts get 20 s): `ts 10` is 300 there, and the
# selftest's 3.6 s of fixed waits per run would be 54 of the test's
# minutes.
SLEEP_SCALE=${SLEEP_SCALE:-$(ts 10)}
[ "$SLEEP_SCALE" -le 100 ] || SLEEP_SCALE=100
shims="$IPVS_AUTH_OUT/tcg-shims"
mkdir -p "$shims"
cat >"$shims/sleep" <<SHIM
#!/bin/sh
exec /bin/sleep \$(awk -v s="\$1" 'BEGIN { print s * $SLEEP_SCALE }')
SHIM
# The selftest calls `timeout SECONDS COMMAND...` only.
cat >"$shims/timeout" <<SHIM
#!/bin/sh
t=\$(awk -v s="\$1" 'BEGIN { print s * $SLEEP_SCALE }')
shift
exec /usr/bin/timeout "\$t" "\$@"
SHIM
# And an `ip` that logs every namespace the selftest creates (it creates
# and deletes the same names once per mode), so that "in every namespace"
# can be checked against what was created, instance by instance. With
# NETNS_DO set ((b), (c)), it runs that shell command in each new
# namespace before the selftest gets to use it, and logs the instance's
# netns cookie to $NETNS_DONE if it succeeded and NETNS_CHECK then holds.
IP=$(command -v ip)
cat >"$shims/ip" <<SHIM
#!/bin/sh
[ "\$1" = netns ] && [ "\$2" = add ] || exec $IP "\$@"
echo "\$3" >>"\$NETNS_LOG"
$IP "\$@" || exit
if [ -n "\${NETNS_DO:-}" ] &&
	cookie=\$($IP netns exec "\$3" sh -c "\$NETNS_DO && \$NETNS_CHECK && \$COOKIE" 2>/dev/null); then
	echo "\$3 \$cookie" >>"\$NETNS_DONE"
fi
exit 0
SHIM
chmod +x "$shims/sleep" "$shims/timeout" "$shims/ip"

run_selftest() {
	label=$1
	: >"$IPVS_AUTH_OUT/created-namespaces-$label"
	(cd "$(dirname "$SELFTEST")" && NETNS_LOG="$IPVS_AUTH_OUT/created-namespaces-$label" \
		PATH="$shims:$PATH" bash ./ipvs.sh) >"$IPVS_AUTH_OUT/ipvs-selftest-$label.log" 2>&1
	rc=$?
	sed "s/^/[$label] /" "$IPVS_AUTH_OUT/ipvs-selftest-$label.log"
	return $rc
}

# (a) stock
unload_module
run_selftest stock
rc=$?
[ "$rc" = 4 ] && skip "the upstream selftest skipped itself: $(tail -n 1 "$IPVS_AUTH_OUT/ipvs-selftest-stock.log")"
[ "$rc" = 0 ] || fail "the upstream IPVS selftest fails even without our module (exit $rc)"
info "(a) stock IPVS: upstream selftest passes"

# The instance's netns cookie (SO_NETNS_COOKIE, never reused), logged by
# the ip shim where NETNS_DO succeeded and NETNS_CHECK holds.
COOKIE="/usr/bin/python3 -c 'import socket; print(int.from_bytes(socket.socket().getsockopt(socket.SOL_SOCKET, 71, 8), \"little\"))'"

# Runs the selftest as $1 with the shell command $3 run by the ip shim in
# each namespace as the selftest creates it, before the selftest uses it,
# and the shell command $2 checked there after it (the watcher that did
# this while the selftest ran could reach an instance late or, on a slow
# guest, not before the selftest deleted it); sets rc (the selftest's exit
# status) and n (how many namespace instances it reached), and fails
# unless it reached each instance the selftest created: as many times per
# name as the name was created.
selftest_watched() {
	local label=$1 created
	done_file="$IPVS_AUTH_OUT/watched-namespaces-$label"
	: >"$done_file"
	NETNS_CHECK=$2 NETNS_DO=$3 NETNS_DONE=$done_file
	export NETNS_CHECK NETNS_DO NETNS_DONE COOKIE
	run_selftest "$label"
	rc=$?
	unset NETNS_DO
	created=$IPVS_AUTH_OUT/created-namespaces-$label
	[ -s "$created" ] || fail "($label) the selftest created no namespace we saw"
	sort "$created" | uniq -c >"$created.count"
	# Only the selftest's namespaces count here (a leftover of another
	# test is not this test's business).
	sort -u "$created" >"$created.names"
	sort -u "$done_file" | awk '{ print $1 }' | grep -Fx -f "$created.names" | uniq -c >"$done_file.count"
	if ! cmp -s "$created.count" "$done_file.count"; then
		diff "$created.count" "$done_file.count"
		fail "($label) namespaces created (left) and reached by the ip shim (right) differ"
	fi
	n=$(awk '{ s += $1 } END { print s + 0 }' "$done_file.count")
}

# (b) module loaded, key set everywhere
load_module
$SYNCAUTH key set tot0234 || fail "cannot set the key"
# Checked in each namespace once the key is set (no Python).
KEYED="grep -qx 'enabled: 1' /proc/net/ip_vs_sync_auth"
selftest_watched module "$KEYED" "$SYNCAUTH key set tot0234"
info "(b) keys were set in all $n namespaces the selftest created while it ran"
[ "$rc" = 0 ] || fail "the upstream IPVS selftest fails with ip_vs_sync_auth loaded and keyed (exit $rc)"
info "(b) ip_vs_sync_auth loaded and keyed: upstream selftest passes"

# (c) the IPsec gate active for the selftest's virtual address, in NAT mode
# (so both the LOCAL_IN gate and the FORWARD cookie-learning hook run on
# its traffic), in every namespace, keys still set.
VIP_SELFTEST=207.175.44.110
$IPSEC add "$VIP_SELFTEST" --nat || fail "cannot gate $VIP_SELFTEST"
selftest_watched gate "$KEYED && grep -q '^service: $VIP_SELFTEST nat ' /proc/net/ip_vs_ipsec" \
	"$SYNCAUTH key set tot0234 && $IPSEC add $VIP_SELFTEST --nat"
info "(c) the gate was active in all $n namespaces the selftest created while it ran"
[ "$rc" = 0 ] || fail "the upstream IPVS selftest fails with the IPsec gate active (exit $rc)"
$IPSEC flush
info "(c) IPsec gate active: upstream selftest passes"
