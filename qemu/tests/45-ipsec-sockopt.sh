# SPDX-License-Identifier: GPL-2.0
#
# Input validation of the IPsec gate's sockopt (1169): every bad length,
# pointer, command, family, address, flag and privilege combination returns
# the documented errno and changes nothing; the limit of 16 addresses; the
# status size; namespaces are independent.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

STATUS=824

load_module
NS=ipsecopt-$$
ip netns add "$NS" || fail "cannot create netns"
trap 'ip netns del $NS; unload_module' EXIT
in_ns() {
	ip netns exec "$NS" "$@"
}
nsvc() {
	in_ns $IPSEC list | grep -c '^[0-9a-f:.]* \(dr\|nat\) '
}

expect OK in_ns $PROBE ipsec-cmd 1 2 192.0.2.1 0 0
expect OK in_ns $PROBE ipsec-cmd 1 10 2001:db8::1 1 3
[ "$(nsvc)" = 2 ] || fail "two addresses not listed"
in_ns $IPSEC list | grep -q '^2001:db8::1 nat soft_quota 3 ' || fail "IPv6 address not listed as NAT, quota 3"
# Adding again updates in place.
expect OK in_ns $PROBE ipsec-cmd 1 10 2001:db8::1 0 0
in_ns $IPSEC list | grep -q '^2001:db8::1 dr soft_quota 0 ' || fail "update not applied"
# ipvs-ipsec add on a gated address changes only what it is given: a NAT
# address re-added without --nat stays NAT, its quota stays.
tool_mode() {
	in_ns $IPSEC add "$@" || fail "ipvs-ipsec add $* failed"
	in_ns $IPSEC list | grep "^2001:db8::1 " | cut -d' ' -f2-4
}
[ "$(tool_mode 2001:db8::1 --nat --soft-quota 3)" = "nat soft_quota 3" ] || fail "add --nat --soft-quota 3"
[ "$(tool_mode 2001:db8::1)" = "nat soft_quota 3" ] || fail "re-add without options changed the address"
[ "$(tool_mode 2001:db8::1 --soft-quota 5)" = "nat soft_quota 5" ] || fail "re-add with a quota changed the mode"
[ "$(tool_mode 2001:db8::1 --dr)" = "dr soft_quota 5" ] || fail "re-add --dr"
in_ns $IPSEC add 2001:db8::1 --nat --dr 2>/dev/null && fail "--nat with --dr accepted"
json=$(in_ns $IPSEC list --json) || fail "ipvs-ipsec list --json failed"
echo "$json" | /usr/bin/python3 -c '
import json, sys
st = json.load(sys.stdin)
svc = {s["vip"]: s for s in st["services"]}
assert svc["2001:db8::1"]["nat"] is False and svc["2001:db8::1"]["soft_quota"] == 5, svc
assert svc["192.0.2.1"]["nat"] is False, svc
assert st["nsvc"] == 2 and "esp_no_entry" in st["counters"], st
' || fail "list --json: $json"
info "ipvs-ipsec add keeps what it is not given; list --json"

# Bad arguments change nothing.
expect EINVAL in_ns $PROBE ipsec-cmd 9 2 192.0.2.9 0 0
expect EINVAL in_ns $PROBE ipsec-cmd 0 2 192.0.2.9 0 0
expect EINVAL in_ns $PROBE ipsec-cmd 1 2 192.0.2.9 2 0
expect EINVAL in_ns $PROBE ipsec-cmd 1 2 0.0.0.0 0 0
expect EINVAL in_ns $PROBE ipsec-cmd 1 10 :: 0 0
expect EAFNOSUPPORT in_ns $PROBE ipsec-cmd 1 7 192.0.2.9 0 0
# An IPv4 command with garbage after the 4 address bytes.
expect EINVAL in_ns $PROBE ipsec-cmd 1 2 2001:db8::9 0 0
expect ESRCH in_ns $PROBE ipsec-cmd 2 2 192.0.2.99 0 0
expect EINVAL in_ns env SO=1169 $PROBE set-len 31
expect EINVAL in_ns env SO=1169 $PROBE set-len 33
expect EINVAL in_ns env SO=1169 $PROBE set-len 0
expect EFAULT in_ns env SO=1169 $PROBE set-null 32
[ "$(nsvc)" = 2 ] || fail "a rejected call changed the addresses"

# Status: exactly $STATUS bytes or more.
expect "OK len=$STATUS" in_ns env SO=1169 $PROBE get $STATUS
expect "OK len=$STATUS" in_ns env SO=1169 $PROBE get 4096
expect EINVAL in_ns env SO=1169 $PROBE get $((STATUS - 1))
expect EFAULT in_ns env SO=1169 $PROBE get-null $STATUS

# Unprivileged callers.
expect EPERM in_ns $NOBODY $PROBE ipsec-cmd 3 0 0.0.0.0 0 0
expect EPERM in_ns env SO=1169 $NOBODY $PROBE get $STATUS
[ "$(nsvc)" = 2 ] || fail "an unprivileged caller changed the addresses"

# At most 16 addresses.
i=3
while [ $i -le 16 ]; do
	in_ns $PROBE ipsec-cmd 1 2 192.0.2.$i 0 0 >/dev/null
	i=$((i + 1))
done
[ "$(nsvc)" = 16 ] || fail "expected 16 addresses, got $(nsvc)"
expect ENOSPC in_ns $PROBE ipsec-cmd 1 2 192.0.2.200 0 0
expect OK in_ns $PROBE ipsec-cmd 2 2 192.0.2.1 0 0
expect OK in_ns $PROBE ipsec-cmd 1 2 192.0.2.200 0 0
[ "$(nsvc)" = 16 ] || fail "delete + add did not keep 16"

# Namespaces are independent.
[ "$($IPSEC list | grep -c ' dr \| nat ')" = 0 ] || fail "the init namespace sees the test namespace's addresses"
expect OK in_ns $PROBE ipsec-cmd 3 0 0.0.0.0 0 0
[ "$(nsvc)" = 0 ] || fail "flush left addresses"
expect OK in_ns $PROBE ipsec-cmd 3 0 0.0.0.0 0 0
info "flushing twice is fine"
# The tool's own errors.
in_ns $IPSEC del 192.0.2.1 2>"$IPVS_AUTH_OUT/ipsec-del.err" && fail "deleting a missing address succeeded"
grep -q 'not gated' "$IPVS_AUTH_OUT/ipsec-del.err" || fail "unclear error: $(cat "$IPVS_AUTH_OUT/ipsec-del.err")"
info "sockopt 1169 validates its input"
