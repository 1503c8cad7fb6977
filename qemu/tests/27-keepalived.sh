# SPDX-License-Identifier: GPL-2.0
#
# Daemons started by keepalived: a VRRP pair (Debian's keepalived) whose
# `lvs_sync_daemon` starts the IPVS master on the VRRP master and the
# backup on the VRRP backup, over netlink, knowing nothing of
# authentication (with the README's `maxlen 1456`, which the master daemon
# then has). The key is set beforehand with `ipvsadm --icv-key` alone;
# the counters prove the sync is authenticated. Then two VRRP transitions,
# as keepalived restarts the sync daemons on each: the VRRP master's
# keepalived stops (the backup becomes VRRP master and runs an IPVS master
# daemon, keeping every synced connection), then starts again and takes
# the master role back (priority 150 > 100); connections made after that
# reach the backup authenticated, with no replay or other drop: the key
# and the master's sequence numbers survive the daemons' restarts.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

IPVSADM=${IPVSADM_AUTH:-}
[ -x "$IPVSADM" ] || skip "patched ipvsadm not built (scripts/build-ipvsadm.sh)"
checktool "keepalived --version" "keepalived is not installed"
N=${N:-50}

load_module
# keepalived by its pid files ($ka_a and $ka_b are the shells that run it).
trap 'kill $ka_a $ka_b $(cat "$run"/a.pid "$run"/b.pid 2>/dev/null) 2>/dev/null; topology_cleanup' EXIT
topology_setup
nsx "$NS_DIRA" "$IPVSADM" --icv-key tot0234 || fail "cannot set the master's key"
nsx "$NS_DIRB" "$IPVSADM" --icv-key tot0234 || fail "cannot set the backup's key"

# advert_int 3: B takes over when it hears no advertisement for about 3.5
# of them; at 1 s, a guest stalled for 3.5 s (one CPU, two guests on two
# cores) would make B master behind A's back, and stop its backup daemon.
ka_conf() {
	cat <<KA
global_defs {
	router_id $1
	lvs_sync_daemon $SYNC_IF_A VI_1 id 150 maxlen 1456
}
vrrp_instance VI_1 {
	state $2
	interface $SYNC_IF_A
	virtual_router_id 51
	priority $3
	advert_int 3
	virtual_ipaddress {
		10.0.3.100/24
	}
}
KA
}
run="$IPVS_AUTH_OUT/ka-$$"
mkdir -p "$run"
ka_conf dira MASTER 150 >"$run/a.conf"
ka_conf dirb BACKUP 100 >"$run/b.conf"
nsx "$NS_DIRA" keepalived -n -l -P -f "$run/a.conf" -p "$run/a.pid" -r "$run/a.vrrp.pid" \
	>"$run/a.log" 2>&1 &
ka_a=$!
nsx "$NS_DIRB" keepalived -n -l -P -f "$run/b.conf" -p "$run/b.pid" -r "$run/b.vrrp.pid" \
	>"$run/b.log" 2>&1 &
ka_b=$!

wait_for 30 sh -c "ip netns exec $NS_DIRA ipvsadm -L --daemon | grep -q 'master sync daemon'" ||
	{ cat "$run/a.log"; fail "keepalived did not start the master sync daemon"; }
wait_for 30 sh -c "ip netns exec $NS_DIRB ipvsadm -L --daemon | grep -q 'backup sync daemon'" ||
	{ cat "$run/b.log"; fail "keepalived did not start the backup sync daemon"; }
nsx "$NS_DIRA" "$IPVSADM" -L --daemon
nsx "$NS_DIRB" "$IPVSADM" -L --daemon
# The README's line: keepalived passes maxlen 1456 to the master daemon.
nsx "$NS_DIRA" ipvsadm -L --daemon | grep 'master sync daemon' | grep -q 'maxlen=1456' ||
	fail "keepalived's maxlen 1456 is not the master daemon's maxlen"

make_connections "$N"
wait_backup_conns "$N" 20 || fail "backup shows $(conn_count "$NS_DIRB") of $N connections"
signed=$(counter "$NS_DIRA" tx_signed)
accepted=$(counter "$NS_DIRB" rx_accepted)
[ "$signed" -gt 0 ] || fail "the keepalived-started master signed nothing"
[ "$accepted" -gt 0 ] || fail "the keepalived-started backup accepted nothing"
for c in rx_drop_bad_ttl rx_drop_bad_header rx_drop_replay rx_drop_bad_icv rx_drop_malformed; do
	expect_counter "$NS_DIRB" "$c" 0
done
info "keepalived pair: $N connections synced; $signed signed, $accepted accepted, no drops"

