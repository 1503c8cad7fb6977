# SPDX-License-Identifier: GPL-2.0
#
# IPsec gate, NAT mode, IPv4 (issue tests 5 and 6): the director learns
# each real server's responder cookie from its (translated) replies, so a
# client's packet with another cookie does not establish and the right one
# does; NAT traversal on UDP 4500 (IKE after the non-ESP marker, NAT
# keepalives, ESP in UDP); IKEv1 and IKEv2 headers; malformed NAT-T
# payloads are dropped and counted.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

ipsec_test_begin nat
nsx "$NS_DIR" $IPSEC list | grep -q "^$VIP nat " || fail "service not listed as NAT"

# The real server whose responder cookie $1 is. Called in $(...), where
# fail would end only the subshell: it returns 1 and callers fail.
rs_of() {
	case $1 in
	"$RS1_COOKIE") echo 1 ;;
	"$RS2_COOKIE") echo 2 ;;
	*) return 1 ;;
	esac
}

info "5. NAT mode: the cookie is learned from the real server's reply"
rc=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 1111111111111111 --reply-timeout 5) ||
	fail "no IKE reply through the director"
mine=$(rs_of "$rc") || fail "unexpected responder cookie '$rc'"
expect_gate_counter rcookie_learned 1
# A made-up responder cookie (a spoofer that never saw the reply): dropped.
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 1111111111111111 --rcookie dead0000beef0000
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIR $IPSEC counter cookie_mismatch) = 1 ]" ||
	fail "wrong responder cookie not counted"
[ "$(gate_counter established)" = 0 ] || fail "a wrong responder cookie established the entry"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1001 --expect silence || fail "ICMP for ESP on INITIAL"
expect_gate_counter esp_initial 1
# The real one establishes.
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 1111111111111111 --rcookie "$rc" --reply-timeout 5 >/dev/null ||
	fail "no reply to the second IKE message"
expect_gate_counter established 1
# Its reply shows it reached the real server, after the mismatching one.
[ "$(rs_seen "$mine" ike "$CL1")" = 2 ] || fail "the mismatching IKE packet reached the real server"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1002 --expect silence || fail "ICMP for ESP on ESTABLISHED"
wait_rs_seen "$mine" esp "$CL1" 1 || fail "ESP did not reach rs$mine through NAT"
[ "$(rs_seen "$mine" esp "$CL1")" = 1 ] || fail "the INITIAL-state ESP reached the real server"

info "6. NAT-T with IKEv1: IKE after the marker, keepalive, ESP in UDP"
rc2=$(nsx "$NS_CL2" $IKEESP ike --dst "$VIP" --dport 4500 --v1 --icookie 2222222222222222 --reply-timeout 5) ||
	fail "no IKE reply on 4500"
other=$(rs_of "$rc2") || fail "unexpected responder cookie '$rc2'"
expect_gate_counter rcookie_learned 2
# ESP in UDP before the entry is established: dropped, no ICMP for UDP.
nsx "$NS_CL2" $IKEESP esp --dst "$VIP" --spi 2001 --proto udp --expect silence ||
	fail "ICMP for ESP in UDP"
nsx "$NS_CL2" $IKEESP ike --dst "$VIP" --dport 4500 --v1 --icookie 2222222222222222 --rcookie "$rc2" \
	--reply-timeout 5 >/dev/null || fail "no reply to client 2's second message"
expect_gate_counter established 2
expect_gate_counter esp_initial 2
nsx "$NS_CL2" $IKEESP keepalive --dst "$VIP"
wait_rs_seen "$other" keepalive "$CL2" 1 || fail "NAT-T keepalive not forwarded"
nsx "$NS_CL2" $IKEESP esp --dst "$VIP" --spi 2002 --proto udp
wait_rs_seen "$other" udp-esp "$CL2" 1 || fail "ESP in UDP did not reach rs$other"
[ "$(rs_seen "$other" udp-esp "$CL2")" = 1 ] || fail "ESP in UDP passed while INITIAL"
[ "$(gate_counter established_refresh)" -ge 1 ] || fail "keepalive did not refresh"
# Malformed NAT-T payloads (three bytes; a marker with nothing after it).
before=$(gate_counter natt_malformed)
nsx "$NS_CL2" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 4500))
s.sendto(b'abc', ('$VIP', 4500))
s.sendto(bytes(4), ('$VIP', 4500))
s.sendto(bytes(4) + b'short', ('$VIP', 4500))
"
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIR $IPSEC counter natt_malformed) = $((before + 2)) ]" ||
	fail "malformed NAT-T not counted: $(gate_counter natt_malformed)"
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIR $IPSEC counter isakmp_bad_header) = 1 ]" ||
	fail "short IKE after the marker not counted"
[ "$(rs_seen "$other" short "$CL2")" = 0 ] || fail "a malformed packet reached the real server"
nsx "$NS_DIR" cat /proc/net/ip_vs_ipsec
info "NAT mode and NAT traversal work"
