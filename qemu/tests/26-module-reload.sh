# SPDX-License-Identifier: GPL-2.0
#
# Lifecycle under load: the module is removed and inserted again while the
# master syncs and clients keep connecting (checked: the load generator
# runs and the virtual service schedules new connections during every
# step), then the namespaces are deleted with live state. No oops, no
# warning but one line per keyed namespace at each unload (its sync is now
# plaintext); after the reload the state is fresh (no key until one is set,
# counters from zero) and sync resumes once the keys are set again. Key
# changes on the backup take effect at once: another key drops the
# master's messages as bad ICVs, the master's key again accepts them, and
# a cleared key verifies and counts nothing while the master's datagrams
# still arrive.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

load_module
log_mark
trap topology_cleanup EXIT
topology_setup
nsx "$NS_DIRA" $SYNCAUTH key set tot0234 || fail "cannot set the master's key"
nsx "$NS_DIRB" $SYNCAUTH key set tot0234 || fail "cannot set the backup's key"
start_sync
make_connections 5
wait_backup_conns 5 || fail "sync does not work before the reload"

# Clients keep connecting in the background for the whole test. "Under
# traffic" is checked, not assumed: the load generator must still run and
# the master's virtual service must have scheduled new connections over
# each part (load_ran).
# At nice 10 (as every background load of the suite): in a one-CPU guest
# a load at the test's own priority starved its steps (this test took 509 s
# there, against 117-169 s with two CPUs); it still runs whenever they wait.
nsx "$NS_CLIENT" nice -n 10 /usr/bin/python3 "$IPVS_AUTH_TOP/qemu/tools/tcpload.py" client "$VIP" 80 100000 \
	>/dev/null 2>&1 &
load=$!
# Connections the master's virtual service has scheduled so far.
vs_conns() {
	nsx "$NS_DIRA" ipvsadm -Ln --stats --exact -t "$VIP:80" | awk '$1 == "TCP" { print $3 }'
}
conns_above() {
	[ "$(vs_conns)" -gt "$1" ]
}
# load_ran WHAT C0: the load generator is alive and the service scheduled
# connections since it counted C0.
load_ran() {
	wait_for 10 conns_above "$2" || fail "no client connection during $1"
	kill -0 "$load" 2>/dev/null || fail "the load generator stopped during $1"
}
c0=$(vs_conns)
load_ran "the start" "$c0"
c0=$(vs_conns)
for i in 1 2 3; do
	rmmod ip_vs_sync_auth || fail "rmmod under traffic failed (round $i)"
	[ -e /proc/net/ip_vs_sync_auth ] && fail "/proc file left behind after rmmod"
	sleep 1
	insmod "$IPVS_AUTH_KO" || fail "insmod under traffic failed (round $i)"
	[ "$(counter "$NS_DIRB" enabled)" = 0 ] || fail "a key survived the reload"
	[ "$(counter "$NS_DIRB" rx_accepted)" = 0 ] || fail "counters survived the reload"
	nsx "$NS_DIRA" $SYNCAUTH key set tot0234 || fail "cannot set the master's key again"
	nsx "$NS_DIRB" $SYNCAUTH key set tot0234 || fail "cannot set the backup's key again"
	load_ran "reload $i" "$c0"
	c0=$(vs_conns)
done
wait_for 15 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_accepted) -gt 0 ]" ||
	fail "sync did not resume after the reload"
# Each unload warned once per keyed namespace (both directors, 3 rounds).
unload_warnings() {
	log_since_mark | grep -c 'unloaded while a sync key was set in a network namespace'
}
[ "$(unload_warnings)" = 6 ] || fail "$(unload_warnings) unload warnings for 3 unloads with 2 keyed namespaces, expected 6"
# A reload forgets nothing IPVS holds: the backup's key, set again while
# its daemon runs, marks the namespace (the gate trusts no synced
# connection there); the master's, where no backup daemon ran, does not.
[ "$(sync_proc "$NS_DIRB" unverified_sync)" = yes ] ||
	fail "the backup keyed again after a reload is not marked unverified_sync"
[ "$(sync_proc "$NS_DIRA" unverified_sync)" = no ] ||
	fail "the master's namespace is marked unverified_sync"
info "3 reloads under traffic; sync resumed with $(counter "$NS_DIRB" rx_accepted) messages accepted"

# Key changes and a clear under traffic, each in effect at once. The
# master keeps tot0234: the backup keyed otherwise drops its messages as
# bad ICVs; keyed alike again it accepts them; cleared, it verifies and
# counts nothing although the master's messages still arrive.
above() {
	[ "$(counter "$1" "$2")" -gt "$3" ]
}
for k in k1 k2; do
	b=$(counter "$NS_DIRB" rx_drop_bad_icv)
	nsx "$NS_DIRB" $SYNCAUTH key set "$k" || fail "key change under traffic failed"
	wait_for 15 above "$NS_DIRB" rx_drop_bad_icv "$b" ||
		fail "the backup keyed '$k' did not drop the master's messages"
	load_ran "the change to key '$k'" "$c0"
	c0=$(vs_conns)
done
a=$(counter "$NS_DIRB" rx_accepted)
nsx "$NS_DIRB" $SYNCAUTH key set tot0234 || fail "key change under traffic failed"
wait_for 15 above "$NS_DIRB" rx_accepted "$a" || fail "the backup keyed as the master again accepts nothing"
load_ran "the change back to the master's key" "$c0"
c0=$(vs_conns)
nsx "$NS_DIRB" $SYNCAUTH key clear || fail "key clear under traffic failed"
expect_counter "$NS_DIRB" enabled 0
nsx "$NS_DIRB" $SYNCAUTH status | grep '^rx_' >"$IPVS_AUTH_OUT/reload-cleared.txt"
# The backup's UDP layer counts the master's datagrams that reached it.
udp_in() {
	snmp "$NS_DIRB" Udp InDatagrams
}
udp_above() {
	[ "$(udp_in)" -gt "$1" ]
}
t=$(counter "$NS_DIRA" tx_signed)
u=$(udp_in)
wait_for 15 above "$NS_DIRA" tx_signed "$t" || fail "the master signed nothing after the backup's clear"
wait_for 15 udp_above "$((u + 1))" || fail "no sync datagram reached the backup after the clear"
nsx "$NS_DIRB" $SYNCAUTH status | grep '^rx_' | cmp -s - "$IPVS_AUTH_OUT/reload-cleared.txt" ||
	fail "the backup without a key still verified or counted messages"
load_ran "the clear" "$c0"
info "key changes and a clear under traffic: each in effect at once"

# Namespaces deleted while the daemons run and state is live.
kill "$load" || fail "the load generator stopped"
topology_cleanup
trap - EXIT
sleep 1
rmmod ip_vs_sync_auth || fail "rmmod after namespace deletion failed"
# Deleting namespaces, and an unload with no key set, warn about nothing.
[ "$(unload_warnings)" = 6 ] || fail "namespace deletion or an unload without keys warned"
if log_since_mark | grep -E 'BUG:|WARNING:|Oops|refcount_t:|general protection|list_del corruption'; then
	fail "the kernel reported a problem"
fi
info "namespaces deleted with live state, module removed, kernel log clean"
