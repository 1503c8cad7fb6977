# SPDX-License-Identifier: GPL-2.0
#
# IPsec gate DoS bounds (issue test 7, seed section 4.3) and soft expiry
# (seed section 4): a flood of IKE_SA_INIT messages from spoofed sources
# fills the cap on INITIAL entries and no more; the established client keeps
# working and is never evicted; a new client of another prefix gets in
# while the flood's entries hold the cap (after the flood was sent),
# taking the room of one of them; the flood's entries time out. Then, with a soft-expire quota of 1, exactly one of
# two idle established clients outlives its timeout, and its next ISAKMP
# packet makes it a normal entry again. Last, floods that run while new
# clients come: one renewing each entry every 8 s lets a new client
# establish (evicting); one renewing every 0.5 s keeps it out.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

CAP=20
FLOOD=100
ipsec_test_begin dr
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_initial=$CAP
# The flood's sources are all in 10.9.1.0/24: with that prefix's own bound
# at the cap, its surplus is refused rather than evicting its own entries.
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_initial_per_prefix=$CAP
# Spoofed sources arrive on a2: no reverse path filter.
nsx "$NS_DIR" sysctl -qw net.ipv4.conf.all.rp_filter=0
nsx "$NS_DIR" sysctl -qw net.ipv4.conf.a2.rp_filter=0

# In $(...), ipsec_establish's fail would end only the subshell: its
# status is checked here, and its message is what it printed.
rc1=$(ipsec_establish "$NS_CL1" 1111111111111111) || fail "client 1: $rc1"
expect_gate_counter established 1

info "7. a flood of $FLOOD spoofed IKE_SA_INIT against a cap of $CAP"
# Long enough for every check below under a slow (debug, TCG) guest.
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_initial_timeout="$(ts 40)"
nsx "$NS_CL2" $IKEESP flood --dst "$VIP" --src-prefix 10.9 --count $FLOOD
wait_for 10 sh -c "[ \$(( \$(ip netns exec $NS_DIR $IPSEC counter initial_created) + \
	\$(ip netns exec $NS_DIR $IPSEC counter initial_cap) )) -ge $((FLOOD + 1)) ]" ||
	fail "flood not fully seen: $(gate_counter initial_created) created, $(gate_counter initial_cap) capped"
# Client 1's own INITIAL became ESTABLISHED, so the cap admits $CAP flood entries.
expect_gate_counter initial_created $((CAP + 1))
expect_gate_counter initial_cap $((FLOOD - CAP))
nsx "$NS_DIR" $IPSEC list | tail -1 | grep -q "^entries $((CAP + 1)) initial $CAP " ||
	fail "table after the flood: $(nsx "$NS_DIR" $IPSEC list | tail -1)"
# Each was refused by its prefix's own bound, not by lack of a victim.
expect_gate_counter prefix_initial_cap $((FLOOD - CAP))
expect_gate_counter evicted 0
# The established client keeps working...
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1001 --expect silence || fail "established client refused during the flood"
case $rc1 in "$RS1_COOKIE") r=1 ;; *) r=2 ;; esac
wait_rs_seen "$r" esp "$CL1" 1 || fail "established client's ESP did not get through during the flood"
# ...and a new client of another prefix gets in while the cap is full: its
# INITIAL entry takes the room of one of the flood's, whose prefix holds
# the most; the established client's entry is never the one. An entry
# gives its room only once its last ISAKMP is INITIAL_MIN_AGE (3 s) old.
sleep 3
ipsec_establish "$NS_CL2" 2222222222222222 >/dev/null
expect_gate_counter established 2
expect_gate_counter evicted 1
nsx "$NS_DIR" $IPSEC list | tail -1 | grep -q "^entries $((CAP + 1)) initial $((CAP - 1)) " ||
	fail "table after the new client: $(nsx "$NS_DIR" $IPSEC list | tail -1)"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1003 --expect silence || fail "the new client evicted the established one"
