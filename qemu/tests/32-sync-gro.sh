# SPDX-License-Identifier: GPL-2.0
#
# A backup whose sync interface merges UDP datagrams (GRO). Stock IPVS
# takes merged bursts apart in its socket (udp_rcv_segment()); the module
# sees the merged skb in LOCAL_IN and must split it and check each
# datagram, not drop the whole burst.
#
# How the merging is produced: the backup's end of the sync veth has GRO
# on, which gives the veth a NAPI instance, and either UDP GRO forwarding
# (rx-udp-gro-forwarding: SKB_GSO_UDP_L4 bursts) or fraglist GRO
# (rx-gro-list: SKB_GSO_FRAGLIST) on; its gro_flush_timeout holds merged
# packets for up to 1 ms instead of flushing them at the end of each poll,
# so that the full messages a master sends back to back within a jiffy are
# merged. That alone depends on the guest's speed: each datagram the master
# sends is received at once, in the softirq its send ends with, and on the
# debug kernel (2026-12-02) the master's messages went out more than a
# jiffy apart (1 of 5 bursts arrived merged). So the NAPI instance is also
# threaded, its thread at nice 19: datagrams then wait in the veth's ring
# while the master's sync thread (which sends up to 8 queued messages at a
# time) and the test's senders run, and one poll takes several of them
# together, however slow the kernel. The master's sync_maxlen is 1400, so
# that its full messages (1392 bytes with the auth header) are not
# fragmented (fragments are not merged). The module's rx_gro_split counter shows that bursts did arrive
# merged; every connection must still reach the backup, with no drop.
#
# Into the same flow (the master's address and source port, TTL 255, full
# size) a raw socket on the master's side sends forged messages (wrong
# key) during each burst, so that merged bursts mix good and forged
# datagrams: each forged one must be dropped as a bad ICV, none applied,
# and every good one accepted.
#
# The backup's socket gets a receive buffer for a whole burst. The
# datagrams of a merged burst reach IPVS's socket in one softirq, as they
# do without the module (udp_rcv_segment() splits the burst there), and
# the socket counts each at its buffer's true size, not its 1392 bytes:
# with the default buffer (net.core.rmem_default, 212992 bytes) the
# master's messages can arrive faster than IPVS's backup thread reads
# them, and the socket drops what does not fit (UDP RcvbufErrors) after
# the module accepted it. CI, 2026-12-03: the backup had 2962 of 3000
# connections, all 158 messages accepted (RcvbufErrors not read then);
# with a 32 KiB buffer the same showed with 17 RcvbufErrors for 17 x 38
# missing connections. IPVS's net.ipv4.vs.sync_sock_size sets the buffer
# (doubled), clamped by net.core.rmem_max (4 MiB by default in 7.3).
#
# The split datagrams must go on to the hooks after the module's with the
# master's link-layer header, as unmerged ones do, or a rule on the source
# MAC address would not match them: last, a small burst in each GRO mode
# (few log lines) runs with a filter INPUT rule that logs the master's sync
# flow with its MAC header decoded (LOG --log-macdecode prints MACSRC only
# for a packet that has an Ethernet header). Each accepted message must be
# logged once, with the master's address.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

checktool "ethtool --version" "ethtool is not installed (make setup installs it)"
checktool "iptables-legacy --version" "iptables-legacy is not installed (iptables)"
KEY=gro-test-key
N=3000
load_module
rmem_max=$(sysctl -n net.core.rmem_max) || fail "cannot read net.core.rmem_max"
all_netns=$(sysctl -n net.netfilter.nf_log_all_netns) || fail "cannot read net.netfilter.nf_log_all_netns"
trap 'sysctl -qw net.core.rmem_max="$rmem_max" net.netfilter.nf_log_all_netns="$all_netns"; topology_cleanup' EXIT
topology_setup
udp_service 600
set_keys "$KEY"
gro_slow_napi "$NS_DIRB" "$SYNC_IF_B"
# Raised only if it is lower (it is 4 MiB by default); restored on exit.
if [ "$rmem_max" -lt 1048576 ]; then
	sysctl -qw net.core.rmem_max=1048576 || fail "cannot raise net.core.rmem_max"
fi
nsx "$NS_DIRB" sysctl -qw net.ipv4.vs.sync_sock_size=1048576 ||
	fail "cannot set the backup's sync_sock_size"
# What IPVS will read when it opens the socket (the test kernel has no
# inet_diag, so ss cannot show the socket's buffer).
[ "$(nsx "$NS_DIRB" sysctl -n net.ipv4.vs.sync_sock_size)" = 1048576 ] &&
	[ "$(sysctl -n net.core.rmem_max)" -ge 1048576 ] ||
	fail "the backup's sync_sock_size or rmem_max did not take"
start_sync --sync-maxlen 1400
# The master's sync socket: where its datagrams come from.
# (The local address's field: ss prints no state column for it.)
sport=$(nsx "$NS_DIRA" ss -Hun dst 224.0.0.81 |
	awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^10\.0\.3\.1:/) { n = split($i, a, ":"); print a[n]; exit } }')
[ -n "$sport" ] || fail "cannot find the master's sync socket"
FORGED=200

