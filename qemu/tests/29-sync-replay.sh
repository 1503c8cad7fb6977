# SPDX-License-Identifier: GPL-2.0
#
# Replay from the attacker's side. A host on the directors' sync LAN (atk,
# on the bridge) records the master's authenticated datagrams while the
# client opens UDP connections, waits until those connections have expired
# on the backup, and then sends the recorded datagrams again, varying what
# it controls: its own address, the master's address and a new one
# (spoofed, from a raw socket), the port (each of the backup's sync ports,
# and one it does not use), after the backup daemon was stopped and
# started again with the same key (as keepalived does on every VRRP
# transition), after the same key was installed again, and after it was
# cleared and set again. Every replay must be dropped as a replay, before
# any hashing, and no expired connection may come back. Then the same in
# the extended format.
#
# The recorded datagrams are checked in Python (qemu/tools/syncauth.py
# verify, HMAC from the documented layout), so they are valid messages:
# only the replay protection can stop them.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
SYNC_LAN=bridge
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

IPVSADM=${IPVSADM_AUTH:-}
[ -x "$IPVSADM" ] || skip "the patched ipvsadm is not built (make setup)"
KEY=replay-test-key
N=20
PORTS=8848,8849,8850,8911
load_module
trap topology_cleanup EXIT
topology_setup
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" sysctl -qw net.ipv4.vs.sync_ports=2 || fail "cannot set sync_ports"
done
udp_service "$(ts 6)"
nsx "$NS_DIRA" "$IPVSADM" --icv-key "$KEY" || fail "cannot set the master's key"
nsx "$NS_DIRB" "$IPVSADM" --icv-key "$KEY" || fail "cannot set the backup's key"
start_sync

# All counters of the backup in one call (each python start is slow).
snapshot() {
	nsx "$NS_DIRB" $SYNCAUTH status | sed -n 's/^\([a-z_]*\): \([0-9]*\)$/\1=\2/p' | tr '\n' ' '
}
# get NAME SNAPSHOT
get() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# record BASE FILE: the attacker records every sync datagram on the LAN
# while the client opens $N UDP connections from ports BASE..; returns once
# the backup had them all, and they have all expired on it again.
record() {
	capture_start "$NS_ATK" "$2" 8
	udp_conns "$N" "$1"
	wait_for 20 udp_conns_are "$NS_DIRB" $1 "$N" $N ||
		fail "the backup did not get the $N connections (has $(udp_conn_count "$NS_DIRB" "$1" "$N"))"
	wait "$cap" || fail "the capture failed"
	n=$(nsx "$NS_ATK" $SYNCAUTH records --file "$2")
	[ "$n" -gt 0 ] || fail "nothing recorded on the LAN"
	wait_for "$(ts 40)" udp_conns_are "$NS_DIRB" $1 "$N" 0 ||
		fail "the connections did not expire on the backup"
	info "recorded $n sync datagrams; the $N connections have expired on the backup"
}

# replay WHAT BASE FILE RESEND-ARGS...: the attacker sends every recorded
# datagram again as RESEND-ARGS say; each must be dropped as a replay, and
# no connection of ports BASE.. may come back.
replay() {
	what=$1
	base=$2
	file=$3
	shift 3
	before=$(snapshot)
	sent=$(nsx "$NS_ATK" $SYNCAUTH resend --all --file "$file" "$@") || fail "$what: resend failed"
	want=$(($(get rx_drop_replay "$before") + sent))
	wait_for 10 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_replay) -ge $want ]"
	sleep 1
	after=$(snapshot)
	back=$(udp_conn_count "$NS_DIRB" "$base" "$N")
	[ "$back" = 0 ] || fail "$what: $back expired connections came back on the backup"
	for c in rx_accepted rx_drop_bad_icv rx_drop_no_stream rx_drop_bad_header rx_drop_malformed; do
		[ "$(get $c "$after")" = "$(get $c "$before")" ] ||
			fail "$what: $c went $(get $c "$before") -> $(get $c "$after")"
	done
	[ "$(get rx_drop_replay "$after")" = "$want" ] ||
		fail "$what: rx_drop_replay went $(get rx_drop_replay "$before") -> $(get rx_drop_replay "$after"), expected +$sent"
	info "$what: $sent datagrams dropped as replays, no connection came back"
}