# The flood's entries time out (40 s, scaled).
wait_for "$(ts 60)" sh -c "ip netns exec $NS_DIR $IPSEC list | tail -1 | grep -q '^entries 2 initial 0 '" ||
	fail "flood entries not collected: $(nsx "$NS_DIR" $IPSEC list | tail -1)"

info "soft expiry: quota 1, two idle established clients"
nsx "$NS_DIR" $IPSEC add "$VIP" --soft-quota 1 || fail "cannot set the soft-expire quota"
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_established_timeout="$(ts 30)"
t0=$(date +%s)
nsx "$NS_CL1" $IKEESP keepalive --dst "$VIP"
nsx "$NS_CL2" $IKEESP keepalive --dst "$VIP"
# Waited for by condition, not by a sleep raced against the collector: the
# collector extends one entry (it looks one second ahead) and removes the
# other, not before the 30 s (scaled) timeout. The gate counts whole
# seconds of uptime: both keepalives came after t0, so the removal comes
# more than 29 s after it.
soft_expired() {
	[ "$(gate_counter soft_extended)" -ge 1 ] &&
		nsx "$NS_DIR" $IPSEC list | grep -q "^$VIP dr soft_quota 1 entries 1 soft 1"
}
wait_for "$(ts 60)" soft_expired ||
	fail "after soft expiry: soft_extended $(gate_counter soft_extended), service $(nsx "$NS_DIR" $IPSEC list | head -1)"
elapsed=$(($(date +%s) - t0))
[ "$elapsed" -ge $(($(ts 30) - 1)) ] || fail "soft expiry after $elapsed s, before the $(ts 30) s timeout"
expect_gate_counter soft_extended 1
r1=$(nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1002 --expect silence)
r2=$(nsx "$NS_CL2" $IKEESP esp --dst "$VIP" --spi 2002 --expect silence)
info "client 1: $r1, client 2: $r2"
case "$r1 $r2" in
"silence icmp") soft=$NS_CL1 ;;
"icmp silence") soft=$NS_CL2 ;;
*) fail "expected exactly one client to outlive its timeout" ;;
esac
nsx "$soft" $IKEESP keepalive --dst "$VIP"
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIR $IPSEC counter soft_revived) = 1 ]" ||
	fail "ISAKMP did not revive the soft entry"
nsx "$NS_DIR" $IPSEC list | grep -q "^$VIP dr soft_quota 1 entries 1 soft 0" ||
	fail "service after revival: $(nsx "$NS_DIR" $IPSEC list | head -1)"
info "a flood that runs while new clients come (cap $CAP)"
# new_client ADDR ICOOKIE: a client at ADDR (an address of client 1's
# host) sends IKE_SA_INIT and, if a real server answers, the message with
# its responder cookie (what establishes in direct routing). Fails if no
# real server answers either message within 2 s, scaled (three tries each).
new_client() {
	nsx "$NS_CL1" ip addr add "$1/24" dev c0 2>/dev/null
	for try in 1 2 3; do
		c=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --src "$1" --icookie "$2" --reply-timeout "$(ts 2)" 2>/dev/null) && break
		[ "$try" = 3 ] && return 1
	done
	for try in 1 2 3; do
		nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --src "$1" --icookie "$2" --rcookie "$c" \
			--reply-timeout "$(ts 2)" >/dev/null 2>&1 && return 0
	done
	return 1
}
# A. 40 spoofed sources of 10.8.1.0/24 in turn at 5 a second: the prefix's
# bound lets 20 of them hold the cap, each renewed every 8 s, so entries
# at least 3 s old are there to give their room. A new client establishes
# while the flood runs (5 < CAP / 3 a second: below what holding the cap
# costs), and the flood's sources that lost their entry take others' back.
est0=$(gate_counter established) ev0=$(gate_counter evicted)
# A failing check must not leave a flood running in the guest.
flood=
trap '[ -z "$flood" ] || kill "$flood" 2>/dev/null; ipsec_cleanup; unload_module' EXIT
# Not through nsx (a shell function: $! would be a subshell, and killing
# it would leave the flood running): ip netns exec becomes the flood.
ip netns exec "$NS_CL2" $IKEESP flood --dst "$VIP" --src-prefix 10.8 --count 40 --seconds "$(ts 300)" --pps 5 >/dev/null &
flood=$!
wait_for "$(ts 10)" sh -c "ip netns exec $NS_DIR $IPSEC list | tail -1 | grep -q ' initial $CAP '" ||
	fail "slow flood: the cap was not reached: $(nsx "$NS_DIR" $IPSEC list | tail -1)"
