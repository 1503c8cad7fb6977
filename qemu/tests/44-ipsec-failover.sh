# SPDX-License-Identifier: GPL-2.0
#
# IPsec gate failover (issue test 8): the gate's table is not synced, but
# IPVS syncs the client's UDP client:500 -> VIP:500 connection (here over
# authenticated sync). After the client's traffic moves to the backup
# director, its first ESP packet finds no gate entry but that synced
# connection, and is treated as ESTABLISHED: no ICMP, and it reaches the
# client's real server through the backup. With the backup in the
# both-formats rollout mode, a connection in a message signed by an
# independent sender still fails over and a plaintext one never reaches
# IPVS; a connection forged while it was permissive is never trusted. 48
# tries the same with plaintext sync (topology: qemu/lib/ipsec_failover.sh).
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

. "$IPVS_AUTH_TOP/qemu/lib/ipsec_failover.sh"

failover_setup failover-key

info "client establishes through the master"
rc=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 1111111111111111 --reply-timeout 5) || fail "no IKE reply"
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 1111111111111111 --rcookie "$rc" --reply-timeout 5 >/dev/null ||
	fail "no reply to the second IKE message"
case $rc in "$RS1_COOKIE") mine=1 ;; "$RS2_COOKIE") mine=2 ;; *) fail "cookie $rc" ;; esac
expect_gate_counter established 1
wait_for 15 sh -c "ip netns exec $NS_DIR2 ipvsadm -Lnc | grep -q 'UDP .* $CL1:500 *$VIP:500'" ||
	fail "the ISAKMP connection was not synced to the backup"
nsx "$NS_DIR2" ipvsadm -Lnc
[ "$(nsx "$NS_DIR2" $SYNCAUTH counter rx_accepted)" -ge 1 ] || fail "backup accepted no authenticated sync message"
[ "$(nsx "$NS_DIR2" $IPSEC list | tail -1 | sed 's/^\(entries [0-9]*\) .*/\1/')" = "entries 0" ] || fail "backup gate has entries already"

info "failover: the client's traffic now reaches the backup"
failover_move
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1001 --expect silence || fail "backup answered ESP with ICMP"
[ "$(nsx "$NS_DIR2" $IPSEC counter failover_established)" = 1 ] || fail "failover entry not counted"
wait_rs_seen "$mine" esp "$CL1" 1 10 || fail "ESP did not reach rs$mine through the backup"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1001 --expect silence || fail "second ESP refused"
[ "$(nsx "$NS_DIR2" $IPSEC counter failover_established)" = 1 ] || fail "failover counted twice for one client"
[ "$(nsx "$NS_DIR2" $IPSEC counter esp_pass)" = 2 ] || fail "backup did not pass both ESP packets"
# A client the master never synced is still refused by the backup.
nsx "$NS_CL1" ip addr add 10.0.1.3/24 dev c1
failover_refused 10.0.1.3 99 || fail "unsynced client not refused"
[ "$(unverified_sync "$NS_DIR2")" = no ] || fail "unverified_sync set on a pair keyed before its daemons"

# The both-formats rollout mode takes no plaintext, so sync stays
# authenticated: a connection in a message signed with the pair's key
# (built by the Python tool from the wire format, sent as the master's
# address) still fails over, while a plaintext one is dropped before
# IPVS sees it and its client is refused.
info "both-formats: a signed connection fails over, a plaintext one is dropped"
SIGNED=10.0.1.5
PLAIN=10.0.1.6
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.sync_auth_rollout=3 || fail "cannot set the backup to both-formats"
hdr0=$(nsx "$NS_DIR2" $SYNCAUTH counter rx_drop_bad_header)
nsx "$NS_DIR" $SYNCAUTH send --src 10.0.3.1 --syncid 7 --proto udp --cip "$PLAIN" --cport 500 \
	--vip "$VIP" --vport 500 --rip "$RS1" || fail "cannot send the plaintext sync message"
wait_for 10 sh -c "[ \$(ip netns exec $NS_DIR2 $SYNCAUTH counter rx_drop_bad_header) -ge $((hdr0 + 1)) ]" ||
	fail "both-formats: the plaintext message was not dropped as a bad header"
# Sequence numbers of the SyncID's stream above any the master used.
nsx "$NS_DIR" $SYNCAUTH send --key failover-key --seq 1000000 --src 10.0.3.1 --syncid 7 --proto udp \
	--cip "$SIGNED" --cport 500 --vip "$VIP" --vport 500 --rip "$RS1" || fail "cannot send the signed sync message"
wait_for 10 sh -c "ip netns exec $NS_DIR2 ipvsadm -Lnc | grep -q 'UDP .* $SIGNED:500 *$VIP:500'" ||
	fail "both-formats: the signed connection was not applied"
nsx "$NS_DIR2" ipvsadm -Lnc | grep -q "UDP .* $PLAIN:500 *$VIP:500" &&
	fail "both-formats: the plaintext connection reached IPVS"
[ "$(unverified_sync "$NS_DIR2")" = no ] || fail "both-formats marked unverified_sync"
nsx "$NS_CL1" ip addr add "$SIGNED/24" dev c1
nsx "$NS_CL1" ip addr add "$PLAIN/24" dev c1
failover_esp_from "$SIGNED" 1002 silence || fail "both-formats: ESP of the signed client was refused"
[ "$(nsx "$NS_DIR2" $IPSEC counter failover_established)" = 2 ] || fail "both-formats: no fail-over entry for the signed client"
wait_rs_seen 1 esp "$SIGNED" 1 10 || fail "both-formats: the signed client's ESP did not reach rs1"
failover_refused "$PLAIN" 1003 || fail "both-formats: ESP of the plaintext client was not refused"
[ "$(nsx "$NS_DIR2" $IPSEC counter failover_established)" = 2 ] || fail "both-formats: a fail-over entry from plaintext"
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.sync_auth_rollout=0

# The backup in the permissive rollout mode takes a forged plaintext
# connection; back in enforce it is never trusted.
info "a connection forged in permissive stays untrusted in enforce"
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.sync_auth_rollout=1 || fail "cannot set the backup permissive"
failover_forge 10.0.1.8
[ "$(unverified_sync "$NS_DIR2")" = yes ] || fail "plaintext taken in permissive does not mark unverified_sync"
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.sync_auth_rollout=0
nsx "$NS_CL1" ip addr add 10.0.1.8/24 dev c1
failover_refused 10.0.1.8 98 || fail "ESP from the client forged in permissive was not refused"
[ "$(nsx "$NS_DIR2" $IPSEC counter failover_established)" = 2 ] || fail "a fail-over entry from the forged connection"
nsx "$NS_DIR2" cat /proc/net/ip_vs_ipsec
info "failover from a synced ISAKMP connection works"
