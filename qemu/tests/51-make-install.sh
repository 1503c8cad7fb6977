# SPDX-License-Identifier: GPL-2.0
#
# `make install` puts the module under /lib/modules/RELEASE/updates and
# runs depmod, so that a plain `modprobe ip_vs_sync_auth` loads it, with
# ip_vs pulled in as its dependency; `modinfo` shows every parameter of the
# sources with its description; `modprobe -r` removes it; `make uninstall`
# takes it out again. INSTALL_MOD_PATH installs into another root, and so
# does `make KDIR=... install` (a KDIR that is no directory is refused).
#
# The guest's module tree is virtme-ng's, inside the read-only kernel
# build: the test first replaces it with a writable copy
# (qemu/lib/modtree.sh), which is what a real director's /lib/modules is.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/modtree.sh"

: "${KBUILD:?KBUILD not set (qemu/run.sh passes it)}"
rel=$(uname -r)
[ "$rel" = "$(cat "$KBUILD/include/config/kernel.release")" ] || fail "guest runs $rel, not the tree's release"
# The cached tree, without recomputing its key in the guest.
export IPVS_AUTH_KBUILD="$KBUILD"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
writable_modtree
modlib=$MODLIB
info "module tree $modlib (a writable copy)"

unload_module
unload_ip_vs || fail "cannot unload ip_vs: $(grep '^ip_vs ' /proc/modules)"
modprobe ip_vs_sync_auth 2>/dev/null && fail "modprobe found ip_vs_sync_auth before make install"

make -s -C "$IPVS_AUTH_TOP" install || fail "make install failed"
ko=$modlib/updates/src/ip_vs_sync_auth.ko
[ -f "$ko" ] || fail "make install did not create $ko"
grep -q "^updates/src/ip_vs_sync_auth.ko: .*kernel/net/netfilter/ipvs/ip_vs.ko" "$modlib/modules.dep" ||
	fail "modules.dep: $(grep ip_vs_sync_auth "$modlib/modules.dep")"
[ "$(modinfo -n ip_vs_sync_auth)" = "$ko" ] || fail "modinfo -n says $(modinfo -n ip_vs_sync_auth)"
info "installed: $(grep '^updates/src/ip_vs_sync_auth' "$modlib/modules.dep")"

# Every parameter the sources declare, with a description.
want=$( (sed -n 's/.*module_param\(_named\)\{0,1\}(\([a-z_0-9]*\),.*/\2/p' "$IPVS_AUTH_TOP"/src/*.c
	sed -n '/^    params: {/,/^    },/s/^        \([a-z_0-9]*\): [a-z0-9]* {$/\1/p' \
		"$IPVS_AUTH_TOP/src/ip_vs_sync_auth_main.rs") | sort)
[ -n "$want" ] || fail "found no parameter in the sources"
modinfo ip_vs_sync_auth | grep '^parm:'
got=$(modinfo -F parm ip_vs_sync_auth | cut -d: -f1 | sort)
[ "$got" = "$want" ] || fail "modinfo lists parameters '$(echo $got)', the sources '$(echo $want)'"
for p in $want; do
	desc=$(modinfo -F parm ip_vs_sync_auth | sed -n "s/^$p:\(.*\) ([a-z0-9]*)\$/\1/p")
	[ -n "$desc" ] || fail "parameter $p has no description"
done
info "modinfo: parameters $(echo $want), each with a description"

modprobe --show-depends ip_vs_sync_auth | grep -q "/ip_vs.ko" || fail "modprobe does not resolve ip_vs"
grep -q '^ip_vs ' /proc/modules && fail "ip_vs loaded before modprobe"
modprobe ip_vs_sync_auth || fail "modprobe ip_vs_sync_auth failed"
grep -q '^ip_vs_sync_auth ' /proc/modules || fail "modprobe did not load ip_vs_sync_auth"
grep -q '^ip_vs ' /proc/modules || fail "modprobe did not load ip_vs"
# (Rust module parameters have no sysfs file: rust/macros/module.rs
# registers them with perm 0, so modinfo above is where they show;
# ipsec_table_bits, a C parameter, has one: 62 reads it.)
info "plain modprobe loaded ip_vs and ip_vs_sync_auth"
modprobe -r ip_vs_sync_auth || fail "modprobe -r failed"
grep -q '^ip_vs_sync_auth ' /proc/modules && fail "still loaded after modprobe -r"
info "modprobe -r removed it"

make -s -C "$IPVS_AUTH_TOP" uninstall || fail "make uninstall failed"
[ -e "$ko" ] && fail "$ko still there after make uninstall"
grep -q ip_vs_sync_auth "$modlib/modules.dep" && fail "modules.dep still lists the module"
modprobe ip_vs_sync_auth 2>/dev/null && fail "modprobe still finds the module after make uninstall"
info "make uninstall removed it and ran depmod"

root=$work/root
make -s -C "$IPVS_AUTH_TOP" install INSTALL_MOD_PATH="$root" || fail "make install INSTALL_MOD_PATH failed"
[ -f "$root/lib/modules/$rel/updates/src/ip_vs_sync_auth.ko" ] || fail "nothing installed under $root"
grep -q '^updates/src/ip_vs_sync_auth.ko:' "$root/lib/modules/$rel/modules.dep" ||
	fail "no modules.dep under $root"
[ -e "$ko" ] && fail "INSTALL_MOD_PATH install wrote to $modlib"
make -s -C "$IPVS_AUTH_TOP" uninstall INSTALL_MOD_PATH="$root" || fail "make uninstall INSTALL_MOD_PATH failed"
[ -e "$root/lib/modules/$rel/updates/src/ip_vs_sync_auth.ko" ] && fail "uninstall left the module under $root"
info "INSTALL_MOD_PATH=$root: installed with its modules.dep, and uninstalled"

# The README's form with KDIR= (the tree the module was built against),
# and KDIR= naming no directory: refused, non-zero exit.
root=$work/root-kdir
make -s -C "$IPVS_AUTH_TOP" KDIR="$KBUILD" install INSTALL_MOD_PATH="$root" ||
	fail "make KDIR=$KBUILD install failed"
[ -f "$root/lib/modules/$rel/updates/src/ip_vs_sync_auth.ko" ] || fail "make KDIR=... install put nothing under $root"
make -s -C "$IPVS_AUTH_TOP" KDIR="$KBUILD" uninstall INSTALL_MOD_PATH="$root" ||
	fail "make KDIR=$KBUILD uninstall failed"
[ -e "$root/lib/modules/$rel/updates/src/ip_vs_sync_auth.ko" ] && fail "make KDIR=... uninstall left the module"
out=$(make -s -C "$IPVS_AUTH_TOP" KDIR=/nonexistent install 2>&1) && fail "make KDIR=/nonexistent install succeeded"
case $out in *"KDIR=/nonexistent: no such directory"*) ;; *) fail "make KDIR=/nonexistent install said: $out" ;; esac
info "make KDIR=... install and uninstall; KDIR=/nonexistent: $(echo "$out" | head -n 1)"
