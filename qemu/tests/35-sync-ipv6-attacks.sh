# SPDX-License-Identifier: GPL-2.0
#
# The sync attacks of 29 and 31 over IPv6 (group ff02::8848, two sync
# threads): an attacker on the LAN (atk) records the master's datagrams
# and, once their connections have expired on the backup, sends them again
# from its own address, spoofing the master's address and a new one, to
# every sync port; with hop limit 254; and floods plaintext while the
# backup daemon is stopped and started. Every datagram must be dropped and
# counted, and no connection come back or crafted entry appear.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
SYNC_LAN=bridge
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

KEY=ipv6-attack-key
N=20
PORTS=8848,8849,8850,8911
load_module
trap topology_cleanup EXIT
topology_setup
nsx "$NS_DIRA" ip -6 addr add fd00:3::1/64 dev "$SYNC_IF_A" nodad
nsx "$NS_DIRB" ip -6 addr add fd00:3::2/64 dev "$SYNC_IF_B" nodad
nsx "$NS_ATK" ip -6 addr add fd00:3::66/64 dev eth0 nodad
# The attacker also takes the master's address and a new one.
nsx "$NS_ATK" ip -6 addr add fd00:3::1/64 dev eth0 nodad
nsx "$NS_ATK" ip -6 addr add fd00:3::77/64 dev eth0 nodad
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" sysctl -qw net.ipv4.vs.sync_ports=2 || fail "cannot set sync_ports"
done
udp_service "$(ts 6)"
set_keys "$KEY"
start_sync --mcast-group ff02::8848
nsx "$NS_DIRB" ipvsadm -L --daemon | grep -q 'group=ff02::8848' || fail "the backup is not on the IPv6 group"

# Record the master's datagrams while the client opens $N connections, and
# wait until they have expired on the backup.
REC=$IPVS_AUTH_OUT/replay-v6.bin
capture_start "$NS_ATK" "$REC" 8 --v6
udp_conns "$N" 41000
wait_for 20 udp_conns_are "$NS_DIRB" 41000 "$N" "$N" ||
	fail "the backup did not get the connections over IPv6"
wait "$cap" || fail "the capture failed"
n=$(nsx "$NS_ATK" $SYNCAUTH records --file "$REC")
[ "$n" -gt 0 ] || fail "nothing recorded on the LAN"
nsx "$NS_ATK" $SYNCAUTH verify --file "$REC" --key "$KEY" >/dev/null ||
	fail "a recorded datagram does not verify in Python"
wait_for "$(ts 40)" udp_conns_are "$NS_DIRB" 41000 "$N" 0 || fail "the connections did not expire"
info "recorded $n IPv6 sync datagrams; the connections have expired on the backup"

# resend_expect WHAT COUNTER RESEND-ARGS...: every recorded datagram again;
# each must raise COUNTER, and no connection may come back.
resend_expect() {
	what=$1
	c=$2
	shift 2
	before=$(counter "$NS_DIRB" "$c")
	acc=$(counter "$NS_DIRB" rx_accepted)
	sent=$(nsx "$NS_ATK" $SYNCAUTH resend --all --file "$REC" --iface eth0 "$@") ||
		fail "$what: resend failed"
	raised() {
		[ "$(counter "$NS_DIRB" "$c")" -ge $((before + sent)) ]
	}
	wait_for 10 raised || fail "$what: $c went $before -> $(counter "$NS_DIRB" "$c"), expected +$sent"
	sleep 1
	[ "$(counter "$NS_DIRB" "$c")" = $((before + sent)) ] || fail "$what: $c counted more than sent"
	[ "$(counter "$NS_DIRB" rx_accepted)" = "$acc" ] || fail "$what: the backup accepted something"
	[ "$(udp_conn_count "$NS_DIRB" 41000 "$N")" = 0 ] || fail "$what: expired connections came back"
	info "$what: $sent dropped ($c)"
}

resend_expect "from the attacker's address" rx_drop_replay --src fd00:3::66 --ports 8848,8849
resend_expect "spoofing the master's address, every port" rx_drop_replay --src fd00:3::1 --ports "$PORTS"
resend_expect "from a new address, every port" rx_drop_replay --src fd00:3::77 --ports "$PORTS"
resend_expect "hop limit 254" rx_drop_bad_ttl --src fd00:3::1 --ports 8848 --ttl 254

# Plaintext over IPv6 while the backup daemon stops and starts.
# Not through nsx (a shell function: $! would be a subshell, and killing
# it would leave the loop running): ip netns exec becomes the loop. The
# restarts begin once the flood is counted, and it must still run after
# them (a starved guest may take seconds to start it).
hdr=$(counter "$NS_DIRB" rx_drop_bad_header)
ip netns exec "$NS_ATK" nice -n 10 sh -c "while :; do $SYNCAUTH send --iface eth0 --src fd00:3::66 --cip 10.9.6.6 --conns 20 --count 50 || exit 1; done" &
flood=$!
wait_for 30 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_bad_header) -gt $hdr ]" ||
	fail "the plaintext flood was not counted before the restarts"
hdr=$(counter "$NS_DIRB" rx_drop_bad_header)
i=0
while [ "$i" -lt 10 ]; do
	nsx "$NS_DIRB" ipvsadm --stop-daemon backup || fail "cannot stop the backup"
	nsx "$NS_DIRB" ipvsadm --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 \
		--mcast-group ff02::8848 || fail "cannot start the backup"
	i=$((i + 1))
done
kill -0 "$flood" 2>/dev/null || fail "the plaintext flood ended during the restarts"
wait_for 30 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_bad_header) -gt $hdr ]" ||
	fail "the plaintext flood was not counted after the restarts"
kill "$flood" 2>/dev/null
wait "$flood" 2>/dev/null
nsx "$NS_DIRB" ipvsadm -Lnc | grep -q ' 10\.9\.6\.' && fail "plaintext entries were applied over IPv6"
info "10 backup restarts under an IPv6 plaintext flood: nothing applied"

# The master goes on.
udp_conns "$N" 42000
wait_for 20 udp_conns_are "$NS_DIRB" 42000 "$N" "$N" || fail "IPv6 sync stopped after the attacks"
info "the master's new connections still reach the backup over IPv6"
