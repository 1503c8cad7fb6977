# SPDX-License-Identifier: GPL-2.0
#
# Lifecycle under ESP load (hardening): the module is unloaded three times
# while a client streams ESP through a gated, established service (lockless
# lookups in softirq, the collector's delayed work, live entries), loaded
# again and the address re-gated; then the director's namespace is deleted
# with live gate entries while ESP still flows, and the module unloaded.
# "While ESP flows" is checked: the gate has passed the stream's ESP and
# the stream still runs before each unload and the deletion.
# During each unload a second client, which never sent ISAKMP, also
# streams ESP at the address: each of its packets takes the gate's miss
# path, which asks the sync state whether a synced flow may fail over
# (SyncNet::authenticated). Until 2026-12-04 the module dropped the sync
# state's registration before the gate's, so for a moment in every unload
# the gate's hooks read the sync state's per-namespace slot after the
# kernel had freed it (a use-after-free only KASAN shows: make check-kasan
# TESTS=46).
# Every step must succeed; the kernel log must stay clean (also checked,
# with kmemleak on the debug kernel, by 99-kernel-log).
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

ipsec_test_begin dr

establish() {
	ipsec_establish "$NS_CL1" 3333333333333333 >/dev/null
	expect_gate_counter established 1
}
# Waited for by condition, not by a fixed sleep: the gate passes the
# stream's ESP, and the stream is still running. The stream runs until the
# test stops it (its stop file), at most 120 s: a flood that ends on its own
# could end before a starved guest (one CPU, the flood on it) polls once.
esp_flowing() {
	[ "$(gate_counter esp_pass)" -gt 0 ]
}
wait_esp_flowing() {
	wait_for "$(ts 10)" esp_flowing || fail "ESP is not flowing through the entry ($1)"
	kill -0 "$stream" 2>/dev/null || fail "the ESP stream ended too early ($1)"
}
stop=$(mktemp -u /tmp/esp-stream-stop.XXXXXX)
miss_stop=$(mktemp -u /tmp/esp-miss-stop.XXXXXX)
# ESP from client 2, which has no entry: the gate's miss path.
start_miss_stream() {
	rm -f "$miss_stop"
	nsx "$NS_CL2" nice -n 10 $IKEESP esp-stream --dst "$VIP" --spi "$1" --seconds "$(ts 120)" \
		--stop-file "$miss_stop" >/dev/null &
	miss=$!
}
misses_counted() {
	[ "$(gate_counter esp_no_entry)" -gt "$miss_base" ]
}
start_stream() {
	rm -f "$stop"
	# nice 10: see 26-module-reload.
	nsx "$NS_CL1" nice -n 10 $IKEESP esp-stream --dst "$VIP" --spi "$1" --seconds "$(ts 120)" \
		--stop-file "$stop" >/dev/null &
	stream=$!
}

for round in 1 2 3; do
	establish
	miss_base=$(gate_counter esp_no_entry)
	start_stream 77
	start_miss_stream 177
	wait_esp_flowing "round $round, before the unload"
	wait_for "$(ts 10)" misses_counted ||
		fail "client 2's ESP does not reach the gate's miss path (round $round)"
	kill -0 "$miss" 2>/dev/null || fail "client 2's ESP stream ended too early (round $round)"
	rmmod ip_vs_sync_auth || fail "rmmod under ESP traffic failed (round $round)"
	[ -e /proc/net/ip_vs_ipsec ] && fail "/proc/net/ip_vs_ipsec left behind (round $round)"
	sleep 1
	insmod "$IPVS_AUTH_KO" || fail "insmod under ESP traffic failed (round $round)"
	nsx "$NS_DIR" $IPSEC add "$VIP" || fail "cannot gate again (round $round)"
	# The reload brought the knobs back to their defaults: the next
	# establish's INITIAL entry must outlive a client tool run (ts 30, as
	# ipsec_service set it; the default 30 s does not on KASAN).
	nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_initial_timeout="$(ts 30)" ||
		fail "cannot set ipsec_initial_timeout (round $round)"
	# The stream runs on into the fresh gate, which rejects it: one ICMP
	# per packet, until the director's global ICMP limit
	# (net.ipv4.icmp_msgs_per_sec) runs dry. Probe once the stream is over
	# and the limit has refilled, or the probe's ICMP may be the one
	# suppressed (seen once in CI: "silence").
	sleep 1
	kill -0 "$stream" 2>/dev/null || fail "the ESP stream ended before the reload was over (round $round)"
	kill -0 "$miss" 2>/dev/null || fail "client 2's ESP stream ended before the reload was over (round $round)"
	touch "$stop" "$miss_stop"
	wait "$stream" || fail "the ESP stream failed (round $round)"
	wait "$miss" || fail "client 2's ESP stream failed (round $round)"
	[ "$(gate_counter esp_pass)" = 0 ] || fail "the reloaded gate passed ESP without an entry (round $round)"
	# A fresh gate: the client has no entry any more, so its ESP is
	# answered with ICMP. Probed until it is (bounded), not after a fixed
	# sleep: the limit refills at its own pace.
	if ! wait_for "$(ts 10)" nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1009 --expect icmp --wait 1; then
		info "esp_no_entry $(gate_counter esp_no_entry), esp_pass $(gate_counter esp_pass)"
		nsx "$NS_DIR" grep '^Icmp:' /proc/net/snmp
		fail "the reloaded gate does not reject ESP without an entry (round $round)"
	fi
done
info "3 unloads while ESP flowed through an established entry and ESP without one took the miss path; reloaded gate active each time"

establish
start_stream 78
wait_esp_flowing "before the namespace is deleted"
ip netns del "$NS_DIR" || fail "cannot delete the director's namespace"
sleep 1
kill -0 "$stream" 2>/dev/null || fail "the ESP stream ended before the namespace was gone"
touch "$stop"
wait "$stream" || fail "the ESP stream failed"
rm -f "$stop" "$miss_stop"
sleep 1
rmmod ip_vs_sync_auth || fail "rmmod after deleting a namespace with live gate state failed"
info "director namespace deleted with live entries under ESP; module unloaded"
if dmesg | grep -E 'BUG:|WARNING:|Oops|refcount_t:|general protection|list_del corruption|KASAN'; then
	fail "the kernel reported a problem"
fi
