#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench-compare BASE=REV`: runs `make bench` for REV (a commit of this
# repository, checked out in a temporary worktree and built against the
# same cached kernel) and then for this tree, one right after the other on
# this machine, and prints every figure of both with its ratio
# (scripts/bench-compare.py). Used to show that a rewrite costs no speed:
# e.g. BASE=29e7ece, the last commit whose kernel-facing code was C.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
base=${BASE:?usage: make bench-compare BASE=REV}
rev=$(git -C "$top" rev-parse --verify "$base^{commit}") || exit 1
wt=$(mktemp -d /tmp/ipvsa-bench-base.XXXXXX)
trap 'git -C "$top" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"' EXIT
git -C "$top" worktree add -q --detach "$wt" "$rev"

printf '\n== make bench, base %s (%s)\n' "$(git -C "$top" log -1 --format='%h %s' "$rev")" "$(date +%T)"
make -C "$wt" bench
printf '\n== make bench, this tree (%s)\n' "$(date +%T)"
make -C "$top" bench
mkdir -p "$top/out"
cp "$wt/out/bench.txt" "$top/out/bench-base.txt"

printf '\n== base %s vs this tree (%s)\n' "$(git -C "$top" rev-parse --short "$rev")" \
	"$(git -C "$top" describe --always --dirty)"
python3 "$here/bench-compare.py" "$top/out/bench-base.txt" "$top/out/bench.txt" | tee "$top/out/bench-compare.txt"
