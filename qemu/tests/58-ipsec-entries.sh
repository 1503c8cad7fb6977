# SPDX-License-Identifier: GPL-2.0
#
# The gate's table for operators (issue 19, item 7): /proc/net/ip_vs_ipsec_conn
# lists one line per entry, like IPVS's /proc/net/ip_vs_conn, and
# `ipvs-ipsec list --entries` prints it like `ipvsadm -Lnc`. Real entries:
# INITIAL and ESTABLISHED clients over IPv4 (NAT mode: the learned responder
# cookie is listed) and IPv6 (direct routing: no cookie), with the real
# server of each client's ISAKMP flow; every column checked, the expiry
# counting down, soft expiry, the real server unknown once IPVS's
# connection is gone. The file is readable by the namespace's root only
# (0440, like /proc/net/nf_conntrack): an unprivileged reader is refused,
# the root of a user namespace reads its own network namespace's file. A
# flood of spoofed IKE_SA_INIT: every entry listed exactly once, however
# the file is read (small reads, seeks). Entries go with `ipvs-ipsec del`
# and `flush`.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

E=/proc/net/ip_vs_ipsec_conn
HEADER="FromIP   ToIP     DestIP   State       Soft RCookie          Expires"
LIST_HEADER="IPsec gate entries
expire state       source             virtual            destination        soft rcookie"
CL2_6=fd00:4::2

ipsec_test_begin nat
ipsec_service dr "$VIP6" "$RS1_6" "$RS2_6"
# Timeouts the checks below can tell apart, long enough for a slow guest.
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_initial_timeout="$(ts 300)"
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_established_timeout="$(ts 600)"

# An address as the file prints it: IPv4 as 8 uppercase hex digits (like
# ip_vs_conn), IPv6 in full.
hex4() {
	# shellcheck disable=SC2046 # the four numbers, split on purpose
	printf '%02X%02X%02X%02X' $(echo "$1" | tr . ' ')
}
full6() {
	/usr/bin/python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]).exploded)' "$1"
}

# expect_entry CLIENT VIP DEST STATE SOFT RCOOKIE MAX [WINDOW]: exactly one
# line for CLIENT -> VIP (file forms), with these columns, at the header's
# widths, and an expiry of at most MAX seconds and more than MAX - WINDOW
# (default 60, scaled).
expect_entry() {
	l=$(nsx "$NS_DIR" awk -v c="$1" -v v="$2" '$1 == c && $2 == v' "$E")
	[ "$(printf '%s\n' "$l" | grep -c .)" = 1 ] ||
		fail "expected one line for $1 -> $2 in:
$(nsx "$NS_DIR" cat "$E")"
	w=8
	case $1 in *:*) w=39 ;; esac
	want=$(awk -v c="$1" -v v="$2" -v d="$3" -v s="$4" -v f="$5" -v r="$6" -v w="$w" \
		'BEGIN { printf("%s %s %-" w "s %-11s %-4s %-16s", c, v, d, s, f, r) }')
	case $l in
	"$want "*) ;;
	*) fail "line for $1 -> $2:
  '$l'
expected
  '$want <expires>'" ;;
	esac
	[ "${#l}" = $((3 * w + 44)) ] || fail "line for $1 -> $2 is ${#l} characters wide: '$l'"
	exp=${l##* }
	{ [ "$exp" -le "$7" ] && [ "$exp" -gt $(($7 - ${8:-$(ts 60)})) ]; } ||
		fail "line for $1 -> $2 expires in $exp s, expected at most $7: '$l'"
}

# The expiry column of CLIENT -> VIP.
expires_of() {
	nsx "$NS_DIR" awk -v c="$1" -v v="$2" '$1 == c && $2 == v { print $7 }' "$E"
}

# rs_of COOKIE [_6]: the real server that answered with COOKIE, as the
# topology names it (RS1, RS1_6, ...).
rs_of() {
	case $1 in
	"$RS1_COOKIE") eval echo "\$RS1$2" ;;
	"$RS2_COOKIE") eval echo "\$RS2$2" ;;
	*) echo "unknown-cookie-$1" ;;
	esac
}

