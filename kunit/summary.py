#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Parses the KTAP our module printed at insmod with the kernel's own parser
(tools/testing/kunit/kunit.py) and checks that every expected suite ran.

Usage: kunit/summary.py KSRC KTAP_FILE SUITE [SUITE...]
Prints one line per test case and a final "KUNIT passed=N failed=N" line;
exits non-zero if a case failed, the report is unparsable, or a suite is
missing.
"""
import json
import subprocess
import sys


def walk(group, suite, out):
    for case in group.get("test_cases", []):
        out.append((suite or group["name"], case["name"], case["status"]))
    for sub in group.get("sub_groups", []):
        walk(sub, sub["name"], out)


def main():
    ksrc, ktap, expected = sys.argv[1], sys.argv[2], sys.argv[3:]
    parser = f"{ksrc}/tools/testing/kunit/kunit.py"
    with open(ktap, "rb") as f:
        raw = f.read()
    proc = subprocess.run([sys.executable, parser, "parse", "--json"],
                          input=raw, capture_output=True)
    text = proc.stdout.decode(errors="replace")
    start = text.find("{")
    if start < 0:
        print(text + proc.stderr.decode(errors="replace"))
        print("KUNIT passed=0 failed=1 (no parsable KTAP)")
        return 1
    result = json.loads(text[start:])
    cases = []
    walk(result, None, cases)
    passed = failed = 0
    suites = set()
    for suite, name, status in cases:
        suites.add(suite)
        print(f"kunit {suite}.{name}: {status}")
        if status in ("PASS", "SKIP"):
            passed += 1
        else:
            failed += 1
    missing = [s for s in expected if s not in suites]
    for s in missing:
        print(f"kunit suite {s}: MISSING")
        failed += 1
    if proc.returncode != 0 and failed == 0:
        print(f"kunit.py parse exited {proc.returncode}")
        failed += 1
    print(f"KUNIT passed={passed} failed={failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
