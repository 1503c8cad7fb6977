# SPDX-License-Identifier: GPL-2.0
#
# IPsec gate failover (issue test 8): the gate's table is not synced, but
# IPVS syncs the client's UDP client:500 -> VIP:500 connection (here over
# authenticated sync). After the client's traffic moves to the backup
# director, its first ESP packet finds no gate entry but that synced
# connection, and is treated as ESTABLISHED: no ICMP, and it reaches the
# client's real server through the backup. 48 tries the same with
# plaintext sync (topology: qemu/lib/ipsec_failover.sh).
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

# The backup in the permissive rollout mode takes a forged plaintext
# connection; back in enforce it is never trusted.
info "a connection forged in permissive stays untrusted in enforce"
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.sync_auth_rollout=1 || fail "cannot set the backup permissive"
failover_forge 10.0.1.8
[ "$(unverified_sync "$NS_DIR2")" = yes ] || fail "plaintext taken in permissive does not mark unverified_sync"
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.sync_auth_rollout=0
nsx "$NS_CL1" ip addr add 10.0.1.8/24 dev c1
failover_refused 10.0.1.8 98 || fail "ESP from the client forged in permissive was not refused"
[ "$(nsx "$NS_DIR2" $IPSEC counter failover_established)" = 1 ] || fail "a fail-over entry from the forged connection"
nsx "$NS_DIR2" cat /proc/net/ip_vs_ipsec
info "failover from a synced ISAKMP connection works"
