# SPDX-License-Identifier: GPL-2.0
#
# IPsec gate, NAT mode, IPv4 (issue tests 5 and 6): the director learns
# each real server's responder cookie from its (translated) replies, so a
# client's packet with another cookie does not establish and the right one
# does; NAT traversal on UDP 4500 (IKE after the non-ESP marker, NAT
# keepalives, ESP in UDP); IKEv1 and IKEv2 headers; malformed NAT-T
# payloads are dropped and counted. Each IKE SA gets its own responder
# cookie: of two clients on the same real server, neither's cookie
# establishes the other (B spoofing A's address with its own valid
# cookie, or sending A's), and the one learned first still works.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

# Each IKE SA gets its own responder cookie, as from real responders (the
# server's 4 bytes, then the initiator cookie's first 4): learning per
# client can be told from learning per real server.
IPSEC_PER_SA_COOKIES=1
ipsec_test_begin nat
nsx "$NS_DIR" $IPSEC list | grep -q "^$VIP nat " || fail "service not listed as NAT"

# The real server whose responder cookie $1 is. Called in $(...), where
# fail would end only the subshell: it returns 1 and callers fail.
rs_of() {
	case $1 in
	"$(echo "$RS1_COOKIE" | cut -c1-8)"????????) echo 1 ;;
	"$(echo "$RS2_COOKIE" | cut -c1-8)"????????) echo 2 ;;
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

info "per client: a cookie learned for one client does not establish another"
# Clients of client 1's namespace, from three more addresses, until two of
# them are on the same real server (two servers: one of three at least).
add_client_addr() { nsx "$NS_CL1" ip addr add "$1/24" dev c0 || fail "cannot add $1"; }
A= B= CA= CB=
for n in 11 12 13; do
	addr=10.0.1.$n
	add_client_addr "$addr"
	c=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --src "$addr" --icookie "${n}${n}${n}${n}${n}${n}${n}${n}" --reply-timeout 5) ||
		fail "no IKE reply for $addr"
	eval "rs_$n=\$(rs_of \"\$c\")" || fail "unexpected responder cookie '$c' for $addr"
	eval "ck_$n=\$c"
done
for pair in "11 12" "11 13" "12 13"; do
	set -- $pair
	eval "r1=\$rs_$1 r2=\$rs_$2"
	if [ "$r1" = "$r2" ]; then
		A=10.0.1.$1 B=10.0.1.$2
		eval "CA=\$ck_$1 CB=\$ck_$2 IA=$1$1$1$1$1$1$1$1 IB=$2$2$2$2$2$2$2$2"
		break
	fi
done
[ -n "$A" ] || fail "no two of three clients on one real server"
[ "$CA" != "$CB" ] || fail "the responder gave $A and $B the same cookie ($CA)"
info "$A and $B on rs$r1, cookies $CA and $CB; B learned last"
est=$(gate_counter established)
mis=$(gate_counter cookie_mismatch)
# B spoofing A's address with B's own (valid) cookie: refused, A's entry
# stays INITIAL.
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --src "$A" --icookie "$IA" --rcookie "$CB"
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIR $IPSEC counter cookie_mismatch) = $((mis + 1)) ]" ||
	fail "$A's address with $B's cookie was not a cookie mismatch"
expect_gate_counter established "$est"
# A, with its own cookie learned before B's: established (a gate that kept
# only the server's last cookie would refuse it).
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --src "$A" --icookie "$IA" --rcookie "$CA" --reply-timeout 5 >/dev/null ||
	fail "$A: no reply with its own cookie"
expect_gate_counter established $((est + 1))
# B, with A's cookie (same server): refused; with its own: established.
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --src "$B" --icookie "$IB" --rcookie "$CA"
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIR $IPSEC counter cookie_mismatch) = $((mis + 2)) ]" ||
	fail "$B with $A's cookie was not a cookie mismatch"
expect_gate_counter established $((est + 1))
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --src "$B" --icookie "$IB" --rcookie "$CB" --reply-timeout 5 >/dev/null ||
	fail "$B: no reply with its own cookie"
expect_gate_counter established $((est + 2))
nsx "$NS_DIR" cat /proc/net/ip_vs_ipsec
info "NAT mode and NAT traversal work"
