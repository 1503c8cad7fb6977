#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Wire-layout guard: do IPVS's private sync structures still have the sizes
# and member offsets that the pure crate assumes (src/proto/ipvs_layout.rs)?
#
# IPVS declares them only inside net/netfilter/ipvs/ip_vs_sync.c, so they
# are read from that file's DWARF. The cached kernel build has no debug
# info (it would add minutes to every cold build and ~GBs to the cache), so
# the script recompiles that one file with -g, using Kbuild's own saved
# command line for it (same compiler, flags, config and headers), into a
# temporary object, and runs pahole on it. pahole reads plain C DWARF, so
# Debian's dwarves 1.24 is enough: the BTF and Rust DWARF that newer pahole
# versions are needed for never come into it.
#
#   scripts/wire-layout-guard.sh              compare, exit 1 on any difference
#   scripts/wire-layout-guard.sh --self-test  also prove the comparison fails
#                                              on a moved member
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=scripts/env.sh
. "$here/env.sh"

self_test=false
[ "${1:-}" = --self-test ] && self_test=true

die() {
	echo "wire-layout-guard: $*" >&2
	exit 1
}

command -v pahole >/dev/null || die "pahole not found (Debian package dwarves)"
kbuild=$("$here/build-kernel.sh" --print)
cmdfile="$kbuild/net/netfilter/ipvs/.ip_vs_sync.o.cmd"
[ -f "$cmdfile" ] || die "no $cmdfile: is CONFIG_IP_VS_* built in the cached kernel?"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Kbuild's command for ip_vs_sync.o, writing to our object instead, with
# debug info and without the dependency file.
cmd=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmdfile")
[ -n "$cmd" ] || die "no saved command in $cmdfile"
case "$cmd" in
*" -o net/netfilter/ipvs/ip_vs_sync.o "*) ;;
*) die "unexpected command line in $cmdfile" ;;
esac
cmd=${cmd/ -o net\/netfilter\/ipvs\/ip_vs_sync.o / -g -o $tmp\/ip_vs_sync.o }
cmd=$(sed -e 's/-Wp,-MMD,[^ ]*//' -e 's/ -g0 / /g' <<<"$cmd")
(cd "$kbuild" && eval "$cmd") || die "compiling ip_vs_sync.c with -g failed"

# pahole's view, in the form `cargo run --example ipvs_layout` prints:
#   <struct> size <bytes>
#   <struct>.<member> <offset> <size>
structs=(ip_vs_sync_mesg ip_vs_sync_mesg_v0 ip_vs_sync_v4 ip_vs_sync_v6
	ip_vs_sync_conn_v0 ip_vs_sync_conn_options)
for s in "${structs[@]}"; do
	pahole -C "$s" "$tmp/ip_vs_sync.o" >"$tmp/$s.pahole" || die "pahole failed on struct $s"
	[ -s "$tmp/$s.pahole" ] || die "struct $s not found in ip_vs_sync.c's DWARF"
	awk -v s="$s" '
		/^[ \t]*\/\* size: / { sz = $3; sub(/,/, "", sz); print s " size " sz; next }
		/;[ \t]*\/\*[ \t]*[0-9]+[ \t]+[0-9]+[ \t]*\*\// {
			line = $0
			decl = line; sub(/;.*/, "", decl)
			n = split(decl, w, /[ \t*]+/); name = w[n]; sub(/\[.*/, "", name)
			c = line; sub(/.*\/\*[ \t]*/, "", c); sub(/[ \t]*\*\/.*/, "", c)
			split(c, o, /[ \t]+/)
			print s "." name " " o[1] " " o[2]
		}' "$tmp/$s.pahole"
done >"$tmp/kernel.txt"

(cd "$top" && cargo run --locked -q --example ipvs_layout) >"$tmp/crate.txt" ||
	die "cargo run --example ipvs_layout failed"

# Same lines in the same order, or a difference to show. The size line
# comes last in pahole's output and first in the crate's: compare sorted.
compare() {
	diff -u --label "src/proto/ipvs_layout.rs" --label "pahole of $KERNEL_VERSION ip_vs_sync.c" \
		<(sort "$1") <(sort "$2")
}

if $self_test; then
	# Move one member in pahole's view: the comparison must notice.
	sed 's/^ip_vs_sync_mesg\.spare 6 2$/ip_vs_sync_mesg.spare 7 2/' "$tmp/kernel.txt" >"$tmp/moved.txt"
	cmp -s "$tmp/kernel.txt" "$tmp/moved.txt" && die "self-test: could not move ip_vs_sync_mesg.spare"
	if compare "$tmp/crate.txt" "$tmp/moved.txt" >/dev/null; then
		die "self-test: a moved member was not detected"
	fi
	echo "wire-layout-guard: self-test ok (a moved member is detected)"
fi

if ! compare "$tmp/crate.txt" "$tmp/kernel.txt"; then
	die "IPVS's sync structures differ from what the module assumes (see the diff above)"
fi
echo "wire-layout-guard: $(grep -c ' size ' "$tmp/kernel.txt") structures," \
	"$(grep -vc ' size ' "$tmp/kernel.txt") members match (pahole $(pahole --version))"
