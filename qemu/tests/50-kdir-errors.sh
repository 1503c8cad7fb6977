# SPDX-License-Identifier: GPL-2.0
#
# `make KDIR=...` refuses a kernel tree it cannot build against with one
# line naming the reason, and a non-zero exit, before compiling anything:
# no such directory; Debian's real linux-headers-7.3.4 package (CONFIG_RUST=y
# but no Rust build products; unpacked with dpkg-deb -x, not installed);
# and stand-ins for the cached test kernel tree with one thing changed:
# Rust off, built by another rustc, no IPVS, no HMAC, no MD5. The unchanged
# tree is accepted. (Runs in the guest for make check; nothing here needs the
# guest's kernel.)
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

: "${KBUILD:?KBUILD not set (qemu/run.sh passes it)}"
hdr_dir=${IPVS_AUTH_CACHE:?}/debian-headers
ls "$hdr_dir"/linux-headers-*-amd64_*.deb >/dev/null 2>&1 ||
	fail "Debian's linux-headers .deb not in $hdr_dir (scripts/setup.sh downloads it)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# expect_refusal KDIR MESSAGE [VAR=VALUE...]: make must exit non-zero and
# print exactly one line of its own (make adds its "***" line), MESSAGE.
expect_refusal() {
	kdir=$1 want=$2
	shift 2
	env "$@" make -s -C "$IPVS_AUTH_TOP" KDIR="$kdir" >"$work/out" 2>&1 && fail "make KDIR=$kdir succeeded"
	grep -v '^make: \*\*\* ' "$work/out" >"$work/ours"
	n=$(wc -l <"$work/ours")
	[ "$n" = 1 ] || { cat "$work/out"; fail "make KDIR=$kdir printed $n lines, expected one"; }
	got=$(cat "$work/ours")
	[ "$got" = "ip_vs_sync_auth: KDIR=$kdir: $want" ] ||
		fail "make KDIR=$kdir said '$got', expected '...: $want'"
	info "refused: $got"
}

# A stand-in for the cached tree: links to the files kdir-check.sh reads
# (Makefile, rust/, include/config/kernel.release), with
# include/config/auto.conf passed through the sed expression $2. Not a
# link for every file: include/config/ holds one per option, thousands,
# and linking them takes minutes in the guest.
shadow() {
	d=$work/$1
	mkdir -p "$d/include/config"
	ln -s "$KBUILD/Makefile" "$KBUILD/rust" "$KBUILD/.config" "$d/"
	ln -s "$KBUILD/include/config/kernel.release" "$d/include/config/"
	sed "$2" "$KBUILD/include/config/auto.conf" >"$d/include/config/auto.conf"
	cmp -s "$d/include/config/auto.conf" "$KBUILD/include/config/auto.conf" &&
		fail "shadow $1: the sed expression changed nothing"
	echo "$d"
}

# The unchanged tree passes every check (the module build itself is
# exercised by make check's build and by 52-dkms).
rel=$(RUSTC=/usr/bin/rustc BINDGEN=$IPVS_AUTH_CACHE/tools/bin/bindgen \
	"$IPVS_AUTH_TOP/scripts/kdir-check.sh" "$KBUILD") || fail "the cached tree is refused"
[ "$rel" = "$(cat "$KBUILD/include/config/kernel.release")" ] || fail "kdir-check printed '$rel'"
ok_tree=$(shadow same 's/^CONFIG_IP_VS=m$/CONFIG_IP_VS=y/')
RUSTC=/usr/bin/rustc BINDGEN=$IPVS_AUTH_CACHE/tools/bin/bindgen \
	"$IPVS_AUTH_TOP/scripts/kdir-check.sh" "$ok_tree" >/dev/null ||
	fail "a copy of the cached tree with IPVS built in is refused"
info "the cached tree (and a copy of it with IPVS built in) is accepted: $rel"

expect_refusal /nonexistent/kernel "no such directory"

# Debian's linux-headers as shipped: Rust-enabled, IPVS a module, no rust/.
for deb in "$hdr_dir"/linux-headers-*-amd64_*.deb; do
	dpkg-deb -x "$deb" "$work/debian" || fail "dpkg-deb -x $deb failed"
done
deb_kdir=$(ls -d "$work"/debian/usr/src/linux-headers-*-amd64)
grep -qx CONFIG_RUST=y "$deb_kdir/include/config/auto.conf" || fail "Debian's headers: CONFIG_RUST is not y"
grep -qx CONFIG_IP_VS=m "$deb_kdir/include/config/auto.conf" || fail "Debian's headers: CONFIG_IP_VS is not m"
[ -e "$deb_kdir/rust" ] && fail "Debian's headers now have rust/: update this test and the README"
info "$(basename "$deb_kdir"): CONFIG_RUST=y, CONFIG_IP_VS=m, no rust/ directory"
expect_refusal "$deb_kdir" "no Rust build products (rust/libcore.rmeta missing): out-of-tree Rust modules need the kernel's own build tree, not headers packaged without them (such as Debian's linux-headers)"

expect_refusal "$(shadow norust '/^CONFIG_RUST=y$/d')" \
	"the kernel was configured without Rust (CONFIG_RUST is not set)"

built=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT=//p' "$KBUILD/include/config/auto.conf" | tr -d '"')
[ "$built" = "$(/usr/bin/rustc --version)" ] || fail "the cached tree was built by '$built', not /usr/bin/rustc"
other="rustc 1.85.1 (4eb161250 2025-03-15) (built from a source tarball)"
expect_refusal "$(shadow otherrustc "s/^CONFIG_RUSTC_VERSION_TEXT=.*/CONFIG_RUSTC_VERSION_TEXT=$other/")" \
	"the kernel was built with '$other' but RUSTC=/usr/bin/rustc is '$built'; build with the same rustc (make KDIR=... RUSTC=/path/to/rustc)"

expect_refusal "$(shadow noipvs '/^CONFIG_IP_VS=/d')" \
	"the kernel has no IPVS (CONFIG_IP_VS is not set; it must be y or m)"
expect_refusal "$(shadow nohmac '/^CONFIG_CRYPTO_HMAC=/d')" \
	"the kernel lacks CONFIG_CRYPTO_HMAC (needed for HMAC-MD5; it must be y or m)"
expect_refusal "$(shadow nomd5 '/^CONFIG_CRYPTO_MD5=/d')" \
	"the kernel lacks CONFIG_CRYPTO_MD5 (needed for HMAC-MD5; it must be y or m)"
