#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Parses the KTAP our module printed at insmod with the kernel's own parser
(tools/testing/kunit/kunit.py) and checks that every expected suite ran.

Usage: kunit/summary.py KSRC KTAP_FILE SUITE [SUITE...]
Prints one line per test case and a final "KUNIT passed=N failed=N
skipped=N" line; exits non-zero if a case failed or skipped, the report is
unparsable, or a suite is missing. `make check` does not call it: its
tally (tests/tally.py) uses parse() and checks every case against the pin
in tests/expected.txt.
"""
import json
import subprocess
import sys


def walk(group, suite, out):
    for case in group.get("test_cases", []):
        out.append((suite or group["name"], case["name"], case["status"]))
    for sub in group.get("sub_groups", []):
        walk(sub, sub["name"], out)


def parse(ksrc, ktap):
    """Runs `kunit.py parse --json` on the file ktap. Returns (cases,
    errors, rc, output): cases a list of (suite, case, status) with the
    parser's status names (PASS, FAIL, SKIP, ERROR, ...), or None if the
    parser gave no JSON; errors the parser's error count; rc its exit
    status; output what it printed, for people."""
    parser = f"{ksrc}/tools/testing/kunit/kunit.py"
    with open(ktap, "rb") as f:
        raw = f.read()
    proc = subprocess.run([sys.executable, parser, "parse", "--json"],
                          input=raw, capture_output=True, check=False)
    text = proc.stdout.decode(errors="replace")
    output = text + proc.stderr.decode(errors="replace")
    start = text.find("{")
    if start < 0:
        return None, 1, proc.returncode, output
    result = json.loads(text[start:])
    cases = []
    walk(result, None, cases)
    return cases, result.get("misc", {}).get("errors", 0), proc.returncode, text[:start]


def main():
    ksrc, ktap, expected = sys.argv[1], sys.argv[2], sys.argv[3:]
    cases, _, rc, output = parse(ksrc, ktap)
    if cases is None:
        print(output)
        print("KUNIT passed=0 failed=1 skipped=0 (no parsable KTAP)")
        return 1
    passed = failed = skipped = 0
    suites = set()
    for suite, name, status in cases:
        suites.add(suite)
        print(f"kunit {suite}.{name}: {status}")
        if status == "PASS":
            passed += 1
        elif status == "SKIP":
            skipped += 1
        else:
            failed += 1
    missing = [s for s in expected if s not in suites]
    for s in missing:
        print(f"kunit suite {s}: MISSING")
        failed += 1
    if rc != 0 and failed == 0 and skipped == 0:
        print(f"kunit.py parse exited {rc}")
        failed += 1
    print(f"KUNIT passed={passed} failed={failed} skipped={skipped}")
    return 1 if failed or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
