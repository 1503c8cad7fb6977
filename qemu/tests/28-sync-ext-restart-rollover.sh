# SPDX-License-Identifier: GPL-2.0
#
# Extended format (opt-in): restart-safe sequence numbers and hitless key
# rollover, with real IPVS daemons. One master (dira) and two backups (dirb,
# and a third director on the bridged sync LAN, "atk" in the topology).
#
#  1. control, seed format: after the master's namespace is re-created its
#     sequence starts at 1 again and both backups drop every message it
#     signs as a replay (counted against its tx_signed) and apply none of
#     its connections;
#  2. extended format: after the same re-creation the backups accept the
#     new master at once, and a datagram captured before the restart is
#     still a replay (before, during and after);
#  3. clock stepped back on the master: a running master goes on; one
#     re-created with the clock behind is refused by both backups (every
#     message it signs a replay, none of its connections applied) until its
#     clock passes the old numbers, then accepted without operator action;
#  4. key rollover 1 -> 2 -> ... -> 7 across the three directors, each
#     phase in all six orders of the directors, under continuous connection
#     churn (checked: the churn runs through every phase, makes connections
#     during every rotation and none of them fails): no entry lost, no drop
#     of any kind, counters per key ID;
#  5. forgeries: unknown key ID, wrong key, seed-format message, stock-TTL
#     message: each counted, nothing applied.
# Independent oracles: Python recomputes, from the documented layout, the
# header fields and ICV of the master's datagrams captured on the wire
# (parts 2 and 4), and a message Python signed must be applied (part 5).
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
SYNC_LAN=bridge
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

checktool "ipvsadm -v" "ipvsadm is not installed"
checktool "/usr/bin/python3 -V" "python3 is not installed"
load_module
trap 'date -s "@$(($(date +%s) + ${CLOCK_DEBT:-0}))" >/dev/null; topology_cleanup' EXIT
topology_setup

BACKUPS="$NS_DIRB $NS_ATK"
ext() {
	ns=$1
	shift
	nsx "$ns" $SYNCAUTH ext "$@" || fail "$ns: ext $* failed"
}
ext_val() {
	nsx "$1" $SYNCAUTH ext status --json | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['$2'])"
}
start_backup_atk() {
	nsx "$NS_ATK" ipvsadm --start-daemon backup --mcast-interface eth0 --syncid 150 ||
		fail "cannot start the third director's backup daemon"
}
# Every client connection the master lists is on backup namespace $1.
has_all() {
	conn_set "$NS_DIRA" >"$IPVS_AUTH_OUT/ext-master.txt"
	conn_set "$1" >"$IPVS_AUTH_OUT/ext-backup.txt"
	[ -s "$IPVS_AUTH_OUT/ext-master.txt" ] &&
		[ -z "$(comm -23 "$IPVS_AUTH_OUT/ext-master.txt" "$IPVS_AUTH_OUT/ext-backup.txt")" ]
}
# A refused master, checked in full: snapshot_backups before it makes
# connections; refused NS R0 WHAT: backup NS's replay drops since R0
# (replays_cover) are at least every message the master has signed, the
# positive control that its messages arrived, checked once they are and
# again after IPVS's longest flush (1 s, and up to 2 s more for a partial
# buffer) so that a message still in the master's buffer counts too; and
# then not one of the master's connections is in NS's table unless it was
# there before (none_applied).
snapshot_backups() {
	for b in $BACKUPS; do
		conn_set "$b" >"$IPVS_AUTH_OUT/ext-before-$b.txt"
	done
}
replays_cover() {
	t=$(counter "$NS_DIRA" tx_signed)
	[ "$t" -gt 0 ] && [ $(($(counter "$1" rx_drop_replay) - $2)) -ge "$t" ]
}
none_applied() {
	conn_set "$NS_DIRA" | comm -23 - "$IPVS_AUTH_OUT/ext-before-$1.txt" >"$IPVS_AUTH_OUT/ext-new.txt"
	[ -s "$IPVS_AUTH_OUT/ext-new.txt" ] || fail "$2: the master lists no new connection"
	applied=$(conn_set "$1" | comm -12 - "$IPVS_AUTH_OUT/ext-new.txt" | wc -l)
	[ "$applied" = 0 ] ||
		fail "$2: $1 applied $applied of the master's $(wc -l <"$IPVS_AUTH_OUT/ext-new.txt") new connections"
}
refused() {
	if ! wait_for 15 replays_cover "$1" "$2" || ! sleep 3 || ! wait_for 15 replays_cover "$1" "$2"; then
		fail "$3: $1 dropped $(($(counter "$1" rx_drop_replay) - $2)) of the master's $(counter "$NS_DIRA" tx_signed) messages as replays, expected all"
	fi
	none_applied "$1" "$3"
}
wait_all() {
	for b in $BACKUPS; do
		i=0
		while ! has_all "$b"; do
			i=$((i + 1))
			[ "$i" -lt "${1:-20}" ] || return 1
			sleep 1
		done
	done
}

