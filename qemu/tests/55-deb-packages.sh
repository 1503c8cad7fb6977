# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages of `make deb`, installed with apt in the guest as on
# a director whose kernel build tree is /lib/modules/RELEASE/build: the
# ipvsadm package (version 1:1.31-1 plus the SUFFIX of
# scripts/build-deb.sh, newer than Debian's for dpkg) replaces Debian's ipvsadm and documents --icv-key-file in its man
# page; ip-vs-sync-auth-dkms's postinst has DKMS build and install the
# module for the running kernel, and enables ip-vs-sync-auth.service
# without starting it. Then the service's ExecStart, with the packaged
# configuration file filled in, loads DKMS's module and installs the key;
# the packaged ipvsadm starts the daemons (its --icv-key-file for the
# master) and the backup receives every connection, authenticated.
# Removing the dkms package removes the module.
#
# Skipped unless run by `make check-deploy`, which builds the packages
# first (`make deb`) and sets IPVS_AUTH_DEPLOY.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"
. "$IPVS_AUTH_TOP/qemu/lib/modtree.sh"

# make check-deploy's out/deb (the guest's own out directory is
# out/shard-K).
debs=${IPVS_AUTH_DEBS:-$IPVS_AUTH_OUT/deb}
# The version suffix make deb gives ipvsadm (+syncauthN).
suffix=$(sed -n 's/^SUFFIX=//p' "$IPVS_AUTH_TOP/scripts/build-deb.sh")
[ -n "$suffix" ] || fail "no SUFFIX= in scripts/build-deb.sh"
ipvsadm_deb=$(ls "$debs"/ipvsadm_*"$suffix"_amd64.deb 2>/dev/null | head -n 1)
# The dkms package of this tree's version (dkms.conf's PACKAGE_VERSION).
pkg_version=$("$IPVS_AUTH_TOP/scripts/dkms-source.sh" --version) || fail "no PACKAGE_VERSION in dkms.conf"
dkms_deb=$debs/ip-vs-sync-auth-dkms_${pkg_version}_all.deb
[ -f "$dkms_deb" ] || dkms_deb=
# The package's postinst builds the module with DKMS, about 7 minutes in
# the TCG guest: make check-deploy runs this test, make check does not.
[ -n "${IPVS_AUTH_DEPLOY:-}" ] ||
	skip "the package's DKMS build takes about 7 min under TCG: make check-deploy runs this test"
# make check-deploy builds both packages just before: missing ones (or
# only older ones left in the directory) are a failure.
[ -n "$ipvsadm_deb" ] && [ -n "$dkms_deb" ] ||
	fail "no ipvsadm_*${suffix}_amd64.deb and ip-vs-sync-auth-dkms_${pkg_version}_all.deb in $debs (have: $(ls "$debs" 2>/dev/null | tr '\n' ' '))"
N=20
rel=$(uname -r)

cleanup() {
	topology_cleanup
	dpkg -r ip-vs-sync-auth-dkms >/dev/null 2>&1
	rm -rf /etc/ip-vs-sync-auth
}
trap cleanup EXIT

writable_modtree
unload_module
unload_ip_vs || fail "cannot unload ip_vs"