# list_line OUT CLIENT VIP: CLIENT -> VIP's line of `ipvs-ipsec list
# --entries` output OUT.
list_line() {
	printf '%s\n' "$1" | awk -v c="$2" -v v="$3" '$3 == c && $4 == v'
}

# expect_list_line OUT CLIENT VIP DEST STATE SOFT RCOOKIE: that line, exactly
# at ipvsadm -Lnc's widths (expire 6, state 11, addresses 18), its expiry
# as minutes:seconds.
expect_list_line() {
	l=$(list_line "$1" "$2" "$3")
	[ "$(printf '%s\n' "$l" | grep -c .)" = 1 ] ||
		fail "ipvs-ipsec list --entries: expected one line for $2 -> $3 in:
$1"
	exp=${l%% *}
	case $exp in
	[0-9][0-9]:[0-5][0-9] | [0-9][0-9][0-9]:[0-5][0-9]) ;;
	*) fail "ipvs-ipsec list --entries: expiry '$exp' is not minutes:seconds: '$l'" ;;
	esac
	want=$(printf '%-6s %-11s %-18s %-18s %-18s %-4s %s' "$exp" "$5" "$2" "$3" "$4" "$6" "$7")
	[ "$l" = "$want" ] || fail "ipvs-ipsec list --entries:
  '$l'
expected
  '$want'"
}

info "empty table: the header alone"
[ "$(nsx "$NS_DIR" cat "$E")" = "$HEADER" ] || fail "empty table: '$(nsx "$NS_DIR" cat "$E")'"
out=$(nsx "$NS_DIR" $IPSEC list --entries) || fail "ipvs-ipsec list --entries failed"
[ "$out" = "$LIST_HEADER" ] || fail "ipvs-ipsec list --entries on an empty table:
$out"

V4=$(hex4 "$VIP")
V6=$(full6 "$VIP6")
C1=$(hex4 "$CL1")
C2=$(hex4 "$CL2")
C1_6=$(full6 "$CL1_6")
C2_6=$(full6 "$CL2_6")

info "IPv4, NAT mode: INITIAL with the learned cookie and the real server"
rc1=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 1111111111111111 --reply-timeout 5) ||
	fail "no IKE reply (client 1)"
expect_gate_counter rcookie_learned 1
expect_entry "$C1" "$V4" "$(hex4 "$(rs_of "$rc1")")" INITIAL no "$rc1" "$(ts 300)"
info "$(nsx "$NS_DIR" cat "$E")"
info "...ESTABLISHED: the cookie stays, the other timeout"
nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 1111111111111111 --rcookie "$rc1" --reply-timeout 5 >/dev/null ||
	fail "no reply to client 1's second message"
expect_gate_counter established 1
expect_entry "$C1" "$V4" "$(hex4 "$(rs_of "$rc1")")" ESTABLISHED no "$rc1" "$(ts 600)"
rc2=$(nsx "$NS_CL2" $IKEESP ike --dst "$VIP" --icookie 2222222222222222 --reply-timeout 5) ||
	fail "no IKE reply (client 2)"
expect_gate_counter rcookie_learned 2
expect_entry "$C2" "$V4" "$(hex4 "$(rs_of "$rc2")")" INITIAL no "$rc2" "$(ts 300)"

info "IPv6, direct routing: no cookie is learned"
rc3=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP6" --icookie 3333333333333333 --reply-timeout 5) ||
	fail "no IKE reply over IPv6 (client 1)"
expect_entry "$C1_6" "$V6" "$(full6 "$(rs_of "$rc3" _6)")" INITIAL no - "$(ts 300)"
rc4=$(nsx "$NS_CL2" $IKEESP ike --dst "$VIP6" --icookie 4444444444444444 --reply-timeout 5) ||
	fail "no IKE reply over IPv6 (client 2)"
nsx "$NS_CL2" $IKEESP ike --dst "$VIP6" --icookie 4444444444444444 --rcookie "$rc4" --reply-timeout 5 >/dev/null ||
	fail "no reply to client 2's second IPv6 message"
