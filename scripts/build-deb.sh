#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make deb`: the two Debian packages a director needs, into
# $IPVS_AUTH_OUT/deb (default out/deb), each checked by lintian (any error
# fails the build):
#
#   ip-vs-sync-auth-dkms_VERSION_all.deb   the module's sources for DKMS
#       (dh-dkms), ip-vs-sync-auth.service with /etc/ip-vs-sync-auth.conf,
#       ipvs-ipsec; from packaging/ip-vs-sync-auth/debian, VERSION being
#       dkms.conf's PACKAGE_VERSION.
#   ipvsadm_1.31-1+syncauth5_amd64.deb     Debian's ipvsadm 1:1.31-1 with
#       ipvsadm/*.patch added to its patch series: the +syncauth5 suffix
#       makes it newer than Debian's 1:1.31-1 and 1:1.31-1+b1 for apt.
#
# Debian's ipvsadm source package is fetched with `apt-get source`. Its
# .debian.tar.xz has been unavailable from the mirror (404, as recorded in
# the toolchain notes); then the .dsc and the upstream tarball, which do
# download, are used with packaging/ipvsadm/debian, a reconstruction of
# Debian's packaging of 1:1.31-1 (see packaging/ipvsadm/README), and the
# script says so.
#
# Installs its own build dependencies (debhelper, dh-dkms, lintian, ...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=scripts/env.sh
. "$here/env.sh"
# shellcheck source=scripts/apt.sh
. "$here/apt.sh"

[ "$(id -u)" = 0 ] || die "make deb must run as root (it installs its build dependencies)"
out=${IPVS_AUTH_OUT:-$top/out}/deb
SUFFIX=+syncauth5
DEPS=(debhelper dh-dkms lintian dpkg-dev fakeroot po-debconf libnl-3-dev libnl-genl-3-dev
	libpopt-dev pkg-config gcc make)
start=$(date +%s)

mapfile -t missing < <(missing_packages "${DEPS[@]}")
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing build dependencies: ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >/dev/null; then
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >/dev/null
	fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"

# lintian on a .changes file: print its tags, fail on any error.
run_lintian() {
	log "lintian $(basename "$1")"
	lintian --fail-on error --display-info "$1" >"$work/lintian.txt" 2>&1 || {
		cat "$work/lintian.txt" >&2
		die "lintian reports errors for $(basename "$1")"
	}
	cp "$work/lintian.txt" "$out/lintian-$(basename "$1" .changes).txt"
	if [ -s "$work/lintian.txt" ]; then
		sed 's/^/  /' "$work/lintian.txt" >&2
	else
		log "  no tags"
	fi
}

# --- ip-vs-sync-auth-dkms -------------------------------------------------
version=$("$here/dkms-source.sh" --version)
clver=$(dpkg-parsechangelog -l "$top/packaging/ip-vs-sync-auth/debian/changelog" -SVersion)
[ "$clver" = "$version" ] ||
	die "packaging/ip-vs-sync-auth/debian/changelog is at $clver, dkms.conf at $version: add a changelog entry"
src="$work/ip-vs-sync-auth-$version"
mkdir -p "$src"
# The repository's files (committed or not, never ignored ones: no build
# products), plus the packaging.
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$top" ls-files -z --cached --others --exclude-standard |
		(cd "$top" && tar --null -T - -cf - --ignore-failed-read) | tar -C "$src" -xf -
else
	tar -C "$top" --exclude=./out --exclude=./target --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
rm -rf "$src/packaging"
cp -r "$top/packaging/ip-vs-sync-auth/debian" "$src/debian"
log "building ip-vs-sync-auth $version"
if ! (cd "$src" && dpkg-buildpackage -us -uc >"$work/dkms-build.log" 2>&1); then
	cat "$work/dkms-build.log" >&2
	die "dpkg-buildpackage of ip-vs-sync-auth failed"
