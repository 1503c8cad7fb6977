# SPDX-License-Identifier: GPL-2.0
#
# Guest script, part of `make bench` (also runs alone:
# ./qemu/run.sh qemu/bench-sync.sh): sync convergence with authentication
# off and on, and convergence under a flood of forged messages. Numbers
# only: nothing here asserts a timing; it fails only if the set-up fails.
#
# Each run builds a fresh two-director topology (the sync LAN is a bridge
# with a third host, the attacker), so no run inherits connections from
# the one before. The client makes N UDP connections through the master's
# NAT service, one datagram from each of N source ports (sync_threshold is
# "1 50", so each is synced at its first packet); the backup is polled until
# it lists every connection the master lists. Authentication off = the
# module is loaded but no key is set (plaintext sync).
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

N=${BENCH_SYNC_CONNS:-20000}
ROUNDS=${BENCH_SYNC_ROUNDS:-2}
FLOOD_N=${BENCH_FLOOD_CONNS:-10000}
FLOOD_SECONDS=${BENCH_FLOOD_SECONDS:-30}
UDPCONNS="/usr/bin/python3 $IPVS_AUTH_TOP/qemu/tools/udpconns.py"
PORT=5353
PHEX=$(printf '%04X' "$PORT")
RESULTS=$IPVS_AUTH_OUT/bench.txt
SYNC_LAN=bridge
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

checktool "ipvsadm -v" "ipvsadm is not installed"
grep -q '^ip_vs_sync_auth ' /proc/modules || load_module

now_ms() {
	date +%s%3N
}

# UDP connections to the bench port in namespace $1.
port_conns() {
	nsx "$1" awk -v p="$PHEX" '$1 == "UDP" && $5 == p { n++ } END { print n + 0 }' /proc/net/ip_vs_conn
}

# "busy softirq total" jiffies of the whole guest, from /proc/stat.
cpu_sample() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i
		print t - $5 - $6, $8, t; exit }' /proc/stat
}

# Percentages of busy and softirq time between two cpu_sample outputs.
cpu_share() {
	echo "$1 $2" | awk '{ dt = $6 - $3; if (dt <= 0) dt = 1
		printf "%d %d", 100 * ($4 - $1) / dt, 100 * ($5 - $2) / dt }'
}

# One run: $1 = off|on, $2 = connections, $3 = flood seconds (0: none).
# Prints "master backup gen_ms conv_ms busy% softirq% forged_sent
# forged_rate bad_icv".
sync_run() {
	mode=$1 n=$2 flood=$3
	SUFFIX=sb$$-$RUN
	NS_CLIENT=client-$SUFFIX NS_DIRA=dira-$SUFFIX NS_DIRB=dirb-$SUFFIX NS_RS=rs-$SUFFIX
	NS_LAN=lan-$SUFFIX NS_ATK=atk-$SUFFIX
	topology_setup >/dev/null
	nsx "$NS_DIRA" ipvsadm -A -u "$VIP:$PORT" -s rr || fail "ipvsadm -A -u failed"
	nsx "$NS_DIRA" ipvsadm -a -u "$VIP:$PORT" -r "$RIP:$PORT" -m || fail "ipvsadm -a -u failed"
	ip netns exec "$NS_RS" $UDPCONNS sink "$PORT" &
	nsx "$NS_DIRA" sysctl -qw net.ipv4.vs.sync_threshold="1 50" || fail "cannot set sync_threshold"
	if [ "$mode" = on ]; then
		nsx "$NS_DIRA" $SYNCAUTH key set bench-key || fail "cannot set the master's key"
		nsx "$NS_DIRB" $SYNCAUTH key set bench-key || fail "cannot set the backup's key"
	fi
	start_sync
	# Resolve the VIP's neighbour first (one connection more): a burst
	# into an unresolved neighbour would be dropped from its queue.
	nsx "$NS_CLIENT" $UDPCONNS send --src "$CIP" --dst "$VIP" --port "$PORT" --count 1 \
		--sport-base 9999 >/dev/null || fail "connection generator failed"
	sleep 1
	bad0=$(counter "$NS_DIRB" rx_drop_bad_icv)
	if [ "$flood" != 0 ]; then
		nsx "$NS_ATK" $SYNCAUTH flood --src "$ATK_IP" --seconds "$flood" \
			>"$IPVS_AUTH_OUT/flood.txt" 2>&1 &
		flooder=$!
		sleep 2
	fi
	c0=$(cpu_sample)
	t0=$(now_ms)
	nsx "$NS_CLIENT" $UDPCONNS send --src "$CIP" --dst "$VIP" --port "$PORT" --count "$n" \
		>/dev/null || fail "connection generator failed"
	t1=$(now_ms)
	master=$(port_conns "$NS_DIRA")
	backup=0
	deadline=$((t1 + 180000))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		backup=$(port_conns "$NS_DIRB")
		[ "$backup" -ge "$master" ] && break
		sleep 0.2
	done
	t2=$(now_ms)
	c1=$(cpu_sample)
	sent=- rate=-
	if [ "$flood" != 0 ]; then
		wait "$flooder"
		read -r sent rate _ <"$IPVS_AUTH_OUT/flood.txt" || true
	fi
	bad=$(($(counter "$NS_DIRB" rx_drop_bad_icv) - bad0))
	echo "$master $backup $((t1 - t0)) $((t2 - t0)) $(cpu_share "$c0" "$c1") $sent $rate $bad" >"$RUN_OUT"
	topology_cleanup
}
RUN_OUT=$IPVS_AUTH_OUT/sync-run.txt