sleep 4
new_client 10.0.1.50 3333333333333333 || fail "slow flood: a new client got no answer while the flood ran"
[ "$(gate_counter established)" = $((est0 + 1)) ] ||
	fail "slow flood: established went $est0 -> $(gate_counter established), expected +1"
[ "$(gate_counter evicted)" -gt "$ev0" ] || fail "slow flood: the new client evicted nobody"
# Still running (it runs far longer than this needs): then stopped.
kill -0 "$flood" 2>/dev/null || fail "slow flood: the flood ended before the client established"
kill "$flood"
wait "$flood" 2>/dev/null
flood=
info "slow flood (5/s over 40 sources): a new client established while it ran; evicted $ev0 -> $(gate_counter evicted)"
# B. 20 sources of another prefix at 40 a second: each entry is renewed
# every 0.5 s, never 3 s old, so once they hold the cap (taking the room of
# A's leftovers) nobody can take theirs: a new client gets no answer and
# nothing is evicted for it. This is what holding the cap costs, as
# documented (CAP / 3 a second and more).
ip netns exec "$NS_CL2" $IKEESP flood --dst "$VIP" --src-prefix 10.7 --count $CAP --seconds "$(ts 300)" --pps 40 >/dev/null &
flood=$!
# The INITIAL entries of 10.7.0.0/16 sources (0A07... in the file).
fast_flood_holds_cap() {
	[ "$(nsx "$NS_DIR" awk '$1 ~ /^0A07/ && $4 == "INITIAL"' /proc/net/ip_vs_ipsec_conn | wc -l)" = $CAP ]
}
wait_for "$(ts 10)" fast_flood_holds_cap ||
	fail "fast flood: its $CAP sources do not hold the cap: $(nsx "$NS_DIR" $IPSEC list | tail -1)"
# Then long enough for any entry of B's that a later packet of its own
# could have replaced to be renewed, and past the throttle's second.
sleep 4
fast_flood_holds_cap || fail "fast flood: its sources lost their hold on the cap"
est1=$(gate_counter established) ev1=$(gate_counter evicted) cap1=$(gate_counter initial_cap)
new_client 10.0.1.51 4444444444444444 && fail "fast flood: a new client got in while the cap was renewed every 0.5 s"
[ "$(gate_counter established)" = "$est1" ] || fail "fast flood: established changed"
[ "$(gate_counter evicted)" = "$ev1" ] ||
	fail "fast flood: evicted went $ev1 -> $(gate_counter evicted): an entry renewed every 0.5 s gave its room"
[ "$(gate_counter initial_cap)" -gt "$cap1" ] || fail "fast flood: the new client was not counted at the cap"
kill -0 "$flood" 2>/dev/null || fail "fast flood: the flood ended before the client was refused"
kill "$flood"
wait "$flood" 2>/dev/null
flood=
info "fast flood (40/s over $CAP sources): the new client was kept out, nothing evicted for it"

nsx "$NS_DIR" cat /proc/net/ip_vs_ipsec
info "entry slab (name active total objsize ...): $(grep '^ipvsa_gate_entry ' /proc/slabinfo)"
info "cap and soft expiry work"
