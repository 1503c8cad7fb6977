# SPDX-License-Identifier: GPL-2.0
#
# IPsec gate, direct routing, IPv4 (issue tests 1-4): ESP with no entry is
# answered with ICMP protocol unreachable and reaches no real server; an
# IKE_SA_INIT (responder cookie 0) makes an INITIAL entry that drops ESP
# silently and expires; the client's packet with a responder cookie
# establishes it, and then ESP and AH reach the real server of the client's
# ISAKMP flow; two clients land on different real servers; NAT-T
# keepalives refresh the entry, ESP does not. The timers are waited for by
# condition (ICMP for the client's ESP, within a bound) and must not fire
# before their timeout. "Silence" is concluded only after a later echo
# reply from the VIP (ikeesp.py esp --expect silence).
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

ipsec_test_begin dr
# Parts 1-3 test no timer: entries must outlive the slowest guest (on the
# KASAN kernel each client tool run takes half a minute; a fixed 300 s ran
# out there between parts 3 and 4). Part 4 sets short ones.
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_initial_timeout="$(ts 300)"
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_established_timeout="$(ts 300)"
nsx "$NS_DIR" $IPSEC list

info "1. ESP with no entry: ICMP protocol unreachable, nothing forwarded"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1001 --expect icmp || fail "no ICMP for ESP without entry"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1001 --proto ah --expect icmp || fail "no ICMP for AH without entry"
expect_gate_counter esp_no_entry 2

info "2. IKE_SA_INIT makes an INITIAL entry: ESP dropped silently"
rc=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 1111111111111111 --reply-timeout 5) ||
	fail "no IKE reply through the director"
info "responder cookie $rc"
case $rc in
"$RS1_COOKIE") mine=1 other=2 ;;
"$RS2_COOKIE") mine=2 other=1 ;;
*) fail "unexpected responder cookie $rc" ;;
esac
expect_gate_counter initial_created 1
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1002 --expect silence || fail "ICMP for ESP on an INITIAL entry"
expect_gate_counter esp_initial 1
# A zero initiator cookie is dropped and counted.
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 0000000000000000
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIR $IPSEC counter isakmp_zero_icookie) = 1 ]" ||
	fail "zero initiator cookie not counted"

info "3. The client's responder cookie establishes; ESP and AH follow its IKE flow"
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 1111111111111111 --rcookie "$rc" --reply-timeout 5 >/dev/null ||
	fail "no reply to the second IKE message"
expect_gate_counter established 1
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1003 --expect silence || fail "ICMP for ESP on an ESTABLISHED entry"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1003 --proto ah --expect silence || fail "ICMP for AH"
wait_rs_seen "$mine" esp "$CL1" 1 || fail "ESP did not reach rs$mine"
wait_rs_seen "$mine" ah "$CL1" 1 || fail "AH did not reach rs$mine"
[ "$(rs_seen "$mine" esp "$CL1")" = 1 ] || fail "rs$mine saw the rejected ESP packets"
[ "$(rs_seen "$other" esp "$CL1")" = 0 ] || fail "ESP reached the other real server"
expect_gate_counter esp_pass 2

info "second client lands on the other real server"
rc2=$(nsx "$NS_CL2" $IKEESP ike --dst "$VIP" --icookie 2222222222222222 --reply-timeout 5) ||
	fail "no IKE reply for client 2"
[ "$rc2" != "$rc" ] || fail "both clients went to the same real server (rr, persistence per client)"
nsx "$NS_CL2" $IKEESP ike --dst "$VIP" --icookie 2222222222222222 --rcookie "$rc2" --reply-timeout 5 >/dev/null ||
	fail "no reply to client 2's second message"
nsx "$NS_CL2" $IKEESP esp --dst "$VIP" --spi 2001 --expect silence || fail "ICMP for client 2's ESP"
wait_rs_seen "$other" esp "$CL2" 1 || fail "client 2's ESP did not reach rs$other"

info "4. Timers: INITIAL expires; ISAKMP/keepalive refresh; ESP does not"
# Waited for by condition, each within a bound, never by a fixed sleep:
# the expiry must come, and not before its timeout.
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_initial_timeout="$(ts 3)"
# 12 s (scaled), not 8: a keepalive round is two client tool runs and
# the ESP probe's 1 s wait (4-5 s measured on the normal kernel, whose
# scale does not grow with the tools' fixed start-up), against whole
# seconds of gate clock (an entry lives more than T - 1 s).
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_established_timeout="$(ts 12)"
refresh0=$(gate_counter established_refresh)
# until_icmp T0 LIMIT SPI CMD...: rounds of CMD, then client 1's ESP, until
# that ESP is answered with ICMP or LIMIT seconds have passed since T0;
# sets expired (seconds since T0, empty if no ICMP came) and rounds.
until_icmp() {
	t0=$1 limit=$2 spi=$3
	shift 3
	rounds=0 expired=
	while [ $(($(date +%s) - t0)) -lt "$limit" ]; do
		"$@"
		rounds=$((rounds + 1))
		if nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi "$spi" --expect icmp --wait 1 >/dev/null; then
			expired=$(($(date +%s) - t0))
			return
		fi
	done
}
# The new timeout applies from each entry's next ISAKMP packet.
t0=$(date +%s)
nsx "$NS_CL1" $IKEESP keepalive --dst "$VIP"
# Client 1 now sends only ESP, client 2 keepalives, until client 1's ESP is
# answered with ICMP: its entry expired although ESP kept coming.
until_icmp "$t0" "$(ts 36)" 1004 nsx "$NS_CL2" $IKEESP keepalive --dst "$VIP"
[ -n "$expired" ] || fail "ESTABLISHED entry refreshed by ESP alone (no ICMP in $(ts 36) s)"
[ "$expired" -ge $(($(ts 12) - 1)) ] || {
	gate_dump
	fail "client 1's entry expired after $expired s, before its $(ts 12) s timeout (established_refresh $refresh0 before, $rounds rounds)"
}
info "client 1's entry expired after $expired s of ESP alone"
nsx "$NS_CL2" $IKEESP esp --dst "$VIP" --spi 2002 --expect silence ||
	fail "keepalives did not keep client 2's entry"
[ "$(gate_counter established_refresh)" -ge $((refresh0 + rounds + 1)) ] || fail "keepalives not counted as refreshes"
# INITIAL: client 1 starts again; its entry must expire after the 3 s
# (scaled) timeout. That it was made is read from the gate's counter, not
# probed with ESP in a race against the timer.
created=$(gate_counter initial_created)
t0=$(date +%s)
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 3333333333333333 --reply-timeout 5 >/dev/null ||
	fail "no reply to the new IKE_SA_INIT"
expect_gate_counter initial_created $((created + 1))
until_icmp "$t0" "$(ts 12)" 1007 true
[ -n "$expired" ] || fail "INITIAL entry did not expire (no ICMP in $(ts 12) s)"
[ "$expired" -ge $(($(ts 3) - 1)) ] || fail "INITIAL entry expired after $expired s, before its $(ts 3) s timeout"
info "INITIAL entry expired after $expired s"
# The collector removes what expired (client 2 has been silent since its
# last keepalive and runs out of its 12 s (scaled) as well).
wait_for "$(ts 12)" sh -c "ip netns exec $NS_DIR $IPSEC list | grep -q '^entries 0 '" ||
	fail "expired entries not collected: $(nsx "$NS_DIR" $IPSEC list | tail -1)"
[ "$(gate_counter expired)" -ge 2 ] || fail "collector did not count removals"
nsx "$NS_DIR" cat /proc/net/ip_vs_ipsec
info "gate works in direct routing mode"
