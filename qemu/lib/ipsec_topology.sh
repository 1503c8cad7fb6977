# SPDX-License-Identifier: GPL-2.0
#
# The IPsec load-balancing topology: two VPN clients, one director, two real
# servers (IKE responders that log what reaches them).
#
#   cl1 10.0.1.2   fd00:1::2 --- a0 10.0.1.1 fd00:1::1 (VIP)        a1 10.0.2.1 --- rs1 10.0.2.2
#   cl2 10.0.4.2   fd00:4::2 --- a2 10.0.4.1 fd00:4::1   dir        a3 10.0.5.1 --- rs2 10.0.5.2
#
# ipsec_service dr|nat creates the IPVS service: one persistent UDP
# service on every port of the VIP (so IKE on 500 and NAT-T on 4500 of a
# client reach the same real server), rs1 and rs2 round robin, and gates
# the VIP with ipvs-ipsec. Real servers log to $IPVS_AUTH_OUT/rsN.log.

SUFFIX=${SUFFIX:-$$}
NS_CL1=cl1-$SUFFIX
NS_CL2=cl2-$SUFFIX
NS_DIR=dir-$SUFFIX
NS_RS1=rs1-$SUFFIX
NS_RS2=rs2-$SUFFIX
VIP=10.0.1.1
VIP6=fd00:1::1
CL1=10.0.1.2
CL2=10.0.4.2
CL1_6=fd00:1::2
RS1=10.0.2.2
RS2=10.0.5.2
RS1_6=fd00:2::2
RS2_6=fd00:5::2
RS1_COOKIE=a1a1a1a1a1a1a1a1
RS2_COOKIE=b2b2b2b2b2b2b2b2
IKEESP="/usr/bin/python3 $IPVS_AUTH_TOP/qemu/tools/ikeesp.py"

ipsec_cleanup() {
	for ns in "$NS_CL1" "$NS_CL2" "$NS_DIR" "$NS_RS1" "$NS_RS2"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# link NS_A IF_A ADDR_A NS_B IF_B ADDR_B PREFIX6_A PREFIX6_B
ipsec_link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
	nsx "$1" ip addr add "$3" dev "$2"
	nsx "$4" ip addr add "$6" dev "$5"
	nsx "$1" ip addr add "$7" dev "$2" nodad
	nsx "$4" ip addr add "$8" dev "$5" nodad
	nsx "$1" ip link set "$2" up
	nsx "$4" ip link set "$5" up
}

ipsec_setup() {
	for ns in "$NS_CL1" "$NS_CL2" "$NS_DIR" "$NS_RS1" "$NS_RS2"; do
		ip netns add "$ns" || fail "cannot create netns $ns"
		nsx "$ns" ip link set lo up
	done
	ipsec_link "$NS_CL1" c0 "$CL1/24" "$NS_DIR" a0 "$VIP/24" "$CL1_6/64" "$VIP6/64"
	ipsec_link "$NS_CL2" c0 "$CL2/24" "$NS_DIR" a2 10.0.4.1/24 fd00:4::2/64 fd00:4::1/64
	ipsec_link "$NS_RS1" r0 "$RS1/24" "$NS_DIR" a1 10.0.2.1/24 "$RS1_6/64" fd00:2::1/64
	ipsec_link "$NS_RS2" r0 "$RS2/24" "$NS_DIR" a3 10.0.5.1/24 "$RS2_6/64" fd00:5::1/64
	nsx "$NS_CL2" ip route add default via 10.0.4.1
	nsx "$NS_CL2" ip -6 route add default via fd00:4::1
	for ns in "$NS_RS1" "$NS_RS2"; do
		gw=10.0.2.1 gw6=fd00:2::1
		[ "$ns" = "$NS_RS2" ] && gw=10.0.5.1 gw6=fd00:5::1
		nsx "$ns" ip route add default via "$gw"
		nsx "$ns" ip -6 route add default via "$gw6"
	done
	nsx "$NS_DIR" sysctl -qw net.ipv4.ip_forward=1
	nsx "$NS_DIR" sysctl -qw net.ipv6.conf.all.forwarding=1
	# Every ICMP error counts in these tests: no per-client rate limit.
	# The director's global one (net.ipv4.icmp_msgs_per_sec, 10000/s,
	# burst 10000) stays: tests probe for ICMP while no flood runs.
	nsx "$NS_DIR" sysctl -qw net.ipv4.icmp_ratelimit=0
	nsx "$NS_DIR" sysctl -qw net.ipv6.icmp.ratelimit=0
	# A test that runs real IKE daemons on the real servers (59) sets
	# IPSEC_NO_RESPONDERS=1: the responders would hold UDP 500 and 4500.
	[ "${IPSEC_NO_RESPONDERS:-0}" = 1 ] && return 0
	for n in 1 2; do
		eval ns=\$NS_RS$n cookie=\$RS${n}_COOKIE
		: >"$IPVS_AUTH_OUT/rs$n.log"
		# Not through nsx (see topology_setup): no "Terminated" at clean-up.
		# IPSEC_PER_SA_COOKIES=1: a responder cookie per IKE SA (41).
		per_sa=
		[ "${IPSEC_PER_SA_COOKIES:-0}" = 1 ] && per_sa=--per-sa
		ip netns exec "$ns" $IKEESP responder --cookie "$cookie" $per_sa --log "$IPVS_AUTH_OUT/rs$n.log" &
	done
	wait_for "$(ts 10)" grep -q ready "$IPVS_AUTH_OUT/rs1.log" || fail "rs1 responder did not start"
	wait_for "$(ts 10)" grep -q ready "$IPVS_AUTH_OUT/rs2.log" || fail "rs2 responder did not start"
}