expect_entry "$C2_6" "$V6" "$(full6 "$(rs_of "$rc4" _6)")" ESTABLISHED no - "$(ts 600)"
nsx "$NS_DIR" cat "$E"
lines=$(nsx "$NS_DIR" cat "$E" | wc -l)
[ "$lines" = 5 ] || fail "expected the header and 4 entries, got $lines lines"
nsx "$NS_DIR" $IPSEC list | tail -1 | grep -q "^entries 4 initial 2 " ||
	fail "table: $(nsx "$NS_DIR" $IPSEC list | tail -1)"

info "ipvs-ipsec list --entries, like ipvsadm -Lnc"
t0=$(date +%s)
out=$(nsx "$NS_DIR" $IPSEC list --entries) || fail "ipvs-ipsec list --entries failed"
secs=$(expires_of "$C1" "$V4")
t1=$(date +%s)
echo "$out"
[ "$(printf '%s\n' "$out" | head -2)" = "$LIST_HEADER" ] || fail "ipvs-ipsec list --entries: header"
[ "$(printf '%s\n' "$out" | wc -l)" = 6 ] || fail "ipvs-ipsec list --entries: not 2 + 4 lines"
expect_list_line "$out" "$CL1" "$VIP" "$(rs_of "$rc1")" ESTABLISHED no "$rc1"
expect_list_line "$out" "$CL2" "$VIP" "$(rs_of "$rc2")" INITIAL no "$rc2"
expect_list_line "$out" "$CL1_6" "$VIP6" "$(rs_of "$rc3" _6)" INITIAL no -
expect_list_line "$out" "$CL2_6" "$VIP6" "$(rs_of "$rc4" _6)" ESTABLISHED no -
# The expiry as minutes:seconds of the file's seconds (read right after
# it, within t1 - t0 seconds).
exp=$(list_line "$out" "$CL1" "$VIP" | cut -d' ' -f1)
m=${exp%%:*} s=${exp#*:}
d=$((${m#0} * 60 + ${s#0} - secs))
{ [ "$d" -ge 0 ] && [ "$d" -le $((t1 - t0 + 1)) ]; } ||
	fail "list --entries expiry $exp, the file's $secs s within $((t1 - t0)) s"

info "ipvs-ipsec why CLIENT: the client's entry, or why it has none"
out=$(nsx "$NS_DIR" $IPSEC why "$CL1") || fail "why $CL1 (ESTABLISHED): exit $?: $out"
case $out in "$CL1 -> $VIP: ESTABLISHED, expires in "*"s: ESP/AH pass to IPVS") ;;
*) fail "why $CL1: '$out'" ;; esac
out=$(nsx "$NS_DIR" $IPSEC why "$CL2") && fail "why $CL2 (INITIAL) exited 0: $out"
case $out in "$CL2 -> $VIP: INITIAL, expires in "*"s: ESP/AH dropped silently (counter esp_initial)"*"(NAT: the one learned, $rc2)") ;;
*) fail "why $CL2: '$out'" ;; esac
out=$(nsx "$NS_DIR" $IPSEC why "$CL2_6") || fail "why $CL2_6 (ESTABLISHED over IPv6): exit $?: $out"
case $out in "$CL2_6 -> $VIP6: ESTABLISHED, expires in "*) ;; *) fail "why $CL2_6: '$out'" ;; esac
out=$(nsx "$NS_DIR" $IPSEC why 10.99.99.99) && fail "why for an unknown client exited 0: $out"
case $out in "10.99.99.99 -> $VIP: no entry: ESP/AH get ICMP protocol-unreachable"*) ;;
*) fail "why 10.99.99.99: '$out'" ;; esac
json=$(nsx "$NS_DIR" $IPSEC list --entries --json) || fail "list --entries --json failed"
echo "$json" | /usr/bin/python3 -c '
import json, sys
e = {(x["source"], x["virtual"]): x for x in json.load(sys.stdin)["entries"]}
assert len(e) == 4, e
a = e[(sys.argv[1], sys.argv[2])]
assert a["state"] == "ESTABLISHED" and a["rcookie"] == sys.argv[3] and a["soft"] is False, a
assert 0 < a["expires"] <= int(sys.argv[4]), a
' "$CL1" "$VIP" "$rc1" "$(ts 600)" || fail "list --entries --json: $json"

