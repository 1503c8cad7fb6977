# SPDX-License-Identifier: GPL-2.0
#
# The user-facing configuration: ipvsadm 1.31 patched with --icv-key
# (ipvsadm/0001-icv-key.patch, 0003-icv-key-lifecycle.patch). The master is started with
# `--start-daemon master --icv-key KEY`; the backup gets its key with
# `ipvsadm --icv-key KEY` alone (as for daemons started by keepalived) and
# its daemon from Debian's stock ipvsadm.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

IPVSADM=${IPVSADM_AUTH:-}
[ -x "$IPVSADM" ] || skip "patched ipvsadm not built (scripts/build-ipvsadm.sh)"
N=${N:-50}

# Module missing: a clear message, exit 1, and no daemon started.
load_ip_vs
unload_module
NS=icvkey-$$
ip netns add "$NS"
ip -n "$NS" link set lo up
msg=$(ip netns exec "$NS" "$IPVSADM" --start-daemon master --mcast-interface lo --syncid 150 --icv-key tot0234 2>&1)
rc=$?
ip netns exec "$NS" "$IPVSADM" -L --daemon | grep -q 'master sync daemon' && fail "daemon started without the module"
ip netns del "$NS"
[ "$rc" = 1 ] || fail "exit status $rc without the module, expected 1"
[ "$msg" = "ipvsadm: --icv-key: the ip_vs_sync_auth module is not loaded" ] ||
	fail "unexpected message without the module: $msg"
info "module not loaded: '$msg', exit 1, no daemon"

load_module
long=$(printf '%065d' 0)
msg=$("$IPVSADM" --icv-key "$long" 2>&1) && fail "65-byte key accepted"
[ "$msg" = "ipvsadm: --icv-key: key must be 6 to 64 bytes" ] || fail "unexpected message for a long key: $msg"
msg=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$IPVSADM" --icv-key tot0234 2>&1) &&
	fail "unprivileged --icv-key succeeded"
[ "$msg" = "ipvsadm: --icv-key: permission denied" ] || fail "unexpected message when unprivileged: $msg"
info "bad key and unprivileged caller: clear errors"

# Lifecycle (0003): an empty or short key changes nothing and exits 2 (an
# unset shell variable must not turn authentication off); only
# --icv-key-clear clears. Without a daemon the auth line says so. A master
# started in a second step after `--icv-key` still gets the lowered
# maxlen. A daemon that fails to start with --icv-key leaves no key
# behind where there was none, and says so where it replaced one.
NS=icvlife-$$
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
in_ns "$IPVSADM" --icv-key tot0234 || fail "cannot set a key in $NS"
[ "$(counter "$NS" enabled)" = 1 ] || fail "key not set in $NS"
for bad in '' abcde; do
	msg=$(in_ns "$IPVSADM" --icv-key "$bad" 2>&1)
	rc=$?
	[ "$rc" = 2 ] || fail "--icv-key '$bad': exit $rc, expected 2 ($msg)"
	[ "$(counter "$NS" enabled)" = 1 ] || fail "--icv-key '$bad' changed the key state"
done
msg=$(in_ns "$IPVSADM" --icv-key '' 2>&1)
[ "$msg" = "ipvsadm: --icv-key: empty key refused; --icv-key-clear removes the key" ] ||
	fail "unexpected message for an empty key: $msg"
msg=$(in_ns "$IPVSADM" --icv-ext add:1:abcde 2>&1)
rc=$?
[ "$rc" = 2 ] && [ "$msg" = "ipvsadm: --icv-ext: key must be 6 to 64 bytes" ] ||
	fail "--icv-ext add with a 5-byte key: exit $rc, '$msg'"
[ "$(in_ns "$IPVSADM" -L --daemon)" = "auth hmac-md5-96 (no daemon)" ] ||
	fail "a key with no daemon: '$(in_ns "$IPVSADM" -L --daemon)'"
in_ns "$IPVSADM" --start-daemon master --mcast-interface lo --syncid 9 ||
	fail "cannot start a master after --icv-key"
