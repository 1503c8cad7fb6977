# SPDX-License-Identifier: GPL-2.0
#
# The IPsec gate against an attacker who spoofs source addresses (issue
# 20, items 1-3). In direct routing any responder cookie establishes a
# client, so two spoofed packets per address make an ESTABLISHED entry:
#   1. 1000 spoofed IPv4 sources in four /24s establish while two real
#      clients establish alongside: each /24 gets ipsec_max_entries_per_prefix
#      entries and no more (prefix_cap), the real clients are not affected;
#   2. 1000 spoofed IPv6 sources, each in its own /64 (the per-prefix
#      bounds do not bind), fill ipsec_max_entries and no more (table_full);
#      once their last ISAKMP is older than ipsec_evict_after, a new real
#      client gets in by evicting one (evicted), while the real clients
#      that refreshed (keepalive) keep their entries;
#   3. a spoofed ESP flood from 62500 sources: what reaches the gate is
#      refused (esp_no_entry), nothing reaches a real server, and a real
#      client's ESP keeps reaching its server;
#   4. reflection: ESP spoofed from a victim's address makes the gate
#      answer the victim with ICMP, at most as often as the kernel's ICMP
#      rate limit (net.ipv4.icmp_ratelimit, its default 1000 ms here) lets
#      it, however fast the attacker sends;
#   5. 300 spoofed IKE_SA_INIT from as many IPv6 /64s hold the cap on
#      INITIAL entries (ipsec_max_initial): once the flood's entries are 3
#      s old, two new real clients still establish, each taking the room of
#      one of them.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

PER_PREFIX=40
MAX=400
ipsec_test_begin dr
ipsec_service dr "$VIP6" "$RS1_6" "$RS2_6"
# Spoofed sources arrive on a0 and a2: no reverse path filter.
for i in all a0 a2; do
	nsx "$NS_DIR" sysctl -qw net.ipv4.conf.$i.rp_filter=0
done
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_entries_per_prefix=$PER_PREFIX
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_initial_timeout="$(ts 120)"
# Nothing is evictable until part 2 says so, however slow the guest.
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_evict_after="$(ts 3600)"
entries() {
	nsx "$NS_DIR" $IPSEC list | tail -1 | sed 's/^entries \([0-9]*\) .*/\1/'
}
settled() { # waits until counter $1 plus counter $2 reach $3
	wait_for "$(ts 30)" sh -c "[ \$(( \$(ip netns exec $NS_DIR $IPSEC counter $1) + \
		\$(ip netns exec $NS_DIR $IPSEC counter $2) )) -ge $3 ]" ||
		fail "$1 $(gate_counter "$1") + $2 $(gate_counter "$2") did not reach $3"
}

info "1. 1000 spoofed sources in four /24s establish; two real clients alongside"
nsx "$NS_CL1" $IKEESP flood --dst "$VIP" --src-prefix 10.9 --count 1000 --establish &
flood=$!
rc1=$(ipsec_establish "$NS_CL1" 1111111111111111)
rc2=$(ipsec_establish "$NS_CL2" 2222222222222222)
wait $flood
[ -n "$rc1" ] && [ -n "$rc2" ] || fail "a real client could not establish during the flood"
# Each source: INITIAL (created or refused), then ESTABLISHED or no entry.
wait_for "$(ts 30)" sh -c "[ \$(ip netns exec $NS_DIR $IPSEC counter initial_created) -ge $((4 * PER_PREFIX + 2)) ]" ||
	fail "the flood did not arrive: $(gate_counter initial_created) entries created"
sleep 2
[ "$(entries)" = $((4 * PER_PREFIX + 2)) ] || fail "entries after the flood: $(entries), bound $((4 * PER_PREFIX + 2))"
settled initial_created prefix_cap 1002
expect_gate_counter initial_created $((4 * PER_PREFIX + 2))
expect_gate_counter prefix_cap $((1000 - 4 * PER_PREFIX))
case $rc1 in "$RS1_COOKIE") r1=1 ;; *) r1=2 ;; esac
case $rc2 in "$RS1_COOKIE") r2=1 ;; *) r2=2 ;; esac
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1001 --expect silence || fail "client 1 refused after the flood"
nsx "$NS_CL2" $IKEESP esp --dst "$VIP" --spi 2001 --expect silence || fail "client 2 refused after the flood"
wait_rs_seen "$r1" esp "$CL1" 1 || fail "client 1's ESP did not reach rs$r1"
wait_rs_seen "$r2" esp "$CL2" 1 || fail "client 2's ESP did not reach rs$r2"
info "$(entries) entries: $PER_PREFIX per /24 and the two clients"

