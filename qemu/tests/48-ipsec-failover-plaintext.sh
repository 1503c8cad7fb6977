# SPDX-License-Identifier: GPL-2.0
#
# IPsec gate fail-over with plaintext sync (issue 20, item 5). A backup
# whose sync is not authenticated cannot tell a connection the master
# synced from one an attacker on the sync segment sent, so its gate must
# not make an ESTABLISHED entry from either:
#   1. a real client whose traffic moves to the backup is refused (ICMP,
#      esp_no_entry) until it runs ISAKMP again, as after any fail-over
#      without authenticated sync;
#   2. an attacker on the sync segment sends a plaintext sync message with
#      a UDP client:500 -> VIP:500 connection for an address of its choice,
#      then ESP from that address: refused, no real server sees it;
#   3. with the knob the documentation calls unsafe,
#      net.ipv4.vs.ipsec_failover_unauthenticated=1, the forged connection
#      is trusted: that is what the knob costs.
# Topology: qemu/lib/ipsec_failover.sh (as 44, without sync keys).
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_failover.sh"

failover_setup ""
backup_counter() {
	nsx "$NS_DIR2" $IPSEC counter "$1"
}
FORGED=10.0.1.7

info "client establishes through the master; plaintext sync"
rc=$(ipsec_establish "$NS_CL1" 1111111111111111)
case $rc in "$RS1_COOKIE") mine=1 ;; "$RS2_COOKIE") mine=2 ;; *) fail "cookie $rc" ;; esac
wait_for 15 sh -c "ip netns exec $NS_DIR2 ipvsadm -Lnc | grep -q 'UDP .* $CL1:500 *$VIP:500'" ||
	fail "the ISAKMP connection was not synced to the backup"
[ "$(nsx "$NS_DIR2" $SYNCAUTH status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["enabled"])')" = 0 ] ||
	fail "backup sync is authenticated; this test needs plaintext"

info "1. the moved client's ESP is refused by the backup"
failover_move
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1001 --expect icmp || fail "backup passed ESP on plaintext-synced state"
[ "$(backup_counter failover_established)" = 0 ] || fail "backup made a fail-over entry from plaintext sync"
[ "$(backup_counter esp_no_entry)" = 1 ] || fail "refusal not counted as esp_no_entry"
sleep 1
[ "$(rs_seen "$mine" esp "$CL1")" = 0 ] || fail "refused ESP reached rs$mine"

info "2. forged plaintext sync: a UDP $FORGED:500 -> $VIP:500 connection"
nsx "$NS_DIR" $SYNCAUTH send --src 10.0.3.1 --syncid 7 --proto udp --cip "$FORGED" --cport 500 \
	--vip "$VIP" --vport 500 --rip "$RS1" || fail "cannot send the forged sync message"
wait_for 10 sh -c "ip netns exec $NS_DIR2 ipvsadm -Lnc | grep -q 'UDP .* $FORGED:500 *$VIP:500'" ||
	fail "the backup's IPVS did not take the forged connection (the attack needs it)"
nsx "$NS_CL1" ip addr add "$FORGED/24" dev c1
nsx "$NS_CL1" python3 - "$VIP" "$FORGED" <<'PY' || fail "ESP from the forged client was not refused"
import socket, struct, sys, select
vip, src = sys.argv[1], sys.argv[2]
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
s.bind((src, 0))
s.sendto(struct.pack("!II", 77, 1) + bytes(32), (vip, 0))
r, _, _ = select.select([icmp], [], [], 3)
data = icmp.recv(4096) if r else b""
ihl = (data[0] & 15) * 4 if data else 0
sys.exit(0 if data and data[ihl] == 3 and data[ihl + 1] == 2 else 1)
PY
[ "$(backup_counter failover_established)" = 0 ] || fail "forged sync made a fail-over entry"
[ "$(backup_counter esp_no_entry)" = 2 ] || fail "forged client's ESP not counted as esp_no_entry"
sleep 1
for n in 1 2; do
	[ "$(rs_seen "$n" esp "$FORGED")" = 0 ] || fail "the forged client's ESP reached rs$n"
done
info "refused: $(backup_counter esp_no_entry) ESP without entry, no fail-over entry"

info "3. ipsec_failover_unauthenticated=1 (unsafe): the forged connection is trusted"
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.ipsec_failover_unauthenticated=1 ||
	fail "no sysctl ipsec_failover_unauthenticated"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1002 --expect silence || fail "knob on: the synced client is still refused"
[ "$(backup_counter failover_established)" = 1 ] || fail "knob on: no fail-over entry"
wait_rs_seen "$mine" esp "$CL1" 1 10 || fail "knob on: ESP did not reach rs$mine through the backup"
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.ipsec_failover_unauthenticated=0
nsx "$NS_DIR2" cat /proc/net/ip_vs_ipsec
info "fail-over needs authenticated sync (or the unsafe knob)"
