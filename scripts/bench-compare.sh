#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench-compare BASE=REV`: builds the module of REV (a commit of this
# repository, checked out in a temporary worktree, against this tree's
# kernel build, which the guest boots) and of this tree, runs the
# in-kernel benchmark of both in one guest, alternating base and new for
# BENCH_ROUNDS rounds (default 3), and prints every figure with its
# ratio, the best of the rounds on each side, and the median and range of
# the ratios of each round's pair (scripts/bench-compare.py).
# Alternating in one guest keeps a change in the host's load from landing
# on one side only. Used to show that a rewrite costs no speed: e.g.
# BASE=29e7ece, the last commit whose kernel-facing code was C. The
# sync-convergence and ESP-forwarding figures are `make bench`'s, not
# compared here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
base=${BASE:?usage: make bench-compare BASE=REV}
rev=$(git -C "$top" rev-parse --verify "$base^{commit}") || exit 1
wt=$(mktemp -d /tmp/ipvsa-bench-base.XXXXXX)
trap 'git -C "$top" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"' EXIT
git -C "$top" worktree add -q --detach "$wt" "$rev"
# A base whose benchmark lacks what this tree's does to time both alike
# gets it from scripts/bench-compare-REV.patch (REV names the base's
# commit, e.g. its short hash): 29e7ece's gate benchmark gets the warm-up
# table this tree's runs before its timed rows. Only the benchmark
# changes, not the code timed.
patch=
for p in "$here"/bench-compare-*.patch; do
	[ -f "$p" ] || continue
	name=${p##*/bench-compare-}
	name=${name%.patch}
	if [ "$(git -C "$top" rev-parse --verify -q "$name^{commit}" || true)" = "$rev" ]; then
		patch=$p
	fi
done
if [ -n "$patch" ]; then
	printf '\n== base: applying %s (benchmark only)\n' "${patch#"$top"/}"
	git -C "$wt" apply "$patch"
fi

make -C "$top" module
# The base module is built against this tree's kernel build, the one the
# guest boots: the base's own kernel configuration may differ (and would
# cost a kernel build), and a module must match the kernel it is loaded in.
# shellcheck source=scripts/env.sh
. "$here/env.sh"
kbuild=$("$here/build-kernel.sh" --print)
printf '\n== building the base module %s against %s (%s)\n' \
	"$(git -C "$top" log -1 --format='%h %s' "$rev")" "$kbuild" "$(date +%T)"
# shellcheck disable=SC2086
make -C "$kbuild" M="$wt" $KMAKE_VARS -j"$(nproc)" modules
rounds=${BENCH_ROUNDS:-3}
out="$top/out"
mkdir -p "$out"
rm -f "$out"/bench-base-*.txt "$out"/bench-new-*.txt
printf '\n== one guest: the in-kernel benchmark, base and this tree alternating, %s rounds (%s)\n' \
	"$rounds" "$(date +%T)"
cp "$wt/src/ip_vs_sync_auth.ko" "$out/bench-base.ko"
BENCH_BASE_KO="$out/bench-base.ko" BENCH_ROUNDS="$rounds" \
	IPVS_AUTH_OUT="$out" "$top/qemu/run.sh" "$top/qemu/bench-compare.sh"

printf '\n== base %s vs this tree (%s), best of %s rounds each\n' "$(git -C "$top" rev-parse --short "$rev")" \
	"$(git -C "$top" describe --always --dirty)" "$rounds"
python3 "$here/bench-compare.py" "$out"/bench-base-*.txt -- "$out"/bench-new-*.txt | tee "$out/bench-compare.txt"
