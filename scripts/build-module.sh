#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds ip_vs_sync_auth.ko out of tree against the cached kernel build, with
# the kernel's clippy lints on (CLIPPY=1). Any compiler or clippy warning
# fails the build: the module must stay warning-free.
#
# With KDIR set (`make KDIR=/path/to/kernel/build`), builds against that
# kernel build tree instead, after scripts/kdir-check.sh has accepted it,
# with RUSTC and BINDGEN taken from the environment (make's command line)
# when given; no kernel is built, no clippy, warnings are shown, not fatal.
#
#   scripts/build-module.sh [clean]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kdir_rustc=${RUSTC:-} kdir_bindgen=${BINDGEN:-}
# DKMS or a package's maintainer script may run us without HOME.
: "${HOME:=$(cd ~ && pwd)}"
export HOME
# shellcheck source=scripts/env.sh
. "$here/env.sh"

if [ -n "${KDIR:-}" ]; then
	RUSTC=${kdir_rustc:-$RUSTC}
	if [ -n "$kdir_bindgen" ]; then
		BINDGEN=$kdir_bindgen
	elif ! [ -x "$BINDGEN" ]; then
		BINDGEN=$(command -v bindgen || echo bindgen)
	fi
	KMAKE_VARS="RUSTC=$RUSTC HOSTRUSTC=$RUSTC BINDGEN=$BINDGEN"
	[ -d "$RUST_LIB_SRC" ] && KMAKE_VARS="$KMAKE_VARS RUST_LIB_SRC=$RUST_LIB_SRC"
	RUSTC=$RUSTC BINDGEN=$BINDGEN "$here/kdir-check.sh" "$KDIR" >/dev/null || exit 1
	KBUILD=$(cd "$KDIR" && pwd)
	if [ "${1:-}" = clean ]; then
		# shellcheck disable=SC2086
		make -s -C "$KBUILD" M="$top" $KMAKE_VARS clean
		exit 0
	fi
	# shellcheck disable=SC2086
	make -C "$KBUILD" M="$top" $KMAKE_VARS -j"$(nproc)" modules >&2 || die "module build failed (KDIR=$KDIR)"
	ko="$top/src/ip_vs_sync_auth.ko"
	[ -f "$ko" ] || die "$ko was not produced"
	modinfo "$ko" | grep -E '^(name|depends|vermagic):' >&2
	echo "$ko"
	exit 0
fi

KBUILD=$("$here/build-kernel.sh" --print)
[ -f "$KBUILD/.ip_vs_sync_auth-built" ] || KBUILD=$("$here/build-kernel.sh")

if [ "${1:-}" = clean ]; then
	# shellcheck disable=SC2086
	make -s -C "$KBUILD" M="$top" $KMAKE_VARS clean
	exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086
if ! make -C "$KBUILD" M="$top" $KMAKE_VARS CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver \
	-j"$(nproc)" modules >"$log" 2>&1; then
	cat "$log" >&2
	die "module build failed"
fi
if grep -qiE '(^|[^a-z_])(warning|error)(\[|:)' "$log"; then
	cat "$log" >&2
	die "module build produced warnings"
fi
grep -E '^\s+(CC|RUSTC|BINDGEN|LD|MODPOST|CLIPPY)' "$log" >&2 || true
ko="$top/src/ip_vs_sync_auth.ko"
[ -f "$ko" ] || die "$ko was not produced"
modinfo "$ko" | grep -E '^(name|depends|license|vermagic):' >&2
echo "$ko"
