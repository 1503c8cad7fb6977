# SPDX-License-Identifier: GPL-2.0
#
# What an operator sees of the sync half (issue 22, observability):
# /proc/net/ip_vs_sync_auth's format, key fingerprints, extended-format keys
# and streams and rx_unknown_key lines, and the kernel log's lines for key
# and format changes and for the start of each kind of drop, rate limited.
# The fingerprint is the first 8 bytes of HMAC-MD5(key, "ip_vs_sync_auth
# key fingerprint"), computed here in Python: two namespaces keyed alike
# show the same one, different keys different ones, and neither /proc nor
# the log shows a key.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

checktool "ipvsadm -v" "ipvsadm is not installed"
checktool "/usr/bin/python3 -V" "python3 is not installed"
load_module
NS=observe-$$
PEER=observe-peer-$$

backup_and_peer "$NS" "$PEER"

K1="observe key one $$"
K2="observe key two $$"
# fp KEY: the fingerprint as documented, in hex.
fp() {
	/usr/bin/python3 -c 'import hashlib, hmac, sys
print(hmac.new(sys.argv[1].encode(), b"ip_vs_sync_auth key fingerprint", hashlib.md5).hexdigest()[:16])' "$1"
}
FP1=$(fp "$K1")
FP2=$(fp "$K2")
[ "$FP1" != "$FP2" ] || fail "the test's two keys have one fingerprint"
# proc NS FIELD: the rest of /proc's line "FIELD: ...".
proc() {
	nsx "$1" awk -v f="$2:" '$1 == f { sub(/^[^:]*: /, ""); print }' /proc/net/ip_vs_sync_auth
}
# The budget of log lines (10 per 5 s) starts afresh after 6 s.
fresh_budget() {
	sleep 6
}
fresh_budget
log_mark

# Fingerprints: alike for one key in two namespaces, different for two.
[ "$(proc "$NS" seed_key)" = none ] || fail "seed_key before a key: $(proc "$NS" seed_key)"
[ "$(proc "$NS" format)" = seed ] || fail "format: $(proc "$NS" format), expected seed"
nsx "$NS" $SYNCAUTH key set "$K1" || fail "cannot set the key"
nsx "$PEER" $SYNCAUTH key set "$K1" || fail "cannot set the key"
a=$(proc "$NS" seed_key) b=$(proc "$PEER" seed_key)
[ "$a" = "fingerprint $FP1" ] || fail "$NS: seed_key: '$a', expected 'fingerprint $FP1'"
[ "$b" = "$a" ] || fail "two namespaces with one key show '$a' and '$b'"
info "one key in two namespaces: seed_key: $a in both"
nsx "$PEER" $SYNCAUTH key set "$K2" || fail "cannot set the key"
b=$(proc "$PEER" seed_key)
[ "$b" = "fingerprint $FP2" ] || fail "$PEER: seed_key: '$b', expected 'fingerprint $FP2'"
info "another key: seed_key: $b"
log=$(log_since_mark)
echo "$log" | grep -c "ip_vs_sync_auth: sync: key set, fingerprint $FP1\$" | grep -qx 2 ||
	fail "not two 'key set' lines for $FP1: $log"
echo "$log" | grep -q "ip_vs_sync_auth: sync: key changed, fingerprint $FP2 (was $FP1)\$" ||
	fail "no 'key changed' line: $log"
nsx "$PEER" $SYNCAUTH key set "$K2" || fail "cannot set the key"
[ "$(log_since_mark | grep -c 'key changed')" = 1 ] ||
	fail "setting the installed key again logged a change: $(log_since_mark)"
nsx "$PEER" $SYNCAUTH key clear || fail "cannot clear the key"
[ "$(proc "$PEER" seed_key)" = none ] || fail "seed_key after clear: $(proc "$PEER" seed_key)"
log_since_mark | grep -q "sync: key cleared (fingerprint $FP2); authentication off\$" ||
	fail "no 'key cleared' line: $(log_since_mark)"
info "log: key set, changed, cleared, each with its fingerprint"

# Drops: a run of one kind is one line, however many datagrams it drops.
fresh_budget
log_mark
SEQ=0
send() {
	SEQ=$((SEQ + 1))
	nsx "$PEER" $SYNCAUTH send --src 10.0.3.1 --seq "$SEQ" --cport $((40000 + SEQ)) "$@" ||
		fail "cannot send a sync message"
}
b=$(counter "$NS" rx_drop_bad_icv)
# In one tool run (seq +1 each): twenty runs can be more than the kernel's
# 30 s (DROP_QUIET_SECS, unscaled) apart on KASAN, each a new run of drops.
send --key "$K2" --count 20
SEQ=$((SEQ + 19))
wait_for 10 sh -c "[ \$(ip netns exec $NS $SYNCAUTH counter rx_drop_bad_icv) -ge $((b + 20)) ]" ||
	fail "20 forged messages were not all dropped as rx_drop_bad_icv"
send --key "$K1"
wait_for 10 sh -c "[ \$(ip netns exec $NS $SYNCAUTH counter rx_accepted) -ge 1 ]" ||
	fail "a message signed with the key was not accepted"
# The same sequence number again, three times: replays, in one tool run
# (--syncids repeats the message once per SyncID listed).
SEQ=$((SEQ - 1))
send --key "$K1" --syncids 150,150,150
wait_for 10 sh -c "[ \$(ip netns exec $NS $SYNCAUTH counter rx_drop_replay) -ge 3 ]" ||
	fail "the replays were not dropped"
log=$(log_since_mark)
[ "$(echo "$log" | grep -c 'sync: rx_drop_bad_icv drops started')" = 1 ] ||
	fail "20 forged messages: not one 'drops started' line: $log"
