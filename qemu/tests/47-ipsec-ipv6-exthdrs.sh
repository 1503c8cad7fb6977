# SPDX-License-Identifier: GPL-2.0
#
# IPsec gate over IPv6 against extension-header chains (issue 20, item 4).
# IPVS walks up to 12 extension headers to find ESP, AH or UDP; the gate
# used to stop after 8 and pass what it had not classified, so ESP of an
# INITIAL client behind 9 Destination Options headers reached the real
# server, and ISAKMP sent that way skipped the gate. Here the attacker
# (a client) sends, built by hand (raw IPv6, qemu/tools/ikeesp.py
# --exthdrs):
#   1. ESP and AH of an unknown client behind 9 headers: ICMPv6 pointing at
#      the last header's next-header byte, esp_no_entry, no real server
#      sees them;
#   2. ESP and AH of an INITIAL client behind 9 headers: dropped silently
#      (esp_initial), no real server sees them;
#   3. ISAKMP behind 9 headers: gated (creates an INITIAL entry);
#   4. 70 headers (more than the gate walks): dropped and counted
#      (malformed), ESP and ISAKMP alike;
#   5. once established, the client's ESP behind 9 headers reaches its real
#      server: legitimate traffic with extension headers still flows.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

ipsec_test_begin dr "$VIP6" "$RS1_6" "$RS2_6"
# Client 1's INITIAL entry (part 2) must live until its second IKE message
# in part 5, however slow the guest: parts 2-4 wait out ICMP silences
# (one CI run took 111 s for this test and the entry expired before part
# 5, so the second message found none and nothing was established).
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_initial_timeout="$(ts 600)" ||
	fail "cannot set ipsec_initial_timeout"
CL2_6=fd00:4::2
N=9
no_esp_reached() {
	sleep 1
	for n in 1 2; do
		for k in esp ah; do
			[ "$(rs_seen "$n" "$k" "$1")" = 0 ] || fail "$2: $k from $1 reached rs$n"
		done
	done
}

info "1. unknown client: ESP and AH behind $N Destination Options headers"
nsx "$NS_CL2" $IKEESP esp --dst "$VIP6" --spi 2001 --exthdrs $N --expect icmp ||
	fail "no ICMPv6 (pointing at the last header) for ESP behind $N headers"
nsx "$NS_CL2" $IKEESP esp --dst "$VIP6" --spi 2001 --proto ah --exthdrs $N --expect icmp ||
	fail "no ICMPv6 for AH behind $N headers"
expect_gate_counter esp_no_entry 2
no_esp_reached "$CL2_6" "unknown client"

info "2. INITIAL client: ESP and AH behind $N headers dropped silently"
rc=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP6" --icookie 1111111111111111 --reply-timeout 5) ||
	fail "no IKE reply over IPv6"
case $rc in
"$RS1_COOKIE") mine=1 ;;
"$RS2_COOKIE") mine=2 ;;
*) fail "unexpected responder cookie $rc" ;;
esac
nsx "$NS_CL1" $IKEESP esp --dst "$VIP6" --spi 1001 --exthdrs $N --expect silence ||
	fail "ICMPv6 for an INITIAL client's ESP"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP6" --spi 1001 --proto ah --exthdrs $N --expect silence ||
	fail "ICMPv6 for an INITIAL client's AH"
expect_gate_counter esp_initial 2
no_esp_reached "$CL1_6" "INITIAL client"

info "3. ISAKMP behind $N headers is gated"
nsx "$NS_CL2" $IKEESP ike --dst "$VIP6" --icookie 3333333333333333 --exthdrs $N --reply-timeout 5 >/dev/null ||
	fail "no IKE reply behind $N headers"
expect_gate_counter initial_created 2

info "4. 70 headers: dropped and counted"
nsx "$NS_CL2" $IKEESP esp --dst "$VIP6" --spi 2002 --exthdrs 70 --expect silence ||
	fail "ICMPv6 for a packet the gate could not walk"
nsx "$NS_CL2" $IKEESP ike --dst "$VIP6" --icookie 4444444444444444 --exthdrs 70 >/dev/null ||
	fail "cannot send ISAKMP behind 70 headers"
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIR $IPSEC counter malformed) = 2 ]" ||
	fail "malformed is $(gate_counter malformed), expected 2"
expect_gate_counter initial_created 2
no_esp_reached "$CL2_6" "70 headers"

info "5. established: ESP behind $N headers reaches rs$mine"
nsx "$NS_CL1" $IKEESP ike --dst "$VIP6" --icookie 1111111111111111 --rcookie "$rc" --reply-timeout 5 >/dev/null ||
	fail "no reply to the second IKE message"
expect_gate_counter established 1
nsx "$NS_CL1" $IKEESP esp --dst "$VIP6" --spi 1003 --exthdrs $N --expect silence || fail "ICMPv6 on ESTABLISHED"
wait_rs_seen "$mine" esp "$CL1_6" 1 || fail "established ESP behind $N headers did not reach rs$mine"
nsx "$NS_DIR" cat /proc/net/ip_vs_ipsec
info "extension headers do not get around the gate"