info "2. 1000 spoofed IPv6 sources, one per /64, against ipsec_max_entries=$MAX"
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_entries=$MAX
room=$((MAX - $(entries)))
before_full=$(gate_counter table_full)
nsx "$NS_CL2" $IKEESP flood6 --dst "$VIP6" --src-prefix fd00:99 --count 1000 --establish
settled initial_created table_full $((4 * PER_PREFIX + 2 + room + 1000 - room + before_full))
[ "$(entries)" = $MAX ] || fail "entries after the IPv6 flood: $(entries), bound $MAX"
expect_gate_counter table_full $((before_full + 1000 - room))
expect_gate_counter evicted 0
# A new client is refused while every entry is fresh...
nsx "$NS_CL1" $IKEESP ike --dst "$VIP6" --icookie 3333333333333333 --reply-timeout 2 >/dev/null &&
	fail "a new client got in while no entry was evictable"
expect_gate_counter table_full $((before_full + 1000 - room + 1))
# ...and gets in once the flood's ISAKMP is older than ipsec_evict_after;
# the real clients refresh (NAT-T keepalive) and are not evicted.
evict_after=$(ts 10)
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_evict_after="$evict_after"
sleep $((evict_after + 1))
nsx "$NS_CL1" $IKEESP keepalive --dst "$VIP"
nsx "$NS_CL2" $IKEESP keepalive --dst "$VIP"
rc3=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP6" --icookie 3333333333333333 --reply-timeout 5) ||
	fail "a new client was refused although the flood's entries were evictable"
nsx "$NS_CL1" $IKEESP ike --dst "$VIP6" --icookie 3333333333333333 --rcookie "$rc3" --reply-timeout 5 >/dev/null ||
	fail "no reply to the new client's second IKE message"
expect_gate_counter evicted 1
[ "$(entries)" = $MAX ] || fail "entries after an eviction: $(entries)"
case $rc3 in "$RS1_COOKIE") r3=1 ;; *) r3=2 ;; esac
nsx "$NS_CL1" $IKEESP esp --dst "$VIP6" --spi 3001 --expect silence || fail "the new client's ESP was refused"
wait_rs_seen "$r3" esp "$CL1_6" 1 || fail "the new client's ESP did not reach rs$r3"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1002 --expect silence || fail "client 1 was evicted"
nsx "$NS_CL2" $IKEESP esp --dst "$VIP" --spi 2002 --expect silence || fail "client 2 was evicted"

info "3. spoofed ESP flood from 62500 sources, a real client alongside"
before=$(gate_counter esp_no_entry)
passed=$(gate_counter esp_pass)
seen=$(rs_seen "$r1" esp "$CL1")
# nice 10 (see 26-module-reload): the client's ten sends go first.
nsx "$NS_CL2" nice -n 10 $IKEESP esp-flood --dst "$VIP" --src-prefix 10.8 --seconds "$(ts 5)" >"$IPVS_AUTH_OUT/esp-flood.count" &
flood=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
	nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi $((1100 + i)) >/dev/null
done
wait $flood
sent=$(cat "$IPVS_AUTH_OUT/esp-flood.count")
wait_rs_seen "$r1" esp "$CL1" $((seen + 10)) 10 ||
	fail "client 1's ESP during the flood: $(( $(rs_seen "$r1" esp "$CL1") - seen )) of 10 arrived"
refused=$(( $(gate_counter esp_no_entry) - before ))
info "flood: $sent spoofed ESP sent, $refused refused (esp_no_entry); client 1: 10 of 10 arrived"
[ "$refused" -ge 1 ] && [ "$refused" -le "$sent" ] || fail "esp_no_entry grew by $refused for $sent spoofed ESP"
# Only client 1's ten packets passed the gate.
expect_gate_counter esp_pass $((passed + 10))
for n in 1 2; do
	[ "$(grep -c '^esp 10\.8\.' "$IPVS_AUTH_OUT/rs$n.log")" = 0 ] || fail "spoofed ESP reached rs$n"
done

info "4. reflection: ESP spoofed from a victim, ICMP rate limit at its default"
VICTIM=10.0.4.99
SECS=$(ts 5)
nsx "$NS_DIR" sysctl -qw net.ipv4.icmp_ratelimit=1000
nsx "$NS_CL2" ip addr add "$VICTIM/24" dev c0
# The victim listens from before the flood until 1 s after it (a stop
# file), not for a fixed time: on a starved guest a fixed window could
# close before the flood starts.
stop=$(mktemp -u /tmp/victim-stop.XXXXXX)
nsx "$NS_CL2" python3 - "$VICTIM" "$stop" "$IPVS_AUTH_OUT/victim-ready" >"$IPVS_AUTH_OUT/victim-icmp.count" <<'PY' &
import os, select, socket, sys, time
victim, stop, ready = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
open(ready, "w").close()
n, end = 0, None
while end is None or time.monotonic() < end:
    if end is None and os.path.exists(stop):
        end = time.monotonic() + 1
    r, _, _ = select.select([s], [], [], 0.2)
    if not r:
        continue
    data, _ = s.recvfrom(4096)
    ihl = (data[0] & 15) * 4
    if socket.inet_ntoa(data[16:20]) == victim and data[ihl] == 3 and data[ihl + 1] == 2:
        n += 1
