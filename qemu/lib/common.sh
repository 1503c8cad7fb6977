# SPDX-License-Identifier: GPL-2.0
#
# Helpers for guest scripts (run under /bin/sh inside the QEMU guest).
# Tests follow tools/testing/selftests/net/netfilter/ipvs.sh: network
# namespaces joined by veth pairs, a cleanup trap, and an explicit skip with
# a reason (exit 4, ksft_skip) when something the test needs is missing.

KSFT_SKIP=4
: "${IPVS_AUTH_KO:?IPVS_AUTH_KO not set}"
: "${IPVS_AUTH_OUT:?IPVS_AUTH_OUT not set}"

# Seconds for the gate's timers and the sleeps that test them: $1 times
# IPVS_AUTH_TIME_SCALE (qemu/run.sh: 1, 3 on the debug kernel, 30 on the
# KASAN kernel).
ts() {
	echo $(($1 * ${IPVS_AUTH_TIME_SCALE:-1}))
}

info() {
	echo "# $*"
}

fail() {
	echo "# FAIL: $*"
	exit 1
}

skip() {
	echo "# SKIP: $*"
	exit $KSFT_SKIP
}

checktool() {
	if ! eval "$1" >/dev/null 2>&1; then
		skip "$2"
	fi
}

# Runs a command in a namespace.
nsx() {
	ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# Waits up to $1 seconds for the command "$2..." to succeed.
wait_for() {
	limit=$1
	shift
	i=0
	while [ "$i" -lt "$((limit * 5))" ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# Marks the kernel log; log_since_mark prints what came after the mark
# (dmesg options pass through). Tests do not clear the log: 99-kernel-log
# reads it whole, from boot on.
log_mark() {
	LOG_MARK="ip_vs_sync_auth test mark $$ $(date +%s%N)"
	echo "$LOG_MARK" >/dev/kmsg
}

log_since_mark() {
	dmesg "$@" | awk -v m="$LOG_MARK" 'seen { print } index($0, m) { seen = 1 }'
}

load_ip_vs() {
	modprobe ip_vs || skip "cannot load ip_vs"
	modprobe veth || skip "cannot load veth"
}

load_module() {
	load_ip_vs
	insmod "$IPVS_AUTH_KO" || fail "insmod $IPVS_AUTH_KO failed"
}

# Unloads ip_vs and the modules that use it (schedulers, helpers, ours), so
# that a test can start from a kernel without IPVS whatever ran before it.
# A service holds a reference on ip_vs until its namespace is torn down,
# which the kernel does asynchronously after `ip netns del`: retry a while.
# Returns 1 if ip_vs is still loaded.
unload_ip_vs() {
	tries=$(ts 30)
	while grep -q '^ip_vs ' /proc/modules; do
		holders=$(awk '$1 == "ip_vs" { print $4 }' /proc/modules | tr ',' ' ' | tr -d -- '-')
		for m in $holders; do
			rmmod "$m" 2>/dev/null
		done
		rmmod ip_vs 2>/dev/null && break
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 1
	done
	return 0
}

unload_module() {
	if grep -q '^ip_vs_sync_auth ' /proc/modules; then
		rmmod ip_vs_sync_auth || fail "rmmod ip_vs_sync_auth failed"
	fi
}

# Creates namespaces $1 and $2 (deleted on exit): a backup sync daemon
# (SyncID 150) in $1, 10.0.3.2 on s0, and a sender in $2, 10.0.3.1 on s1,
# joined by a veth pair that carries the multicast groups.
backup_and_peer() {
	ip netns add "$1" || fail "cannot create netns"
	ip netns add "$2" || fail "cannot create netns"
	trap "ip netns del $1; ip netns del $2" EXIT
	nsx "$1" ip link set lo up
	ip link add s0 netns "$1" type veth peer name s1 netns "$2"
	nsx "$1" ip addr add 10.0.3.2/24 dev s0
	nsx "$2" ip addr add 10.0.3.1/24 dev s1
	nsx "$1" ip link set s0 up
	nsx "$2" ip link set s1 up
	nsx "$1" ip route add 224.0.0.0/4 dev s0
	nsx "$2" ip route add 224.0.0.0/4 dev s1
	nsx "$1" ipvsadm --start-daemon backup --mcast-interface s0 --syncid 150 ||
		fail "cannot start the backup sync daemon"
}

SYNCAUTH="/usr/bin/python3 $IPVS_AUTH_TOP/qemu/tools/syncauth.py"

# capture_start NS FILE SECONDS [ARGS...]: the attacker in namespace NS
# records every sync datagram on its eth0 into FILE for SECONDS (scaled
# with ts) in the background ($cap: its pid, for wait); returns once its
# socket is bound, so that nothing sent after it is missed.
capture_start() {
	cap_ns=$1
	cap_out=$2
	cap_secs=$(ts "$3")
	shift 3
	rm -f "$cap_out.ready"
	nsx "$cap_ns" $SYNCAUTH capture --iface eth0 --out "$cap_out" --seconds "$cap_secs" \
		--ready "$cap_out.ready" "$@" &
	cap=$!
	# Until the file is there or the capture has died.
	wait_for "$(ts 30)" sh -c "test -e '$cap_out.ready' || ! kill -0 $cap"
	test -e "$cap_out.ready" || fail "the capture did not start"
	rm -f "$cap_out.ready"
}
# The IPsec gate's admin tool.
IPSEC="/usr/bin/python3 $IPVS_AUTH_TOP/tools/ipvs-ipsec"

# snmp NS PROTO FIELD: the counter FIELD of PROTO ("Udp", "Ip", ...) in
# namespace NS's /proc/net/snmp (a line of names, then one of values).
snmp() {
	nsx "$1" awk -v p="$2:" -v f="$3" '$1 == p {
		if (!h) { for (i = 2; i <= NF; i++) if ($i == f) c = i; h = 1 } else { print $c; exit }
	}' /proc/net/snmp
}

# Prints counter $2 of namespace $1. A status counter is read from
# /proc/net/ip_vs_sync_auth with awk: the same numbers the status sockopt
# returns (one function fills both), without a Python start, which costs
# seconds in a TCG guest of one CPU. "streams", whose /proc line is the
# configured format's (n/capacity), and anything /proc does not show (no
# module: the tool's own error) go through the sockopt, as before.
counter() {
	case $2 in
	streams) ;;
	*)
		v=$(sync_proc "$1" "$2" 2>/dev/null)
		case $v in
		'' | *[!0-9]*) ;;
		*)
			echo "$v"
			return 0
			;;
		esac
		;;
	esac
	nsx "$1" $SYNCAUTH counter "$2"
}