trap topology_cleanup EXIT
RUN=1

echo "Sync convergence: $N UDP connections made on the master, time until the backup lists all" | tee -a "$RESULTS"
echo "round  auth  master  backup  make-ms  converged-ms  conns/s" | tee -a "$RESULTS"
sum_off=0 sum_on=0
round=1
while [ "$round" -le "$ROUNDS" ]; do
	for mode in off on; do
		RUN=$((RUN + 1))
		(sync_run "$mode" "$N" 0) 2>>"$IPVS_AUTH_OUT/bench-sync.log" || fail "sync run failed"
		set -- $(cat "$RUN_OUT")
		rate=$(($1 * 1000 / ($4 > 0 ? $4 : 1)))
		[ "$mode" = off ] && sum_off=$((sum_off + rate)) || sum_on=$((sum_on + rate))
		printf '%-5s  %-4s  %-6s  %-6s  %-7s  %-12s  %s\n' "$round" "$mode" "$1" "$2" "$3" "$4" "$rate" |
			tee -a "$RESULTS"
	done
	round=$((round + 1))
done
echo "auth on / auth off (conns/s): $((sum_on * 100 / (sum_off > 0 ? sum_off : 1)))%" | tee -a "$RESULTS"

echo "Flood: $FLOOD_N connections synced while a third host sends forged messages" \
	"(right format, wrong ICV, increasing seq) for ${FLOOD_SECONDS} s" | tee -a "$RESULTS"
echo "flood  master  backup  converged-ms  busy%  softirq%  forged-sent  forged/s  bad_icv-drops" | tee -a "$RESULTS"
for flood in 0 "$FLOOD_SECONDS"; do
	RUN=$((RUN + 1))
	(sync_run on "$FLOOD_N" "$flood") 2>>"$IPVS_AUTH_OUT/bench-sync.log" || fail "sync run failed"
	set -- $(cat "$RUN_OUT")
	printf '%-5s  %-6s  %-6s  %-12s  %-5s  %-8s  %-11s  %-8s  %s\n' \
		"$([ "$flood" = 0 ] && echo no || echo yes)" "$1" "$2" "$4" "$5" "$6" "$7" "$8" "$9" |
		tee -a "$RESULTS"
	[ "$2" -ge "$1" ] || echo "# the backup lacks $(($1 - $2)) of the master's connections"
done
