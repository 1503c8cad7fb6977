# SPDX-License-Identifier: GPL-2.0
#
# IPsec gate over IPv6, direct routing (issue test 8, IPv6 variant of 1-3):
# ESP with no entry is answered with ICMPv6 parameter problem (unrecognized
# next header, pointing at the IPv6 header's next-header field); INITIAL
# drops ESP silently; the client's responder cookie establishes, then ESP
# and AH reach the real server of its IKE flow, and a second client lands on
# the other real server.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

ipsec_test_begin dr "$VIP6" "$RS1_6" "$RS2_6"
CL2_6=fd00:4::2
# IPv4 traffic to the IPv4 address of the director is not gated.
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 7 --expect icmp >/dev/null &&
	info "(IPv4 ESP to an ungated address: the stack's own answer)"
[ "$(gate_counter esp_no_entry)" = 0 ] || fail "ungated IPv4 address was gated"

info "1. ESP with no entry: ICMPv6 parameter problem"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP6" --spi 1001 --expect icmp || fail "no ICMPv6 for ESP without entry"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP6" --spi 1001 --proto ah --expect icmp || fail "no ICMPv6 for AH"
expect_gate_counter esp_no_entry 2

info "2. IKE_SA_INIT: INITIAL, ESP dropped silently"
rc=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP6" --icookie 1111111111111111 --reply-timeout 5) ||
	fail "no IKE reply over IPv6"
case $rc in
"$RS1_COOKIE") mine=1 other=2 mine_addr=$RS1_6 ;;
"$RS2_COOKIE") mine=2 other=1 mine_addr=$RS2_6 ;;
*) fail "unexpected responder cookie $rc" ;;
esac
info "client 1 is on rs$mine ($mine_addr)"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP6" --spi 1002 --expect silence || fail "ICMPv6 on INITIAL"
expect_gate_counter esp_initial 1

info "3. Established: ESP and AH follow the IKE flow"
nsx "$NS_CL1" $IKEESP ike --dst "$VIP6" --icookie 1111111111111111 --rcookie "$rc" --reply-timeout 5 >/dev/null ||
	fail "no reply to the second IKE message"
expect_gate_counter established 1
nsx "$NS_CL1" $IKEESP esp --dst "$VIP6" --spi 1003 --expect silence || fail "ICMPv6 on ESTABLISHED"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP6" --spi 1003 --proto ah --expect silence || fail "ICMPv6 for AH"
wait_rs_seen "$mine" esp "$CL1_6" 1 || fail "ESP did not reach rs$mine"
wait_rs_seen "$mine" ah "$CL1_6" 1 || fail "AH did not reach rs$mine"
[ "$(rs_seen "$mine" esp "$CL1_6")" = 1 ] || fail "rejected ESP reached the real server"
[ "$(rs_seen "$other" esp "$CL1_6")" = 0 ] || fail "ESP reached the other real server"
rc2=$(nsx "$NS_CL2" $IKEESP ike --dst "$VIP6" --icookie 2222222222222222 --reply-timeout 5) ||
	fail "no IKE reply for client 2"
[ "$rc2" != "$rc" ] || fail "both clients went to the same real server"
nsx "$NS_CL2" $IKEESP ike --dst "$VIP6" --icookie 2222222222222222 --rcookie "$rc2" --reply-timeout 5 >/dev/null ||
	fail "no reply to client 2's second message"
nsx "$NS_CL2" $IKEESP esp --dst "$VIP6" --spi 2001 --expect silence || fail "ICMPv6 for client 2"
wait_rs_seen "$other" esp "$CL2_6" 1 || fail "client 2's ESP did not reach rs$other"
nsx "$NS_DIR" $IPSEC list
info "IPv6 gate works"
