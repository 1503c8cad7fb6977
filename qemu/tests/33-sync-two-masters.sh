# SPDX-License-Identifier: GPL-2.0
#
# Two masters in one group, each with two sync threads, and an attacker
# trying to fill the backup's replay state so that a new master is locked
# out.
#
# dira (SyncID 150) and dirc (SyncID 151) are masters on the same sync LAN
# and group, with sync_ports 2; dirb is a backup of both (SyncID 0). The
# backup keeps one replay stream per SyncID, which the ICV covers, and a
# window for the messages of a master's threads that overtake each other.
#
#   1. dira syncs alone; then the attacker (atk) sends every datagram it
#      recorded again from 70 addresses (spoofed, raw socket) to four ports,
#      and forged messages (wrong key) for 200 SyncIDs. None creates state.
#   2. dirc, a master the backup has never heard, starts after that: its
#      connections reach the backup (no rx_drop_no_stream), and so do
#      dira's, every one of both, with no replay drop.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
SYNC_LAN=bridge
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

KEY=two-masters-key
N=200
NS_DIRC=dirc-$SUFFIX
load_module
cleanup() {
	topology_cleanup
	ip netns del "$NS_DIRC" 2>/dev/null
	return 0
}
trap cleanup EXIT
topology_setup
udp_service 600

# dirc: a second director on the sync LAN (10.0.3.3), with a UDP service
# 10.0.5.1:5353 that the client reaches over its own link (10.0.5.2).
ip netns add "$NS_DIRC" || fail "cannot create $NS_DIRC"
nsx "$NS_DIRC" ip link set lo up
ip link add sync0 netns "$NS_DIRC" type veth peer name pd netns "$NS_LAN"
nsx "$NS_LAN" ip link set pd master br0 up
ip link add c1 netns "$NS_CLIENT" type veth peer name cc0 netns "$NS_DIRC"
nsx "$NS_DIRC" ip addr add 10.0.3.3/24 dev sync0
nsx "$NS_DIRC" ip addr add 10.0.5.1/24 dev cc0
nsx "$NS_CLIENT" ip addr add 10.0.5.2/24 dev c1
nsx "$NS_DIRC" ip link set sync0 up
nsx "$NS_DIRC" ip link set cc0 up
nsx "$NS_CLIENT" ip link set c1 up
nsx "$NS_DIRC" ip route add 224.0.0.0/4 dev sync0
nsx "$NS_DIRC" ipvsadm -A -u 10.0.5.1:5353 -s rr || fail "dirc: ipvsadm -A failed"
nsx "$NS_DIRC" ipvsadm -a -u 10.0.5.1:5353 -r 10.0.5.9:5353 -m || fail "dirc: ipvsadm -a failed"
nsx "$NS_DIRC" ipvsadm --set 0 0 600 || fail "dirc: cannot set the UDP timeout"
nsx "$NS_DIRC" sysctl -qw net.ipv4.vs.sync_threshold="1 50" || fail "dirc: cannot set sync_threshold"

for ns in "$NS_DIRA" "$NS_DIRB" "$NS_DIRC"; do
	nsx "$ns" sysctl -qw net.ipv4.vs.sync_ports=2 || fail "cannot set sync_ports"
	nsx "$ns" $SYNCAUTH key set "$KEY" || fail "cannot set the key in $ns"
done
nsx "$NS_DIRA" ipvsadm --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 ||
	fail "cannot start dira's master"
nsx "$NS_DIRB" ipvsadm --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 0 ||
	fail "cannot start the backup"

# dirc_count BASE: backup entries of dirc's client from ports BASE..BASE+N-1
dirc_count() {
	nsx "$NS_DIRB" ipvsadm -Lnc | awk -v lo="$1" -v hi="$(($1 + N))" '
		$1 == "UDP" { split($4, a, ":"); if (a[1] == "10.0.5.2" && a[2] + 0 >= lo && a[2] + 0 < hi) n++ }
		END { print n + 0 }'
}

# 1. dira alone, recorded by the attacker; then the attack.
capture_start "$NS_ATK" "$IPVS_AUTH_OUT/two.bin" 8
udp_conns "$N" 41000
wait_for 30 udp_conns_are "$NS_DIRB" 41000 "$N" $N ||
	fail "dira: the backup has $(udp_conn_count "$NS_DIRB" 41000 "$N") of $N connections"
wait "$cap" || fail "the capture failed"
[ "$(counter "$NS_DIRB" streams)" = 1 ] || fail "expected 1 stream, got $(counter "$NS_DIRB" streams)"
replays=$(counter "$NS_DIRB" rx_drop_replay)
sent=$(nsx "$NS_ATK" $SYNCAUTH resend --all --raw --src 10.0.3.100 --src-count 70 \
	--ports 8848,8849,8850,8911 --file "$IPVS_AUTH_OUT/two.bin") || fail "resend failed"
# A capture that missed every message would leave nothing to replay, and
# the checks below would pass on no attack at all.
[ "$sent" -gt 0 ] || fail "the capture recorded no message of dira to replay"
# Forged messages (wrong key) for 200 SyncIDs, every one but dira's (whose
# seq 7 the backup has seen: that would be a replay drop, not a forgery).
nsx "$NS_ATK" $SYNCAUTH send --src "$ATK_IP" --key wrong --seq 7 --syncids 0-149,151-200 \
	--cip 10.9.9.9 || fail "forged send failed"
wait_for 20 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_replay) -ge $((replays + sent)) ]" ||
	fail "the replays were not all dropped as replays"
[ "$(counter "$NS_DIRB" streams)" = 1 ] || fail "the attack created streams: $(counter "$NS_DIRB" streams)"
expect_counter "$NS_DIRB" rx_drop_no_stream 0
nsx "$NS_DIRB" ipvsadm -Lnc | grep -q ' 10\.9\.9\.9:' && fail "a forged entry reached the backup"
info "attack: $sent replays from 70 addresses and 200 forged SyncIDs created no stream"

# 2. A new master after the attack, and both masters under load.
nsx "$NS_DIRC" ipvsadm --start-daemon master --mcast-interface sync0 --syncid 151 ||
	fail "cannot start dirc's master"
nsx "$NS_CLIENT" /usr/bin/python3 "$IPVS_AUTH_TOP/qemu/tools/udpconns.py" send \
	--src 10.0.5.2 --dst 10.0.5.1 --port 5353 --count "$N" --sport-base 51000 >/dev/null ||
	fail "connections through dirc failed"
udp_conns "$N" 42000
wait_for 30 udp_conns_are "$NS_DIRB" 42000 "$N" "$N" ||
	fail "dira: the backup has $(udp_conn_count "$NS_DIRB" 42000 "$N") of $N new connections"
dirc_done() {
	[ "$(dirc_count 51000)" = "$N" ]
}
wait_for 30 dirc_done || fail "dirc: the backup has $(dirc_count 51000) of $N connections"
[ "$(counter "$NS_DIRB" streams)" = 2 ] || fail "expected 2 streams, got $(counter "$NS_DIRB" streams)"
expect_counter "$NS_DIRB" rx_drop_no_stream 0
expect_counter "$NS_DIRB" rx_drop_bad_icv 200
[ "$(counter "$NS_DIRB" rx_drop_replay)" = "$((replays + sent))" ] ||
	fail "legitimate messages were dropped as replays: $(counter "$NS_DIRB" rx_drop_replay) != $((replays + sent))"
info "two masters with two threads each: every connection of both on the backup, no loss"
