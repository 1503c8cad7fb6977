#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# One-time, idempotent set-up of a Debian bookworm x86_64 machine for building
# and testing ip_vs_sync_auth. Safe to run again: it installs only what is
# missing and says what it installs.
#
#   - Debian packages (bookworm; only linux-source-7.3 from trixie-backports,
#     which is added with pin priority 50 so nothing else is pulled from it)
#   - bindgen-cli (pinned) built with cargo into $IPVS_AUTH_CACHE/tools
#   - virtme-ng (pinned) from PyPI in a venv at $IPVS_AUTH_CACHE/venv
#   - the kernel source, unpacked into $IPVS_AUTH_CACHE/src
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"
# shellcheck source=scripts/apt.sh
. "$here/apt.sh"

[ "$(id -u)" = 0 ] || die "set-up must run as root (it installs Debian packages)"
[ "$(uname -m)" = x86_64 ] || die "only x86_64 is supported"
grep -q 'bookworm' /etc/os-release || log "warning: this is not Debian bookworm; continuing anyway"

PACKAGES=(
	# Toolchain for the kernel and its Rust support.
	rustc-web cargo-web rust-web-src rust-web-clippy rustfmt-web libclang-19-dev clang-19 gcc make
	bc bison flex libelf-dev libssl-dev dwarves cpio kmod rsync xz-utils
	# virtme-ng and the guest.
	python3 python3-venv qemu-system-x86 udev busybox-static
	# Tests: the real tools users run, plus traffic helpers.
	ipvsadm iproute2 socat procps keepalived ethtool
	# Real VPN software through the IPsec gate (qemu/tests/59): strongSwan's
	# charon and swanctl, iptables (iptables-legacy) for its NAT namespace.
	# The test starts its own charon per namespace in the guest. On a host
	# with systemd, strongswan-starter (a dependency) enables its own
	# charon there; without systemd nothing is started.
	strongswan-charon strongswan-swanctl iptables
	# Deployment tests: Debian's DKMS builds and installs the module.
	dkms
)

sources=/etc/apt/sources.list.d/ip_vs_sync_auth-trixie-backports.sources
pin=/etc/apt/preferences.d/ip_vs_sync_auth-trixie-backports
need_update=0

if [ ! -f "$sources" ]; then
	# Reuse the mirror this machine already uses for bookworm, so that no
	# host name is hard-coded here.
	[ -n "$(bookworm_uri)" ] || die "cannot find the Debian mirror in /etc/apt; add trixie-backports by hand"
	log "adding the trixie-backports suite (for $KERNEL_SRC_PKG only) at pin priority 50"
	cat >"$sources" <<EOF
Types: deb
URIs: $(bookworm_uri)
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	need_update=1
fi
if [ ! -f "$pin" ]; then
	cat >"$pin" <<EOF
Package: *
Pin: release n=trixie-backports
Pin-Priority: 50
EOF
	need_update=1
fi

mapfile -t missing < <(missing_packages "${PACKAGES[@]}")
ksrc_installed=$(dpkg-query -W -f='${Status} ${Version}' "$KERNEL_SRC_PKG" 2>/dev/null || true)
# shellcheck disable=SC2254 # the version is a glob on purpose
case "$ksrc_installed" in
"install ok installed "$KERNEL_SRC_PKG_VERSION_GLOB) ;;
*) missing+=("$KERNEL_SRC_PKG") ;;
esac

if [ "${#missing[@]}" -gt 0 ] || [ "$need_update" = 1 ]; then
	log "apt-get update"
	apt-get update -q >/dev/null
fi

if [ "${#missing[@]}" -gt 0 ]; then
	install=()
	for p in "${missing[@]}"; do
		if [ "$p" = "$KERNEL_SRC_PKG" ]; then
			v=$(apt-cache madison "$KERNEL_SRC_PKG" | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
				grep -E "^${KERNEL_SRC_PKG_VERSION_GLOB//\*/.*}$" | head -n 1 || true)
			[ -n "$v" ] || die "$KERNEL_SRC_PKG $KERNEL_VERSION is not available from trixie-backports"
			install+=("$KERNEL_SRC_PKG=$v")
		else
			install+=("$p")
		fi
	done
	log "installing Debian packages: ${install[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${install[@]}" >/dev/null