info "readable by the namespace's root only"
[ "$(nsx "$NS_DIR" stat -c '%a %u %g' "$E")" = "440 0 0" ] ||
	fail "$E: mode and owner $(nsx "$NS_DIR" stat -c '%a %u %g' "$E"), expected 440 0 0"
err=$(nsx "$NS_DIR" $NOBODY cat "$E" 2>&1) && fail "an unprivileged user read $E: $err"
case $err in *"Permission denied"*) ;; *) fail "unprivileged read of $E: $err" ;; esac
err=$(nsx "$NS_DIR" $NOBODY $IPSEC list --entries 2>&1) &&
	fail "ipvs-ipsec list --entries worked for an unprivileged user: $err"
[ "$err" = "ipvs-ipsec: Permission denied (the entries are readable by the namespace's root only)" ] ||
	fail "unprivileged ipvs-ipsec list --entries: '$err'"
err=$(nsx "$NS_DIR" $NOBODY $IPSEC why "$CL1" 2>&1)
rc=$?
[ "$rc" = 3 ] || fail "ipvs-ipsec why for an unprivileged user: exit $rc, expected 3 (an error, not 'stopped'): $err"
[ "$err" = "ipvs-ipsec: Permission denied (the entries are readable by the namespace's root only)" ] ||
	fail "unprivileged ipvs-ipsec why: '$err'"
# The counters stay world-readable, as IPVS's own files.
[ "$(nsx "$NS_DIR" $NOBODY $IPSEC counter established)" = 2 ] ||
	fail "an unprivileged user cannot read /proc/net/ip_vs_ipsec"
# The root of a user namespace owns the file of a network namespace made
# in it once its uid 0 is mapped (unshare -Ur, then unshare -n inside);
# one made together with the user namespace (unshare -Urn), before the
# mapping exists, keeps the global root as owner, as nf_conntrack's does.
if [ ! -e /proc/self/ns/user ] || ! unshare -Urn true 2>/dev/null; then
	info "user namespaces unavailable: user-namespace part not run"
else
	out=$($NOBODY unshare -Ur unshare -n sh -c "stat -c '%a %u %g' $E && cat $E" 2>&1)
	[ "$out" = "440 0 0
$HEADER" ] || fail "root of a user namespace, its network namespace's $E: $out"
	info "unprivileged user, own user namespace, network namespace made in it: its (empty) table read"
	out=$($NOBODY unshare -Urn sh -c "stat -c '%a %u %g' $E; cat $E" 2>&1)
	[ "$out" = "440 65534 65534
cat: $E: Permission denied" ] || fail "unshare -Urn, $E: $out"
	info "network namespace made with its user namespace: owned by the global root"
fi

info "the expiry counts down with the gate's clock"
a1=$(date +%s)
e1=$(expires_of "$C2_6" "$V6")
b1=$(date +%s)
sleep "$(ts 3)"
a2=$(date +%s)
e2=$(expires_of "$C2_6" "$V6")
b2=$(date +%s)
d=$((e1 - e2))
info "expiry $e1 s, then $e2 s, $((a2 - b1))-$((b2 - a1)) s later"
{ [ "$d" -ge $((a2 - b1 - 1)) ] && [ "$d" -le $((b2 - a1 + 1)) ] && [ "$d" -gt 0 ]; } ||
	fail "expiry went from $e1 to $e2 in $((a2 - b1))-$((b2 - a1)) s"

info "soft expiry shows in the Soft column"
nsx "$NS_DIR" $IPSEC add "$VIP6" --soft-quota 1 || fail "cannot set the soft-expire quota"
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_established_timeout="$(ts 10)"
nsx "$NS_CL2" $IKEESP keepalive --dst "$VIP6"
wait_for "$(ts 15)" sh -c "ip netns exec $NS_DIR awk '\$1 == \"$C2_6\" && \$5 == \"yes\"' $E | grep -q ." ||
	fail "client 2 (IPv6) never listed as soft: $(nsx "$NS_DIR" cat "$E")"
# Extended by the timeout from its old expiry, up to a second before it.
expect_entry "$C2_6" "$V6" "$(full6 "$(rs_of "$rc4" _6)")" ESTABLISHED yes - "$(($(ts 10) + 1))"
expect_gate_counter soft_extended 1
# Its next ISAKMP packet makes it a normal entry again (with the long
# timeout back, so that it stays).
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_established_timeout="$(ts 600)"
nsx "$NS_CL2" $IKEESP keepalive --dst "$VIP6"
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIR $IPSEC counter soft_revived) = 1 ]" ||
	fail "the keepalive did not revive the soft entry"