# burst MODE BASE: $N connections from ports BASE.. with the backup's
# interface merging datagrams the way MODE says.
burst() {
	case $1 in
	udp-l4) nsx "$NS_DIRB" ethtool -K "$SYNC_IF_B" rx-gro-list off rx-udp-gro-forwarding on ;;
	fraglist) nsx "$NS_DIRB" ethtool -K "$SYNC_IF_B" rx-udp-gro-forwarding off rx-gro-list on ;;
	esac || fail "$1: cannot set the GRO mode"
	split=$(counter "$NS_DIRB" rx_gro_split)
	icv=$(counter "$NS_DIRB" rx_drop_bad_icv)
	rcvbuf=$(snmp "$NS_DIRB" Udp RcvbufErrors)
	nsx "$NS_DIRA" $SYNCAUTH send --raw --src 10.0.3.1 --sport "$sport" --key not-the-key \
		--seq 1000000 --count "$FORGED" --conns 38 --cip 10.9.9.9 &
	forger=$!
	udp_conns "$N" "$2"
	wait "$forger" || fail "$1: the forged sender failed"
	if ! wait_for 90 udp_conns_are "$NS_DIRB" $2 "$N" $N; then
		nsx "$NS_DIRB" cat /proc/net/ip_vs_sync_auth
		echo "master:"
		nsx "$NS_DIRA" cat /proc/net/ip_vs_sync_auth | grep -E '^(tx_|streams)'
		echo "backup:"
		nsx "$NS_DIRB" ip -s link show "$SYNC_IF_B"
		fail "$1: the backup has $(udp_conn_count "$NS_DIRB" "$2" "$N") of $N connections, the master $(udp_conn_count "$NS_DIRA" "$2" "$N"); the backup's UDP RcvbufErrors $rcvbuf -> $(snmp "$NS_DIRB" Udp RcvbufErrors)"
	fi
	for c in rx_drop_malformed rx_drop_bad_header rx_drop_replay; do
		expect_counter "$NS_DIRB" "$c" 0
	done
	expect_counter "$NS_DIRA" tx_error 0
	forged_dropped() {
		[ "$(counter "$NS_DIRB" rx_drop_bad_icv)" -ge $((icv + FORGED)) ]
	}
	wait_for 20 forged_dropped || fail "$1: forged datagrams not all dropped: bad_icv $icv -> $(counter "$NS_DIRB" rx_drop_bad_icv)"
	expect_counter "$NS_DIRB" rx_drop_bad_icv $((icv + FORGED))
	nsx "$NS_DIRB" ipvsadm -Lnc | grep -q ' 10\.9\.9\.9:' && fail "$1: a forged entry was applied"
	split2=$(counter "$NS_DIRB" rx_gro_split)
	if [ "$split2" -le "$split" ]; then
		info "$1: $N connections synced, $FORGED forged datagrams in the flow dropped as bad ICV, but no burst arrived merged"
		return 1
	fi
	info "$1: $N connections synced, $((split2 - split)) merged bursts split, $FORGED forged datagrams in the flow dropped as bad ICV"
}

# gro MODE BASE: bursts until one arrives merged, at most three, each from
# new ports. A burst that was not merged shows nothing about GRO: on the
# debug kernel (2026-12-02) the master's messages of one burst once went
# out too far apart for any to be merged, though each was checked and
# accepted.
gro() {
	for k in 0 1 2; do
		burst "$1" $(($2 + k * N)) && return 0
	done
	fail "$1: no merged burst arrived in three bursts (the test did not produce GRO)"
}

gro udp-l4 20000
gro fraglist 30000

# The test's namespaces are not the initial one: LOG logs there only with
# nf_log_all_netns (restored on exit).
sysctl -qw net.netfilter.nf_log_all_netns=1 || fail "cannot set nf_log_all_netns"
mac_a=$(nsx "$NS_DIRA" cat "/sys/class/net/$SYNC_IF_A/address") || fail "cannot read the master's MAC address"
rule="INPUT -p udp -s 10.0.3.1 --sport $sport -j LOG --log-prefix ipvsa32-mac: --log-level 7 --log-macdecode"
# shellcheck disable=SC2086
nsx "$NS_DIRB" iptables-legacy -A $rule || fail "cannot add the LOG rule"
log_mark
accepted=$(counter "$NS_DIRB" rx_accepted)
N=400
gro udp-l4 50000
gro fraglist 52000
# Every message of the bursts in (none comes 2 s after the last), then the
# rule out, so that both counts cover the same messages.
settled() {
	a=$(counter "$NS_DIRB" rx_accepted)
	sleep 2
	[ "$a" = "$(counter "$NS_DIRB" rx_accepted)" ]
}
wait_for 30 settled || fail "the backup went on accepting messages after the bursts"
# shellcheck disable=SC2086
nsx "$NS_DIRB" iptables-legacy -D $rule || fail "cannot remove the LOG rule"
accepted=$(($(counter "$NS_DIRB" rx_accepted) - accepted))
logged=$(log_since_mark | grep -c 'ipvsa32-mac:')
with_mac=$(log_since_mark | grep 'ipvsa32-mac:' | grep -c " MACSRC=$mac_a ")
[ "$logged" = "$accepted" ] ||
	fail "the rule after the module logged $logged of the $accepted messages it accepted"
[ "$with_mac" = "$logged" ] ||
	fail "$((logged - with_mac)) of $logged messages reached the rule after the module without the master's link-layer header ($mac_a): $(log_since_mark | grep 'ipvsa32-mac:' | grep -v -m1 " MACSRC=$mac_a ")"
info "MAC: each of the $accepted messages of merged bursts went on with the master's link-layer header"