# sync_proc NS NAME: the value of the "NAME: value" line of NS's
# /proc/net/ip_vs_sync_auth (empty if there is none).
sync_proc() {
	nsx "$1" awk -v k="$2:" '$1 == k { print $2 }' /proc/net/ip_vs_sync_auth
}

# Extended format: messages signed (tx_signed) or accepted (rx_accepted),
# $3, with key ID $2 in namespace $1 (0 if no such key is installed).
ext_key_count() {
	nsx "$1" $SYNCAUTH ext status --json | /usr/bin/python3 -c "
import json, sys
s = json.load(sys.stdin)
print(sum(s[f'key{i}_$3'] for i in range(2) if s[f'key{i}_id'] == $2))"
}

# Fails unless counter $2 of namespace $1 equals $3.
expect_counter() {
	got=$(counter "$1" "$2")
	[ "$got" = "$3" ] || fail "$1: $2 is $got, expected $3"
}

# Input-validation helpers: the sockopt probe, an unprivileged prefix, and
# "expect WANT CMD...", which fails unless CMD prints exactly WANT.
PROBE="/usr/bin/python3 $IPVS_AUTH_TOP/qemu/tools/sockopt_probe.py"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
expect() {
	want=$1
	shift
	got=$("$@" 2>&1)
	[ "$got" = "$want" ] || fail "'$*' returned '$got', expected '$want'"
	info "$* -> $got"
}

# gro_slow_napi NS DEV: GRO on device DEV of namespace NS, merged packets
# held up to 1 ms (gro_flush_timeout), its NAPI threaded with the thread
# at nice 19, so that datagrams sent back to back wait in the device's
# ring and one poll merges them, however slow the kernel (32-sync-gro says
# why). The GRO mode (rx-udp-gro-forwarding, rx-gro-list) is the caller's.
gro_slow_napi() {
	nsx "$1" ethtool -K "$2" gro on || fail "cannot turn GRO on"
	nsx "$1" sh -c "echo 1000000 >/sys/class/net/$2/gro_flush_timeout" ||
		fail "cannot set gro_flush_timeout"
	nsx "$1" sh -c "echo 1 >/sys/class/net/$2/threaded" ||
		fail "cannot make the NAPI of $2 threaded"
	# Its thread is named napi/<device>-<NAPI id>.
	napi_pids=$(pgrep -x "napi/$2-[0-9]+")
	[ -n "$napi_pids" ] || fail "no NAPI thread for $2"
	for pid in $napi_pids; do
		renice -n 19 -p "$pid" >/dev/null || fail "cannot renice the NAPI thread $pid"
	done
}
