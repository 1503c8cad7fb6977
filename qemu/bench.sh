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
