# SPDX-License-Identifier: GPL-2.0
#
# The gate on a director whose client-facing device merges UDP datagrams
# (GRO). No local socket holds UDP 4500 of the virtual address, so with
# UDP GRO forwarding (rx-udp-gro-forwarding: SKB_GSO_UDP_L4) or fraglist
# GRO (rx-gro-list: SKB_GSO_FRAGLIST) on, datagrams of one flow reach
# LOCAL_IN as one packet. An attacker (a client with no entry) sends, on
# one 5-tuple, an IKE_SA_INIT-looking datagram padded to S bytes and then
# ESP-in-UDP datagrams of S bytes: judged by its first datagram, the merged
# packet would create an INITIAL entry and take the ESP behind it to IPVS
# and a real server. Each ESP datagram must instead be judged on its own
# (dropped, counted as esp_initial or esp_no_entry) and none may reach a
# real server; gro_split shows that merged packets arrived and were split.
# IPv4 and IPv6, both GRO modes.
#
# Split datagrams go on from the hook after the gate: a counting
# iptables/ip6tables INPUT rule for UDP 4500 (filter, before the gate)
# sees each merged packet once, not its datagrams again.
#
# IPv6 with a Destination Options header (the sender's sticky
# IPV6_DSTOPTS, which GRO merges over): splitting leaves each datagram's
# transport header after the extension headers, and the IPv6 input path
# would then take the UDP header for the options header. From source port
# 0x1112 the UDP header reads as next header UDP, length 152, an option to
# skip; 152 bytes in, the payload holds a UDP header to port 7777 of the
# director. A gated address with no IPVS service (the split datagrams go on
# to the host's own input) and a listener on that port: it must get
# nothing.
#
# How the merging is produced (as in 32-sync-gro): GRO on the director's
# end of the client's veth gives it a NAPI instance; gro_flush_timeout
# holds merged packets for up to 1 ms, and the NAPI instance is threaded
# with its thread at nice 19, so that the sender's datagrams wait in the
# veth's ring and one poll takes them together, however slow the kernel.
# A burst that was not merged shows nothing about GRO and is repeated (at
# most three times, from new source ports).
#
# The sender is Python built from the wire formats (RFC 3948 non-ESP
# marker, RFC 7296 header), not from the module's code.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

checktool "ethtool --version" "ethtool is not installed (make setup installs it)"
ipsec_test_begin dr
ipsec_service dr "$VIP6" "$RS1_6" "$RS2_6"
DEV=a0
N=20
SIZE=300

gro_slow_napi "$NS_DIR" "$DEV"
# Counting rules (no target) before the gate (filter INPUT, priority 0).
checktool "iptables-legacy --version" "iptables-legacy is not installed (iptables)"
nsx "$NS_DIR" iptables-legacy -A INPUT -p udp --dport 4500 || fail "cannot add the iptables rule"
nsx "$NS_DIR" ip6tables-legacy -A INPUT -p udp --dport 4500 || fail "cannot add the ip6tables rule"
# Packets rule 1 of INPUT counted, of iptables-legacy or ip6tables-legacy ($1).
input_count() {
	nsx "$NS_DIR" "$1" -nvxL INPUT | awk 'NR == 3 { print $1 }'
}
# A gated IPv6 address without an IPVS service, and a UDP listener on it.
VIPB=fd00:1::5
nsx "$NS_DIR" ip addr add "$VIPB/128" dev "$DEV" nodad || fail "cannot add $VIPB"
nsx "$NS_DIR" $IPSEC add "$VIPB" || fail "ipvs-ipsec add $VIPB failed"
LISTENED=$IPVS_AUTH_OUT/gro-listener.log
: >"$LISTENED"
ip netns exec "$NS_DIR" python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(('$VIPB', 7777))
log = open('$LISTENED', 'a', buffering=1)
log.write('ready\\n')
while True:
    data, peer = s.recvfrom(4096)
    log.write('got %s %d\\n' % (peer[0], len(data)))
" &
wait_for "$(ts 10)" grep -q ready "$LISTENED" || fail "the listener did not start"

# ESP datagrams the gate judged (and dropped) so far.
esp_judged() {
	echo $(($(gate_counter esp_initial) + $(gate_counter esp_no_entry)))
}

# ESP-in-UDP datagrams from $1 the real servers logged.
leaked() {
	echo $(($(rs_seen 1 udp-esp "$1") + $(rs_seen 2 udp-esp "$1")))
}

# burst MODE SRC DST SPORT [DSTOPTS]: one IKE_SA_INIT-looking datagram,
# then $N ESP in UDP, from SRC:SPORT to DST:4500 (with DSTOPTS=1, IPv6,
# behind a Destination Options header, the IKE datagram with a UDP header
# to port 7777 152 bytes in), with the director's device merging them the
# way MODE says. Returns 1 if no merged packet arrived.
burst() {
	case $1 in
	udp-l4) nsx "$NS_DIR" ethtool -K "$DEV" rx-gro-list off rx-udp-gro-forwarding on ;;
	fraglist) nsx "$NS_DIR" ethtool -K "$DEV" rx-udp-gro-forwarding off rx-gro-list on ;;
	esac || fail "$1: cannot set the GRO mode"
	ipt=iptables-legacy
	case $3 in *:*) ipt=ip6tables-legacy ;; esac
	split=$(gate_counter gro_split)
	esp=$(esp_judged)
	seen=$(input_count "$ipt")
	nsx "$NS_CL1" python3 - "$2" "$3" "$4" "$N" "$SIZE" "${5:-0}" <<'EOF' || fail "$1: the sender failed"
