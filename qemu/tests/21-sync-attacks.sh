# SPDX-License-Identifier: GPL-2.0
#
# Attacks on an authenticated backup. A local user process on the master's
# sync LAN (same source address as the master) sends crafted messages;
# each must leave the backup's connection table unchanged and bump exactly
# the counter of its reason. A correctly keyed message with a new sequence
# number is accepted (proving the crafted messages differ only in what is
# tested).
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

KEY=tot0234
load_module
trap topology_cleanup EXIT
topology_setup
nsx "$NS_DIRA" ip addr add 10.0.3.3/24 dev "$SYNC_IF_A"
nsx "$NS_DIRA" $SYNCAUTH key set "$KEY" || fail "cannot set the master's key"
nsx "$NS_DIRB" $SYNCAUTH key set "$KEY" || fail "cannot set the backup's key"
start_sync
make_connections 5
wait_backup_conns 5 || fail "legitimate sync does not work"

COUNTERS="rx_accepted rx_drop_malformed rx_drop_bad_ttl rx_drop_bad_header rx_drop_replay rx_drop_bad_icv rx_drop_no_stream"
# All counters in one call (each python start is slow under TCG).
snapshot() {
	nsx "$NS_DIRB" $SYNCAUTH status | sed -n 's/^\(rx_[a-z_]*\): \([0-9]*\)$/\1=\2/p' | tr '\n' ' '
}

# attack NAME COUNTER SEND-ARGS...: sends one crafted message from the
# master's namespace (a user socket: never signed) and checks the result.
attack() {
	name=$1
	want=$2
	shift 2
	before=$(snapshot)
	nsx "$NS_DIRA" $SYNCAUTH send --src 10.0.3.1 "$@" || fail "$name: send failed"
	# Until the message is counted (by condition, not a sleep): then it
	# is done with, and every other counter must not have moved.
	wb=$(echo "$before" | tr ' ' '\n' | sed -n "s/^$want=//p")
	wait_for 10 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter $want) -gt $wb ]" ||
		fail "$name: $want did not grow within 10 s ($(snapshot))"
	after=$(snapshot)
	for c in $COUNTERS; do
		b=$(echo "$before" | tr ' ' '\n' | sed -n "s/^$c=//p")
		a=$(echo "$after" | tr ' ' '\n' | sed -n "s/^$c=//p")
		if [ "$c" = "$want" ]; then
			[ "$a" = "$((b + 1))" ] || fail "$name: $c went $b -> $a, expected +1"
		elif [ "$c" != rx_accepted ]; then
			# rx_accepted may grow from the real master meanwhile.
			[ "$a" = "$b" ] || fail "$name: $c went $b -> $a, expected unchanged"
		fi
	done
	if nsx "$NS_DIRB" ipvsadm -Lnc | grep -q ' 10\.9\.9\.'; then
		fail "$name: a crafted entry reached the backup's table"
	fi
	info "$name: dropped, $want +1, table unchanged"
}

attack "wrong key" rx_drop_bad_icv --key wrongkey --seq 1000000
attack "TTL 254" rx_drop_bad_ttl --key "$KEY" --seq 1000001 --ttl 254
attack "TTL 1" rx_drop_bad_ttl --key "$KEY" --seq 1000002 --ttl 1
attack "truncated" rx_drop_malformed --key "$KEY" --seq 1000003 --mutate truncate
attack "size mismatch" rx_drop_bad_header --key "$KEY" --seq 1000004 --mutate size
attack "oversize" rx_drop_bad_header --key "$KEY" --seq 1000005 --mutate oversize
attack "flag missing" rx_drop_bad_header --key "$KEY" --seq 1000006 --no-flag
attack "no auth header (plain IPVS message)" rx_drop_bad_header
attack "bit flip in header" rx_drop_bad_icv --key "$KEY" --seq 1000007 --mutate flip-header
attack "bit flip in seq" rx_drop_bad_icv --key "$KEY" --seq 1000008 --mutate flip-seq
attack "bit flip in ICV" rx_drop_bad_icv --key "$KEY" --seq 1000009 --mutate flip-icv
attack "bit flip in entries" rx_drop_bad_icv --key "$KEY" --seq 1000010 --mutate flip-entry
attack "sequence 0" rx_drop_replay --key "$KEY" --seq 0
attack "lower sequence" rx_drop_replay --key "$KEY" --seq 1
attack "v0 wrong key" rx_drop_bad_icv --v0 --key wrongkey --seq 1000011

# Replay of a captured valid datagram.
capture_sync "$IPVS_AUTH_OUT/captured.bin" || fail "no sync datagram captured"
sleep 1
before=$(counter "$NS_DIRB" rx_drop_replay)
nsx "$NS_DIRA" $SYNCAUTH resend --src 10.0.3.1 --file "$IPVS_AUTH_OUT/captured.bin" || fail "resend failed"
wait_for 10 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_replay) -gt $before ]" ||
	fail "replayed datagram not counted as replay"
[ "$(counter "$NS_DIRB" rx_drop_replay)" = "$((before + 1))" ] || fail "replayed datagram counted more than once"
info "replayed capture: dropped as replay"

# An unprivileged local process on the master sending a plaintext message
# to the sync group: not signed by the master, dropped by the backup.
before=$(counter "$NS_DIRB" rx_drop_bad_header)
nsx "$NS_DIRA" setpriv --reuid=65534 --regid=65534 --clear-groups \
	$SYNCAUTH send --src 10.0.3.1 || fail "unprivileged send failed"