listing=$(in_ns "$IPVSADM" -L --daemon)
echo "$listing" | grep -q 'maxlen=1456' || fail "two-step master: maxlen not lowered: $listing"
echo "$listing" | grep -qx 'auth hmac-md5-96' || fail "no auth line below the daemon: $listing"
# A key change in disguise: --icv-key with the start of a daemon that runs
# already is refused before anything changes.
fp() { in_ns awk '$1 == "seed_key:" { print $3 }' /proc/net/ip_vs_sync_auth; }
fp0=$(fp)
msg=$(in_ns "$IPVSADM" --start-daemon master --mcast-interface lo --syncid 9 --icv-key other-key 2>&1)
rc=$?
[ "$rc" = 1 ] && [ "$msg" = "ipvsadm: a master sync daemon runs already; --icv-key alone changes its key" ] ||
	fail "--start-daemon --icv-key with the daemon running: exit $rc, '$msg'"
[ -n "$fp0" ] && [ "$(fp)" = "$fp0" ] || fail "the refused start changed the key ($fp0 -> $(fp))"
in_ns "$IPVSADM" --stop-daemon master || fail "cannot stop the master in $NS"
in_ns "$IPVSADM" --icv-key-clear || fail "--icv-key-clear failed"
[ "$(counter "$NS" enabled)" = 0 ] || fail "--icv-key-clear left a key"
msg=$(in_ns "$IPVSADM" --start-daemon master --mcast-interface no-such-if --syncid 9 \
	--icv-key tot0234 2>&1)
rc=$?
[ "$rc" = 1 ] || fail "a master started on a missing interface: exit $rc ($msg)"
[ "$(counter "$NS" enabled)" = 0 ] || fail "a failed daemon start left its key installed"
echo "$msg" | grep -q "the key was removed again" || fail "no word about the removed key: $msg"
in_ns "$IPVSADM" --icv-key tot0234 || fail "cannot set a key in $NS"
msg=$(in_ns "$IPVSADM" --start-daemon master --mcast-interface no-such-if --syncid 9 \
	--icv-key other-key 2>&1) && fail "a master started on a missing interface"
[ "$(counter "$NS" enabled)" = 1 ] || fail "a failed daemon start removed a key that replaced another"
echo "$msg" | grep -q "the new key stays installed" || fail "no word about the replaced key: $msg"
# Clearing the seed key says so when extended-format keys stay.
in_ns "$IPVSADM" --icv-ext add:3:third-key || fail "cannot add an extended key in $NS"
msg=$(in_ns "$IPVSADM" --icv-key-clear 2>&1) || fail "--icv-key-clear failed: $msg"
[ "$msg" = "ipvsadm: --icv-key-clear: the extended format's keys stay installed (--icv-ext clear removes them)" ] ||
	fail "--icv-key-clear with extended keys: '$msg'"
ip netns del "$NS"
info "lifecycle: empty/short keys refused (exit 2), --icv-key-clear, two-step maxlen, failed start cleaned up"

trap topology_cleanup EXIT
topology_setup
nsx "$NS_DIRA" "$IPVSADM" --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 \
	--icv-key tot0234 || fail "patched ipvsadm could not start the master"
nsx "$NS_DIRB" "$IPVSADM" --icv-key tot0234 || fail "patched ipvsadm could not set the backup's key"
nsx "$NS_DIRB" ipvsadm --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 ||
	fail "cannot start the backup"
nsx "$NS_DIRA" "$IPVSADM" -L --daemon
listing=$(nsx "$NS_DIRA" "$IPVSADM" -L --daemon)
echo "$listing" | grep -q 'maxlen=1456' || fail "master maxlen not lowered by 16 for the auth header"
echo "$listing" | grep -qx 'auth hmac-md5-96' || fail "no 'auth hmac-md5-96' line"
echo "$listing" | grep -q tot0234 && fail "key shown in the listing"

make_connections "$N"
wait_backup_conns "$N" 20 || fail "backup shows $(conn_count "$NS_DIRB") of $N connections"
[ "$(counter "$NS_DIRB" rx_accepted)" -gt 0 ] || fail "backup accepted nothing"
for c in rx_drop_bad_ttl rx_drop_bad_header rx_drop_replay rx_drop_bad_icv; do
	expect_counter "$NS_DIRB" "$c" 0
done
info "$N connections synced with keys set by ipvsadm --icv-key"

