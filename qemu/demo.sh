# SPDX-License-Identifier: GPL-2.0
#
# Guest script for `make demo`: two LVS directors in network namespaces, a
# client and a real server. Director A (master) balances a NAT virtual
# service and multicasts its connection table; director B (backup) receives
# it. ip_vs_sync_auth is loaded on both.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

say() {
	printf '\n\033[1m>>> %s\033[0m\n' "$*"
}

load_module
dmesg -t | grep '^ip_vs_sync_auth:' | tail -n 1
trap topology_cleanup EXIT
topology_setup

say "Director A: virtual service $VIP:80 -> real server $RIP:80 (NAT)"
nsx "$NS_DIRA" ipvsadm -Ln

say "Starting sync daemons: A = master, B = backup (syncid 150, group 224.0.0.81:8848)"
start_sync
nsx "$NS_DIRA" ipvsadm -L --daemon
nsx "$NS_DIRB" ipvsadm -L --daemon

say "Client $CIP opens 5 connections to $VIP:80"
make_connections 5
echo "each answered by the real server"

say "Director A's connection table"
nsx "$NS_DIRA" ipvsadm -Lnc

say "Waiting for director B to receive the table..."
wait_for 15 sh -c "[ \$(ip netns exec $NS_DIRB ipvsadm -Lnc | grep -c ' $CIP:') -ge 5 ]" ||
	fail "director B did not receive the connections"
say "Director B's connection table (synced from A)"
nsx "$NS_DIRB" ipvsadm -Lnc

say "Note: this sync is still plaintext; authenticated sync (--icv-key) is the next milestone."