else
	log "Debian packages: all present"
fi

[ -x "$RUSTC" ] || die "$RUSTC missing after install"
[ -d "$RUST_LIB_SRC" ] || die "$RUST_LIB_SRC missing (rust-web-src $RUST_WEB_VERSION expected)"
"$RUSTC" --version | grep -q "^rustc $RUST_WEB_VERSION" ||
	die "unexpected $( "$RUSTC" --version ), expected $RUST_WEB_VERSION"

mkdir -p "$TOOLS_DIR"
if ! "$BINDGEN" --version 2>/dev/null | grep -q "bindgen $BINDGEN_VERSION\$"; then
	log "building bindgen-cli $BINDGEN_VERSION into $TOOLS_DIR (about 1.5 minutes)"
	cargo install -q bindgen-cli --version "$BINDGEN_VERSION" --locked --root "$TOOLS_DIR"
else
	log "bindgen-cli $BINDGEN_VERSION: present"
fi

if ! "$VENV_DIR/bin/vng" --version 2>/dev/null | grep -q "$VNG_VERSION"; then
	log "installing virtme-ng $VNG_VERSION from PyPI into $VENV_DIR"
	/usr/bin/python3 -m venv "$VENV_DIR"
	"$VENV_DIR/bin/pip" install -q --disable-pip-version-check "virtme-ng==$VNG_VERSION"
else
	log "virtme-ng $VNG_VERSION: present"
fi

if [ ! -f "$KSRC/.unpacked" ]; then
	tarball=$(dpkg -L "$KERNEL_SRC_PKG" | grep -E '\.tar\.xz$' | head -n 1)
	[ -n "$tarball" ] || die "no tarball in $KERNEL_SRC_PKG"
	log "unpacking $tarball into $KSRC"
	rm -rf "$KSRC" "$KSRC.tmp"
	mkdir -p "$KSRC.tmp"
	tar -xJf "$tarball" -C "$KSRC.tmp" --strip-components=1
	mv "$KSRC.tmp" "$KSRC"
	grep -q "^VERSION = ${KERNEL_VERSION%%.*}\$" "$KSRC/Makefile" || die "unexpected kernel source in $KSRC"
	touch "$KSRC/.unpacked"
else
	log "kernel source $KERNEL_VERSION: present in $KSRC"
fi

# Debian's own linux-headers for this kernel, downloaded (never installed):
# test 50 unpacks them to show that `make KDIR=` refuses, in one line, a
# tree without Rust build products.
hdr_dir="$IPVS_AUTH_CACHE/debian-headers"
hdr_ver=$(dpkg-query -W -f='${Version}' "$KERNEL_SRC_PKG")
if ! ls "$hdr_dir"/linux-headers-*-amd64_*.deb "$hdr_dir"/linux-headers-*-common_*.deb >/dev/null 2>&1; then
	log "downloading Debian's linux-headers $hdr_ver (not installed) into $hdr_dir"
	# apt downloads as _apt, which cannot write under root's home.
	dl=$(mktemp -d)
	chown _apt "$dl" 2>/dev/null || true
	(cd "$dl" && apt-get download -q \
		"linux-headers-$KERNEL_VERSION+deb13-amd64=$hdr_ver" \
		"linux-headers-$KERNEL_VERSION+deb13-common=$hdr_ver" >/dev/null) ||
		die "apt-get download of linux-headers-$KERNEL_VERSION+deb13-amd64 $hdr_ver failed"
	rm -rf "$hdr_dir" "$hdr_dir.tmp"
	mkdir -p "$hdr_dir.tmp"
	mv "$dl"/*.deb "$hdr_dir.tmp"/
	rm -rf "$dl"
	mv "$hdr_dir.tmp" "$hdr_dir"
else
	log "Debian's linux-headers $hdr_ver: downloaded in $hdr_dir"
fi

log "set-up complete"
