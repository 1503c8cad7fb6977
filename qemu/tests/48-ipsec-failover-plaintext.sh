# SPDX-License-Identifier: GPL-2.0
#
# IPsec gate fail-over with plaintext sync (issue 20, item 5). A backup
# whose sync is not authenticated cannot tell a connection the master
# synced from one an attacker on the sync segment sent, so its gate must
# not make an ESTABLISHED entry from either:
#   1. a real client whose traffic moves to the backup is refused (ICMP,
#      esp_no_entry) until it runs ISAKMP again, as after any fail-over
#      without authenticated sync;
#   2. an attacker on the sync segment sends a plaintext sync message with
#      a UDP client:500 -> VIP:500 connection for an address of its choice,
#      then ESP from that address: refused, no real server sees it;
#   3. with the knob the documentation calls unsafe,
#      net.ipv4.vs.ipsec_failover_unauthenticated=1, the forged connection
#      is trusted: that is what the knob costs;
#   4. extended-format keys installed on the running pair (enforce): the
#      connection forged before the key is still refused, and so is one
#      forged in plaintext while the backup was in the permissive rollout
#      mode (44 shows that permissive alone marks the namespace);
#   5. a backup daemon stopped before the first key (seed or extended)
#      marks the namespace; a stopped master daemon, or none, does not.
# Topology: qemu/lib/ipsec_failover.sh (as 44, without sync keys).
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_failover.sh"

failover_setup ""
backup_counter() {
	nsx "$NS_DIR2" $IPSEC counter "$1"
}
FORGED=10.0.1.7

info "client establishes through the master; plaintext sync"
rc=$(ipsec_establish "$NS_CL1" 1111111111111111)
case $rc in "$RS1_COOKIE") mine=1 ;; "$RS2_COOKIE") mine=2 ;; *) fail "cookie $rc" ;; esac
wait_for 15 sh -c "ip netns exec $NS_DIR2 ipvsadm -Lnc | grep -q 'UDP .* $CL1:500 *$VIP:500'" ||
	fail "the ISAKMP connection was not synced to the backup"
[ "$(nsx "$NS_DIR2" $SYNCAUTH status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["enabled"])')" = 0 ] ||
	fail "backup sync is authenticated; this test needs plaintext"

info "1. the moved client's ESP is refused by the backup"
failover_move
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1001 --expect icmp || fail "backup passed ESP on plaintext-synced state"
[ "$(backup_counter failover_established)" = 0 ] || fail "backup made a fail-over entry from plaintext sync"
[ "$(backup_counter esp_no_entry)" = 1 ] || fail "refusal not counted as esp_no_entry"
sleep 1
[ "$(rs_seen "$mine" esp "$CL1")" = 0 ] || fail "refused ESP reached rs$mine"

info "2. forged plaintext sync: a UDP $FORGED:500 -> $VIP:500 connection"
failover_forge "$FORGED"
nsx "$NS_CL1" ip addr add "$FORGED/24" dev c1
failover_refused "$FORGED" 77 || fail "ESP from the forged client was not refused"
[ "$(backup_counter failover_established)" = 0 ] || fail "forged sync made a fail-over entry"
[ "$(backup_counter esp_no_entry)" = 2 ] || fail "forged client's ESP not counted as esp_no_entry"
sleep 1
for n in 1 2; do
	[ "$(rs_seen "$n" esp "$FORGED")" = 0 ] || fail "the forged client's ESP reached rs$n"
done
info "refused: $(backup_counter esp_no_entry) ESP without entry, no fail-over entry"

info "3. ipsec_failover_unauthenticated=1 (unsafe): the forged connection is trusted"
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.ipsec_failover_unauthenticated=1 ||
	fail "no sysctl ipsec_failover_unauthenticated"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 1002 --expect silence || fail "knob on: the synced client is still refused"
[ "$(backup_counter failover_established)" = 1 ] || fail "knob on: no fail-over entry"
wait_rs_seen "$mine" esp "$CL1" 1 10 || fail "knob on: ESP did not reach rs$mine through the backup"
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.ipsec_failover_unauthenticated=0

# 4. Keys installed on the running pair, enforcing: the connection forged
#    in plaintext before the key is still in the backup's table, fresh,
#    and must not be trusted now that sync is authenticated (the backup's
#    daemon ran before its first key: unverified_sync); nor one forged in
#    plaintext while the backup is in the permissive rollout mode.
info "4. keys on the running pair: connections forged in plaintext stay untrusted"
[ "$(unverified_sync "$NS_DIR2")" = no ] || fail "unverified_sync is set before any key"
# The extended format's first key (test 26 does the seed format's).
for ns in "$NS_DIR" "$NS_DIR2"; do
	nsx "$ns" $SYNCAUTH ext add 1 "failover key" || fail "$ns: cannot add extended key 1"
	nsx "$ns" $SYNCAUTH ext mode ext || fail "$ns: cannot switch to the extended format"
