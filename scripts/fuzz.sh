#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make fuzz`: the property tests of every pure parser and state machine
# (sync message parse/strip/insert, ICV input order, replay table, IKE
# header and NAT-T classification, the ISAKMP gate table) run at scale, in
# release mode, bounded in time. cargo-fuzz needs a nightly compiler, which
# the Debian toolchain is not, so fuzzing is proptest's random and shrinking
# search: a failure is shrunk to a minimal input and its seed is saved under
# proptest-regressions/, where it is replayed by every later `cargo test`
# (commit it with the fix).
#
#   FUZZ_CASES (default 1000000) cases per property
#   FUZZ_SECONDS (default 900) overall time bound
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cd "$top"

cases=${FUZZ_CASES:-1000000}
seconds=${FUZZ_SECONDS:-900}
props="arbitrary_payload_never_panics round_trip random_bit_flip_in_large_message_is_rejected
icv_equals_reference_over_concatenation any_bit_flip_fails_verification matches_model
parsers_never_panic table_invariants corpus_sync_mutations corpus_ike_mutations"
echo "fuzz: $cases cases per property, at most $seconds s"
start=$(date +%s)
# shellcheck disable=SC2086 # the properties are separate filters
if PROPTEST_CASES=$cases timeout "$seconds" cargo test --release --locked --lib -- \
	--test-threads="$(nproc)" $props 2>&1 | tee "$top/out/fuzz.log"; then
	echo "fuzz: passed in $(($(date +%s) - start)) s"
else
	rc=$?
	[ "$rc" = 124 ] && echo "fuzz: time bound reached after $seconds s (no failure found so far)" && exit 0
	echo "fuzz: FAILED; the shrunk input is above, its seed in proptest-regressions/"
	exit 1
fi