# ipsec_service dr|nat [VIP [RS1 RS2]]: the IPVS service and the gate.
ipsec_service() {
	mode=$1 vip=${2:-$VIP} r1=${3:-$RS1} r2=${4:-$RS2}
	flag=-g
	natopt=
	if [ "$mode" = nat ]; then
		flag=-m
		natopt=--nat
	else
		# Direct routing: the real servers own the VIP too.
		for ns in "$NS_RS1" "$NS_RS2"; do
			case $vip in
			*:*) nsx "$ns" ip addr add "$vip/128" dev lo nodad ;;
			*) nsx "$ns" ip addr add "$vip/32" dev lo ;;
			esac
		done
	fi
	case $vip in *:*) svc="[$vip]:0" ;; *) svc="$vip:0" ;; esac
	# ipvsadm takes a bracketed IPv6 address only with a port.
	rs1=$r1 rs2=$r2
	nsx "$NS_DIR" ipvsadm -A -u "$svc" -s rr -p 600 || fail "ipvsadm -A -u $svc failed"
	nsx "$NS_DIR" ipvsadm -a -u "$svc" -r "$rs1" $flag || fail "ipvsadm -a $rs1 failed"
	nsx "$NS_DIR" ipvsadm -a -u "$svc" -r "$rs2" $flag || fail "ipvsadm -a $rs2 failed"
	nsx "$NS_DIR" $IPSEC add "$vip" $natopt || fail "ipvs-ipsec add $vip failed"
	# Timers the tests wait on are scaled like the gate's (ts; 1, 3 on the
	# debug kernel, 30 on the KASAN kernel, where each client tool run
	# takes many seconds): a
	# client's INITIAL entry must outlast its two IKE messages (30 s
	# default), and IPVS's UDP connection for its ISAKMP flow, which carries
	# its ESP, the idle periods of the soft-expiry test (300 s default).
	nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_initial_timeout="$(ts 30)" ||
		fail "cannot set ipsec_initial_timeout"
	nsx "$NS_DIR" ipvsadm --set 0 0 "$(ts 300)" || fail "cannot set IPVS's UDP timeout"
}

# The usual start of a gate test: the tools it needs, the module, the
# topology with its cleanup, and one gated service (ipsec_service "$@").
ipsec_test_begin() {
	checktool "ipvsadm -v" "ipvsadm is not installed"
	checktool "/usr/bin/python3 -V" "python3 is not installed"
	load_module
	trap 'ipsec_cleanup; unload_module' EXIT
	ipsec_setup
	ipsec_service "$@"
}

# Establishes client namespace $1 with initiator cookie $2 through the
# gate (IKE_SA_INIT, then the real server's responder cookie back) and
# prints that responder cookie.
# Like a real initiator, each message is sent up to three times (5 s for a
# reply each): a flood on the client's own link can drop one (the
# receiving end's backlog overflows). Called as rc=$(ipsec_establish ...),
# where its fail cannot stop the test: the caller checks that rc is set.
ipsec_establish() {
	for try in 1 2 3; do
		rc=$(nsx "$1" $IKEESP ike --dst "$VIP" --icookie "$2" --reply-timeout 5) && break
		[ "$try" = 3 ] && fail "no IKE reply ($1)"
	done
	for try in 1 2 3; do
		nsx "$1" $IKEESP ike --dst "$VIP" --icookie "$2" --rcookie "$rc" --reply-timeout 5 >/dev/null && break
		[ "$try" = 3 ] && fail "no reply to the second IKE message ($1)"
	done
	echo "$rc"
}

# Counter $1 of the director's gate: its "NAME: N" line of
# /proc/net/ip_vs_ipsec, read with awk as `ipvs-ipsec counter` reads it,
# without a Python start (seconds in a TCG guest of one CPU); the tool's
# own answer when awk finds no such line.
gate_counter() {
	v=$(nsx "$NS_DIR" awk -F: -v k="$1" '$1 == k { sub(/^[ \t]+/, "", $2); sub(/[ \t]+$/, "", $2); print $2; exit }' \
		/proc/net/ip_vs_ipsec 2>/dev/null)
	case $v in
	'' | *[!0-9]*) nsx "$NS_DIR" $IPSEC counter "$1" ;;
	*) echo "$v" ;;
	esac
}

expect_gate_counter() {
	got=$(gate_counter "$1")
	[ "$got" = "$2" ] && return
	gate_dump
	fail "gate counter $1 is $got, expected $2"
}

# Prints the gate's whole state with the clocks, for a failing check: to
# tell a timer that ran out (the slow kernels) from a wrong decision.
gate_dump() {
	info "the gate at $(cut -d' ' -f1 /proc/uptime) s of uptime, $(date +%s) s of date:"
	nsx "$NS_DIR" cat /proc/net/ip_vs_ipsec /proc/net/ip_vs_ipsec_conn 2>&1 | sed 's/^/    /'
}

# Lines of kind $2 from source $3 in real server $1's log.
rs_seen() {
	grep -c "^$2 $3 " "$IPVS_AUTH_OUT/rs$1.log"
}

# Waits until real server $1 logged at least $4 lines of kind $2 from $3.
wait_rs_seen() {
	wait_for "${5:-5}" sh -c "[ \$(grep -c '^$2 $3 ' $IPVS_AUTH_OUT/rs$1.log) -ge $4 ]"
}
