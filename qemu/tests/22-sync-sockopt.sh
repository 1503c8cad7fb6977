# SPDX-License-Identifier: GPL-2.0
#
# Input validation of the key sockopt: every bad length, pointer and
# privilege combination returns the documented errno and changes nothing:
# the key in effect before a rejected call still verifies a message after
# it, and the key the call carried does not.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"


load_ip_vs
unload_module
expect ENOPROTOOPT $PROBE set-len 4
info "module not loaded: ENOPROTOOPT"

load_module
NS=sockopt-$$
PEER=sockopt-peer-$$

enabled() {
	ip netns exec "$NS" $SYNCAUTH counter enabled
}

# Which key is in effect in $NS: a backup sync daemon there, and a sender
# on its link. "Changes nothing" means the key that was installed still
# verifies and the key a rejected call carried does not; every call below
# carries a key of its own (N times one letter), so none can pass by
# installing the bytes that were there already.
backup_and_peer "$NS" "$PEER"

# key LETTER N: N times LETTER (the probe's set-fill LETTER N).
key() {
	printf "%${2}s" "" | tr ' ' "$1"
}
SEQ=0
send_signed() {
	SEQ=$((SEQ + 1))
	nsx "$PEER" $SYNCAUTH send --src 10.0.3.1 --key "$1" --seq "$SEQ" --cip 10.9.9.9 --cport $((40000 + SEQ)) ||
		fail "cannot send a sync message"
}
# effective_key WHAT KEY OTHER...: in $NS, a message signed with KEY is
# accepted and one signed with each OTHER is dropped as a bad ICV.
effective_key() {
	what=$1 want=$2
	shift 2
	for other in "$@"; do
		b=$(counter "$NS" rx_drop_bad_icv)
		send_signed "$other"
		wait_for 10 sh -c "[ \$(ip netns exec $NS $SYNCAUTH counter rx_drop_bad_icv) -gt $b ]" ||
			fail "$what: a message signed with '$other' was not dropped (that key is in effect)"
	done
	a=$(counter "$NS" rx_accepted)
	send_signed "$want"
	wait_for 10 sh -c "[ \$(ip netns exec $NS $SYNCAUTH counter rx_accepted) -gt $a ]" ||
		fail "$what: a message signed with the key installed, '$want', is not accepted"
	info "$what: '$want' is in effect, not $*"
}

expect OK ip netns exec "$NS" $PROBE set-fill A 1
[ "$(enabled)" = 1 ] || fail "1-byte key not installed"
effective_key "1-byte key" "$(key A 1)" "$(key B 1)"
expect OK ip netns exec "$NS" $PROBE set-fill B 64
effective_key "64-byte key" "$(key B 64)" "$(key A 1)"
expect EINVAL ip netns exec "$NS" $PROBE set-fill C 65
expect EINVAL ip netns exec "$NS" $PROBE set-fill D 4096
expect EFAULT ip netns exec "$NS" $PROBE set-null 16
[ "$(enabled)" = 1 ] || fail "a rejected call changed the key state"
effective_key "65 and 4096 bytes, NULL" "$(key B 64)" "$(key C 64)" "$(key D 64)"
expect OK ip netns exec "$NS" $PROBE set-len 0
[ "$(enabled)" = 0 ] || fail "empty key did not clear"
expect OK ip netns exec "$NS" $PROBE set-len 0
info "clearing twice is fine"

# Version 3 status: 32 bytes of header, 13 counters (136 bytes); a version 1
# reader's 104-byte buffer gets the first nine counters, a version 2
# reader's 120 bytes eleven, a larger buffer is filled up to the full
# structure and no further.
expect "OK len=104" ip netns exec "$NS" $PROBE get 104
expect "OK len=112" ip netns exec "$NS" $PROBE get 112
expect "OK len=120" ip netns exec "$NS" $PROBE get 120
expect "OK len=136" ip netns exec "$NS" $PROBE get 136
expect "OK len=136" ip netns exec "$NS" $PROBE get 4096
expect EINVAL ip netns exec "$NS" $PROBE get 103
expect EINVAL ip netns exec "$NS" $PROBE get 0
expect EFAULT ip netns exec "$NS" $PROBE get-null 104

# Unprivileged callers: no key change, no status.
expect OK ip netns exec "$NS" $PROBE set-fill E 8
expect EPERM ip netns exec "$NS" $NOBODY $PROBE set-len 0
expect EPERM ip netns exec "$NS" $NOBODY $PROBE set-fill F 8
expect EPERM ip netns exec "$NS" $NOBODY $PROBE get 104
[ "$(enabled)" = 1 ] || fail "an unprivileged caller changed the key"
effective_key "unprivileged callers" "$(key E 8)" "$(key F 8)"

# The extended format's option (1170): a struct ipvsa_ext_cmd of exactly 76
# bytes; its status is 72 bytes.
expect EINVAL ip netns exec "$NS" env SO=1170 $PROBE set-len 75
expect EINVAL ip netns exec "$NS" env SO=1170 $PROBE set-len 77
expect EINVAL ip netns exec "$NS" env SO=1170 $PROBE set-len 76
expect EFAULT ip netns exec "$NS" env SO=1170 $PROBE set-null 76
expect "OK len=72" ip netns exec "$NS" env SO=1170 $PROBE get 72
expect EINVAL ip netns exec "$NS" env SO=1170 $PROBE get 71
expect EPERM ip netns exec "$NS" $NOBODY env SO=1170 $PROBE set-len 76
expect EPERM ip netns exec "$NS" $NOBODY env SO=1170 $PROBE get 72
effective_key "rejected extended-format calls" "$(key E 8)" "$(key A 8)"

# Beyond our three options (1168 key, 1169 IPsec gate, 1170 extended
# format) nothing answers.
expect ENOPROTOOPT ip netns exec "$NS" $PROBE other 1171

# Namespaces are independent: the key above is not the init netns's.
[ "$($SYNCAUTH counter enabled)" = 0 ] || fail "key leaked into the init namespace"

# CAP_NET_ADMIN over the namespace's own user namespace is enough for it,
# and for nothing else.
if [ ! -e /proc/self/ns/user ] || ! unshare -Urn true 2>/dev/null; then
	info "user namespaces unavailable: user-namespace part not run"
else
	out=$($NOBODY unshare -Urn sh -c "$PROBE set-len 8 && $SYNCAUTH counter enabled" 2>&1)
	[ "$out" = "OK
1" ] || fail "owner of a user+net namespace could not set its key: $out"
	info "unprivileged user, own user+net namespace: key set"
	[ "$($SYNCAUTH counter enabled)" = 0 ] || fail "the init namespace's key changed"
fi