# The master's namespace is deleted (its IPVS, sync daemon and our state go
# with it) and built again with the same addresses and service.
recreate_master() {
	ip netns del "$NS_DIRA"
	ip netns add "$NS_DIRA" || fail "cannot re-create $NS_DIRA"
	nsx "$NS_DIRA" ip link set lo up
	ip link add c0 netns "$NS_CLIENT" type veth peer name a0 netns "$NS_DIRA"
	ip link add a1 netns "$NS_DIRA" type veth peer name r0 netns "$NS_RS"
	ip link add "$SYNC_IF_A" netns "$NS_DIRA" type veth peer name pa netns "$NS_LAN"
	nsx "$NS_LAN" ip link set pa master br0 up
	nsx "$NS_CLIENT" ip addr add "$CIP/24" dev c0
	nsx "$NS_RS" ip addr add "$RIP/24" dev r0
	nsx "$NS_DIRA" ip addr add "$VIP/24" dev a0
	nsx "$NS_DIRA" ip addr add 10.0.2.1/24 dev a1
	nsx "$NS_DIRA" ip addr add 10.0.3.1/24 dev "$SYNC_IF_A"
	for l in a0 a1 "$SYNC_IF_A"; do nsx "$NS_DIRA" ip link set "$l" up; done
	nsx "$NS_CLIENT" ip link set c0 up
	nsx "$NS_RS" ip link set r0 up
	nsx "$NS_RS" ip route add default via 10.0.2.1
	nsx "$NS_DIRA" ip route add 224.0.0.0/4 dev "$SYNC_IF_A"
	nsx "$NS_DIRA" sysctl -qw net.ipv4.ip_forward=1
	nsx "$NS_DIRA" ipvsadm -A -t "$VIP:80" -s rr || fail "ipvsadm -A failed"
	nsx "$NS_DIRA" ipvsadm -a -t "$VIP:80" -r "$RIP:80" -m || fail "ipvsadm -a failed"
	if [ "$1" = ext ]; then
		ext "$NS_DIRA" mode ext
		ext "$NS_DIRA" add "$2" "$3"
	else
		nsx "$NS_DIRA" $SYNCAUTH key set "$3" || fail "cannot set the master's key"
	fi
	nsx "$NS_DIRA" ipvsadm --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 ||
		fail "cannot restart the master"
}

# --- 1. Control: the seed format does not survive a master restart. -----
for ns in "$NS_DIRA" $BACKUPS; do
	nsx "$ns" $SYNCAUTH key set seed-key || fail "cannot set the seed key"
done
start_sync
start_backup_atk
make_connections 20
wait_all || fail "seed format: backups lack connections before the restart"
# The backups' high-water mark is the old master's last number, and the
# re-created master counts from 1 again: every message it signs is a
# replay while it stays below. The old master signs at least 12 messages,
# each accepted by both backups, the new one gets 3 connections (a few
# messages; the count is printed).
i=0
while [ "$(counter "$NS_DIRA" tx_signed)" -lt 12 ]; do
	make_connections 5 >/dev/null
	sleep 1
	i=$((i + 1))
	[ "$i" -lt 30 ] || fail "seed format: the master signed only $(counter "$NS_DIRA" tx_signed) messages"
done
all_accepted() {
	t=$(counter "$NS_DIRA" tx_signed)
	for b in $BACKUPS; do
		[ "$(counter "$b" rx_accepted)" = "$t" ] || return 1
	done
}
wait_for 15 all_accepted || fail "seed format: the backups did not accept all $(counter "$NS_DIRA" tx_signed) messages"
sleep 3
wait_for 15 all_accepted || fail "seed format: the backups did not accept all $(counter "$NS_DIRA" tx_signed) messages"
told=$(counter "$NS_DIRA" tx_signed)
recreate_master seed 0 seed-key
snapshot_backups
before=$(counter "$NS_DIRB" rx_drop_replay)
before_atk=$(counter "$NS_ATK" rx_drop_replay)
make_connections 3
refused "$NS_DIRB" "$before" "seed format, restarted master"
refused "$NS_ATK" "$before_atk" "seed format, restarted master"
info "control: with the seed format both backups drop every message of the restarted master ($(counter "$NS_DIRA" tx_signed) signed, below the $told before the restart)"

