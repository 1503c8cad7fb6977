# SPDX-License-Identifier: GPL-2.0
#
# IPv6 defragmentation follows the keys. The module turns nf_defrag_ipv6
# on in a namespace while a sync key (of either format) is installed
# there, so that the backup's hook sees whole IPv6 sync messages; the
# setting is namespace-wide (every IPv6 fragment the namespace receives is
# then reassembled in PRE_ROUTING), so it must go off again once no key is
# left, and a refused key must not leave it on. Until 2026-12-04 an
# extended-format key turned it on for good (until the seed key was
# cleared), even when the command was refused.
#
# How it is seen from outside: the kernel's own IPv6 reassembly counts
# each fragment it takes in Ip6ReasmReqds (/proc/net/snmp6);
# nf_defrag_ipv6's reassembly in PRE_ROUTING counts nothing there, and
# the fragments never reach the kernel's. A UDP datagram of 3000 bytes
# over a 1500-byte link arrives as three fragments: +3 with
# defragmentation off, +0 with it on. It goes to a closed port, so that
# Udp6NoPorts says when it has arrived whole (either way).
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

load_module
NS=defrag6-$$
PEER=defrag6-peer-$$
ip netns add "$NS" || fail "cannot create netns"
ip netns add "$PEER" || fail "cannot create netns"
trap 'ip netns del "$NS"; ip netns del "$PEER"' EXIT
ip link add d0 netns "$NS" type veth peer name d1 netns "$PEER" || fail "cannot create the veth pair"
nsx "$NS" ip addr add fd00:37::2/64 dev d0 nodad
nsx "$PEER" ip addr add fd00:37::1/64 dev d1 nodad
nsx "$NS" ip link set d0 up
nsx "$PEER" ip link set d1 up

snmp6() {
	nsx "$NS" awk -v f="$1" '$1 == f { print $2 }' /proc/net/snmp6
}

# state WHAT: sets $got to "on" if $NS reassembles in PRE_ROUTING
# (nf_defrag_ipv6), "off" if the kernel's own reassembly took the
# fragments (not through a command substitution, so that fail ends the
# test with its own message).
state() {
	before=$(snmp6 Ip6ReasmReqds)
	noports=$(snmp6 Udp6NoPorts)
	nsx "$PEER" /usr/bin/python3 -c 'import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.sendto(b"f" * 3000, ("fd00:37::2", 9))' || fail "$1: cannot send the datagram"
	arrived() {
		[ "$(snmp6 Udp6NoPorts)" -gt "$noports" ]
	}
	wait_for "$(ts 5)" arrived || fail "$1: the fragmented datagram did not arrive"
	after=$(snmp6 Ip6ReasmReqds)
	case $((after - before)) in
	0) got=on ;;
	3) got=off ;;
	*) fail "$1: Ip6ReasmReqds went from $before to $after (expected +0 or +3)" ;;
	esac
}

# expect_defrag WANT WHAT
expect_defrag() {
	state "$2"
	[ "$got" = "$1" ] || fail "$2: IPv6 defragmentation is $got, expected $1"
	info "$2: IPv6 defragmentation $got"
}

# syncauth OP...: a key command in $NS, which must succeed.
syncauth() {
	nsx "$NS" $SYNCAUTH "$@" || fail "$NS: $* failed"
}

# refused ERRNO OP...: a key command in $NS that must fail with ERRNO.
refused() {
	want=$1
	shift
	if out=$(nsx "$NS" $SYNCAUTH "$@" 2>&1); then
		fail "$*: accepted, expected $want"
	fi
	echo "$out" | grep -q "$want" || fail "$*: failed with '$out', expected $want"
	info "$* -> $want"
}

expect_defrag off "no key"
syncauth key set seed-key
expect_defrag on "seed key set"
syncauth key clear
expect_defrag off "seed key cleared"

syncauth ext add 1 ext-key-one
expect_defrag on "extended key added"
syncauth ext clear
expect_defrag off "extended keys cleared"

# Refused (key ID 0 is not a key ID) while no key is installed.
refused EINVAL ext add 0 ext-key-zero
expect_defrag off "extended key with ID 0 refused"
# Refused (65 bytes) while no key is installed.
refused EINVAL key set "$(printf '%65s' '' | tr ' ' k)"
expect_defrag off "seed key of 65 bytes refused"

# Both formats: the namespace keeps it until the last key goes, either
# way round.
syncauth key set seed-key
syncauth ext add 1 ext-key-one
syncauth key clear
expect_defrag on "seed key cleared, extended key left"
syncauth key set seed-key
syncauth ext clear
expect_defrag on "extended keys cleared, seed key left"
syncauth key clear
expect_defrag off "both cleared"
