# SPDX-License-Identifier: GPL-2.0
#
# The gate's size knobs of Documentation/ip_vs_ipsec.rst as written (issue
# 22: every documented command works), from spoofed sources:
#   1. ipsec_table_bits: the module loaded with ipsec_table_bits=8 has no
#      table before the first gated address (buckets: 0), then 256 buckets;
#      reloaded with it given twice (9, then 12: the last wins, as modprobe
#      passes /etc/modprobe.d's value and then the command line's), with 30
#      and with 3, the nearest bounds (2^20, 2^8); the value given reads
#      back from /sys/module and cannot be written there;
#   2. ipsec_prefix4: with ipsec_max_initial_per_prefix=5, 500 spoofed
#      IKE_SA_INIT from two /24s make 10 INITIAL entries at the default
#      /24 (490 prefix_initial_cap), and 500 from two /24s of another /16 make 5 at
#      ipsec_prefix4=16 (495 prefix_initial_cap);
#   3. ipsec_prefix6: 20 sources each in its own /48 make 20 entries at the
#      default /64, 20 in one /32 make 5 at ipsec_prefix6=32;
#   4. out of range (ipsec_prefix4=33, ipsec_prefix6=129, -1): refused by
#      sysctl, the value in effect unchanged.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

checktool "ipvsadm -v" "ipvsadm is not installed"
checktool "/usr/bin/python3 -V" "python3 is not installed"
load_ip_vs
insmod "$IPVS_AUTH_KO" ipsec_table_bits=8 || fail "insmod ipsec_table_bits=8 failed"
trap 'ipsec_cleanup; unload_module' EXIT
ipsec_setup

buckets() {
	nsx "$NS_DIR" awk '$1 == "buckets:" { print $2 }' /proc/net/ip_vs_ipsec
}

# --- 1. ipsec_table_bits.
[ "$(buckets)" = 0 ] || fail "buckets before any gated address: '$(buckets)', expected 0"
ipsec_service dr
[ "$(buckets)" = 256 ] || fail "ipsec_table_bits=8: buckets $(buckets), expected 256"
info "ipsec_table_bits=8: no table before the first address, then 256 buckets"
param=/sys/module/ip_vs_sync_auth/parameters/ipsec_table_bits
for case in 9,12:4096 30:1048576 3:256; do
	bits=${case%:*} want=${case#*:}
	args=$(echo "$bits" | sed 's/^/ipsec_table_bits=/; s/,/ ipsec_table_bits=/g')
	rmmod ip_vs_sync_auth || fail "rmmod failed"
	# shellcheck disable=SC2086 # one word per parameter
	insmod "$IPVS_AUTH_KO" $args || fail "insmod $args failed"
	[ "$(cat "$param")" = "${bits##*,}" ] || fail "$args: $param reads '$(cat "$param")'"
	[ "$(buckets)" = 0 ] || fail "$args: buckets $(buckets) before the first address"
	nsx "$NS_DIR" $IPSEC add "$VIP" || fail "ipvs-ipsec add $VIP failed"
	[ "$(buckets)" = "$want" ] || fail "$args: buckets $(buckets), expected $want"
	info "$args: $want buckets, $param reads ${bits##*,}"
done
if (echo 16 > "$param") 2>/dev/null; then
	fail "$param took a write"
fi
[ "$(cat "$param")" = 3 ] || fail "$param reads '$(cat "$param")' after a refused write"
info "$param is read-only"
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_initial_timeout="$(ts 120)"

# --- 2. ipsec_prefix4, from spoofed sources on a0.
for i in all a0 a2; do
	nsx "$NS_DIR" sysctl -qw net.ipv4.conf.$i.rp_filter=0
done
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_initial_per_prefix=5 || fail "cannot set ipsec_max_initial_per_prefix"
knob() {
	nsx "$NS_DIR" sysctl -n "net.ipv4.vs.$1"
}
[ "$(knob ipsec_prefix4)" = 24 ] || fail "ipsec_prefix4 default $(knob ipsec_prefix4), documented 24"
[ "$(knob ipsec_prefix6)" = 64 ] || fail "ipsec_prefix6 default $(knob ipsec_prefix6), documented 64"
# flood NS SENDS CREATED REFUSED TOOL ARGS...: the counters must grow by
# exactly CREATED and REFUSED once all SENDS arrived.
flood() {
	ns=$1 sends=$2 want_c=$3 want_p=$4
	shift 4
	c0=$(gate_counter initial_created) p0=$(gate_counter prefix_initial_cap)
	nsx "$ns" $IKEESP "$@" || fail "ikeesp $* failed"
	wait_for "$(ts 30)" sh -c "[ \$(( \$(ip netns exec $NS_DIR $IPSEC counter initial_created) + \
		\$(ip netns exec $NS_DIR $IPSEC counter prefix_initial_cap) - $c0 - $p0 )) -ge $sends ]" ||
		fail "$*: $(($(gate_counter initial_created) - c0)) created + $(($(gate_counter prefix_initial_cap) - p0)) refused of $sends"
	sleep 1
	c=$(($(gate_counter initial_created) - c0)) p=$(($(gate_counter prefix_initial_cap) - p0))
	[ "$c" = "$want_c" ] && [ "$p" = "$want_p" ] ||
		fail "$*: $c created and $p refused by prefix_initial_cap, expected $want_c and $want_p"
	info "$*: $c INITIAL entries created, $p refused (prefix_initial_cap)"
}
flood "$NS_CL1" 500 10 490 flood --dst "$VIP" --src-prefix 10.9 --count 500
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_prefix4=16 || fail "sysctl ipsec_prefix4=16 failed"
flood "$NS_CL1" 500 5 495 flood --dst "$VIP" --src-prefix 10.8 --count 500

# --- 3. ipsec_prefix6.
ipsec_service dr "$VIP6" "$RS1_6" "$RS2_6"
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_initial_timeout="$(ts 120)"
flood "$NS_CL2" 20 20 0 flood6 --dst "$VIP6" --src-prefix fd00:99 --count 20
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_prefix6=32 || fail "sysctl ipsec_prefix6=32 failed"
flood "$NS_CL2" 20 5 15 flood6 --dst "$VIP6" --src-prefix fd00:98 --count 20

# --- 4. Out of range.
for case in ipsec_prefix4:33:16 ipsec_prefix4:-1:16 ipsec_prefix6:129:32 ipsec_prefix6:-1:32; do
	name=${case%%:*} rest=${case#*:}
	val=${rest%:*} keep=${rest#*:}
	# The write itself (procps 3.3's sysctl exits 0 on EINVAL).
	nsx "$NS_DIR" sh -c "echo $val >/proc/sys/net/ipv4/vs/$name" 2>/dev/null && fail "$name=$val accepted"
	[ "$(knob "$name")" = "$keep" ] || fail "$name=$val refused but the value is now $(knob "$name")"
done
info "ipsec_prefix4 33 and -1, ipsec_prefix6 129 and -1 refused; the values stay 16 and 32"