print(n)
PY
listener=$!
rm -f "$IPVS_AUTH_OUT/victim-ready"
wait_for 30 test -e "$IPVS_AUTH_OUT/victim-ready" || fail "the victim's listener did not start"
before=$(gate_counter esp_no_entry)
sent=$(nsx "$NS_CL1" $IKEESP esp-flood --dst "$VIP" --src "$VICTIM" --seconds "$SECS")
touch "$stop"
wait $listener
rm -f "$stop"
icmp=$(cat "$IPVS_AUTH_OUT/victim-icmp.count")
refused=$(( $(gate_counter esp_no_entry) - before ))
info "$sent ESP spoofed from $VICTIM in $SECS s: $refused refused, $icmp ICMP to the victim"
[ "$refused" -ge 100 ] || fail "the reflection flood hardly reached the gate ($refused)"
# One answer per second per destination, after a burst of at most 6: the
# flood lasts $SECS s (the listener 1 s more; 3 s of slack for packets a
# starved guest processes late, as before).
[ "$icmp" -ge 1 ] && [ "$icmp" -le $((SECS + 3 + 6)) ] ||
	fail "$icmp ICMP errors reached the victim during a $SECS s flood"

info "5. the INITIAL cap held by spoofed IKE_SA_INIT from 300 IPv6 /64s; new clients get in"
MAXI=100
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_entries=65536
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_initial=$MAXI
# Clients 1 and 2 become new clients: unmarking the address removes its
# entries.
nsx "$NS_DIR" $IPSEC del "$VIP" || fail "cannot unmark $VIP"
nsx "$NS_DIR" $IPSEC add "$VIP" || fail "cannot mark $VIP again"
initial() {
	nsx "$NS_DIR" $IPSEC list | tail -1 | sed 's/^entries [0-9]* initial \([0-9]*\) .*/\1/'
}
[ "$(initial)" = 0 ] || fail "INITIAL entries before part 5: $(initial)"
created0=$(gate_counter initial_created)
evicted0=$(gate_counter evicted)
cap0=$(gate_counter initial_cap)
# Each source in its own /64: the per-prefix bounds do not bind. Before
# the cap took the room of INITIAL entries, this kept every new client out
# for ipsec_initial_timeout. The flood's packets after the first $MAXI
# evict only entries of its own that are INITIAL_MIN_AGE (3 s) old, so how
# many it evicted depends on how long it took to send.
nsx "$NS_CL2" $IKEESP flood6 --dst "$VIP6" --src-prefix fd00:98 --count 300
settled initial_created initial_cap $((created0 + 300 + cap0))
[ "$(( $(gate_counter initial_created) + $(gate_counter initial_cap) ))" = $((created0 + 300 + cap0)) ] ||
	fail "the flood's 300 packets: $(gate_counter initial_created) created, $(gate_counter initial_cap) capped"
[ "$(( $(gate_counter initial_created) - created0 - ($(gate_counter evicted) - evicted0) ))" = $MAXI ] ||
	fail "created minus evicted is not the cap $MAXI"
[ "$(initial)" = $MAXI ] || fail "INITIAL entries after the flood: $(initial), cap $MAXI"
info "flood: $(( $(gate_counter initial_created) - created0 )) created, $(( $(gate_counter evicted) - evicted0 )) evicted, $(( $(gate_counter initial_cap) - cap0 )) capped"
evicted1=$(gate_counter evicted)
cap1=$(gate_counter initial_cap)
est1=$(gate_counter established)
# The flood's entries reach INITIAL_MIN_AGE; then two new clients.
sleep 3
# Both IKE_SA_INIT first, each at the cap (once a client establishes, its
# INITIAL entry leaves room for the next without an eviction).
rc1=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 5555555555555555 --reply-timeout 5) ||
	fail "client 1 got no IKE reply with the cap held"
rc2=$(nsx "$NS_CL2" $IKEESP ike --dst "$VIP" --icookie 6666666666666666 --reply-timeout 5) ||
	fail "client 2 got no IKE reply with the cap held"
expect_gate_counter evicted $((evicted1 + 2))
expect_gate_counter initial_cap "$cap1"
[ "$(initial)" = $MAXI ] || fail "INITIAL entries with the two clients in: $(initial)"
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 5555555555555555 --rcookie "$rc1" --reply-timeout 5 >/dev/null ||
	fail "no reply to client 1's second IKE message"
nsx "$NS_CL2" $IKEESP ike --dst "$VIP" --icookie 6666666666666666 --rcookie "$rc2" --reply-timeout 5 >/dev/null ||
	fail "no reply to client 2's second IKE message"
expect_gate_counter established $((est1 + 2))
[ "$(initial)" = $((MAXI - 2)) ] || fail "INITIAL entries after two clients established: $(initial)"
case $rc1 in "$RS1_COOKIE") r1=1 ;; *) r1=2 ;; esac
seen=$(rs_seen "$r1" esp "$CL1")
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1201 --expect silence || fail "the new client's ESP was refused"
wait_rs_seen "$r1" esp "$CL1" $((seen + 1)) || fail "the new client's ESP did not reach rs$r1"
nsx "$NS_DIR" cat /proc/net/ip_vs_ipsec
