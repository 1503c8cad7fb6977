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
rm -f "$IPVS_AUTH_OUT/bench-cpu.txt"
round=1
while [ "$round" -le "$ROUNDS" ]; do
	# Odd rounds base first, even rounds new first: a bias of the
	# position in a round shows as a pattern between rounds.
	order="base new"
	[ $((round % 2)) = 0 ] && order="new base"
	for side in $order; do
		if [ "$side" = base ]; then ko=$BASE_KO; else ko=$IPVS_AUTH_KO; fi
		dmesg -C
		cpu_before=$(grep '^cpu[0-9]' /proc/stat)
		insmod "$ko" bench="$ITERS" || fail "insmod $ko bench=$ITERS failed"
		cpu_after=$(grep '^cpu[0-9]' /proc/stat)
		unload_module
		f="$IPVS_AUTH_OUT/bench-$side-$round.txt"
		dmesg -t | sed -n 's/^ip_vs_sync_auth: bench: //p' >"$f"
		[ -s "$f" ] || fail "no benchmark output from $ko"
		echo "round $round, $side: $(wc -l <"$f") lines"
		# Where the guest's CPU time went while the module's init ran the
		# benchmark: one CPU should be busy (the insmod), the others idle.
		# A second busy CPU would compete with the benchmark for the host.
		printf '%s\n%s\n' "$cpu_before" "$cpu_after" | awk -v side="$side" -v round="$round" '
			{ busy = $2 + $3 + $4 + $7 + $8 + $9; idle = $5 + $6 }
			seen[$1]++ == 0 { b[$1] = busy; i[$1] = idle; next }
			{ printf "round %s, %s, %s: busy %d idle %d (USER_HZ ticks)\n", round, side, $1, busy - b[$1], idle - i[$1] }' |
			tee -a "$IPVS_AUTH_OUT/bench-cpu.txt"
	done
	round=$((round + 1))
done
