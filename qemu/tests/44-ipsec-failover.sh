# SPDX-License-Identifier: GPL-2.0
#
# IPsec gate failover (issue test 8): the gate's table is not synced, but
# IPVS syncs the client's UDP client:500 -> VIP:500 connection (here over
# authenticated sync). After the client's traffic moves to the backup
# director, its first ESP packet finds no gate entry but that synced
# connection, and is treated as ESTABLISHED: no ICMP, and it reaches the
# client's real server through the backup.
#
#   cl1 c0 ---- dir (master) ----- rs1, rs2
#   cl1 c1 ---- dir2 (backup) ---- rs1, rs2 (second links)
#               dir s0 10.0.3.1 == dir2 s0 10.0.3.2 (sync)
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

checktool "ipvsadm -v" "ipvsadm is not installed"
checktool "/usr/bin/python3 -V" "python3 is not installed"
load_module
NS_DIR2=dir2-$SUFFIX
trap 'ip netns del $NS_DIR2 2>/dev/null; ipsec_cleanup; unload_module' EXIT
ipsec_setup
ip netns add "$NS_DIR2" || fail "cannot create $NS_DIR2"
nsx "$NS_DIR2" ip link set lo up
ip link add s0 netns "$NS_DIR" type veth peer name s0 netns "$NS_DIR2"
ip link add c1 netns "$NS_CL1" type veth peer name b0 netns "$NS_DIR2"
ip link add r1 netns "$NS_RS1" type veth peer name b1 netns "$NS_DIR2"
ip link add r1 netns "$NS_RS2" type veth peer name b3 netns "$NS_DIR2"
nsx "$NS_DIR" ip addr add 10.0.3.1/24 dev s0
nsx "$NS_DIR2" ip addr add 10.0.3.2/24 dev s0
nsx "$NS_DIR2" ip addr add "$VIP/24" dev b0
for l in "$NS_DIR s0" "$NS_DIR2 s0" "$NS_DIR2 b0" "$NS_DIR2 b1" "$NS_DIR2 b3" "$NS_RS1 r1" "$NS_RS2 r1"; do
	set -- $l
	nsx "$1" ip link set "$2" up
done
nsx "$NS_DIR" ip route add 224.0.0.0/4 dev s0
nsx "$NS_DIR2" ip route add 224.0.0.0/4 dev s0
# The backup reaches the real servers over its own links (direct routing).
nsx "$NS_DIR2" ip route add "$RS1/32" dev b1
nsx "$NS_DIR2" ip route add "$RS2/32" dev b3
nsx "$NS_DIR2" sysctl -qw net.ipv4.ip_forward=1
nsx "$NS_DIR2" sysctl -qw net.ipv4.icmp_ratelimit=0
for ns in "$NS_RS1" "$NS_RS2"; do
	nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0
	nsx "$ns" sysctl -qw net.ipv4.conf.r1.rp_filter=0
done

ipsec_service dr
nsx "$NS_DIR2" ipvsadm -A -u "$VIP:0" -s rr -p 600 || fail "backup: ipvsadm -A failed"
nsx "$NS_DIR2" ipvsadm -a -u "$VIP:0" -r "$RS1" -g || fail "backup: ipvsadm -a failed"
nsx "$NS_DIR2" ipvsadm -a -u "$VIP:0" -r "$RS2" -g || fail "backup: ipvsadm -a failed"
nsx "$NS_DIR2" $IPSEC add "$VIP" || fail "backup: ipvs-ipsec add failed"
# Sync every UDP connection from its first packet on.
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.sync_threshold="1 10"
nsx "$NS_DIR" $SYNCAUTH key set failover-key || fail "cannot set the master's sync key"
nsx "$NS_DIR2" $SYNCAUTH key set failover-key || fail "cannot set the backup's sync key"
nsx "$NS_DIR" ipvsadm --start-daemon master --mcast-interface s0 --syncid 7 || fail "master daemon"
nsx "$NS_DIR2" ipvsadm --start-daemon backup --mcast-interface s0 --syncid 7 || fail "backup daemon"

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
[ "$(nsx "$NS_DIR2" $IPSEC list | tail -1 | sed 's/ .*//')" = "entries=0" ] || fail "backup gate has entries already"

info "failover: the client's traffic now reaches the backup"
nsx "$NS_CL1" ip link set c0 down
nsx "$NS_CL1" ip addr add "$CL1/24" dev c1
nsx "$NS_CL1" ip link set c1 up
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1001 --expect silence || fail "backup answered ESP with ICMP"
[ "$(nsx "$NS_DIR2" $IPSEC counter failover_established)" = 1 ] || fail "failover entry not counted"
wait_rs_seen "$mine" esp "$CL1" 1 10 || fail "ESP did not reach rs$mine through the backup"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1001 --expect silence || fail "second ESP refused"
[ "$(nsx "$NS_DIR2" $IPSEC counter failover_established)" = 1 ] || fail "failover counted twice for one client"
[ "$(nsx "$NS_DIR2" $IPSEC counter esp_pass)" = 2 ] || fail "backup did not pass both ESP packets"
# A client the master never synced is still refused by the backup.
nsx "$NS_CL1" ip addr add 10.0.1.3/24 dev c1
nsx "$NS_CL1" python3 - "$VIP" <<'PY' || fail "unsynced client not refused"
import socket, struct, sys, select
vip = sys.argv[1]
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
s.bind(("10.0.1.3", 0))
s.sendto(struct.pack("!II", 99, 1) + bytes(32), (vip, 0))
r, _, _ = select.select([icmp], [], [], 3)
data = icmp.recv(4096) if r else b""
ihl = (data[0] & 15) * 4 if data else 0
sys.exit(0 if data and data[ihl] == 3 and data[ihl + 1] == 2 else 1)
PY
nsx "$NS_DIR2" cat /proc/net/ip_vs_ipsec
info "failover from a synced ISAKMP connection works"
