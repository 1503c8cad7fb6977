# SPDX-License-Identifier: GPL-2.0
#
# The user-facing configuration: ipvsadm 1.31 patched with --icv-key
# (ipvsadm/0001-icv-key.patch). The master is started with
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
msg=$(ip netns exec "$NS" "$IPVSADM" --start-daemon master --mcast-interface lo --syncid 150 --icv-key k 2>&1)
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
[ "$msg" = "ipvsadm: --icv-key: key must be 1 to 64 bytes" ] || fail "unexpected message for a long key: $msg"
msg=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$IPVSADM" --icv-key k 2>&1) &&
	fail "unprivileged --icv-key succeeded"
[ "$msg" = "ipvsadm: --icv-key: permission denied" ] || fail "unexpected message when unprivileged: $msg"
info "bad key and unprivileged caller: clear errors"

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

# Clearing with an empty key turns authentication off.
nsx "$NS_DIRB" "$IPVSADM" --icv-key '' || fail "cannot clear the key"
expect_counter "$NS_DIRB" enabled 0
nsx "$NS_DIRB" "$IPVSADM" -L --daemon | grep -q '^auth ' && fail "auth line shown after clearing"
info "--icv-key '' clears the key"