wait_for 10 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_bad_header) -gt $before ]" ||
	fail "unprivileged datagram not dropped"
[ "$(counter "$NS_DIRB" rx_drop_bad_header)" = "$((before + 1))" ] || fail "unprivileged datagram counted more than once"
info "unprivileged sender: not signed, dropped"
nsx "$NS_DIRA" setpriv --reuid=65534 --regid=65534 --clear-groups $SYNCAUTH key set x 2>/dev/null &&
	fail "an unprivileged process could set the key"
info "unprivileged key change refused"

# Attacks on a live connection: crafted entries that name one of the
# backup's real connections (client address and port, virtual and real
# address) with state SYN_RECV, which IPVS would take over for a
# connection it has (ip_vs_proc_conn sets its state). Each must leave
# that connection as it was; the correctly keyed control at the end
# changes it.
# live_state CLIENT: the state of the backup's TCP entry of CLIENT
# (ADDR:PORT), empty if it has none.
live_state() {
	nsx "$NS_DIRB" ipvsadm -Lnc | awk -v s="$1" '$1 == "TCP" && $4 == s { print $3; exit }'
}
# The live connection is one the client holds open: the real server has
# closed its side, so IPVS keeps it in FIN_WAIT, whose timeout both
# directors raise to 10 min (a closed connection's TIME_WAIT lasts 2 min,
# which a slow guest outlasted during these attacks: "the live connection
# ... is gone"). The backup takes the master's timeout from the sync
# message.
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" ipvsadm --set 0 600 0 || fail "ipvsadm --set failed"
done
hold_stop=$(mktemp -u /tmp/hold-stop.XXXXXX)
hold_out=$(mktemp /tmp/hold-out.XXXXXX)
nsx "$NS_CLIENT" /usr/bin/python3 "$IPVS_AUTH_TOP/qemu/tools/tcpload.py" hold "$VIP" 80 "$hold_stop" >"$hold_out" &
holder=$!
wait_for 10 test -s "$hold_out" || fail "the held connection was not answered"
held=$(cat "$hold_out")
# Its entry on the backup, once synced.
pick_live() {
	live=$(nsx "$NS_DIRB" ipvsadm -Lnc |
		awk -v c="$held" '$1 == "TCP" && $3 != "SYN_RECV" && $4 == c { print $2, $4, $5, $6 }')
	[ -n "$live" ]
}
wait_for 10 pick_live || fail "the backup does not list the held connection $held to attack"
# shellcheck disable=SC2086 # expiry, client, virtual, real: split on purpose
set -- $live
lsrc=$2 lvip=${3%:*} lvport=${3##*:} lrip=${4%:*}
LIVE="--cip ${lsrc%:*} --cport ${lsrc##*:} --vip $lvip --vport $lvport --rip $lrip --state 3"
info "live connection: $live"
live_attack() {
	name=$1
	want=$2
	shift 2
	# shellcheck disable=SC2086 # the entry's options, split on purpose
	attack "$name, live connection" "$want" $LIVE "$@"
	s=$(live_state "$lsrc")
	[ -n "$s" ] || fail "$name: the live connection $lsrc is gone"
	[ "$s" != SYN_RECV ] || fail "$name: the live connection $lsrc was set to SYN_RECV"
}
live_attack "wrong key" rx_drop_bad_icv --key wrongkey --seq 1000020
live_attack "TTL 254" rx_drop_bad_ttl --key "$KEY" --seq 1000021 --ttl 254
live_attack "bit flip in entries" rx_drop_bad_icv --key "$KEY" --seq 1000022 --mutate flip-entry
live_attack "lower sequence" rx_drop_replay --key "$KEY" --seq 2

if nsx "$NS_DIRB" ipvsadm -Lnc | grep -q ' 10\.9\.9\.'; then
	fail "a crafted entry reached the backup's table"
fi

# Control: the same tool with the right key, a sequence number the stream
# has not seen and TTL 255 is accepted, so the drops above are due to what
# each one broke. It comes from another address: the stream is the
# SyncID's, whoever sends (test 29 replays from anywhere).
nsx "$NS_DIRA" $SYNCAUTH send --src 10.0.3.3 --key "$KEY" --seq 4000000000 --cip 10.9.8.8 ||
	fail "control send failed"
wait_for 5 sh -c "ip netns exec $NS_DIRB ipvsadm -Lnc | grep -q ' 10\.9\.8\.8:'" ||
	fail "control: a correctly keyed message was not applied"
info "control: a correctly keyed message is applied"
# shellcheck disable=SC2086 # the entry's options, split on purpose
nsx "$NS_DIRA" $SYNCAUTH send --src 10.0.3.3 --key "$KEY" --seq 4000000001 $LIVE ||
	fail "live control send failed"
live_changed() { [ "$(live_state "$lsrc")" = SYN_RECV ]; }
wait_for 5 live_changed ||
	fail "control: a correctly keyed entry did not set the live connection $lsrc to SYN_RECV ($(live_state "$lsrc"))"
info "control: a correctly keyed entry sets the live connection's state"
touch "$hold_stop"
wait "$holder" || fail "the held connection failed"
rm -f "$hold_stop" "$hold_out"
expect_counter "$NS_DIRB" streams 1
