# SPDX-License-Identifier: GPL-2.0
#
# DKMS, with Debian's dkms: the sources under /usr/src/ip_vs_sync_auth-VERSION
# (scripts/dkms-source.sh, as the Debian package installs them), then
# `dkms add`, `dkms build` and `dkms install` for the running kernel, whose
# build tree (the cached kernel build) is /lib/modules/RELEASE/build. The
# module DKMS built is the one a plain `modprobe` then loads, and it works
# (the sync sockopt takes a key); `dkms remove` takes it away again.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/modtree.sh"

# The build takes about 7 minutes in the TCG guest (4 s on the host):
# make check-deploy runs it, make check does not.
[ -n "${IPVS_AUTH_DEPLOY:-}" ] ||
	skip "DKMS builds the module in the guest, about 7 min under TCG: make check-deploy runs this test"
checktool "dkms --version" "Debian's dkms is not installed (scripts/setup.sh installs it)"
rel=$(uname -r)
ver=$("$IPVS_AUTH_TOP/scripts/dkms-source.sh" --version) || fail "no version in dkms.conf"
src=/usr/src/ip_vs_sync_auth-$ver
cleanup() {
	dkms remove "ip_vs_sync_auth/$ver" --all >/dev/null 2>&1
	rm -rf "$src"
}
trap cleanup EXIT

writable_modtree
unload_module
unload_ip_vs || fail "cannot unload ip_vs: $(grep '^ip_vs ' /proc/modules)"

rm -rf "$src"
"$IPVS_AUTH_TOP/scripts/dkms-source.sh" "$src" || fail "dkms-source.sh failed"
dkms add "ip_vs_sync_auth/$ver" || fail "dkms add failed"
t0=$(date +%s)
ok_build=1
dkms build "ip_vs_sync_auth/$ver" -k "$rel" || ok_build=0
# DKMS keeps the build's log under the kernel's directory once done.
makelog=$(find "/var/lib/dkms/ip_vs_sync_auth/$ver" -name make.log | head -n 1)
if [ "$ok_build" = 0 ]; then
	[ -n "$makelog" ] && cat "$makelog"
	fail "dkms build failed"
fi
info "dkms build: $(($(date +%s) - t0)) s in the guest"
[ -n "$makelog" ] || fail "no make.log under /var/lib/dkms/ip_vs_sync_auth/$ver"
grep -E '^ +(RUSTC|CC|LD) ' "$makelog" | head -n 4
grep -q 'RUSTC.*ip_vs_sync_auth_main' "$makelog" || fail "DKMS's make.log shows no Rust compilation of the module"
dkms install "ip_vs_sync_auth/$ver" -k "$rel" || fail "dkms install failed"
dkms status ip_vs_sync_auth
dkms status ip_vs_sync_auth | grep -q "^ip_vs_sync_auth/$ver, $rel, [^:]*: installed" ||
	fail "dkms status does not say installed"

ko=$MODLIB/updates/dkms/ip_vs_sync_auth.ko
[ -f "$ko" ] || fail "no $ko"
[ "$(modinfo -n ip_vs_sync_auth)" = "$ko" ] || fail "modprobe would load $(modinfo -n ip_vs_sync_auth), not $ko"
[ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$rel" ] || fail "vermagic $(modinfo -F vermagic "$ko")"
loaded=$(modprobe -v ip_vs_sync_auth) || fail "modprobe ip_vs_sync_auth failed"
echo "$loaded"
echo "$loaded" | grep -q "^insmod $ko" || fail "modprobe did not insert DKMS's $ko"
grep -q '^ip_vs ' /proc/modules || fail "ip_vs not pulled in"
$SYNCAUTH key set dkms-key || fail "the DKMS build does not take a key"
[ "$($SYNCAUTH counter enabled)" = 1 ] || fail "key not enabled"
$SYNCAUTH key clear || fail "cannot clear the key"
info "modprobe loaded DKMS's build ($ko), which takes a key"
modprobe -r ip_vs_sync_auth || fail "modprobe -r failed"

dkms remove "ip_vs_sync_auth/$ver" --all || fail "dkms remove failed"
[ -e "$ko" ] && fail "$ko left after dkms remove"
modprobe ip_vs_sync_auth 2>/dev/null && fail "modprobe still finds the module after dkms remove"
info "dkms remove took it away"