fi
run_lintian "$work/ip-vs-sync-auth_${version}_amd64.changes"
# Without dh_dkms's maintainer scripts the package installs the sources and
# nothing builds them: fail here rather than on a director.
postinst=$(dpkg-deb -I "$work/ip-vs-sync-auth-dkms_${version}_all.deb" postinst) ||
	die "ip-vs-sync-auth-dkms has no postinst"
grep -q '/usr/lib/dkms/common.postinst' <<<"$postinst" ||
	die "ip-vs-sync-auth-dkms has no DKMS postinst (dh_dkms found no dkms.conf)"
# The unit's Documentation= links must point at files the package has.
unit_docs=$(sed -n 's|^Documentation=.*file://\([^ ]*\).*|\1|p' "$top/deploy/ip-vs-sync-auth.service")
# The listing first: grep -q would end the pipe early (pipefail).
listing=$(dpkg-deb -c "$work/ip-vs-sync-auth-dkms_${version}_all.deb")
for f in $unit_docs; do
	grep -q " \.$f\$" <<<"$listing" ||
		die "ip-vs-sync-auth.service's Documentation=file://$f is not in ip-vs-sync-auth-dkms"
done
cp "$work/ip-vs-sync-auth-dkms_${version}_all.deb" "$out/"

# --- ipvsadm ---------------------------------------------------------------
dl="$work/dl"
mkdir -p "$dl"
chown _apt "$dl" 2>/dev/null || true
log "fetching Debian's ipvsadm source package (bookworm)"
(cd "$dl" && apt-get source -q --download-only ipvsadm/bookworm >"$work/apt-source.log" 2>&1) || true
dsc=$(ls "$dl"/ipvsadm_*.dsc 2>/dev/null | head -n 1)
[ -n "$dsc" ] || { cat "$work/apt-source.log" >&2; die "apt-get source ipvsadm: no .dsc (is the deb-src entry there? scripts/build-ipvsadm.sh adds it)"; }
debver=$(sed -n 's/^Version: //p' "$dsc")
upver=${debver#*:}
upver=${upver%-*}
orig="$dl/ipvsadm_$upver.orig.tar.gz"
[ -f "$orig" ] || die "apt-get source ipvsadm did not fetch $(basename "$orig")"
# The upstream tarball is checked against the .dsc either way.
want=$(awk '/^Checksums-Sha256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == f { print $1 }' \
	f="$(basename "$orig")" "$dsc")
[ "$(sha256sum "$orig" | cut -d' ' -f1)" = "$want" ] || die "$(basename "$orig") does not match $(basename "$dsc")"
tree="$work/ipvsadm-$upver"
if ls "$dl"/ipvsadm_*.debian.tar.* >/dev/null 2>&1; then
	log "Debian's source package ipvsadm $debver: complete"
	(cd "$work" && dpkg-source -x "$dsc" "$tree" >/dev/null) || die "dpkg-source -x $(basename "$dsc") failed"
	origin="Debian's source package $debver"
else
	log "Debian's ipvsadm_${debver#*:}.debian.tar.xz is not available from the mirror:" \
		"using its .dsc and upstream tarball with packaging/ipvsadm/debian (a reconstruction of $debver)"
	grep -q "^ipvsadm ($debver)" "$top/packaging/ipvsadm/debian/changelog" ||
		die "packaging/ipvsadm/debian is not Debian's $debver"
	mkdir -p "$tree"
	tar -xf "$orig" -C "$tree" --strip-components=1
	rm -rf "$tree/debian"
	cp -r "$top/packaging/ipvsadm/debian" "$tree/debian"
	origin="the upstream tarball of Debian's $debver with packaging/ipvsadm/debian"
fi
cp "$orig" "$work/"
for p in "$top"/ipvsadm/[0-9][0-9][0-9][0-9]-*.patch; do
	cp "$p" "$tree/debian/patches/"
	echo "$(basename "$p")" >>"$tree/debian/patches/series"
done
# Two fixes for lintian errors in Debian's packaging of 1:1.31-1 under
# bookworm's lintian, both named in the changelog entry below.
fixes=()
if grep -q 'lsb-base' "$tree/debian/control"; then
	sed -i 's/lsb-base (>= 3.0-6)/sysvinit-utils (>= 3.05-4~)/' "$tree/debian/control"
	fixes+=("Depend on sysvinit-utils (>= 3.05-4~), which has /lib/lsb/init-functions, instead of the obsolete lsb-base (lintian: depends-on-obsolete-package).")
fi
if grep -qx 'ipvsadm: no-upstream-changelog' "$tree/debian/ipvsadm.lintian-overrides" 2>/dev/null; then
	sed -i '/^ipvsadm: no-upstream-changelog$/d' "$tree/debian/ipvsadm.lintian-overrides"
	[ -s "$tree/debian/ipvsadm.lintian-overrides" ] || rm "$tree/debian/ipvsadm.lintian-overrides"
	fixes+=("Drop the override of no-upstream-changelog, a tag lintian no longer knows (lintian: alien-tag).")
fi
# A virtual package only this build provides: ip-vs-sync-auth-dkms depends
# on it, so that a later Debian ipvsadm (1:1.31-2 sorts above
# 1:1.31-1+syncauth5), which lacks --icv-key-file and --icv-key-clear,
# cannot satisfy the dependency and replace ours unnoticed.
sed -i '/^Package: ipvsadm$/a Provides: ipvsadm-syncauth (= 2)' "$tree/debian/control"
grep -qx 'Provides: ipvsadm-syncauth (= 2)' "$tree/debian/control" || die "cannot add Provides: ipvsadm-syncauth"
fixes+=("Provide ipvsadm-syncauth (= 2), the ipvsadm with --icv-key-file and --icv-key-clear that ip-vs-sync-auth-dkms depends on.")
# A changelog item: "  * TEXT", wrapped at 76 columns.
item() {
	echo "$*" | fold -s -w 72 | sed -e 's/ *$//' -e '1s/^/  * /' -e '2,$s/^/    /'
}
newver="$debver$SUFFIX"
{
	echo "ipvsadm ($newver) bookworm; urgency=medium"
	echo
	item "Non-maintainer upload by the ip_vs_sync_auth project."
	for p in "$top"/ipvsadm/[0-9][0-9][0-9][0-9]-*.patch; do
		item "Add $(basename "$p") to the series: $(head -n 1 "$p" | sed 's/^ipvsadm: //')."
	done
	for f in "${fixes[@]}"; do
		item "$f"
	done
	echo
	echo " -- $(dpkg-parsechangelog -l "$top/packaging/ip-vs-sync-auth/debian/changelog" -SMaintainer)  $(date -R)"
	echo
	cat "$tree/debian/changelog"
} >"$work/changelog"
mv "$work/changelog" "$tree/debian/changelog"
log "building ipvsadm $newver from $origin"
if ! (cd "$tree" && dpkg-buildpackage -us -uc >"$work/ipvsadm-build.log" 2>&1); then
	tail -n 60 "$work/ipvsadm-build.log" >&2
	die "dpkg-buildpackage of ipvsadm failed"
fi
run_lintian "$work/ipvsadm_${newver#*:}_amd64.changes"
deb="$work/ipvsadm_${newver#*:}_amd64.deb"
dpkg-deb -x "$deb" "$work/ipvsadm-root"
# Captured first: grep -q would end the pipe early (SIGPIPE, pipefail).
help=$("$work/ipvsadm-root/sbin/ipvsadm" --help 2>&1) || die "the packaged ipvsadm --help failed"
grep -q -- --icv-key-file <<<"$help" || die "the packaged ipvsadm has no --icv-key-file"
cp "$deb" "$out/"
echo "$origin" >"$out/ipvsadm-origin.txt"

log "packages in $out ($(($(date +%s) - start)) s):"
ls -l "$out"/*.deb >&2
