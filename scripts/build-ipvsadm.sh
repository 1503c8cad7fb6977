#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds ipvsadm 1.31 (the upstream tarball of Debian bookworm's ipvsadm
# source package) with ipvsadm/0001-icv-key.patch applied, which adds
# `--icv-key KEY`, and the patches after it (0002-icv-key-file.patch:
# `--icv-key-file FILE`; 0003-icv-key-lifecycle.patch: `--icv-key-clear`,
# a key floor, clean-up when a daemon fails to start; 0004: the rollout mode
# on the auth line; 0005: -R stops at its first failed line), and installs it as
# $IPVS_AUTH_CACHE/ipvsadm/bin/ipvsadm.
# /usr/sbin/ipvsadm is left alone. Idempotent: rebuilds only when the patch
# or this script changed (sha256 stamp next to the binary).
#
# Prints the path of the binary on stdout (last line); the rest goes to stderr.
#
#   scripts/build-ipvsadm.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=scripts/env.sh
. "$here/env.sh"
# shellcheck source=scripts/apt.sh
. "$here/apt.sh"

IPVSADM_VERSION=1.31
PATCH="$top/ipvsadm/0001-icv-key.patch"
PATCHES=("$top"/ipvsadm/[0-9][0-9][0-9][0-9]-*.patch)
WORK="$IPVS_AUTH_CACHE/ipvsadm"
BIN="$WORK/bin/ipvsadm"
STAMP="$WORK/bin/ipvsadm.stamp"
SRC_LIST=/etc/apt/sources.list.d/ip_vs_sync_auth-src.sources
BUILD_DEPS=(gcc make patch pkg-config libnl-3-dev libnl-genl-3-dev libpopt-dev)

[ -f "$PATCH" ] || die "$PATCH is missing"

stamp=$(cat "${PATCHES[@]}" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)
if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp" ]; then
	log "ipvsadm $IPVSADM_VERSION with --icv-key: up to date in $BIN"
	echo "$BIN"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "the first build must run as root (it configures apt and installs packages)"

need_update=0
if has_bookworm_main deb-src; then
	log "deb-src for bookworm main: present"
else
	uri=$(bookworm_uri)
	[ -n "$uri" ] || die "no bookworm 'deb' entry in /etc/apt to take the mirror from"
	log "adding deb-src for bookworm main ($uri) in $SRC_LIST"
	cat >"$SRC_LIST" <<EOF
Types: deb-src
URIs: $uri
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	need_update=1
fi

mapfile -t missing < <(missing_packages "${BUILD_DEPS[@]}")

if [ "$need_update" = 1 ]; then
	log "apt-get update"
	apt-get update -q >/dev/null
fi

if [ "${#missing[@]}" -gt 0 ]; then
	log "installing build dependencies: ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >/dev/null; then
		# The package lists may be stale (never updated on this machine).
		log "install failed; apt-get update and retry"
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >/dev/null
	fi
else
	log "build dependencies: all present"
fi

mkdir -p "$WORK/bin"
tarball=$(find "$WORK" -maxdepth 1 -name "ipvsadm_$IPVSADM_VERSION.orig.tar.*" | head -n 1)
if [ -z "$tarball" ]; then
	log "fetching the upstream tarball of Debian's ipvsadm source package into $WORK"
	# Only the .orig tarball: Debian's packaging part is not needed (and has
	# been unavailable before). apt drops to _apt for downloads, which cannot
	# write into root's cache: fetch into a directory it owns, then move.
	dl=$(mktemp -d)
	trap 'rm -rf "$dl"' EXIT
	chown _apt "$dl" 2>/dev/null || true
	if ! (cd "$dl" && apt-get source -q --download-only --tar-only ipvsadm/bookworm >&2); then
		die "apt-get source failed (is the deb-src entry in $SRC_LIST usable?)"
	fi
	f=$(find "$dl" -maxdepth 1 -name "ipvsadm_$IPVSADM_VERSION.orig.tar.*" | head -n 1)
	[ -n "$f" ] || die "apt-get source did not produce ipvsadm_$IPVSADM_VERSION.orig.tar.*"
	tarball="$WORK/$(basename "$f")"
	mv "$f" "$tarball.tmp"
	chown root: "$tarball.tmp"
	mv "$tarball.tmp" "$tarball"
else
	log "upstream tarball: present ($tarball)"
fi

build="$WORK/build"
srcdir="$build/ipvsadm-$IPVSADM_VERSION"
log "unpacking $(basename "$tarball") into $build"
rm -rf "$build"
mkdir -p "$build"
tar -xf "$tarball" -C "$build"
[ -f "$srcdir/ipvsadm.c" ] || die "unexpected tarball layout: no $srcdir/ipvsadm.c"

for p in "${PATCHES[@]}"; do
	log "applying $(basename "$p")"
	patch -d "$srcdir" -p1 -s --no-backup-if-mismatch <"$p" >&2
done

log "building ipvsadm $IPVSADM_VERSION"
# Not -j: the upstream Makefile does not order libipvs before ipvsadm.
if ! make -C "$srcdir" >"$build/make.log" 2>&1; then
	cat "$build/make.log" >&2
	die "ipvsadm build failed"
fi
[ -x "$srcdir/ipvsadm" ] || die "the build did not produce $srcdir/ipvsadm"

log "installing $BIN"
install -m 0755 "$srcdir/ipvsadm" "$BIN.tmp"
mv -f "$BIN.tmp" "$BIN"
# The help text first: "--help | grep -q" ends the pipe at the first match,
# ipvsadm's second write then dies of SIGPIPE and pipefail fails the check
# (this failed a CI run once the help text passed 4 KiB).
help=$("$BIN" --help 2>&1) || die "$BIN --help failed"
for opt in --icv-key --icv-key-file --icv-key-clear; do
	grep -q -- "$opt" <<<"$help" || die "$BIN has no $opt option"
done
echo "$stamp" >"$STAMP"
"$BIN" --version >&2
echo "$BIN"
