# SPDX-License-Identifier: GPL-2.0
#
# Guest script for `make bench-compare BASE=REV`: runs the in-kernel
# benchmark (the module's bench=N parameter, see qemu/bench.sh) of two
# builds of the module in this one guest, alternating base and new for
# BENCH_ROUNDS rounds (base first in odd rounds, new first in even ones), so
# that a change in the host's load hits both alike.
# Each run's table goes to $IPVS_AUTH_OUT/bench-{base,new}-ROUND.txt;
# scripts/bench-compare.py takes the best of the rounds per figure.
# Numbers only: nothing here asserts a timing.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

ITERS=${BENCH_ITERS:-20000}
ROUNDS=${BENCH_ROUNDS:-3}
BASE_KO=${BENCH_BASE_KO:?BENCH_BASE_KO: the base build of the module}
[ -f "$BASE_KO" ] || fail "no $BASE_KO"
load_ip_vs
unload_module
round=1
while [ "$round" -le "$ROUNDS" ]; do
	# Odd rounds base first, even rounds new first: a bias of the
	# position in a round shows as a pattern between rounds.
	order="base new"
	[ $((round % 2)) = 0 ] && order="new base"
	for side in $order; do
		if [ "$side" = base ]; then ko=$BASE_KO; else ko=$IPVS_AUTH_KO; fi
		dmesg -C
		insmod "$ko" bench="$ITERS" || fail "insmod $ko bench=$ITERS failed"
		unload_module
		f="$IPVS_AUTH_OUT/bench-$side-$round.txt"
		dmesg -t | sed -n 's/^ip_vs_sync_auth: bench: //p' >"$f"
		[ -s "$f" ] || fail "no benchmark output from $ko"
		echo "round $round, $side: $(wc -l <"$f") lines"
	done
	round=$((round + 1))
done