# --- 2. Extended format: restart-safe. ------------------------------------
for ns in $BACKUPS; do
	nsx "$ns" $SYNCAUTH key clear || fail "cannot clear the seed key"
	ext "$ns" mode ext
	ext "$ns" add 1 rollover-key-one
done
# A fresh master: the control part left connections on it that no backup
# ever received.
recreate_master ext 1 rollover-key-one
[ "$(ext_val "$NS_DIRB" mode)" = ext ] || fail "extended mode not set"
make_connections 20
wait_all || fail "extended format: backups lack connections"
capture_sync "$IPVS_AUTH_OUT/ext-pre.bin" || fail "nothing captured"
desc=$(/usr/bin/python3 "$IPVS_AUTH_TOP/qemu/tools/syncauth.py" inspect --file "$IPVS_AUTH_OUT/ext-pre.bin")
info "on the wire: $desc"
case "$desc" in
"ttl=255 layout=v1 size="*" spare=0x0003 key_id=1 alg=1 sender=0 seq=0x"*) ;;
*) fail "unexpected extended message on the wire" ;;
esac
# Python recomputes its header fields and ICV with key 1 (and refuses it
# under another key: the check can fail).
nsx "$NS_DIRB" $SYNCAUTH verify --ext --strict --ttl 255 --key-id 1 --min 1 \
	--file "$IPVS_AUTH_OUT/ext-pre.bin" --key rollover-key-one >/dev/null ||
	fail "the captured extended datagram does not verify in Python"
nsx "$NS_DIRB" $SYNCAUTH verify --ext --file "$IPVS_AUTH_OUT/ext-pre.bin" --key rollover-key-onE \
	>/dev/null 2>&1 && fail "the captured extended datagram verifies with a wrong key too"
# The high half of the sequence number is the master's clock, in seconds.
seq_secs=$((${desc##*seq=} >> 32))
now=$(date +%s)
[ $((now - seq_secs)) -ge 0 ] && [ $((now - seq_secs)) -le 60 ] ||
	fail "sequence seconds $seq_secs far from the clock $now"
replay_resend() {
	nsx "$NS_DIRA" $SYNCAUTH resend --src 10.0.3.1 --file "$IPVS_AUTH_OUT/ext-pre.bin" ||
		fail "resend failed"
}
r0=$(counter "$NS_DIRB" rx_drop_replay)
replay_resend
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_replay) -gt $r0 ]" ||
	fail "a captured datagram was not dropped as a replay before the restart"

recreate_master ext 1 rollover-key-one
r1=$(counter "$NS_DIRB" rx_drop_replay)
replay_resend
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_replay) -gt $r1 ]" ||
	fail "a captured datagram was not dropped as a replay during the restart"
a0=$(counter "$NS_DIRB" rx_accepted)
r2=$(counter "$NS_DIRB" rx_drop_replay)
make_connections 20
# The IPVS sync interval is 1 s plus up to 2 s for a partial buffer.
wait_all 10 || fail "extended format: backups lack the restarted master's connections"
[ "$(counter "$NS_DIRB" rx_drop_replay)" = "$r2" ] || fail "the restarted master's messages were dropped"
[ "$(counter "$NS_DIRB" rx_accepted)" -gt "$a0" ] || fail "nothing accepted after the restart"
replay_resend
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_replay) -gt $r2 ]" ||
	fail "a captured datagram was not dropped as a replay after the restart"
info "extended format: restarted master accepted at once, captured datagram a replay before, during and after"

