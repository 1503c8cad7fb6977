#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Copies what DKMS needs to build ip_vs_sync_auth.ko into DEST (by
# convention /usr/src/ip_vs_sync_auth-VERSION, VERSION being dkms.conf's
# PACKAGE_VERSION): dkms.conf, the top-level Makefile and Kbuild, the module
# sources (src/, without generated files and host-test data) and the build
# scripts. Used by the DKMS test (qemu/tests/52-dkms.sh) and by the Debian
# package (packaging/ip-vs-sync-auth/debian/rules).
#
#   scripts/dkms-source.sh DEST
#   scripts/dkms-source.sh --version     print PACKAGE_VERSION
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
[ -n "$version" ] || { echo "dkms-source.sh: no PACKAGE_VERSION in dkms.conf" >&2; exit 1; }
if [ "${1:-}" = --version ]; then
	echo "$version"
	exit 0
fi
dest=${1:?usage: dkms-source.sh DEST | --version}

mkdir -p "$dest/src" "$dest/scripts"
dest=$(cd "$dest" && pwd)
install -m 0644 "$top/dkms.conf" "$top/Makefile" "$top/Kbuild" "$dest/"
(
	cd "$top/src"
	# The module's sources: Kbuild, C, headers and Rust (the pure crate in
	# proto/ is compiled into the module), not what the build generates.
	find . \( -name '*.rs' -o -name '*.c' -o -name '*.h' -o -name Kbuild \) \
		! -name '*_generated.rs' ! -name '*.mod.c' -print |
		while IFS= read -r f; do
			install -D -m 0644 "$f" "$dest/src/$f"
		done
)
for s in env.sh build-module.sh kdir-check.sh install-module.sh; do
	install -m 0755 "$top/scripts/$s" "$dest/scripts/"
done
chmod 0644 "$dest/scripts/env.sh"