# --icv-key-clear turns authentication off.
nsx "$NS_DIRB" "$IPVSADM" --icv-key-clear || fail "cannot clear the key"
expect_counter "$NS_DIRB" enabled 0
nsx "$NS_DIRB" "$IPVSADM" -L --daemon | grep -q '^auth ' && fail "auth line shown after clearing"
info "--icv-key-clear clears the key"

# The extended format through --icv-ext: a rotation 1 -> 2 on both
# directors, the listing, the lowered maxlen, and clear errors.
nsx "$NS_DIRA" "$IPVSADM" --stop-daemon master || fail "cannot stop the master"
nsx "$NS_DIRA" "$IPVSADM" --icv-key-clear || fail "cannot clear the master's seed key"
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" "$IPVSADM" --icv-ext ext || fail "--icv-ext ext failed"
	nsx "$ns" "$IPVSADM" --icv-ext add:1:first-key || fail "--icv-ext add:1 failed"
done
nsx "$NS_DIRA" "$IPVSADM" --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 ||
	fail "cannot restart the master"
listing=$(nsx "$NS_DIRA" "$IPVSADM" -L --daemon)
echo "$listing"
echo "$listing" | grep -q 'maxlen=1448' || fail "master maxlen not lowered by 24 for the extended header"
echo "$listing" | grep -qx 'auth hmac-md5-96 ext keys 1\*' || fail "no 'auth ... ext keys 1*' line"
for step in add:2:second-key activate:2 retire:1; do
	for ns in "$NS_DIRB" "$NS_DIRA"; do
		nsx "$ns" "$IPVSADM" --icv-ext "$step" || fail "$ns: --icv-ext $step failed"
	done
	make_connections 5
done
# The rotation is done when messages signed with the new key are synced:
# key 1's messages, accepted before it was retired, prove nothing about it.
# The per-key counters of the extended format tell them apart.
key2_accepted() {
	[ "$(ext_key_count "$NS_DIRB" 2 rx_accepted)" -gt 0 ]
}
wait_for 15 key2_accepted || fail "the backup accepted no message signed with key 2"
tx2=$(ext_key_count "$NS_DIRA" 2 tx_signed)
[ "$tx2" -gt 0 ] || fail "the master signed no message with key 2"
nsx "$NS_DIRB" "$IPVSADM" -L --daemon | grep -qx 'auth hmac-md5-96 ext keys 2\*' ||
	fail "backup does not list exactly key 2 as signing"
for c in rx_drop_bad_header rx_drop_replay rx_drop_bad_icv; do
	expect_counter "$NS_DIRB" "$c" 0
done
info "key 2: $tx2 messages signed by the master, $(ext_key_count "$NS_DIRB" 2 rx_accepted) accepted by the backup"
ext_err() {
	want=$1
	shift
	msg=$(nsx "$NS_DIRB" "$IPVSADM" --icv-ext "$@" 2>&1) && fail "--icv-ext $* succeeded"
	[ "$msg" = "$want" ] || fail "--icv-ext $*: '$msg', expected '$want'"
}
ext_err "ipvsadm: --icv-ext: key ID 2 is installed already" add:2:again-key
ext_err "ipvsadm: --icv-ext: key 2 is active; activate another one first" retire:2
ext_err "ipvsadm: --icv-ext: no key with ID 7" activate:7
ext_err "ipvsadm: --icv-ext: key ID must be 1 to 255" add:0:k
ext_err "ipvsadm: --icv-ext: expected seed, ext, add:ID:KEY, activate:ID, retire:ID, clear or reset-replay" bogus
nsx "$NS_DIRB" "$IPVSADM" --icv-ext add:3:third-key || fail "add:3 failed"
ext_err "ipvsadm: --icv-ext: two keys are installed; retire one first" add:4:fourth-key
msg=$(nsx "$NS_DIRB" setpriv --reuid=65534 --regid=65534 --clear-groups "$IPVSADM" --icv-ext clear 2>&1) &&
	fail "unprivileged --icv-ext succeeded"
[ "$msg" = "ipvsadm: --icv-ext: permission denied" ] || fail "unexpected message when unprivileged: $msg"
nsx "$NS_DIRB" "$IPVSADM" -L --daemon | grep -q -- '-key' && fail "key material in the listing"
info "--icv-ext: rotation 1 -> 2 synced, listing, maxlen 1448, clear errors"
