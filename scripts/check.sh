#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: everything, from a fresh machine to a verdict.
#   set-up -> rustfmt -> clippy (host) -> cargo test -> kernel (cached)
#   -> wire-layout guard (pahole on IPVS's sync structs)
#   -> module build (kernel clippy lints, warnings fatal) -> KUnit in QEMU
#   -> integration tests in QEMU
# Ends with one line "N passed, N failed, N skipped" and exits non-zero if
# anything failed.
#
# IPVS_AUTH_TESTS (make check... TESTS="25 41"): run only these integration
# tests, each named by its number or its name; 99-kernel-log (the kernel
# log and kmemleak verdict) always runs last. For the slow kernel variants.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cd "$top" || exit 1
# shellcheck source=scripts/env.sh
. "$here/env.sh"

out=${IPVS_AUTH_OUT:-$top/out}
mkdir -p "$out"
export IPVS_AUTH_OUT="$out"
# qemu/run.sh stops a guest after 45 minutes (a hung guest must not hang
# CI); the debug kernels run the same suite several times slower.
case "${IPVS_AUTH_VARIANT:-}" in
debug) export IPVS_AUTH_VM_TIMEOUT=${IPVS_AUTH_VM_TIMEOUT:-7200} ;;
kasan) export IPVS_AUTH_VM_TIMEOUT=${IPVS_AUTH_VM_TIMEOUT:-43200} ;;
esac
passed=0
failed=0
skipped=0
failures=()

ok() {
	passed=$((passed + ${2:-1}))
	printf 'PASS  %s\n' "$1"
}

ko() {
	failed=$((failed + ${2:-1}))
	failures+=("$1")
	printf 'FAIL  %s\n' "$1"
}

finish() {
	echo
	echo "== summary"
	for f in "${failures[@]}"; do
		echo "failed: $f"
	done
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
	exit
}

section() {
	printf '\n== %s (%s)\n' "$1" "$(date +%T)"
}

# Resolve the selection before anything runs: a typo should not cost a
# kernel build and a KUnit boot.
tests=()
if [ -n "${IPVS_AUTH_TESTS:-}" ]; then
	for t in $IPVS_AUTH_TESTS; do
		matches=()
		for f in "$top"/qemu/tests/"$t"*.sh; do
			[ -e "$f" ] && matches+=("$f")
		done
		if [ "${#matches[@]}" != 1 ]; then
			ko "integration: TESTS entry '$t' names ${#matches[@]} tests, not one"
			finish
		fi
		case ${matches[0]} in
		*/99-kernel-log.sh) ;;
		*) tests+=("${matches[0]}") ;;
		esac
	done
	tests+=("$top/qemu/tests/99-kernel-log.sh")
	echo "integration tests selected: ${tests[*]##*/}"
fi

section "set-up"
if ! "$here/setup.sh" || ! "$here/build-ipvsadm.sh" >/dev/null; then
	ko "set-up"
	finish
fi

section "rustfmt"
if rustfmt_out=$(/usr/bin/rustfmt --check --edition 2021 --config-path "$top/.rustfmt.toml" \
	"$top"/src/ip_vs_sync_auth_main.rs "$top"/src/proto/lib.rs "$top"/examples/*.rs 2>&1); then
	ok "rustfmt --check"
else
	echo "$rustfmt_out"
	ko "rustfmt --check"
fi

section "host: clippy"
if cargo clippy --locked --all-targets -q -- -D warnings; then
	ok "cargo clippy (pure crate, kernel lint set)"
else
	ko "cargo clippy"
fi

section "host: cargo test"
cargo test --locked 2>&1 | tee "$out/cargo-test.log"
if [ "${PIPESTATUS[0]}" = 0 ]; then
	n=$(awk '/^test result:/ {s += $4} END {print s + 0}' "$out/cargo-test.log")
	ok "cargo test: $n host tests" "$n"
else
	n=$(awk '/^test result:/ {s += $6} END {print s + 0}' "$out/cargo-test.log")
	[ "$n" -gt 0 ] || n=1
	ko "cargo test" "$n"
fi

section "kernel (cached)"
t0=$(date +%s)
if ! KBUILD=$("$here/build-kernel.sh"); then
	ko "kernel build"
	finish
fi
echo "kernel: $KBUILD ($(($(date +%s) - t0)) s this run)"

section "wire layout of IPVS's sync structures (pahole)"
if "$here/wire-layout-guard.sh" --self-test; then
	ok "wire-layout guard: IPVS sync structs match src/proto/ipvs_layout.rs"
else
	ko "wire-layout guard"
fi

section "module build (CLIPPY=1, warnings are errors)"
if "$here/build-module.sh" >/dev/null; then
	ok "module build"
else
	ko "module build"
	finish
fi

section "KUnit in QEMU"
rm -f "$out/kunit.ktap"
"$top/qemu/run.sh" "$top/kunit/run.sh" >"$out/kunit-vm.log" 2>&1
vm_rc=$?
if [ -s "$out/kunit.ktap" ]; then
	python3 "$top/kunit/summary.py" "$KSRC" "$out/kunit.ktap" ip_vs_sync_auth_hmac ip_vs_sync_auth_sync ip_vs_sync_auth_ipsec | tee "$out/kunit-summary.txt"
	k_pass=$(sed -n 's/^KUNIT passed=\([0-9]*\) failed=\([0-9]*\).*/\1/p' "$out/kunit-summary.txt")
	k_fail=$(sed -n 's/^KUNIT passed=\([0-9]*\) failed=\([0-9]*\).*/\2/p' "$out/kunit-summary.txt")
	[ "${k_pass:-0}" -gt 0 ] && ok "KUnit: $k_pass cases" "$k_pass"
	[ "${k_fail:-0}" -gt 0 ] && ko "KUnit: $k_fail failed or missing" "$k_fail"
	[ "$vm_rc" = 0 ] || ko "KUnit guest script exited $vm_rc"
else
	cat "$out/kunit-vm.log"
	ko "KUnit: no KTAP report (guest exited $vm_rc)"
fi

section "integration tests in QEMU"
rm -f "$out/integration.tap"
"$top/qemu/run.sh" "$top/qemu/integration.sh" "${tests[@]}" 2>&1 | tee "$out/integration.log"
# The guest writes its verdicts to integration.tap; the console copy above
# is for people.
touch "$out/integration.tap"
while IFS= read -r line; do
	case "$line" in
	"not ok "*) ko "integration: ${line#not ok }" ;;
	"ok "*"# SKIP"*)
		skipped=$((skipped + 1))
		echo "SKIP  integration: ${line#ok }"
		;;
	"ok "*) ok "integration: ${line#ok }" ;;
	esac
done < <(grep -E '^(not )?ok [0-9]+ ' "$out/integration.tap")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$out/integration.tap" | head -n 1)
seen=$(grep -cE '^(not )?ok [0-9]+ ' "$out/integration.tap")
if [ -z "$planned" ] || [ "$seen" != "$planned" ]; then
	ko "integration: planned ${planned:-?} tests, saw $seen results (guest crashed or hung?)"
fi

finish