# Transition 1: A's keepalived goes away, B takes over. $ka_a is the
# shell that runs it: stop keepalived itself, by its pid file.
pid_a=$(cat "$run/a.pid") || fail "no pid file of A's keepalived"
kill "$pid_a" || fail "cannot stop A's keepalived ($pid_a)"
wait_for 30 sh -c "! kill -0 $pid_a 2>/dev/null" || fail "A's keepalived ($pid_a) did not exit"
wait "$ka_a" 2>/dev/null
wait_for 30 sh -c "ip netns exec $NS_DIRB ipvsadm -L --daemon | grep -q 'master sync daemon'" ||
	{ cat "$run/b.log"; fail "B did not become master after A's keepalived stopped"; }
nsx "$NS_DIRA" ipvsadm -L --daemon | grep -q 'sync daemon' && fail "A still runs a sync daemon"
[ "$(conn_count "$NS_DIRB")" -ge "$N" ] ||
	fail "B lost synced connections on taking over: $(conn_count "$NS_DIRB") of $N"
nsx "$NS_DIRB" "$IPVSADM" -L --daemon | grep -qx 'auth hmac-md5-96' || fail "B's key is gone after the transition"
info "transition 1: B is master with all $N synced connections, its key kept"

# Transition 2: A comes back and takes the master role again.
nsx "$NS_DIRA" keepalived -n -l -P -f "$run/a.conf" -p "$run/a.pid" -r "$run/a.vrrp.pid" \
	>"$run/a2.log" 2>&1 &
ka_a=$!
wait_for 30 sh -c "ip netns exec $NS_DIRA ipvsadm -L --daemon | grep -q 'master sync daemon'" ||
	{ cat "$run/a2.log"; fail "A did not become master again"; }
wait_for 30 sh -c "ip netns exec $NS_DIRB ipvsadm -L --daemon | grep -q 'backup sync daemon'" ||
	{ cat "$run/b.log"; fail "B did not go back to backup"; }
# B's connections from the client, as CIP:PORT; new ones are those not
# listed before the second batch.
conns_of_b() {
	nsx "$NS_DIRB" ipvsadm -Lnc | awk -v c="$CIP:" 'index($4, c) == 1 { print $4 }' | sort -u
}
conns_of_b >"$run/before"
new_conns() {
	conns_of_b | comm -13 "$run/before" - | grep -c .
}
a0=$(counter "$NS_DIRB" rx_accepted)
t0=$(counter "$NS_DIRA" tx_signed)
udp0=$(nsx "$NS_DIRB" grep '^Udp:' /proc/net/snmp | tail -1)
make_connections "$N"
# The new connections B has listed at any poll: on a slow guest the polls
# can outlast an entry's timeout, and the 7.3 table's listing (resizable,
# walked without a lock) may skip an entry in one pass.
: >"$run/seen"
all_new_synced() {
	conns_of_b | comm -13 "$run/before" - >>"$run/seen"
	[ "$(sort -u "$run/seen" | grep -c .)" -ge "$N" ]
}
if ! wait_for 30 all_new_synced; then
	# What each side did, for the failure's cause.
	for ns in "$NS_DIRA" "$NS_DIRB"; do
		echo "# $ns:"
		nsx "$ns" cat /proc/net/ip_vs_sync_auth | sed 's/^/#   /'
	done
	dmesg | tail -20 | sed 's/^/#   /'
	# Whether A sent the new connections at all (signed since the batch,
	# and A's own table), where the VIP is, each side's daemons, and B's
	# UDP counters (a datagram our hook accepted but no socket took).
	echo "# since the batch: A tx_signed $t0 -> $(counter "$NS_DIRA" tx_signed)," \
		"B rx_accepted $a0 -> $(counter "$NS_DIRB" rx_accepted)"
	for ns in "$NS_DIRA" "$NS_DIRB"; do
		echo "# $ns: $(conn_count "$ns") connections from the client;" \
			"VIP here: $(nsx "$ns" ip -4 -o addr show | grep -c " $VIP/")"
		nsx "$ns" ipvsadm -L --daemon | sed 's/^/#   /'
		nsx "$ns" ip maddr show | grep -E 'sync|224\.' | sed 's/^/#   /' || true
		nsx "$ns" grep '^Udp:' /proc/net/snmp | sed 's/^/#   /' || true
	done
	# InDatagrams counts what a socket read; IgnoredMulti what none took.
	echo "# $NS_DIRB Udp before the batch: $udp0"
	nsx "$NS_DIRB" grep ':2290 ' /proc/net/udp | sed 's/^/#   /' || true
	fail "after two transitions B listed $(sort -u "$run/seen" | grep -c .) of the $N new connections (now $(new_conns))"
fi
[ "$(counter "$NS_DIRB" rx_accepted)" -gt "$a0" ] || fail "B accepted nothing after the transitions"
for c in rx_drop_bad_ttl rx_drop_bad_header rx_drop_replay rx_drop_bad_icv rx_drop_malformed; do
	expect_counter "$NS_DIRB" "$c" 0
done
info "transition 2: A master again, all $N new connections synced authenticated, no drop"
