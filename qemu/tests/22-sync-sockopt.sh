# SPDX-License-Identifier: GPL-2.0
#
# Input validation of the key sockopt: every bad length, pointer and
# privilege combination returns the documented errno and changes nothing.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"


load_ip_vs
unload_module
expect ENOPROTOOPT $PROBE set-len 4
info "module not loaded: ENOPROTOOPT"

load_module
NS=sockopt-$$
ip netns add "$NS" || fail "cannot create netns"
trap 'ip netns del $NS' EXIT

enabled() {
	ip netns exec "$NS" $SYNCAUTH counter enabled
}

expect OK ip netns exec "$NS" $PROBE set-len 1
[ "$(enabled)" = 1 ] || fail "1-byte key not installed"
expect OK ip netns exec "$NS" $PROBE set-len 64
expect EINVAL ip netns exec "$NS" $PROBE set-len 65
expect EINVAL ip netns exec "$NS" $PROBE set-len 4096
expect EFAULT ip netns exec "$NS" $PROBE set-null 16
[ "$(enabled)" = 1 ] || fail "a rejected call changed the key state"
expect OK ip netns exec "$NS" $PROBE set-len 0
[ "$(enabled)" = 0 ] || fail "empty key did not clear"
expect OK ip netns exec "$NS" $PROBE set-len 0
info "clearing twice is fine"

# Version 2 status: 32 bytes of header, 11 counters (120 bytes); a version 1
# reader's 104-byte buffer gets the first nine counters, a larger buffer is
# filled up to the full structure and no further.
expect "OK len=104" ip netns exec "$NS" $PROBE get 104
expect "OK len=112" ip netns exec "$NS" $PROBE get 112
expect "OK len=120" ip netns exec "$NS" $PROBE get 120
expect "OK len=120" ip netns exec "$NS" $PROBE get 4096
expect EINVAL ip netns exec "$NS" $PROBE get 103
expect EINVAL ip netns exec "$NS" $PROBE get 0
expect EFAULT ip netns exec "$NS" $PROBE get-null 104

# Unprivileged callers: no key change, no status.
ip netns exec "$NS" $PROBE set-len 8 >/dev/null
expect EPERM ip netns exec "$NS" $NOBODY $PROBE set-len 0
expect EPERM ip netns exec "$NS" $NOBODY $PROBE set-len 8
expect EPERM ip netns exec "$NS" $NOBODY $PROBE get 104
[ "$(enabled)" = 1 ] || fail "an unprivileged caller changed the key"

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