[ "$(echo "$log" | grep -c 'sync: rx_drop_replay drops started')" = 1 ] ||
	fail "3 replays: not one 'drops started' line: $log"
info "20 forged messages and 3 replays: one line each"
# After 30 s without one, the next drop of the kind starts a new run.
sleep 31
send --key "$K2"
wait_for 10 sh -c "[ \$(ip netns exec $NS $SYNCAUTH counter rx_drop_bad_icv) -ge $((b + 21)) ]" ||
	fail "a forged message was not dropped"
[ "$(log_since_mark | grep -c 'sync: rx_drop_bad_icv drops started')" = 2 ] ||
	fail "a forged message after 31 quiet seconds: no new line: $(log_since_mark)"
info "a forged message after 31 quiet seconds: a new line"

# The extended format: its format, keys, streams and rx_unknown_key.
fresh_budget
log_mark
seed_streams=$(counter "$NS" streams)
nsx "$NS" $SYNCAUTH ext mode ext || fail "cannot switch to the extended format"
[ "$(proc "$NS" format)" = extended ] || fail "format: $(proc "$NS" format), expected extended"
[ "$(proc "$NS" streams)" = 0/64 ] || fail "streams in the extended format: $(proc "$NS" streams), expected 0/64"
nsx "$NS" $SYNCAUTH ext add 1 "$K1" || fail "cannot add extended key 1"
nsx "$NS" $SYNCAUTH ext add 2 "$K2" || fail "cannot add extended key 2"
[ "$(proc "$NS" ext_key | tr '\n' ';')" = "1 active fingerprint $FP1;2 receive fingerprint $FP2;" ] ||
	fail "ext_key lines: $(proc "$NS" ext_key | tr '\n' ';')"
send --ext --key "$K1" --key-id 1
wait_for 10 sh -c "[ \$(ip netns exec $NS $SYNCAUTH ext status --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"streams\"])') = 1 ]" ||
	fail "the extended message was not accepted"
[ "$(proc "$NS" streams)" = 1/64 ] || fail "streams: $(proc "$NS" streams), expected 1/64 (the extended table)"
[ "$(counter "$NS" streams)" = "$seed_streams" ] || fail "the seed table changed"
info "extended format: streams 1/64 (the seed table, which the sockopt reports, holds $seed_streams)"
[ "$(proc "$NS" rx_unknown_key)" = 0 ] || fail "rx_unknown_key: $(proc "$NS" rx_unknown_key)"
send --ext --key "$K1" --key-id 9
send --ext --key "$K1" --key-id 9
wait_for 10 sh -c "[ \"\$(ip netns exec $NS awk '\$1 == \"rx_unknown_key:\" { print \$2 }' /proc/net/ip_vs_sync_auth)\" = 2 ]" ||
	fail "rx_unknown_key: $(proc "$NS" rx_unknown_key), expected 2"
nsx "$NS" $SYNCAUTH ext activate 2 || fail "cannot activate key 2"
nsx "$NS" $SYNCAUTH ext retire 1 || fail "cannot retire key 1"
[ "$(proc "$NS" ext_key)" = "2 active fingerprint $FP2" ] || fail "ext_key after rotation: $(proc "$NS" ext_key)"
nsx "$NS" $SYNCAUTH ext mode seed || fail "cannot switch back"
log=$(log_since_mark)
for line in "sync: format extended (was seed)" \
	"sync: extended key 1 added, fingerprint $FP1, active" \
	"sync: extended key 2 added, fingerprint $FP2" \
	"sync: rx_unknown_key drops started" \
	"sync: extended key 2 active (was key 1)" \
	"sync: extended key 1 retired" \
	"sync: format seed (was extended)"; do
	[ "$(echo "$log" | grep -cF "ip_vs_sync_auth: $line")" = 1 ] || fail "not one line '$line': $log"
done
info "log: format changes, extended keys added, activated, retired; rx_unknown_key's start"

# The budget: 30 key changes in a row (about a second) write at most 10
# lines per 5 s; the next line after that says how many were left out.
fresh_budget
log_mark
t0=$(date +%s)
nsx "$PEER" /usr/bin/python3 -c 'import sys
sys.path.insert(0, sys.argv[1])
import syncauth
for i in range(15):
    syncauth.set_key(sys.argv[2].encode())
    syncauth.set_key(sys.argv[3].encode())' "$IPVS_AUTH_TOP/qemu/tools" "$K1" "$K2" ||
	fail "cannot set the key"
t=$(($(date +%s) - t0))
n=$(log_since_mark | grep -c 'sync: key')
# At most 10 lines per interval of 5 s that the changes overlapped.
[ "$n" -ge 1 ] && [ "$n" -le $((10 * (t / 5 + 2))) ] && [ "$n" -lt 30 ] ||
	fail "30 key changes in $t s wrote $n lines"
fresh_budget
nsx "$PEER" $SYNCAUTH key clear || fail "cannot clear the key"
log_since_mark | grep -q 'sync: [0-9]* log lines suppressed$' ||
	fail "no 'suppressed' line after $n of 30: $(log_since_mark)"
info "30 key changes: $n lines, then a 'suppressed' line"

# No key anywhere: not in /proc, not in the log (as text or in hex).
for k in "$K1" "$K2"; do
	hex=$(printf '%s' "$k" | od -An -tx1 | tr -d ' \n')
	for ns in "$NS" "$PEER"; do
		nsx "$ns" cat /proc/net/ip_vs_sync_auth | grep -qiF -e "$k" -e "$hex" &&
			fail "$ns: a key in /proc"
	done
	dmesg | grep -qiF -e "$k" -e "$hex" && fail "a key in the kernel log"
done
info "no key in /proc or the kernel log"
nsx "$NS" cat /proc/net/ip_vs_sync_auth