# Both packages with apt, as the README says; the dkms package's postinst
# has DKMS build and install the module.
debian_ver=$(dpkg-query -W -f='${Version}' ipvsadm)
t0=$(date +%s)
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$ipvsadm_deb" "$dkms_deb"; then
	cat /var/lib/dkms/ip_vs_sync_auth/*/build/make.log 2>/dev/null | tail -n 30
	fail "apt-get install of the two packages failed"
fi
info "apt-get install: $(($(date +%s) - t0)) s (DKMS build included)"

# ipvsadm: newer than Debian's, with the patches.
ver=$(dpkg-query -W -f='${Version}' ipvsadm)
# Exactly the version make deb built: an older +syncauthN package (one
# without the newest patch) left in the directory must not pass.
[ "$ver" = "1:1.31-1$suffix" ] || fail "installed ipvsadm is $ver, make deb builds 1:1.31-1$suffix"
dpkg --compare-versions "$ver" gt "$debian_ver" || fail "$ver is not newer than Debian's $debian_ver"
dpkg --compare-versions "$ver" gt 1:1.31-1+b1 || fail "$ver is not newer than 1:1.31-1+b1"
/sbin/ipvsadm --help 2>&1 | grep -q -- --icv-key-file || fail "the packaged ipvsadm has no --icv-key-file"
zcat /usr/share/man/man8/ipvsadm.8.gz | grep -q '^\.B --icv-key-file' || fail "the packaged man page lacks --icv-key-file"
info "ipvsadm $ver installed over Debian's $debian_ver"

# The dkms package: DKMS built and installed the module in its postinst.
dkms status ip_vs_sync_auth
dkms status ip_vs_sync_auth | grep -q ", $rel, [^:]*: installed" || fail "DKMS did not install the module for $rel"
ko=$MODLIB/updates/dkms/ip_vs_sync_auth.ko
[ "$(modinfo -n ip_vs_sync_auth)" = "$ko" ] || fail "modprobe would load $(modinfo -n ip_vs_sync_auth)"
unit=/lib/systemd/system/ip-vs-sync-auth.service
[ -f "$unit" ] || fail "no $unit in the package"
[ -L /etc/systemd/system/multi-user.target.wants/ip-vs-sync-auth.service ] || fail "the service is not enabled"
[ -L /etc/systemd/system/keepalived.service.requires/ip-vs-sync-auth.service ] || fail "keepalived does not require the service (RequiredBy=)"
grep -q '^ip_vs_sync_auth ' /proc/modules && fail "the package started the service (loaded the module)"
[ -x /usr/sbin/ipvs-ipsec ] && [ -x /usr/sbin/ip-vs-sync-auth-setup ] || fail "tools missing from the package"
dpkg-query -W -f='${Conffiles}\n' ip-vs-sync-auth-dkms | grep -q '/etc/ip-vs-sync-auth.conf' ||
	fail "/etc/ip-vs-sync-auth.conf is not a conffile"
info "ip-vs-sync-auth-dkms: module built by DKMS, service enabled (not started), conffile"

# The packaged configuration, filled in as the README says.
mkdir -p -m 0700 /etc/ip-vs-sync-auth
(umask 077 && head -c 32 /dev/urandom | base64 >/etc/ip-vs-sync-auth/sync.key)
sed -i 's|^#SYNC_KEY_FILE=.*|SYNC_KEY_FILE=/etc/ip-vs-sync-auth/sync.key|' /etc/ip-vs-sync-auth.conf
grep -qx 'SYNC_KEY_FILE=/etc/ip-vs-sync-auth/sync.key' /etc/ip-vs-sync-auth.conf ||
	fail "the packaged config has no #SYNC_KEY_FILE= line to fill in"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
topology_setup
for ns in "$NS_DIRA" "$NS_DIRB"; do
	# shellcheck disable=SC2086
	nsx "$ns" $exec_start || fail "$ns: ExecStart failed"
done
[ "$(modinfo -F filename ip_vs_sync_auth)" = "$ko" ] || fail "not DKMS's module"
expect_counter "$NS_DIRB" enabled 1
nsx "$NS_DIRA" /sbin/ipvsadm --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 \
	--icv-key-file /etc/ip-vs-sync-auth/sync.key || fail "the packaged ipvsadm cannot start the master"
nsx "$NS_DIRB" /sbin/ipvsadm --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 ||
	fail "the packaged ipvsadm cannot start the backup"
nsx "$NS_DIRA" /sbin/ipvsadm -L --daemon
nsx "$NS_DIRA" /sbin/ipvsadm -L --daemon | grep -qx 'auth hmac-md5-96' || fail "no auth line from the packaged ipvsadm"
expect_synced_authenticated "$N"
info "packaged ipvsadm + DKMS module + ExecStart: $N connections synced authenticated, no drop"

topology_cleanup
modprobe -r ip_vs_sync_auth || fail "modprobe -r failed"
dpkg -r ip-vs-sync-auth-dkms || fail "dpkg -r ip-vs-sync-auth-dkms failed"
dkms status ip_vs_sync_auth | grep -q . && fail "DKMS still knows the module: $(dkms status ip_vs_sync_auth)"
[ -e "$ko" ] && fail "$ko left after removing the package"
info "dpkg -r removed DKMS's module"
