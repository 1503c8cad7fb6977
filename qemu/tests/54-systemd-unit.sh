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
# keepalived accepts deploy/keepalived.conf.example. The README's
# installation by hand, in a root of its own, enables the unit under
# keepalived.service.requires/.
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
	[ -n "${hand:-}" ] && rm -rf "$hand"
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
# Ordered before keepalived and Debian's ipvsadm init script (both start
# sync daemons); required by keepalived, so that a failed set-up keeps
# keepalived from syncing in plaintext; a missing configuration fails the
# unit (AssertPathExists), where a condition would count as success.
grep -qx 'Before=keepalived.service ipvsadm.service' "$unit" ||
	fail "the unit is not ordered before keepalived.service and ipvsadm.service"
grep -qx 'RequiredBy=keepalived.service' "$unit" || fail "keepalived.service does not require the unit"
grep -q '^WantedBy=.*keepalived' "$unit" && fail "keepalived only wants the unit"
grep -qx 'AssertPathExists=/etc/ip-vs-sync-auth.conf' "$unit" || fail "a missing configuration would not fail the unit"
grep -q '^Condition' "$unit" && fail "a Condition= would let keepalived start after a skipped set-up"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ -n "$exec_start" ] || fail "no ExecStart= in the unit"
info "ExecStart=$exec_start"

# The README's installation by hand, into a root of its own (the guest's
# init is not systemd, so `systemctl daemon-reload` is left out;
# `systemctl --root` enables offline): enabling links the unit under
# keepalived.service.requires/.
if command -v systemctl >/dev/null; then
	hand=$(mktemp -d)
	mkdir -p "$hand/usr/sbin" "$hand/etc/systemd/system"
	(cd "$IPVS_AUTH_TOP" &&
		install -m 0755 deploy/ip-vs-sync-auth-setup tools/ipvs-ipsec "$hand/usr/sbin/" &&
		install -m 0644 deploy/ip-vs-sync-auth.service "$hand/etc/systemd/system/" &&
		install -m 0644 deploy/ip-vs-sync-auth.conf "$hand/etc/") || fail "the README's install lines failed"
	systemctl --root="$hand" enable ip-vs-sync-auth.service >/dev/null 2>&1 ||
		fail "systemctl enable ip-vs-sync-auth.service failed"
	link=$hand/etc/systemd/system/keepalived.service.requires/ip-vs-sync-auth.service
	[ "$(readlink "$link")" = /etc/systemd/system/ip-vs-sync-auth.service ] ||
		fail "enabled by hand, the unit is not in keepalived.service.requires/ ($(readlink "$link"))"
	[ -x "$hand/usr/sbin/ip-vs-sync-auth-setup" ] && [ -x "$hand/usr/sbin/ipvs-ipsec" ] ||
		fail "the README's install lines did not install the tools executable"
	rm -rf "$hand"
	hand=
	info "installed by hand as the README says: systemctl enable links it under keepalived.service.requires/"
else
	info "systemctl not installed: the installation by hand not tried"
fi

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

# A re-run that fails half-way never leaves the director without a key:
# the backup still holds the key it had and keeps verifying the master.
[ "$(counter "$NS_DIRB" enabled)" = 1 ] || fail "a refused re-run left the backup without a key"
acc=$(counter "$NS_DIRB" rx_accepted)
make_connections 5
wait_accepted_above "$acc" || fail "after a refused re-run the backup accepted nothing"
expect_counter "$NS_DIRB" rx_drop_bad_icv 0
info "refused re-runs left the backup keyed with the key it had, verifying"

# The extended format, then a re-run whose first key file is refused:
# the backup is left failing closed (nothing applied, rx_drop_no_key), not
# unauthenticated, and a good re-run restores sync.
(umask 077 && head -c 32 /dev/urandom | base64 >/etc/ip-vs-sync-auth/key1)
(umask 077 && head -c 32 /dev/urandom | base64 >/etc/ip-vs-sync-auth/key2)
printf 'SYNC_EXT_KEYS="1:%s 2:%s"\nSYNC_EXT_ACTIVE=1\nIPSEC_GATE_NAT=%s\nIPVSADM=%s\n' \
	/etc/ip-vs-sync-auth/key1 /etc/ip-vs-sync-auth/key2 "$VIP" "$IPVSADM" >/etc/ip-vs-sync-auth.conf