done
[ "$(unverified_sync "$NS_DIR2")" = yes ] ||
	fail "a first extended key added while the backup daemon runs does not mark unverified_sync"
[ "$(unverified_sync "$NS_DIR")" = no ] ||
	fail "the master's namespace, where no backup daemon ran, is marked unverified_sync"
nsx "$NS_DIR2" ipvsadm -Lnc | grep -q "UDP .* $FORGED:500 *$VIP:500" ||
	fail "the connection forged before the key is gone (the check needs it)"
failover_refused "$FORGED" 78 || fail "keyed: ESP from the client forged before the key was not refused"
[ "$(backup_counter failover_established)" = 1 ] || fail "keyed: a fail-over entry from the connection forged before the key"
[ "$(backup_counter esp_no_entry)" = 3 ] || fail "keyed: the refusal is not counted as esp_no_entry"
FORGED2=10.0.1.8
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.sync_auth_rollout=1 || fail "cannot set the backup permissive"
plain0=$(nsx "$NS_DIR2" $SYNCAUTH counter rx_plain)
failover_forge "$FORGED2"
[ "$(nsx "$NS_DIR2" $SYNCAUTH counter rx_plain)" = $((plain0 + 1)) ] ||
	fail "permissive: the forged plaintext was not taken as rx_plain"
nsx "$NS_DIR2" sysctl -qw net.ipv4.vs.sync_auth_rollout=0
nsx "$NS_CL1" ip addr add "$FORGED2/24" dev c1
failover_refused "$FORGED2" 79 || fail "enforce again: ESP from the client forged in permissive was not refused"
[ "$(backup_counter failover_established)" = 1 ] || fail "a fail-over entry from the connection forged in permissive"
sleep 1
for n in 1 2; do
	for a in "$FORGED" "$FORGED2"; do
		[ "$(rs_seen "$n" esp "$a")" = 0 ] || fail "the forged client $a's ESP reached rs$n"
	done
done
nsx "$NS_DIR2" cat /proc/net/ip_vs_ipsec

# 5. A backup daemon that ran and was stopped before the first key: IPVS
#    keeps the connections it took in plaintext, so the first key (seed
#    or extended) marks the namespace too; where only a master ran, or no
#    daemon at all, it does not.
info "5. a stopped backup daemon before the first key marks unverified_sync"
# A check that fails mid-loop must not leave its namespace behind (it
# would hold the module).
uv_ns=
trap '[ -z "$uv_ns" ] || ip netns del "$uv_ns" 2>/dev/null; ip netns del $NS_DIR2 2>/dev/null; ipsec_cleanup; unload_module' EXIT
for kind in seed ext; do
	for daemon in backup master none; do
		ns=uv-$kind-$daemon-$SUFFIX
		ip netns add "$ns" || fail "cannot create $ns"
		uv_ns=$ns
		nsx "$ns" ip link set lo up
		nsx "$ns" ip link add d0 type dummy
		nsx "$ns" ip link set d0 multicast on up
		nsx "$ns" ip addr add 10.0.9.1/24 dev d0
		if [ "$daemon" != none ]; then
			nsx "$ns" ipvsadm --start-daemon "$daemon" --mcast-interface d0 --syncid 9 ||
				fail "$ns: cannot start the $daemon daemon"
			nsx "$ns" ipvsadm --stop-daemon "$daemon" || fail "$ns: cannot stop the $daemon daemon"
			nsx "$ns" ipvsadm -L --daemon | grep -q . && fail "$ns: the $daemon daemon still runs"
		fi
		if [ "$kind" = seed ]; then
			nsx "$ns" $SYNCAUTH key set "stopped daemon" || fail "$ns: cannot set the key"
		else
			nsx "$ns" $SYNCAUTH ext add 1 "stopped daemon" || fail "$ns: cannot add extended key 1"
		fi
		want=no
		[ "$daemon" = backup ] && want=yes
		[ "$(unverified_sync "$ns")" = "$want" ] ||
			fail "$kind key after a stopped $daemon daemon: unverified_sync is not $want"
		ip netns del "$ns"
		uv_ns=
	done
done
info "fail-over needs authenticated sync (or the unsafe knob)"
