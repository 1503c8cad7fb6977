#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: everything, from a fresh machine to a verdict.
#   set-up -> rustfmt -> clippy (host) -> cargo test -> kernel (cached)
#   -> wire-layout guard (pahole on IPVS's sync structs)
#   -> module build (kernel clippy lints, warnings fatal) -> KUnit in QEMU
#   -> integration tests in QEMU
# tests/tally.py counts the tests against the pin, tests/expected.txt
# (host tests, KUnit cases, integration tests by name): a pinned test that
# does not run or skips without leave is a failure. The lint, build and
# set-up steps are reported on a line of their own. Ends with one line
# "N passed, N failed, N skipped" (tests only) and exits non-zero if
# anything failed, a step included.
#
# IPVS_AUTH_TESTS (make check... TESTS="25 41"): run only these integration
# tests, each named by its number or its name; 99-kernel-log (the kernel
# log and kmemleak verdict) always runs last. For the slow kernel variants.
set -uo pipefail
# Nothing here reads the caller's standard input, but tools inherit it:
# cargo's rustc probe (`rustc -`) compiles whatever stdin holds and caches
# the failure in target/.rustc_info.json, which failed every later cargo
# step when make check was started with stdin attached to other output.
exec </dev/null
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cd "$top" || exit 1
# shellcheck source=scripts/env.sh
. "$here/env.sh"

out=${IPVS_AUTH_OUT:-$top/out}
mkdir -p "$out"
export IPVS_AUTH_OUT="$out"
# qemu/run.sh stops a guest after 80 minutes (a hung guest must not hang
# CI); the debug kernels run the same suite several times slower. On the
# debug kernel a guest of one CPU runs its half of the suite about twice
# as slowly as on the normal one (2026-12-02: 10, 22, 23 and 25 in 538 s
# against 290): a half of about 3 700 s needs more than the 2 hours this
# was.
case "${IPVS_AUTH_VARIANT:-}" in
debug) export IPVS_AUTH_VM_TIMEOUT=${IPVS_AUTH_VM_TIMEOUT:-14400} ;;
kasan) export IPVS_AUTH_VM_TIMEOUT=${IPVS_AUTH_VM_TIMEOUT:-43200} ;;
esac
# What each layer leaves for the tally (tests/tally.py): a missing .rc
# file means that layer did not run. Nothing from an earlier run may count.
pin="$top/tests/expected.txt"
rm -f "$out"/steps.txt "$out"/cargo-test.log "$out"/cargo-test.rc "$out"/kunit.ktap \
	"$out"/kunit.rc "$out"/integration.tap "$out"/integration.rc "$out"/integration-plan.txt
rm -rf "$out"/shard-*

# Lint, build and set-up steps: reported on their own line, apart from the
# tests' counts; a failed one fails make check.
step() {
	if [ "$2" = 0 ]; then
		printf 'PASS  %s\n' "$1"
		echo "ok $1" >>"$out/steps.txt"
	else
		printf 'FAIL  %s\n' "$1"
		echo "not ok $1" >>"$out/steps.txt"
	fi
}

# The verdict: every pinned test of tests/expected.txt, counted by the
# tally; a layer that did not run counts its pinned tests as failed. Its
# last line is "N passed, N failed, N skipped".
finish() {
	section "tally (tests/expected.txt)"
	python3 "$top/tests/tally.py" tally --pin "$pin" --tests-dir "$top/qemu/tests" \
		--out "$out" --select "${IPVS_AUTH_TESTS:-}" --ksrc "$KSRC" | tee "$out/tally.txt"
	rc=("${PIPESTATUS[@]}")
	# A tally that crashed must not leave a verdict line that says nothing
	# failed (or none at all).
	if [ "${rc[1]}" != 0 ] || ! tail -n 1 "$out/tally.txt" | grep -Eqx '[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' ||
		{ [ "${rc[0]}" != 0 ] && [ "${rc[0]}" != 1 ]; }; then
		echo "failed: the tally crashed (exit ${rc[0]})"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
	exit "${rc[0]}"
}

section() {
	printf '\n== %s (%s)\n' "$1" "$(date +%T)"
}

section "set-up"
if ! "$here/setup.sh" || ! "$here/build-ipvsadm.sh" >/dev/null; then
	step "set-up" 1
	finish
fi
step "set-up" 0

# The counting logic checks itself on synthetic results first (a removed
# test, a skip, a missing KTAP, a crashed guest, ...).
section "tally self-test"
python3 "$top/tests/test_tally.py"
step "tally self-test (tests/test_tally.py)" $?

# The integration plan comes from the pin, not from the guest's ls:
# TESTS="25 41" selects only those (then 99-kernel-log). Resolved before
# the kernel build: a typo should not cost one. The plan is cut into
# IPVS_AUTH_SHARDS guests (default 2) that run side by side: one guest
# kept the host 40-75 % busy while a test ran, and the whole suite in one
# guest outgrew the guest's 80-minute limit on a slow CI machine (2026-12-02).
# Each test goes to the guest with the least work so
# far, longest first, by the seconds in qemu/test-seconds.txt; each guest
# ends with its own 99-kernel-log.
shards=${IPVS_AUTH_SHARDS:-2}
case $shards in
'' | *[!0-9]* | 0)
	echo "IPVS_AUTH_SHARDS must be a positive integer, not '$shards'"
	step "integration plan (tests/expected.txt, TESTS)" 1
	finish
	;;
