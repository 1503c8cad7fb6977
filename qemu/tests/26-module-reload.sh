# SPDX-License-Identifier: GPL-2.0
#
# Lifecycle under load: the module is removed and inserted again while the
# master syncs and clients keep connecting, then the namespaces are deleted
# with live state. No oops, no warning; after the reload the state is fresh
# (no key until one is set, counters from zero) and sync resumes once the
# keys are set again.
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

# Clients keep connecting in the background for the whole test.
nsx "$NS_CLIENT" /usr/bin/python3 "$IPVS_AUTH_TOP/qemu/tools/tcpload.py" client "$VIP" 80 100000 \
	>/dev/null 2>&1 &
load=$!
sleep 2
for i in 1 2 3; do
	rmmod ip_vs_sync_auth || fail "rmmod under traffic failed (round $i)"
	[ -e /proc/net/ip_vs_sync_auth ] && fail "/proc file left behind after rmmod"
	sleep 1
	insmod "$IPVS_AUTH_KO" || fail "insmod under traffic failed (round $i)"
	[ "$(counter "$NS_DIRB" enabled)" = 0 ] || fail "a key survived the reload"
	[ "$(counter "$NS_DIRB" rx_accepted)" = 0 ] || fail "counters survived the reload"
	nsx "$NS_DIRA" $SYNCAUTH key set tot0234 || fail "cannot set the master's key again"
	nsx "$NS_DIRB" $SYNCAUTH key set tot0234 || fail "cannot set the backup's key again"
	sleep 2
done
wait_for 15 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_accepted) -gt 0 ]" ||
	fail "sync did not resume after the reload"
info "3 reloads under traffic; sync resumed with $(counter "$NS_DIRB" rx_accepted) messages accepted"

# Key changes and clears under traffic.
for k in k1 k2 ''; do
	if [ -n "$k" ]; then
		nsx "$NS_DIRB" $SYNCAUTH key set "$k" || fail "key change under traffic failed"
	else
		nsx "$NS_DIRB" $SYNCAUTH key clear || fail "key clear under traffic failed"
	fi
	sleep 1
done
info "key changes and clear under traffic"

# Namespaces deleted while the daemons run and state is live.
kill "$load" 2>/dev/null
topology_cleanup
trap - EXIT
sleep 1
rmmod ip_vs_sync_auth || fail "rmmod after namespace deletion failed"
if log_since_mark | grep -E 'BUG:|WARNING:|Oops|refcount_t:|general protection|list_del corruption'; then
	fail "the kernel reported a problem"
fi
info "namespaces deleted with live state, module removed, kernel log clean"
