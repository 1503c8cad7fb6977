# SPDX-License-Identifier: GPL-2.0
#
# Non-regression against upstream: the kernel's own IPVS selftest
# (tools/testing/selftests/net/netfilter/ipvs.sh: DR, NAT and TUN through
# IPVS across namespaces), unmodified, from the kernel source we build, run
# (a) with stock IPVS, (b) with ip_vs_sync_auth loaded and a sync key set in
# every namespace -- the init namespace and each one the selftest creates,
# set by a watcher as they appear -- and (c) with the IPsec gate active.
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
# refused" on stock IPVS.
SLEEP_SCALE=${SLEEP_SCALE:-$(ts 10)}
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
chmod +x "$shims/sleep" "$shims/timeout"

run_selftest() {
	label=$1
	(cd "$(dirname "$SELFTEST")" && PATH="$shims:$PATH" bash ./ipvs.sh) \
		>"$IPVS_AUTH_OUT/ipvs-selftest-$label.log" 2>&1
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

# Runs "$@" in every network namespace as it appears, until killed; logs
# the namespaces where it succeeded to $done_file.
watch_namespaces() {
	while :; do
		for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
			grep -qx "$ns" "$done_file" && continue
			if ip netns exec "$ns" "$@" 2>/dev/null; then
				echo "$ns" >>"$done_file"
			fi
		done
		sleep 0.2
	done
}

# Runs the selftest as $1 while watch_namespaces runs the other arguments
# in each of its namespaces; sets rc (the selftest's exit status) and n
# (how many namespaces the command reached).
selftest_watched() {
	local label=$1 watcher
	shift
	done_file="$IPVS_AUTH_OUT/watched-namespaces-$label"
	: >"$done_file"
	watch_namespaces "$@" &
	watcher=$!
	run_selftest "$label"
	rc=$?
	kill "$watcher"
	n=$(wc -l <"$done_file")
}

# (b) module loaded, key set everywhere
load_module
$SYNCAUTH key set tot0234 || fail "cannot set the key"
selftest_watched module $SYNCAUTH key set tot0234
info "(b) keys were set in $n selftest namespaces while it ran"
[ "$rc" = 0 ] || fail "the upstream IPVS selftest fails with ip_vs_sync_auth loaded and keyed (exit $rc)"
[ "$n" -gt 0 ] || fail "the watcher set no key in the selftest's namespaces"
info "(b) ip_vs_sync_auth loaded and keyed: upstream selftest passes"

# (c) the IPsec gate active for the selftest's virtual address, in NAT mode
# (so both the LOCAL_IN gate and the FORWARD cookie-learning hook run on
# its traffic), in every namespace, keys still set.
VIP_SELFTEST=207.175.44.110
$IPSEC add "$VIP_SELFTEST" --nat || fail "cannot gate $VIP_SELFTEST"
selftest_watched gate sh -c "$SYNCAUTH key set tot0234 && $IPSEC add $VIP_SELFTEST --nat"
info "(c) the gate was active in $n selftest namespaces while it ran"
[ "$rc" = 0 ] || fail "the upstream IPVS selftest fails with the IPsec gate active (exit $rc)"
[ "$n" -gt 0 ] || fail "the watcher gated no selftest namespace"
$IPSEC flush
info "(c) IPsec gate active: upstream selftest passes"