esac
if ! plan=$(python3 "$top/tests/tally.py" shard --pin "$pin" --tests-dir "$top/qemu/tests" \
	--select "${IPVS_AUTH_TESTS:-}" --shards "$shards" --costs "$top/qemu/test-seconds.txt" \
	${IPVS_AUTH_DEPLOY:+--deploy}); then
	step "integration plan (tests/expected.txt, TESTS)" 1
	finish
fi
step "integration plan (tests/expected.txt, TESTS)" 0
[ -n "${IPVS_AUTH_TESTS:-}" ] && echo "integration tests selected: $(echo "$plan" | awk '!s[$2]++ {sub(".*/", "", $2); printf "%s ", $2}')"

section "rustfmt"
if rustfmt_out=$(/usr/bin/rustfmt --check --edition 2021 --config-path "$top/.rustfmt.toml" \
	"$top"/src/ip_vs_sync_auth_main.rs "$top"/src/proto/lib.rs "$top"/examples/*.rs 2>&1); then
	step "rustfmt --check" 0
else
	echo "$rustfmt_out"
	step "rustfmt --check" 1
fi

section "host: clippy"
cargo clippy --locked --all-targets -q -- -D warnings
step "cargo clippy (pure crate, kernel lint set)" $?

section "host: cargo test"
cargo test --locked 2>&1 | tee "$out/cargo-test.log"
rc=("${PIPESTATUS[@]}")
echo "${rc[0]}" >"$out/cargo-test.rc"
[ "${rc[1]}" = 0 ] || step "saving the cargo test log" 1

section "kernel (cached)"
t0=$(date +%s)
if ! KBUILD=$("$here/build-kernel.sh"); then
	step "kernel build" 1
	finish
fi
step "kernel build" 0
echo "kernel: $KBUILD ($(($(date +%s) - t0)) s this run)"

section "wire layout of IPVS's sync structures (pahole)"
"$here/wire-layout-guard.sh" --self-test
step "wire-layout guard: IPVS sync structs match src/proto/ipvs_layout.rs" $?

section "module build (CLIPPY=1, warnings are errors)"
if ! "$here/build-module.sh" >/dev/null; then
	step "module build" 1
	finish
fi
step "module build" 0

section "KUnit in QEMU"
"$top/qemu/run.sh" "$top/kunit/run.sh" >"$out/kunit-vm.log" 2>&1
echo $? >"$out/kunit.rc"
[ -s "$out/kunit.ktap" ] || cat "$out/kunit-vm.log"

section "integration tests in QEMU"
if [ -z "$plan" ]; then
	# Nothing pinned to run (qemu/integration.sh would run every file).
	echo "1..0" >"$out/integration.tap"
	echo 0 >"$out/integration.rc"
	finish
fi
# Each guest's plan goes to it as a file: as arguments, the whole suite's
# paths overflow the kernel command line that carries the guest's command
# (2048 bytes), and the guest then runs nothing. Each guest has its own
# out directory (shard-K: its verdicts in integration.tap, its test logs);
# the tally reads them joined (tests/tally.py merge).
n=$(echo "$plan" | awk '{print $1}' | sort -n | tail -n 1)
# make check-deploy's packages (scripts/build-deb.sh), for 55-deb-packages.
export IPVS_AUTH_DEBS=${IPVS_AUTH_DEBS:-$out/deb}
# The KUnit guest above ran first, alone: vng refreshes the kernel build's
# module tree (.virtme_mods) when it is stale, without a lock, so two
# guests must not be the first to boot a new build together.
# With several guests, each gets one CPU: two guests of two CPUs each on
# this 2-core machine ran every test 3 to 6 times slower than one guest
# (20-sync-auth 372 s against 67 to 131 s, 22-sync-sockopt 450 s against
# 76 to 130 s), while two guests of one CPU ran 20 and 22 in 155-161 s and
# 160-168 s, next to 121 s and 166 s in one guest of two CPUs measured
# just before (one guest of one CPU: 139 s and 186 s).
if [ "$n" -gt 1 ]; then
	export IPVS_AUTH_VM_CPUS=${IPVS_AUTH_VM_CPUS:-1}
fi
guest() {
	IPVS_AUTH_OUT="$out/shard-$1" "$top/qemu/run.sh" "$top/qemu/integration.sh" \
		--plan "$out/shard-$1/integration-plan.txt" 2>&1
}
for k in $(seq 1 "$n"); do
	mkdir -p "$out/shard-$k"
	echo "$plan" | awk -v k="$k" '$1 == k {print $2}' >"$out/shard-$k/integration-plan.txt"
	echo "guest $k of $n: $(awk '{sub(".*/", ""); sub("[.]sh$", ""); printf "%s ", $0}' "$out/shard-$k/integration-plan.txt")"
done
# Guest 1 prints as it goes; the others print their logs when they end.
for k in $(seq 2 "$n"); do
	(
		guest "$k" >"$out/shard-$k/integration.log"
		echo $? >"$out/shard-$k/integration.rc"
	) &
	pids[k]=$!
done
echo "-- guest 1 of $n"
guest 1 | tee "$out/shard-1/integration.log"
rc=("${PIPESTATUS[@]}")
echo "${rc[0]}" >"$out/shard-1/integration.rc"
[ "${rc[1]}" = 0 ] || step "saving the integration log" 1
cp "$out/shard-1/integration.log" "$out/integration.log"
for k in $(seq 2 "$n"); do
	wait "${pids[k]}"
	printf '\n-- guest %s of %s\n' "$k" "$n" | tee -a "$out/integration.log"
	tee -a "$out/integration.log" <"$out/shard-$k/integration.log"
done
python3 "$top/tests/tally.py" merge --out "$out" --shards "$n" ||
	step "joining the guests' results" 1

finish