# --- 3. Clock stepped back on the master. ----------------------------------
# An hour back: far more than the steps below take, even in a starved
# guest where they took minutes (five minutes back could run out).
STEP=3600
CLOCK_DEBT=$STEP
date -s "@$(($(date +%s) - STEP))" >/dev/null || fail "cannot step the clock"
r3=$(counter "$NS_DIRB" rx_drop_replay)
make_connections 10
wait_all 10 || fail "running master with the clock stepped back: connections lost"
[ "$(counter "$NS_DIRB" rx_drop_replay)" = "$r3" ] || fail "running master dropped after a clock step"
info "running master, clock stepped back $STEP s: still accepted"
recreate_master ext 1 rollover-key-one
snapshot_backups
r3b=$(counter "$NS_ATK" rx_drop_replay)
make_connections 5
refused "$NS_DIRB" "$r3" "master re-created $STEP s behind"
refused "$NS_ATK" "$r3b" "master re-created $STEP s behind"
refused=$(($(counter "$NS_DIRB" rx_drop_replay) - r3))
# The clock is corrected (as NTP would): the master's numbers pass the old
# ones and the backups accept it again by themselves.
date -s "@$(($(date +%s) + STEP))" >/dev/null
CLOCK_DEBT=0
# The connections refused above never come again (IPVS syncs a connection
# on its state changes, which are over); the new ones must arrive.
conn_set "$NS_DIRA" >"$IPVS_AUTH_OUT/ext-refused.txt"
make_connections 5
i=0
while :; do
	conn_set "$NS_DIRA" | comm -23 - "$IPVS_AUTH_OUT/ext-refused.txt" >"$IPVS_AUTH_OUT/ext-new.txt"
	conn_set "$NS_DIRB" >"$IPVS_AUTH_OUT/ext-backup.txt"
	[ -s "$IPVS_AUTH_OUT/ext-new.txt" ] &&
		[ -z "$(comm -23 "$IPVS_AUTH_OUT/ext-new.txt" "$IPVS_AUTH_OUT/ext-backup.txt")" ] && break
	i=$((i + 1))
	[ "$i" -lt 20 ] || fail "the master did not recover after its clock was corrected"
	sleep 1
done
info "re-created $STEP s behind: refused ($refused replay drops), accepted again after the clock passed the old numbers, no operator action"

# --- 4. Key rollover under churn. -------------------------------------------
# A fresh master again: the connections refused in part 3 stay missing.
recreate_master ext 1 rollover-key-one
make_connections 5
wait_all 10 || fail "backups not in sync before the rollover"
snap() {
	for b in $BACKUPS; do
		for c in rx_drop_bad_icv rx_drop_replay rx_drop_bad_header rx_drop_malformed rx_drop_bad_ttl; do
			printf '%s %s %s\n' "$b" "$c" "$(counter "$b" "$c")"
		done
		printf '%s unknown %s\n' "$b" "$(ext_val "$b" rx_unknown_key)"
	done
}
snap >"$IPVS_AUTH_OUT/ext-drops-before.txt"
# The churn (topology.sh): rounds of 3 connections until churn_end.
churn_start ext-churn
step() {
	ext "$@"
	sleep 1
}
# One rotation old -> new: phase by phase, each phase on the directors in
# the order given ("a" master, "b" dirb, "c" the third director). The
# churn must be running and have made connections during each rotation.
rotate() {
	old=$1 new=$2 key=$3 rounds=$(churn_rounds)
	for phase in "add $new $key:$4" "activate $new:$5" "retire $old:$6"; do
		for d in $(echo "${phase#*:}" | sed 's/./& /g'); do
			case $d in a) ns=$NS_DIRA ;; b) ns=$NS_DIRB ;; *) ns=$NS_ATK ;; esac
			# shellcheck disable=SC2086 # the phase is several words
			step "$ns" ${phase%%:*}
		done
		kill -0 "$churn" 2>/dev/null || fail "the churn stopped during rotation $old -> $new"
	done
	[ "$(churn_rounds)" -gt "$rounds" ] || fail "no churn connection during rotation $old -> $new"
}
# Six rotations, 1 -> 2 -> ... -> 7: each phase goes through all six
# orders of the three directors once (master first, middle and last).
set -- abc acb bac bca cab cba abc acb bac bca cab cba
k=1
while [ "$k" -le 6 ]; do
	eval "add=\${$k} act=\${$((k + 2))} ret=\${$((k + 4))}"
	rotate "$k" "$((k + 1))" "rollover-key-$((k + 1))" "$add" "$act" "$ret"
	k=$((k + 1))
done
LAST=7
sleep 2
churn_end "during the rollover"
wait_all 15 || fail "connections lost during the rollover"
snap >"$IPVS_AUTH_OUT/ext-drops-after.txt"
if ! cmp -s "$IPVS_AUTH_OUT/ext-drops-before.txt" "$IPVS_AUTH_OUT/ext-drops-after.txt"; then
	diff "$IPVS_AUTH_OUT/ext-drops-before.txt" "$IPVS_AUTH_OUT/ext-drops-after.txt"
	fail "drops during the rollover"
fi
tx=$(ext_key_count "$NS_DIRA" $LAST tx_signed)
[ "$tx" -gt 0 ] || fail "the master never signed with key $LAST"
for b in $BACKUPS; do
	rx=$(ext_key_count "$b" $LAST rx_accepted)
	[ "$rx" -gt 0 ] || fail "$b accepted nothing with key $LAST"
	ids="$(ext_val "$b" key0_id) $(ext_val "$b" key1_id)"
	[ "$ids" = "0 $LAST" ] || [ "$ids" = "$LAST 0" ] || fail "$b holds keys $ids, expected only $LAST"
	info "$b: $rx messages accepted with key $LAST"