expect_entry "$C2_6" "$V6" "$(full6 "$(rs_of "$rc4" _6)")" ESTABLISHED no - "$(ts 600)"

info "the real server is '-' once IPVS's connection for the ISAKMP flow is gone"
# IPVS's UDP timeout (2 s) applies to client 2's connection from its next
# packet; the gate's entry lives on.
nsx "$NS_DIR" ipvsadm --set 0 0 2 || fail "cannot set IPVS's UDP timeout"
nsx "$NS_CL2" $IKEESP ike --dst "$VIP" --icookie 2222222222222222 --reply-timeout 5 >/dev/null ||
	fail "no IKE reply (client 2, again)"
wait_for "$(ts 15)" sh -c "ip netns exec $NS_DIR awk '\$1 == \"$C2\" && \$3 == \"-\"' $E | grep -q ." ||
	fail "client 2's real server still listed: $(nsx "$NS_DIR" cat "$E")"
expect_entry "$C2" "$V4" - INITIAL no "$rc2" "$(ts 300)"
nsx "$NS_DIR" ipvsadm -Lnc | grep -q " $CL2:500 " && fail "IPVS still holds client 2's connection"
out=$(nsx "$NS_DIR" $IPSEC list --entries)
expect_list_line "$out" "$CL2" "$VIP" - INITIAL no "$rc2"
nsx "$NS_DIR" ipvsadm --set 0 0 "$(ts 300)"

info "a flood of spoofed IKE_SA_INIT: every entry listed once"
nsx "$NS_DIR" sysctl -qw net.ipv4.conf.all.rp_filter=0
nsx "$NS_DIR" sysctl -qw net.ipv4.conf.a2.rp_filter=0
# Every flood source is its own client: no per-prefix bound.
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_initial_per_prefix=1000000
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_entries_per_prefix=1000000
before=$(gate_counter initial_created)
# Four bursts of 500 from distinct prefixes (a burst fits the receive
# backlog, 1000 packets).
for p in 9 10 11 12; do
	nsx "$NS_CL2" $IKEESP flood --dst "$VIP" --src-prefix "10.$p" --count 500
	sleep 1
done
wait_for "$(ts 30)" sh -c "[ \$(ip netns exec $NS_DIR $IPSEC counter initial_created) -ge $((before + 2000)) ]"
created=$(($(gate_counter initial_created) - before))
info "the flood created $created entries (initial_cap $(gate_counter initial_cap))"
[ "$created" -ge 1500 ] || fail "only $created flood entries: too few to test the listing"
total=$(nsx "$NS_DIR" $IPSEC list | tail -1 | sed -n 's/^entries \([0-9]*\) .*/\1/p')
[ "$total" = $((created + 4)) ] || fail "the gate counts $total entries, expected $((created + 4))"
all=$IPVS_AUTH_OUT/58-entries.txt
nsx "$NS_DIR" cat "$E" >"$all"
[ "$(head -1 "$all")" = "$HEADER" ] || fail "the flood's listing does not start with the header"
[ "$(grep -vc '^FromIP ' "$all")" = "$total" ] ||
	fail "$total entries, $(grep -vc '^FromIP ' "$all") lines"
