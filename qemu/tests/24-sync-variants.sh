# SPDX-License-Identifier: GPL-2.0
#
# Authenticated sync in the other configurations IPVS supports: two sync
# threads (sync_ports=2, one stream per thread and port), an IPv6 sync
# group, and the legacy v0 message format (sync_version=0). In each, the
# master signs and the backup verifies (counters), nothing is dropped.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

N=${N:-50}
load_module

# run_case NAME SETUP-FUNCTION DAEMON-ARGS...
run_case() {
	name=$1
	setup=$2
	shift 2
	SUFFIX=$name$$
	. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"
	trap topology_cleanup EXIT
	topology_setup
	$setup
	nsx "$NS_DIRA" $SYNCAUTH key set tot0234 || fail "$name: cannot set the master's key"
	nsx "$NS_DIRB" $SYNCAUTH key set tot0234 || fail "$name: cannot set the backup's key"
	start_sync "$@"
	make_connections "$N"
	wait_backup_conns "$N" 20 || fail "$name: backup shows $(conn_count "$NS_DIRB") of $N connections"
	for c in rx_drop_malformed rx_drop_bad_ttl rx_drop_bad_header rx_drop_replay rx_drop_bad_icv; do
		expect_counter "$NS_DIRB" "$c" 0
	done
	expect_counter "$NS_DIRA" tx_error 0
	# Synced and not dropped is not yet authenticated: plaintext sync
	# that the module never saw would pass the checks above. The master
	# must have signed and the backup verified what was applied (read in
	# this order, accepted <= signed holds while the master goes on).
	accepted=$(counter "$NS_DIRB" rx_accepted)
	signed=$(counter "$NS_DIRA" tx_signed)
	[ "$signed" -gt 0 ] || fail "$name: the master signed no message"
	[ "$accepted" -gt 0 ] || fail "$name: the backup accepted no authenticated message"
	[ "$accepted" -le "$signed" ] || fail "$name: $accepted messages accepted, only $signed signed"
	info "$name: $N connections synced, $signed messages signed, $accepted accepted, no drops"
	check_$name
	topology_cleanup
	trap - EXIT
}

setup_ports2() {
	nsx "$NS_DIRA" sysctl -qw net.ipv4.vs.sync_ports=2
	nsx "$NS_DIRB" sysctl -qw net.ipv4.vs.sync_ports=2
}
check_ports2() {
	# The master numbers both threads' messages from one counter: one
	# replay stream (the SyncID), every message of both threads accepted
	# (no replay drop, checked above) although they may overtake.
	streams=$(counter "$NS_DIRB" streams)
	[ "$streams" = 1 ] || fail "ports2: backup holds $streams streams, expected 1 (the SyncID)"
}

setup_ipv6() {
	nsx "$NS_DIRA" ip -6 addr add fd00:3::1/64 dev "$SYNC_IF_A" nodad
	nsx "$NS_DIRB" ip -6 addr add fd00:3::2/64 dev "$SYNC_IF_B" nodad
}
check_ipv6() {
	nsx "$NS_DIRB" ipvsadm -L --daemon | grep -q 'group=ff02::8848' || fail "ipv6: daemon not on the IPv6 group"
}

setup_v0() {
	nsx "$NS_DIRA" sysctl -qw net.ipv4.vs.sync_version=0
}
check_v0() {
	capture_sync "$IPVS_AUTH_OUT/v0.bin" || fail "v0: nothing captured"
	desc=$(/usr/bin/python3 "$IPVS_AUTH_TOP/qemu/tools/syncauth.py" inspect --file "$IPVS_AUTH_OUT/v0.bin")
	info "v0: on the wire: $desc"
	case "$desc" in
	"ttl=255 layout=v0 "*) ;;
	*) fail "v0: expected a v0 message with TTL 255 on the wire" ;;
	esac
}

run_case ports2 setup_ports2
run_case ipv6 setup_ipv6 --mcast-group ff02::8848
run_case v0 setup_v0