# setup_both WHAT: ExecStart on both directors, then the backup must
# accept the master's messages about new connections.
setup_both() {
	for ns in "$NS_DIRA" "$NS_DIRB"; do
		# shellcheck disable=SC2086
		nsx "$ns" $exec_start || fail "$ns: ExecStart ($1) failed"
	done
	acc=$(counter "$NS_DIRB" rx_accepted)
	make_connections 5
	wait_accepted_above "$acc" || fail "$1: the backup accepted nothing"
}
setup_both "extended format"
chmod 0644 /etc/ip-vs-sync-auth/key1
# shellcheck disable=SC2086
out=$(nsx "$NS_DIRB" $exec_start 2>&1) && fail "ExecStart accepted a world-readable first key"
chmod 0600 /etc/ip-vs-sync-auth/key1
# Plaintext messages from the master (its keys cleared) are not applied.
nsx "$NS_DIRA" "$IPVSADM" --icv-ext clear || fail "cannot clear the master's keys"
before=$(conn_count "$NS_DIRB")
nd=$(counter "$NS_DIRB" rx_drop_no_key)
make_connections 5
wait_for 15 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_no_key) -gt $nd ]" ||
	fail "the half-configured backup did not drop the master's plaintext as rx_drop_no_key"
[ "$(conn_count "$NS_DIRB")" -gt "$before" ] && fail "the half-configured backup applied plaintext"
info "a re-run refused half-way: the backup drops plaintext (rx_drop_no_key), applies nothing"
setup_both "extended format, again"

# A module reload (an upgrade) while the daemons run: the module's state
# goes with it, and ExecStart (systemctl restart ip-vs-sync-auth) brings
# it back from the configuration: the extended format with both keys, key
# 1 signing, the NAT-gated address. The backup's daemon ran before the
# new first key, so its gate trusts no synced connection from then on
# (unverified_sync); the master's namespace, where only a master ran, is
# not marked.
modprobe -r ip_vs_sync_auth || fail "modprobe -r ip_vs_sync_auth failed"
grep -q '^ip_vs_sync_auth ' /proc/modules && fail "the module is still loaded"
setup_both "after a module reload"
for ns in "$NS_DIRA" "$NS_DIRB"; do
	st=$(nsx "$ns" $SYNCAUTH ext status --json) || fail "$ns: no extended status after the reload"
	echo "$st" | /usr/bin/python3 -c '
import json, sys
st = json.load(sys.stdin)
keys = sorted((st["key%d_id" % i], st["key%d_active" % i]) for i in range(2))
sys.exit(0 if st["mode"] == "ext" and keys == [(1, 1), (2, 0)] else 1)' ||
		fail "$ns: after the reload the extended state is not restored: $st"
	nsx "$ns" /usr/sbin/ipvs-ipsec list | grep -q "^$VIP nat " ||
		fail "$ns: after the reload $VIP is not gated in NAT mode: $(nsx "$ns" /usr/sbin/ipvs-ipsec list | head -n 1)"
done
[ "$(sync_proc "$NS_DIRB" unverified_sync)" = yes ] ||
	fail "the backup, whose daemon ran before the reload's first key, is not marked unverified_sync"
[ "$(sync_proc "$NS_DIRA" unverified_sync)" = no ] || fail "the master's namespace is marked unverified_sync"
info "after a module reload, ExecStart restored the format, both keys, the active key and the NAT-gated $VIP"

# No key configured: refused unless SYNC_AUTH=off says so.
printf 'IPVSADM=%s\n' "$IPVSADM" >/etc/ip-vs-sync-auth.conf
# shellcheck disable=SC2086
out=$(nsx "$NS_DIRB" $exec_start 2>&1) && fail "ExecStart ran without a key and without SYNC_AUTH=off"
[ "$out" = "ip-vs-sync-auth-setup: /etc/ip-vs-sync-auth.conf: no sync key (SYNC_KEY_FILE or SYNC_EXT_KEYS); set SYNC_AUTH=off to run without one" ] ||
	fail "unexpected output without a key: $out"
printf 'SYNC_AUTH=off\nIPVSADM=%s\n' "$IPVSADM" >/etc/ip-vs-sync-auth.conf
# shellcheck disable=SC2086
nsx "$NS_DIRB" $exec_start 2>/dev/null || fail "ExecStart refused SYNC_AUTH=off"
info "no key: refused ($out); SYNC_AUTH=off: runs"

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
