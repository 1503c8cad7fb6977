#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make install` / `make uninstall`: puts the built ip_vs_sync_auth.ko into
# (or removes it from) $INSTALL_MOD_PATH/lib/modules/RELEASE/updates/ (Kbuild's
# modules_install keeps the path under the tree: updates/src/), then
# runs depmod there, so that a plain `modprobe ip_vs_sync_auth` finds it
# and loads ip_vs first. RELEASE is that of the kernel tree the module was
# built against: KDIR if given, else the cached test kernel. Installing
# does not build: run `make` (with the same KDIR) first.
#
#   scripts/install-module.sh install|uninstall
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# DKMS or a package's maintainer script may run us without HOME.
: "${HOME:=$(cd ~ && pwd)}"
export HOME
# shellcheck source=scripts/env.sh
. "$here/env.sh"

action=${1:?usage: install-module.sh install|uninstall}
if [ -n "${KDIR:-}" ]; then
	[ -d "$KDIR" ] || die "KDIR=$KDIR: no such directory"
	KBUILD=$KDIR
else
	KBUILD=$("$here/build-kernel.sh" --print)
fi
release=$(cat "$KBUILD/include/config/kernel.release" 2>/dev/null) ||
	die "KDIR=$KBUILD: no include/config/kernel.release (not a prepared kernel build tree)"
root=${INSTALL_MOD_PATH:-}
modlib="$root/lib/modules/$release"
ko="$top/src/ip_vs_sync_auth.ko"

case "$action" in
install)
	[ -f "$ko" ] || die "$ko is not built: run 'make${KDIR:+ KDIR=$KDIR}' first"
	vermagic=$(modinfo -F vermagic "$ko")
	[ "${vermagic%% *}" = "$release" ] ||
		die "$ko was built for ${vermagic%% *}, not $release: run 'make${KDIR:+ KDIR=$KDIR}' again"
	# Kbuild copies into $modlib/updates (INSTALL_MOD_DIR) and runs depmod
	# when the tree has a System.map; depmod again for trees without one.
	# shellcheck disable=SC2086
	make -s -C "$KBUILD" M="$top" $KMAKE_VARS INSTALL_MOD_PATH="$root" INSTALL_MOD_DIR=updates \
		modules_install >&2 || die "modules_install failed"
	installed=$(ls "$modlib"/updates/src/ip_vs_sync_auth.ko* 2>/dev/null | head -n 1)
	[ -n "$installed" ] || die "modules_install did not install $modlib/updates/src/ip_vs_sync_auth.ko"
	depmod -b "${root:-/}" "$release" || die "depmod failed for $modlib"
	grep -q '^updates/src/ip_vs_sync_auth\.ko[^:]*:' "$modlib/modules.dep" ||
		die "depmod did not list $installed in $modlib/modules.dep"
	log "installed $installed (modprobe ip_vs_sync_auth)"
	;;
uninstall)
	removed=0
	# Ours only: updates/dkms/ belongs to DKMS.
	for f in "$modlib"/updates/src/ip_vs_sync_auth.ko "$modlib"/updates/src/ip_vs_sync_auth.ko.*; do
		[ -e "$f" ] || continue
		rm -f "$f"
		removed=1
	done
	[ "$removed" = 1 ] || log "nothing to remove in $modlib/updates/src"
	rmdir "$modlib/updates/src" 2>/dev/null || true
	if [ -d "$modlib" ]; then
		depmod -b "${root:-/}" "$release" || die "depmod failed for $modlib"
	fi
	if grep -q '^ip_vs_sync_auth ' /proc/modules 2>/dev/null && [ -z "$root" ]; then
		log "uninstalled; the module is still loaded (modprobe -r ip_vs_sync_auth)"
	else
		log "uninstalled from $modlib"
	fi
	;;
*) die "usage: install-module.sh install|uninstall" ;;
esac
