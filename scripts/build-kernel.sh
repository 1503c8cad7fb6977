#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the test kernel into a cache directory outside the repository, keyed
# by kernel version, config fragment and toolchain versions, and prints that
# directory on stdout. A cached build is reused as is.
#
#   scripts/build-kernel.sh            build (or reuse) and print KBUILD
#   scripts/build-kernel.sh --print    only print the KBUILD it would use
#
# IPVS_AUTH_VARIANT=debug selects the debug variant: qemu/kernel.config plus
# qemu/kernel-debug.config (lockdep, kmemleak, ...), cached under its own key;
# IPVS_AUTH_VARIANT=kasan adds qemu/kernel-kasan.config (KASAN) on top.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=scripts/env.sh
. "$here/env.sh"

# Bump when the configuration recipe below changes meaning.
RECIPE=1
FRAGMENT="$top/qemu/kernel.config"
VARIANT=${IPVS_AUTH_VARIANT:-}
case "$VARIANT" in
"") ;;
debug)
	mkdir -p "$IPVS_AUTH_CACHE/kbuild"
	combined="$IPVS_AUTH_CACHE/kbuild/fragment-debug.config"
	cat "$FRAGMENT" "$top/qemu/kernel-debug.config" >"$combined"
	FRAGMENT=$combined
	;;
kasan)
	mkdir -p "$IPVS_AUTH_CACHE/kbuild"
	combined="$IPVS_AUTH_CACHE/kbuild/fragment-kasan.config"
	cat "$FRAGMENT" "$top/qemu/kernel-debug.config" "$top/qemu/kernel-kasan.config" >"$combined"
	FRAGMENT=$combined
	;;
*) die "unknown IPVS_AUTH_VARIANT '$VARIANT' (known: debug, kasan)" ;;
esac

[ -f "$KSRC/.unpacked" ] || die "kernel source missing: run scripts/setup.sh first"

key_input() {
	echo "recipe $RECIPE"
	echo "kernel $KERNEL_VERSION $(dpkg-query -W -f='${Version}' linux-source-7.3 2>/dev/null)"
	grep -vE '^\s*(#|$)' "$FRAGMENT"
	"$RUSTC" --version
	"$BINDGEN" --version
	gcc --version | head -n 1
	clang-19 --version | head -n 1
	vng --version
}
key=$(key_input | sha256sum | cut -c1-16)
KBUILD="$IPVS_AUTH_CACHE/kbuild/$KERNEL_VERSION${VARIANT:+-$VARIANT}-$key"

# For experiments: use another (already built) kernel tree.
if [ -n "${IPVS_AUTH_KBUILD:-}" ]; then
	KBUILD=$IPVS_AUTH_KBUILD
fi

if [ "${1:-}" = --print ]; then
	echo "$KBUILD"
	exit 0
fi

stamp="$KBUILD/.ip_vs_sync_auth-built"
if [ -f "$stamp" ]; then
	log "reusing cached kernel build $KBUILD"
	echo "$KBUILD"
	exit 0
fi

mkdir -p "$IPVS_AUTH_CACHE/kbuild"
exec 9>"$IPVS_AUTH_CACHE/kbuild/.lock"
log "waiting for the kernel build lock" && flock 9
if [ -f "$stamp" ]; then
	echo "$KBUILD"
	exit 0
fi

start=$(date +%s)
mkdir -p "$KBUILD"
key_input >"$KBUILD/.ip_vs_sync_auth-key"
log "configuring Linux $KERNEL_VERSION in $KBUILD"
# x86_64 defconfig + virtme-ng's needs + our fragment, then olddefconfig.
# shellcheck disable=SC2086 # KMAKE_VARS is a list of make variables
(cd "$KSRC" && vng --kconfig --config "$FRAGMENT" O="$KBUILD" $KMAKE_VARS) >"$KBUILD/.config-log" 2>&1 ||
	{ cat "$KBUILD/.config-log" >&2; die "vng --kconfig failed"; }
# virtme-ng appends its own block, which turns debug info back on.
"$KSRC/scripts/config" --file "$KBUILD/.config" \
	-d DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT -d DEBUG_INFO_DWARF4 -d DEBUG_INFO_DWARF5 \
	-e DEBUG_INFO_NONE -d DEBUG_INFO_BTF
# shellcheck disable=SC2086
make -s -C "$KSRC" O="$KBUILD" $KMAKE_VARS olddefconfig >>"$KBUILD/.config-log" 2>&1

# Fail loudly if something essential did not survive olddefconfig.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=y | CONFIG_*=m)
		if ! grep -qx "$line" "$KBUILD/.config"; then
			log "config: $line did not survive olddefconfig (have: $(grep -E "^(# )?${line%%=*}[= ]" "$KBUILD/.config" || echo unset))"
			bad=1
		fi
		;;
	esac
done < <(grep -vE '^\s*(#|$)' "$FRAGMENT")
for must in CONFIG_RUST=y CONFIG_KUNIT=y CONFIG_IP_VS=m CONFIG_DEBUG_INFO_NONE=y; do
	grep -qx "$must" "$KBUILD/.config" || die "$must is missing from the kernel config (is the Rust toolchain visible to make?)"
done
[ "$bad" = 0 ] || die "kernel config fragment not applied; see above"

log "building Linux $KERNEL_VERSION with make -j$(nproc) (about 12 minutes on 2 cores; log: $KBUILD/.build-log)"
# shellcheck disable=SC2086
if ! make -C "$KSRC" O="$KBUILD" $KMAKE_VARS -j"$(nproc)" >"$KBUILD/.build-log" 2>&1; then
	tail -n 40 "$KBUILD/.build-log" >&2
	die "kernel build failed"
fi
end=$(date +%s)
echo "$((end - start))" >"$KBUILD/.ip_vs_sync_auth-build-seconds"
touch "$stamp"
log "kernel built in $((end - start)) s: $KBUILD"
echo "$KBUILD"
