# SPDX-License-Identifier: GPL-2.0
#
# Guest script for `make demo`: two LVS directors in network namespaces, a
# client and a real server. Director A (master) balances a NAT virtual
# service and multicasts its connection table; director B (backup) receives
# it. Both run ip_vs_sync_auth with the same key: the sync is authenticated,
# and a forged message injected on the sync LAN is dropped and counted.
#
# Part 2, IPsec VPN load balancing: two VPN clients, a director with the
# IPsec gate, two real servers playing IKE responders. A stray ESP packet is
# answered with ICMP protocol unreachable; each client's IKE exchange ties
# it to a real server, and its ESP and AH follow.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

say() {
	printf '\n\033[1m>>> %s\033[0m\n' "$*"
}

load_module
# The module's own line (KUnit suites built into the test module run at
# load and log after it).
dmesg -t | grep '^ip_vs_sync_auth: loaded' | tail -n 1
trap topology_cleanup EXIT
topology_setup

say "Director A: virtual service $VIP:80 -> real server $RIP:80 (NAT)"
nsx "$NS_DIRA" ipvsadm -Ln

IPVSADM=${IPVSADM_AUTH:-ipvsadm}
say "Director A: ipvsadm --start-daemon master --mcast-interface $SYNC_IF_A --syncid 150 --icv-key 'demo secret'"
nsx "$NS_DIRA" "$IPVSADM" --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 \
	--icv-key 'demo secret' || fail "cannot start the master"
say "Director B: ipvsadm --start-daemon backup --mcast-interface $SYNC_IF_B --syncid 150 --icv-key 'demo secret'"
nsx "$NS_DIRB" "$IPVSADM" --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 \
	--icv-key 'demo secret' || fail "cannot start the backup"
nsx "$NS_DIRA" "$IPVSADM" -L --daemon
nsx "$NS_DIRB" "$IPVSADM" -L --daemon

say "Client $CIP opens 5 connections to $VIP:80"
make_connections 5

say "Director A's connection table"
nsx "$NS_DIRA" ipvsadm -Lnc

say "Waiting for director B to receive the table..."
wait_backup_conns 5 || fail "director B did not receive the connections"
say "Director B's connection table (synced from A, authenticated)"
nsx "$NS_DIRB" ipvsadm -Lnc

say "Director A's counters (/proc/net/ip_vs_sync_auth): every message signed, sent with TTL 255"
nsx "$NS_DIRA" cat /proc/net/ip_vs_sync_auth
say "Director B's counters: every message verified, none dropped"
nsx "$NS_DIRB" cat /proc/net/ip_vs_sync_auth

say "Attack: a process on the sync LAN injects a connection 10.6.6.6 -> $VIP:80 with a guessed key"
nsx "$NS_DIRA" $SYNCAUTH send --src 10.0.3.1 --key guessed --seq 99999 --cip 10.6.6.6
say "Attack: the same entry without any auth header (plain IPVS sync, as upstream sends it)"
nsx "$NS_DIRA" $SYNCAUTH send --src 10.0.3.1 --cip 10.6.6.6
sleep 2
say "Director B's counters after the attacks"
nsx "$NS_DIRB" cat /proc/net/ip_vs_sync_auth
if nsx "$NS_DIRB" ipvsadm -Lnc | grep -q ' 10\.6\.6\.6:'; then
	fail "the forged entry reached director B"
fi
say "Director B's table does not contain 10.6.6.6: both forgeries were dropped"
nsx "$NS_DIRB" ipvsadm -Lnc

topology_cleanup
trap - EXIT
say "Part 2: IPsec VPN load balancing (the IPsec gate)"
SUFFIX=ipsec$$
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"
trap ipsec_cleanup EXIT
ipsec_setup
ipsec_service dr
say "Director: ipvsadm -A -u $VIP:0 -s rr -p 600 (rs1 $RS1, rs2 $RS2, direct routing); ipvs-ipsec add $VIP"
nsx "$NS_DIR" ipvsadm -Ln
nsx "$NS_DIR" $IPSEC list

say "Client 1 ($CL1) sends a stray ESP packet before any IKE exchange"
nsx "$NS_CL1" $IKEESP esp --dst "$VIP" --spi 4096 --expect icmp ||
	fail "no ICMP protocol unreachable"
say "-> answered with ICMP destination unreachable / protocol unreachable, dropped"

for n in 1 2; do
	eval ns=\$NS_CL$n cip=\$CL$n
	say "Client $n ($cip): IKE_SA_INIT (responder cookie 0) -> INITIAL entry"
	rc=$(nsx "$ns" $IKEESP ike --dst "$VIP" --icookie "${n}${n}${n}${n}000000000000" --reply-timeout 5) ||
		fail "no IKE answer"
	echo "responder cookie from the real server: $rc"
	say "Client $n: IKE_AUTH carrying that responder cookie -> ESTABLISHED"
	nsx "$ns" $IKEESP ike --dst "$VIP" --icookie "${n}${n}${n}${n}000000000000" --rcookie "$rc" \
		--reply-timeout 5 >/dev/null || fail "no IKE answer"
	say "Client $n: ESP and AH"
	nsx "$ns" $IKEESP esp --dst "$VIP" --spi $((4096 + n)) --expect silence || fail "ESP refused"
	nsx "$ns" $IKEESP esp --dst "$VIP" --spi $((4096 + n)) --proto ah --expect silence || fail "AH refused"
done
sleep 1
for n in 1 2; do
	say "What real server $n received (kind, source, cookie or SPI)"
	grep -v ready "$IPVS_AUTH_OUT/rs$n.log"
done
say "Director: IPVS connections (ESP/AH follow each client's UDP :500 flow)"
nsx "$NS_DIR" ipvsadm -Lnc
say "Director: the gate (/proc/net/ip_vs_ipsec)"
nsx "$NS_DIR" cat /proc/net/ip_vs_ipsec