done
info "six rotations 1 -> $LAST, each phase in all six orders, under churn ($(churn_rounds) rounds): $(conn_count "$NS_DIRA") connections on the master, all on both backups, no drop"

# The next 3 datagrams the master sends with key $LAST, captured on the
# wire: Python checks each header field (TTL 255, spare,
# key ID $LAST, algorithm, sender, size, the entries) and recomputes the
# ICV with the key; under the retired key $((LAST - 1)) none verifies.
capture_sync_n "$IPVS_AUTH_OUT/ext-all.bin" 3 || fail "capturing the sync datagrams failed"
n=$(nsx "$NS_DIRB" $SYNCAUTH verify --ext --strict --ttl 255 --key-id $LAST --min 3 \
	--file "$IPVS_AUTH_OUT/ext-all.bin" --key rollover-key-$LAST) ||
	fail "a captured extended master datagram does not verify in Python (or fewer than 3 captured)"
nsx "$NS_DIRB" $SYNCAUTH verify --ext --file "$IPVS_AUTH_OUT/ext-all.bin" --key rollover-key-$((LAST - 1)) \
	>/dev/null 2>&1 && fail "the captured extended datagrams verify with the retired key too"
info "Python verified the header and ICV of all $n extended master datagrams captured on the wire"

# --- 5. A message signed by Python, then forgeries. ------------------------
# Signed by syncauth.py from the documented layout (tests/vectors/
# ext_vectors.py --check holds that builder to the pinned vectors): key
# $LAST, thread 63 (a stream of its own: the master's thread 0 goes on with
# its numbers), sequence number now. The backup must apply its entry, and
# count it for key $LAST.
a0=$(counter "$NS_DIRB" rx_accepted)
k0=$(ext_key_count "$NS_DIRB" $LAST rx_accepted)
nsx "$NS_ATK" $SYNCAUTH send --src "$ATK_IP" --ext --key-id $LAST --key rollover-key-$LAST \
	--sender 63 --seq "$(($(date +%s) << 32))" --cip 10.9.8.7 --cport 41000 || fail "send failed"
wait_for 10 sh -c "ip netns exec $NS_DIRB ipvsadm -Lnc | grep -q ' 10\.9\.8\.7:41000 '" ||
	fail "a message Python signed with key $LAST was not applied"
[ "$(counter "$NS_DIRB" rx_accepted)" -gt "$a0" ] || fail "rx_accepted did not rise"
[ "$(ext_key_count "$NS_DIRB" $LAST rx_accepted)" -gt "$k0" ] || fail "not counted for key $LAST"
info "a message Python signed with key $LAST, thread 63, was accepted and its entry applied"

mcount=$(conn_count "$NS_DIRB")
u0=$(ext_val "$NS_DIRB" rx_unknown_key)
b0=$(counter "$NS_DIRB" rx_drop_bad_icv)
h0=$(counter "$NS_DIRB" rx_drop_bad_header)
t0=$(counter "$NS_DIRB" rx_drop_bad_ttl)
far=$(printf '%d' "$((($(date +%s) + 3600) << 32))")
forge() {
	nsx "$NS_ATK" $SYNCAUTH send --src "$ATK_IP" --cip 10.9.9.9 --conns 3 "$@" || fail "send failed"
}
forge --ext --key-id 1 --key rollover-key-one --seq "$far"
forge --ext --key-id $LAST --key not-the-key --seq "$far"
forge --key rollover-key-$LAST --seq 99
forge --ext --key-id $LAST --key rollover-key-$LAST --seq "$far" --ttl 1
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_bad_ttl) -gt $t0 ]" ||
	fail "TTL-1 message not dropped"
[ "$(ext_val "$NS_DIRB" rx_unknown_key)" = $((u0 + 1)) ] || fail "retired key ID not counted as unknown"
expect_counter "$NS_DIRB" rx_drop_bad_icv $((b0 + 1))
expect_counter "$NS_DIRB" rx_drop_bad_header $((h0 + 1))
[ "$(conn_count "$NS_DIRB")" -le "$mcount" ] || fail "a forgery reached the backup's table"
nsx "$NS_DIRB" ipvsadm -Lnc | grep -q '10.9.9.9' && fail "forged connection applied"
info "forgeries: unknown key, wrong key, seed format, TTL 1: each counted, nothing applied"

# Keys are never readable back.
for ns in "$NS_DIRA" $BACKUPS; do
	nsx "$ns" $SYNCAUTH ext status | grep -q rollover-key && fail "key material in the status"
done
exit 0
