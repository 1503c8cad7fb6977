# SPDX-License-Identifier: GPL-2.0
#
# Guest script for `make bench`: loads ip_vs_sync_auth with bench=N, which
# runs the in-kernel benchmark at load and prints its table to the kernel
# log, and shows that table. Numbers only: nothing here asserts a timing.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

ITERS=${BENCH_ITERS:-20000}
load_ip_vs
unload_module
dmesg -C
insmod "$IPVS_AUTH_KO" bench="$ITERS" || fail "insmod bench=$ITERS failed"
unload_module
dmesg -t | sed -n 's/^ip_vs_sync_auth: bench: //p' | tee "$IPVS_AUTH_OUT/bench.txt"
[ -s "$IPVS_AUTH_OUT/bench.txt" ] || fail "no benchmark output"

# Sync convergence, auth off vs on, and under a flood of forged messages.
sh "$IPVS_AUTH_TOP/qemu/bench-sync.sh" || fail "sync benchmark failed"
unload_module

# ESP through IPVS with the gate off and on, alternating, in this one
# guest: a client streams ESP for 3 s, the real server's IP layer counts
# what arrives (InReceives in its namespace). Gate off = the address is not
# gated (IPVS alone forwards ESP along the client's UDP :500 connection).
SUFFIX=bench$$
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"
load_module
trap 'ipsec_cleanup; unload_module' EXIT
ipsec_setup
ipsec_service dr
rc=$(nsx "$NS_CL1" $IKEESP ike --dst "$VIP" --icookie 1111111111111111 --reply-timeout 5) ||
	fail "no IKE reply"
case $rc in "$RS1_COOKIE") rs=$NS_RS1 ;; *) rs=$NS_RS2 ;; esac
in_receives() {
	nsx "$rs" awk '/^Ip:/ { if (h) print $4; h = 1 }' /proc/net/snmp
}
establish() {
	ipsec_establish "$NS_CL1" 1111111111111111 >/dev/null
}
establish
echo "ESP through IPVS (direct routing), 3 s per run, gate off vs on" | tee -a "$IPVS_AUTH_OUT/bench.txt"
echo "round  gate  sent     received  pps" | tee -a "$IPVS_AUTH_OUT/bench.txt"
sum_off=0 sum_on=0
for round in 1 2 3; do
	for mode in off on; do
		if [ "$mode" = off ]; then
			nsx "$NS_DIR" $IPSEC del "$VIP" || fail "cannot ungate"
		else
			nsx "$NS_DIR" $IPSEC add "$VIP" || fail "cannot gate"
			establish
		fi
		before=$(in_receives)
		sent=$(nsx "$NS_CL1" $IKEESP esp-stream --dst "$VIP" --spi 77 --seconds 3)
		sleep 1
		got=$(($(in_receives) - before))
		pps=$((got / 3))
		[ "$mode" = off ] && sum_off=$((sum_off + pps)) || sum_on=$((sum_on + pps))
		printf '%-5s  %-4s  %-7s  %-8s  %s\n' "$round" "$mode" "$sent" "$got" "$pps" |
			tee -a "$IPVS_AUTH_OUT/bench.txt"
	done
done
echo "gate on / gate off: $((sum_on * 100 / (sum_off > 0 ? sum_off : 1)))%" | tee -a "$IPVS_AUTH_OUT/bench.txt"
