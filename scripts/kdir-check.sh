#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Can ip_vs_sync_auth be built against this kernel build tree? Checks, in
# order, and stops at the first failure with one line on stderr and exit
# status 1:
#
#   - KDIR is a directory holding a configured, prepared kernel build tree
#     (include/config/auto.conf, what Kbuild reads for out-of-tree modules);
#   - the kernel has Rust support (CONFIG_RUST=y);
#   - the tree has the Rust build products an out-of-tree Rust module links
#     against (rust/libcore.rmeta, rust/libkernel.rmeta, rust/libmacros.so:
#     Debian's linux-headers packages, for one, ship none);
#   - $RUSTC is the rustc the kernel was built with
#     (CONFIG_RUSTC_VERSION_TEXT): Rust metadata is specific to one compiler;
#   - bindgen ($BINDGEN) runs;
#   - IPVS (CONFIG_IP_VS), HMAC and MD5 are built in or modules.
#
# On success prints the tree's kernel release on stdout.
#
#   RUSTC=... BINDGEN=... scripts/kdir-check.sh KDIR
set -uo pipefail

kdir=${1:?usage: kdir-check.sh KDIR}
RUSTC=${RUSTC:-rustc}
BINDGEN=${BINDGEN:-bindgen}

die() {
	printf 'ip_vs_sync_auth: KDIR=%s: %s\n' "$kdir" "$*" >&2
	exit 1
}

[ -d "$kdir" ] || die "no such directory"
[ -f "$kdir/Makefile" ] || die "not a kernel build tree (no Makefile)"
conf=$kdir/include/config/auto.conf
[ -f "$conf" ] || die "not a configured and prepared kernel build tree (no include/config/auto.conf; run 'make modules_prepare' in it)"

# The value of CONFIG_$1 in the tree's configuration ("" if not set).
config() {
	sed -n "s/^CONFIG_$1=//p" "$conf" | tail -n 1
}

[ "$(config RUST)" = y ] || die "the kernel was configured without Rust (CONFIG_RUST is not set)"

for f in rust/libcore.rmeta rust/libkernel.rmeta rust/libmacros.so; do
	[ -f "$kdir/$f" ] ||
		die "no Rust build products ($f missing): out-of-tree Rust modules need the kernel's own build tree, not headers packaged without them (such as Debian's linux-headers)"
done

built_with=$(config RUSTC_VERSION_TEXT | sed 's/^"//; s/"$//')
have=$("$RUSTC" --version 2>/dev/null) || die "cannot run rustc '$RUSTC' (set RUSTC=)"
[ "$have" = "$built_with" ] ||
	die "the kernel was built with '$built_with' but RUSTC=$RUSTC is '$have'; build with the same rustc (make KDIR=... RUSTC=/path/to/rustc)"

"$BINDGEN" --version >/dev/null 2>&1 || die "cannot run bindgen '$BINDGEN' (set BINDGEN=)"

case "$(config IP_VS)" in
y | m) ;;
*) die "the kernel has no IPVS (CONFIG_IP_VS is not set; it must be y or m)" ;;
esac
for c in CRYPTO_HMAC CRYPTO_MD5; do
	case "$(config "$c")" in
	y | m) ;;
	*) die "the kernel lacks CONFIG_$c (needed for HMAC-MD5; it must be y or m)" ;;
	esac
done

release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null) ||
	die "no include/config/kernel.release (run 'make modules_prepare' in it)"
echo "$release"
