# SPDX-License-Identifier: GPL-2.0
#
# Boot integration, as far as a guest without systemd as init allows:
# deploy/ip-vs-sync-auth.service is installed where the Debian package puts
# it, with its helper, ipvs-ipsec and /etc/ip-vs-sync-auth.conf;
# systemd-analyze verifies the unit; it is ordered before keepalived and
# wanted by it. Then the unit's own ExecStart command line, run in each
# director's namespace on a director whose module is installed but not
# loaded, loads the module, installs the key from a root-only file and
# gates the VIP; sync daemons started afterwards (as keepalived would)
# sync authenticated: every connection on the backup, messages signed and
# accepted, no drop. A key file readable by others (ipvsadm's one-line
# refusal), or a config file writable by others, makes ExecStart fail.
# keepalived accepts deploy/keepalived.conf.example.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"
. "$IPVS_AUTH_TOP/qemu/lib/modtree.sh"

IPVSADM=${IPVSADM_AUTH:-}
[ -x "$IPVSADM" ] || skip "patched ipvsadm not built (scripts/build-ipvsadm.sh)"
checktool "keepalived --version" "keepalived is not installed"
export IPVS_AUTH_KBUILD="$KBUILD"
deploy=$IPVS_AUTH_TOP/deploy
unit=/lib/systemd/system/ip-vs-sync-auth.service
N=20

cleanup() {
	topology_cleanup
	ip netns del "ka-$$" 2>/dev/null
	make -s -C "$IPVS_AUTH_TOP" uninstall >/dev/null 2>&1
	rm -rf /etc/ip-vs-sync-auth /etc/ip-vs-sync-auth.conf "$unit" \
		/usr/sbin/ip-vs-sync-auth-setup /usr/sbin/ipvs-ipsec
}
trap cleanup EXIT

# What the package installs (debian/rules installs the same files).
install -m 0644 "$deploy/ip-vs-sync-auth.service" "$unit"
install -m 0755 "$deploy/ip-vs-sync-auth-setup" /usr/sbin/ip-vs-sync-auth-setup
install -m 0755 "$IPVS_AUTH_TOP/tools/ipvs-ipsec" /usr/sbin/ipvs-ipsec
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
	info "systemd-analyze verify $unit: clean"
else
	info "systemd-analyze not installed: unit not verified"
fi
grep -qx 'Before=keepalived.service' "$unit" || fail "the unit is not ordered before keepalived.service"
grep -q '^WantedBy=.*keepalived\.service' "$unit" || fail "the unit is not wanted by keepalived.service"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ -n "$exec_start" ] || fail "no ExecStart= in the unit"
info "ExecStart=$exec_start"

# The module installed (make install), nothing loaded.
writable_modtree
make -s -C "$IPVS_AUTH_TOP" install || fail "make install failed"
unload_module
unload_ip_vs || fail "cannot unload ip_vs"

mkdir -p -m 0700 /etc/ip-vs-sync-auth
(umask 077 && head -c 32 /dev/urandom | base64 >/etc/ip-vs-sync-auth/sync.key)
cat >/etc/ip-vs-sync-auth.conf <<EOF
SYNC_KEY_FILE=/etc/ip-vs-sync-auth/sync.key
IPSEC_GATE="$VIP"
IPVSADM=$IPVSADM
EOF
chmod 0644 /etc/ip-vs-sync-auth.conf

topology_setup
for ns in "$NS_DIRA" "$NS_DIRB"; do
	# systemd runs ExecStart without a shell; the line has no shell syntax.
	# shellcheck disable=SC2086
	nsx "$ns" $exec_start || fail "$ns: ExecStart failed"
done
grep -q '^ip_vs_sync_auth ' /proc/modules || fail "ExecStart did not load the module"
expect_counter "$NS_DIRA" enabled 1
expect_counter "$NS_DIRB" enabled 1
nsx "$NS_DIRA" /usr/sbin/ipvs-ipsec list | grep -q "^$VIP dr " || fail "ExecStart did not gate $VIP"
info "ExecStart: module loaded, key installed on both directors, $VIP gated"

# The sync daemons, as keepalived's lvs_sync_daemon starts them.
nsx "$NS_DIRA" ipvsadm --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 --sync-maxlen 1456 ||
	fail "cannot start the master"
nsx "$NS_DIRB" ipvsadm --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 ||
	fail "cannot start the backup"
expect_synced_authenticated "$N"
[ "$(counter "$NS_DIRA" tx_signed)" -gt 0 ] || fail "the master signed nothing"
info "$N connections synced authenticated after ExecStart; no drop"

# Run again (systemctl restart): still fine.
nsx "$NS_DIRB" $exec_start || fail "ExecStart run again failed"
expect_counter "$NS_DIRB" enabled 1

# Refusals, each in one line from the tool that refused.
chmod 0644 /etc/ip-vs-sync-auth/sync.key
out=$(nsx "$NS_DIRB" $exec_start 2>&1) && fail "ExecStart accepted a world-readable key file"
echo "$out" | grep -qx "ipvsadm: --icv-key-file: /etc/ip-vs-sync-auth/sync.key: permissions 0644 are too open: the key file must not be accessible by group or others (chmod 600)" ||
	fail "unexpected output for a world-readable key: $out"
info "world-readable key file: $(echo "$out" | head -n 1)"
chmod 0600 /etc/ip-vs-sync-auth/sync.key
chmod 0666 /etc/ip-vs-sync-auth.conf
out=$(nsx "$NS_DIRB" $exec_start 2>&1) && fail "ExecStart accepted a world-writable config"
[ "$out" = "ip-vs-sync-auth-setup: /etc/ip-vs-sync-auth.conf: must be owned by root and not writable by group or others" ] ||
	fail "unexpected output for a world-writable config: $out"
info "world-writable config: $out"
chmod 0644 /etc/ip-vs-sync-auth.conf

# The documented keepalived example parses (its interfaces exist here).
ip netns add "ka-$$"
# veth, not dummy: VRRP needs interfaces that do multicast.
ip -n "ka-$$" link add eth0 type veth peer name p0
ip -n "ka-$$" link add eth1 type veth peer name p1
for i in eth0 eth1 p0 p1; do
	ip -n "ka-$$" link set "$i" up
done
out=$(ip netns exec "ka-$$" keepalived --config-test -f "$deploy/keepalived.conf.example" 2>&1) ||
	fail "keepalived --config-test rejects deploy/keepalived.conf.example: $out"
info "keepalived --config-test accepts deploy/keepalived.conf.example"
