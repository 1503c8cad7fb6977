# SPDX-License-Identifier: GPL-2.0
#
# The IPsec fail-over topology (44, 48): the IPsec topology plus a backup
# director dir2 with its own links to the client and both real servers,
# and a sync link between the two directors.
#
#   cl1 c0 ---- dir (master) ----- rs1, rs2
#   cl1 c1 ---- dir2 (backup) ---- rs1, rs2 (second links)
#               dir s0 10.0.3.1 == dir2 s0 10.0.3.2 (sync)
#
# failover_setup KEY starts both sync daemons (SyncID 7), authenticated
# with KEY, or in plaintext if KEY is empty; failover_move moves cl1's
# traffic to the backup.

NS_DIR2=dir2-$SUFFIX

failover_setup() {
	_fo_key=$1
	checktool "ipvsadm -v" "ipvsadm is not installed"
	checktool "/usr/bin/python3 -V" "python3 is not installed"
	load_module
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
	if [ -n "$_fo_key" ]; then
		nsx "$NS_DIR" $SYNCAUTH key set "$_fo_key" || fail "cannot set the master's sync key"
		nsx "$NS_DIR2" $SYNCAUTH key set "$_fo_key" || fail "cannot set the backup's sync key"
	fi
	nsx "$NS_DIR" ipvsadm --start-daemon master --mcast-interface s0 --syncid 7 || fail "master daemon"
	nsx "$NS_DIR2" ipvsadm --start-daemon backup --mcast-interface s0 --syncid 7 || fail "backup daemon"
}

failover_move() {
	nsx "$NS_CL1" ip link set c0 down
	nsx "$NS_CL1" ip addr add "$CL1/24" dev c1
	nsx "$NS_CL1" ip link set c1 up
}

# failover_forge ADDR: a plaintext sync message, sent on the sync link from
# the master's address, with a UDP ADDR:500 -> VIP:500 connection to rs1
# (what an attacker on the sync segment sends); waits until the backup's
# IPVS lists it. The connection lives 300 s scaled (ts): on the KASAN
# kernel (2026-12-04) 48 took longer than an unscaled 300 s to reach the
# part that needs it, and IPVS had expired it.
failover_forge() {
	nsx "$NS_DIR" $SYNCAUTH send --src 10.0.3.1 --syncid 7 --proto udp --cip "$1" --cport 500 \
		--vip "$VIP" --vport 500 --rip "$RS1" --conn-timeout "$(ts 300)" ||
		fail "cannot send the forged sync message"
	wait_for 10 sh -c "ip netns exec $NS_DIR2 ipvsadm -Lnc | grep -q 'UDP .* $1:500 *$VIP:500'" ||
		fail "the backup's IPVS did not take the forged connection for $1 (the attack needs it)"
}

# failover_refused ADDR SPI: ESP from ADDR (an address of cl1 on the
# backup's link) is answered with ICMP protocol unreachable.
failover_refused() {
	failover_esp_from "$1" "$2" icmp
}

# failover_esp_from ADDR SPI icmp|silence: ESP from ADDR is answered with
# ICMP protocol unreachable (icmp), or with nothing within 3 s (silence).
# Only an ICMP error that quotes this packet (ESP from ADDR to VIP with
# SPI) counts; others are skipped. "silence" alone does not show the
# packet passed: callers check the real server's log.
failover_esp_from() {
	nsx "$NS_CL1" python3 - "$VIP" "$1" "$2" "$3" <<'PY'
import socket, struct, sys, select, time
vip, src, spi, want = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
s.bind((src, 0))
s.sendto(struct.pack("!II", spi, 1) + bytes(32), (vip, 0))


def quotes_ours(data):
    ihl = (data[0] & 15) * 4
    if len(data) < ihl + 8 + 20 or data[ihl] != 3 or data[ihl + 1] != 2:
        return False
    inner = data[ihl + 8:]
    iihl = (inner[0] & 15) * 4
    return (inner[9] == 50 and inner[12:16] == socket.inet_aton(src)
            and inner[16:20] == socket.inet_aton(vip)
            and inner[iihl:iihl + 4] == struct.pack("!I", spi))


refused = False
end = time.monotonic() + 3
while not refused:
    left = end - time.monotonic()
    if left <= 0:
        break
    r, _, _ = select.select([icmp], [], [], left)
    if r:
        refused = quotes_ours(icmp.recv(4096))
sys.exit(0 if refused == (want == "icmp") else 1)
PY
}

# unverified_sync NS: the unverified_sync line of NS's /proc.
unverified_sync() {
	sync_proc "$1" unverified_sync
}