# replay_all NAME BASE FILE: every variation of sender and port.
replay_all() {
	replay "$1: from the attacker's own address" "$2" "$3" --src "$ATK_IP" --ports 8848,8849
	replay "$1: spoofing the master's address, every port" "$2" "$3" --raw --src 10.0.3.1 --ports "$PORTS"
	replay "$1: spoofing a new address, every port" "$2" "$3" --raw --src 10.0.3.77 --ports "$PORTS"
}

# 1. Seed format.
SEED=$IPVS_AUTH_OUT/replay-seed.bin
record 41000 "$SEED"
nsx "$NS_ATK" $SYNCAUTH verify --file "$SEED" --key "$KEY" >/dev/null ||
	fail "a recorded datagram does not verify in Python"
[ "$(counter "$NS_DIRB" streams)" = 1 ] || fail "the backup holds $(counter "$NS_DIRB" streams) streams, expected 1"
replay_all seed 41000 "$SEED"
[ "$(counter "$NS_DIRB" streams)" = 1 ] || fail "replays created streams: $(counter "$NS_DIRB" streams)"

# The backup daemon restarted with the same key, the keepalived way.
nsx "$NS_DIRB" "$IPVSADM" --stop-daemon backup || fail "cannot stop the backup"
nsx "$NS_DIRB" "$IPVSADM" --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 \
	--icv-key "$KEY" || fail "cannot restart the backup with its key"
replay "seed, backup daemon restarted with the same key" 41000 "$SEED" --raw --src 10.0.3.1 --ports "$PORTS"
nsx "$NS_DIRB" "$IPVSADM" --icv-key "$KEY" || fail "cannot set the same key again"
replay "seed, same key installed again" 41000 "$SEED" --raw --src 10.0.3.1 --ports "$PORTS"
nsx "$NS_DIRB" "$IPVSADM" --icv-key-clear || fail "cannot clear the key"
nsx "$NS_DIRB" "$IPVSADM" --icv-key "$KEY" || fail "cannot set the key after clearing it"
replay "seed, key cleared and set again" 41000 "$SEED" --src "$ATK_IP" --ports 8848,8849

# The master goes on: new connections still reach the backup.
udp_conns "$N" 42000
wait_for 20 udp_conns_are "$NS_DIRB" 42000 "$N" $N ||
	fail "sync stopped after the replays"
info "seed: the master's new connections still reach the backup"

# 2. Extended format, on both directors.
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" $SYNCAUTH ext mode ext || fail "cannot select the extended format"
	nsx "$ns" $SYNCAUTH ext add 1 "$KEY-ext" || fail "cannot add extended key 1"
done
EXT=$IPVS_AUTH_OUT/replay-ext.bin
record 43000 "$EXT"
nsx "$NS_ATK" $SYNCAUTH verify --ext --file "$EXT" --key "$KEY-ext" >/dev/null ||
	fail "a recorded extended datagram does not verify in Python"
replay_all ext 43000 "$EXT"
nsx "$NS_DIRB" "$IPVSADM" --stop-daemon backup || fail "cannot stop the backup"
nsx "$NS_DIRB" "$IPVSADM" --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 ||
	fail "cannot restart the backup"
replay "ext, backup daemon restarted" 43000 "$EXT" --raw --src 10.0.3.1 --ports "$PORTS"
udp_conns "$N" 44000
wait_for 20 udp_conns_are "$NS_DIRB" 44000 "$N" $N ||
	fail "extended sync stopped after the replays"
info "ext: the master's new connections still reach the backup"
