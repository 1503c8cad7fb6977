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

# ESP datagrams the gate judged (and dropped) so far.
esp_judged() {
	echo $(($(gate_counter esp_initial) + $(gate_counter esp_no_entry)))
}

# ESP-in-UDP datagrams from $1 the real servers logged.
leaked() {
	echo $(($(rs_seen 1 udp-esp "$1") + $(rs_seen 2 udp-esp "$1")))
}

# burst MODE SRC DST SPORT: one IKE_SA_INIT-looking datagram, then $N ESP
# in UDP, from SRC:SPORT to DST:4500, with the director's device merging
# them the way MODE says. Returns 1 if no merged packet arrived.
burst() {
	case $1 in
	udp-l4) nsx "$NS_DIR" ethtool -K "$DEV" rx-gro-list off rx-udp-gro-forwarding on ;;
	fraglist) nsx "$NS_DIR" ethtool -K "$DEV" rx-udp-gro-forwarding off rx-gro-list on ;;
	esac || fail "$1: cannot set the GRO mode"
	split=$(gate_counter gro_split)
	esp=$(esp_judged)
	nsx "$NS_CL1" python3 - "$2" "$3" "$4" "$N" "$SIZE" <<'EOF' || fail "$1: the sender failed"
import socket, struct, sys
src, dst, sport, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((src, sport))
s.connect((dst, 4500))
# Non-ESP marker, then an IKEv2 IKE_SA_INIT header (initiator cookie,
# responder cookie zero, version 2.0, exchange 34, initiator flag, message
# ID 0) whose length field covers the padded message.
icookie = bytes.fromhex("6363636300000000")[:4] + struct.pack("!I", sport)
ike = icookie + bytes(8) + bytes([33, 0x20, 34, 0x08]) + bytes(4) + struct.pack("!I", size - 4)
s.send((bytes(4) + ike).ljust(size, b"\0"))
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
	if [ "$split2" -le "$split" ]; then
		info "$1 $3: $N ESP datagrams dropped one by one, but no burst arrived merged"
		return 1
	fi
	info "$1 $3: $((split2 - split)) merged packets split, each of $N ESP datagrams judged and dropped, none at a real server"
}

# gro MODE SRC DST BASE: bursts until one arrives merged, at most three,
# each from a new source port.
gro() {
	for k in 0 1 2; do
		burst "$1" "$2" "$3" $(($4 + k)) && return 0
	done
	fail "$1 $3: no merged burst arrived in three bursts (the test did not produce GRO)"
}

gro udp-l4 "$CL1" "$VIP" 41000
gro fraglist "$CL1" "$VIP" 42000
gro udp-l4 "$CL1_6" "$VIP6" 43000
gro fraglist "$CL1_6" "$VIP6" 44000
# The IKE datagrams did reach the real servers: the gate let them pass,
# each on its own.
ike=$(($(rs_seen 1 ike "$CL1") + $(rs_seen 2 ike "$CL1") + $(rs_seen 1 ike "$CL1_6") + $(rs_seen 2 ike "$CL1_6")))
[ "$ike" -ge 4 ] || fail "only $ike of the bursts' IKE datagrams reached a real server"
expect_gate_counter esp_pass 0
expect_gate_counter established 0
info "gro_split $(gate_counter gro_split) in all"