import socket, struct, sys
src, dst, sport, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
dstopts = sys.argv[6] == "1"
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
if dstopts:
    # RFC 8200 Destination Options: next header (the kernel's), length 0
    # (8 bytes), PadN of 4.
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, bytes([0, 0, 1, 4, 0, 0, 0, 0]))
s.bind((src, sport))
s.connect((dst, 4500))
# Non-ESP marker, then an IKEv2 IKE_SA_INIT header (initiator cookie,
# responder cookie zero, version 2.0, exchange 34, initiator flag, message
# ID 0) whose length field covers the padded message.
icookie = bytes.fromhex("6363636300000000")[:4] + struct.pack("!I", sport)
ike = icookie + bytes(8) + bytes([33, 0x20, 34, 0x08]) + bytes(4) + struct.pack("!I", size - 4)
first = bytearray((bytes(4) + ike).ljust(size, b"\0"))
if dstopts:
    # 152 bytes after the UDP header's start: a UDP header to port 7777
    # with a (not checked) checksum, then data.
    first[144:152] = struct.pack("!HHHH", 5555, 7777, size - 144, 0x1234)
s.send(bytes(first))
# ESP in UDP: SPI (not zero, so no marker), sequence number, then bytes.
for i in range(n):
    s.send(struct.pack("!II", 0x7000 + i, i + 1).ljust(size, b"\xab"))
EOF
	want=$((esp + N))
	judged() { [ "$(esp_judged)" -ge "$want" ]; }
	wait_for "$(ts 10)" judged
	# The claim first: nothing of the burst's ESP reached a real server.
	sleep 1
	n=$(leaked "$2")
	[ "$n" = 0 ] || fail "$1: $n ESP-in-UDP datagrams of a client without an ESTABLISHED entry reached a real server (gro_split $split -> $(gate_counter gro_split))"
	got=$(esp_judged)
	if [ "$got" != "$want" ]; then
		gate_dump
		nsx "$NS_DIR" ip -s link show "$DEV"
		fail "$1: the gate judged $((got - esp)) of the $N ESP datagrams"
	fi
	expect_gate_counter malformed 0
	split2=$(gate_counter gro_split)
	# Each merged packet holds two datagrams or more: the rule before the
	# gate counts at most N + 1 - (merged packets) packets, and more than
	# N + 1 if the split datagrams passed it again.
	seen=$(($(input_count "$ipt") - seen))
	[ "$seen" -le $((N + 1 - (split2 - split))) ] ||
		fail "$1 $3: $ipt's INPUT rule before the gate counted $seen packets of the $((N + 1)) datagrams, $((split2 - split)) merged packets: split datagrams went through it again"
	if [ "$split2" -le "$split" ]; then
		info "$1 $3: $N ESP datagrams dropped one by one, but no burst arrived merged"
		return 1
	fi
	info "$1 $3: $((split2 - split)) merged packets split, each of $N ESP datagrams judged and dropped, none at a real server"
}

# gro MODE SRC DST BASE [DSTOPTS]: bursts until one arrives merged, at
# most three, each from a new source port (with DSTOPTS=1, from BASE).
gro() {
	for k in 0 1 2; do
		# The Destination Options attack needs its source port.
		port=$(($4 + k))
		[ "${5:-0}" = 1 ] && port=$4
		burst "$1" "$2" "$3" "$port" "${5:-0}" && return 0
	done
	fail "$1 $3: no merged burst arrived in three bursts (the test did not produce GRO)"
}

gro udp-l4 "$CL1" "$VIP" 41000
gro fraglist "$CL1" "$VIP" 42000
gro udp-l4 "$CL1_6" "$VIP6" 43000
gro fraglist "$CL1_6" "$VIP6" 44000
# From source port 0x1112 (4370), to the address without a service.
gro fraglist "$CL1_6" "$VIPB" 4370 1
sleep 1
grep -q '^got' "$LISTENED" &&
	fail "a datagram split from a merged packet reached a local UDP socket on port 7777 through a misread header: $(grep -c '^got' "$LISTENED")"
# The IKE datagrams did reach the real servers: the gate let them pass,
# each on its own.
ike=$(($(rs_seen 1 ike "$CL1") + $(rs_seen 2 ike "$CL1") + $(rs_seen 1 ike "$CL1_6") + $(rs_seen 2 ike "$CL1_6")))
[ "$ike" -ge 4 ] || fail "only $ike of the bursts' IKE datagrams reached a real server"
expect_gate_counter esp_pass 0
expect_gate_counter established 0
info "gro_split $(gate_counter gro_split) in all"