[ "$(grep -c '^FromIP ' "$all")" = 1 ] || fail "the header appears more than once"
dups=$(awk 'NR > 1 { print $1, $2 }' "$all" | sort | uniq -d | head -3)
[ -z "$dups" ] || fail "entries listed twice: $dups"
# The flood's entries, as their spoofed sources (10.9-12.x.y = 0A09-0A0C....).
flood=$(awk 'NR > 1 && $1 ~ /^0A0[9ABC]/' "$all" | wc -l)
[ "$flood" = "$created" ] || fail "$flood flood lines, $created flood entries"
# Each is INITIAL, with a real server (NAT: IPVS scheduled it) and no
# cookie (the replies to spoofed sources went nowhere).
R1=$(hex4 "$RS1")
R2=$(hex4 "$RS2")
bad=$(awk -v r1="$R1" -v r2="$R2" -v max="$(ts 300)" 'NR > 1 && $1 ~ /^0A0[9ABC]/ &&
	!(($3 == r1 || $3 == r2) && $4 == "INITIAL" && $5 == "no" && $6 == "-" && $7 <= max)' "$all" | head -3)
[ -z "$bad" ] || fail "flood lines not as expected: $bad"
# However it is read, the same lines: small reads resume where the last
# one stopped, and a seek lands on the same bytes. The table does not
# change meanwhile (no entry expires for minutes) but the Expires column
# counts down; it is right-aligned in a fixed width, so the lines keep
# their length and only its digits are left out of the comparison.
size=$(wc -c <"$all")
info "$((total + 1)) lines, $size bytes"
sed -E 's/[ 0-9]+$//' "$all" >"$all.masked"
for bs in 7 67 100 4096; do
	nsx "$NS_DIR" dd if="$E" bs="$bs" status=none >"$all.$bs" || fail "dd bs=$bs of $E failed"
	[ "$(wc -c <"$all.$bs")" = "$size" ] || fail "$bs-byte reads of $E: $(wc -c <"$all.$bs") bytes, expected $size"
	sed -E 's/[ 0-9]+$//' "$all.$bs" | cmp -s - "$all.masked" ||
		fail "reading $E with $bs-byte reads gives other lines"
done
nsx "$NS_DIR" /usr/bin/python3 - "$E" "$all" <<'EOF' || fail "reading $E from an offset gives other bytes"
import re
import sys

proc, ref = sys.argv[1], sys.argv[2]
want = open(ref, "rb").read()
size = len(want)


def mask(b):
    # The Expires column (and the spaces and digits before it) of each
    # line, kept at its length.
    return re.sub(rb"[ 0-9]+(?=\n)", lambda m: b"#" * len(m.group()), b)


for off in (1, 68, 69, 4000, 4096, 100000, size // 2, size - 10, size - 3, size):
    if off > size:
        continue
    with open(proc, "rb", buffering=0) as f:
        f.seek(off)
        got = b""
        while True:
            chunk = f.read(777)
            if not chunk:
                break
            got += chunk
    if len(got) != size - off or mask(got) != mask(want[off:]):
        print("offset %d: %d bytes, expected %d" % (off, len(got), size - off))
        sys.exit(1)
EOF
n=$(nsx "$NS_DIR" $IPSEC list --entries | wc -l)
[ "$n" = $((total + 2)) ] || fail "ipvs-ipsec list --entries printed $n lines for $total entries"

info "entries go with their address (del) and with all (flush)"
nsx "$NS_DIR" $IPSEC del "$VIP6" || fail "ipvs-ipsec del $VIP6 failed"
[ "$(nsx "$NS_DIR" awk 'NR > 1 && $1 ~ /:/' "$E" | wc -l)" = 0 ] ||
	fail "IPv6 entries listed after del: $(nsx "$NS_DIR" awk 'NR > 1 && $1 ~ /:/' "$E")"
# (Established minutes ago.)
expect_entry "$C1" "$V4" "$(hex4 "$(rs_of "$rc1")")" ESTABLISHED no "$rc1" "$(ts 600)" "$(ts 600)"
[ "$(nsx "$NS_DIR" cat "$E" | wc -l)" = $((total - 2 + 1)) ] ||
	fail "after del: $(nsx "$NS_DIR" cat "$E" | wc -l) lines, expected $((total - 1))"
nsx "$NS_DIR" $IPSEC flush || fail "ipvs-ipsec flush failed"
[ "$(nsx "$NS_DIR" cat "$E")" = "$HEADER" ] || fail "entries listed after flush: $(nsx "$NS_DIR" cat "$E" | head -5)"
out=$(nsx "$NS_DIR" $IPSEC list --entries) || fail "ipvs-ipsec list --entries failed after flush"
[ "$out" = "$LIST_HEADER" ] || fail "ipvs-ipsec list --entries after flush:
$out"
info "the gate's table is listed"
