# SPDX-License-Identifier: GPL-2.0
#
# IPv6 sync under transport-mode IPsec AH between the directors (manual
# SAs, hmac(sha256)), the module's authentication on as well. The hooks
# see each datagram twice: the master's LOCAL_OUT before and again after
# xfrm adds AH, the backup's LOCAL_IN before AH is checked and again after
# xfrm6_transport_finish() removed it. The module must sign and check only
# the plain datagram: signing it again behind AH (ipv6_find_hdr() walks
# past AH), or stripping the auth header before AH is checked, breaks AH's
# ICV and the backup's xfrm drops every message. Every connection must
# reach the backup through the SA, with no xfrm error and no drop of the
# module's.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

KEY=ah-test-key
N=30
GROUP=ff05::8848
A=fd00:3::1
B=fd00:3::2
load_module
trap topology_cleanup EXIT
topology_setup
nsx "$NS_DIRA" ip -6 addr add "$A/64" dev "$SYNC_IF_A" nodad
nsx "$NS_DIRB" ip -6 addr add "$B/64" dev "$SYNC_IF_B" nodad
# One SA for the master's datagrams to the group, in both namespaces; the
# master's policy requires AH on its sync output, the backup's on input.
AUTH="auth-trunc hmac(sha256) 0x$(printf '%064d' 38) 128"
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" ip xfrm state add src "$A" dst "$GROUP" proto ah spi 0x3838 mode transport $AUTH ||
		fail "$ns: cannot add the AH SA"
done
nsx "$NS_DIRA" ip xfrm policy add src "$A/128" dst "$GROUP/128" proto udp dir out \
	tmpl src "$A" dst "$GROUP" proto ah mode transport || fail "cannot add the master's policy"
nsx "$NS_DIRB" ip xfrm policy add src "$A/128" dst "$GROUP/128" proto udp dir in \
	tmpl src "$A" dst "$GROUP" proto ah mode transport || fail "cannot add the backup's policy"

udp_service 600
set_keys "$KEY"
start_sync --mcast-group "$GROUP"
nsx "$NS_DIRB" ipvsadm -L --daemon | grep -q "group=$GROUP" || fail "the backup is not on $GROUP"

# Packets the backup's SA took in (ip -s xfrm state: "N(bytes), M(packets)").
sa_packets() {
	nsx "$NS_DIRB" ip -s xfrm state | awk '$1 ~ /^[0-9]+\(bytes\),$/ { sub(/\(packets\)/, "", $2); print $2; exit }'
}
# ICV failures of the backup's SA (ip -s xfrm state: "stats: ... failed
# N"; the test kernel has no /proc/net/xfrm_stat).
sa_failed() {
	nsx "$NS_DIRB" ip -s xfrm state | awk '$1 == "replay-window" { for (i = 1; i < NF; i++) if ($i == "failed") { print $(i + 1); exit } }'
}

udp_conns "$N" 45000
if ! wait_for 30 udp_conns_are "$NS_DIRB" 45000 "$N" "$N"; then
	nsx "$NS_DIRB" ip -s xfrm state
	fail "the backup has $(udp_conn_count "$NS_DIRB" 45000 "$N") of $N connections; its SA took $(sa_packets) packets, $(sa_failed) failed AH's check"
fi
# The messages did come through AH, and AH found each intact.
sa=$(sa_packets)
[ -n "$sa" ] && [ "$sa" -gt 0 ] || fail "the backup's SA took no packet (the sync did not go through AH)"
[ "$(sa_failed)" = 0 ] || fail "$(sa_failed) packets failed AH's check on the backup"
acc=$(counter "$NS_DIRB" rx_accepted)
[ "$acc" -gt 0 ] || fail "the module accepted nothing"
[ "$acc" -le "$sa" ] || fail "the module accepted $acc messages, more than the $sa the SA took in"
for c in rx_drop_bad_ttl rx_drop_bad_header rx_drop_replay rx_drop_bad_icv rx_drop_malformed rx_drop_no_stream rx_drop_no_key rx_plain; do
	expect_counter "$NS_DIRB" "$c" 0
done
expect_counter "$NS_DIRA" tx_error 0
info "$N connections synced over IPv6 through AH: the SA took $sa packets, the module accepted $acc messages"
