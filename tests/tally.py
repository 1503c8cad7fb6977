#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""How `make check` counts: its plan and its verdict, against the pin.

  tests/tally.py plan  --pin FILE --tests-dir DIR [--select "25 41"]
      Prints the integration tests to run, one path a line: every test
      the pin names (sorted), or with --select only those (each named by
      its number or name) and then 99-kernel-log. Exits 2, saying why, if
      the selection names no test or several, or the pin is unreadable.

  tests/tally.py shard --pin FILE --tests-dir DIR [--select ...]
                       --shards N [--costs FILE [--deploy]]
      The plan cut into N guests that run side by side: prints "K PATH"
      a line (K from 1 to N). Each test goes to the guest with the least
      work so far, longest first, by the seconds in --costs ("NAME
      SECONDS [DEPLOY_SECONDS]" a line, the third column with --deploy;
      100 for a test it does not name); each guest runs
      its tests in the plan's order, and every guest ends with
      99-kernel-log (its own kernel's log). No guest is left without a
      test other than 99-kernel-log: N shrinks to fit.

  tests/tally.py merge --out DIR --shards N
      Joins DIR/shard-K/integration.tap and .rc (K from 1 to N) into
      DIR/integration.tap and .rc, as one guest would have written them:
      99-kernel-log passes only if it passed in every guest; a guest
      without its .rc counts as exited 255; the exit status is the first
      that is neither 0 nor 1, else 1 if any guest failed, else 0.

  tests/tally.py tally --pin FILE --tests-dir DIR --out DIR [--select ...]
                       [--ksrc KSRC]
      Reads what scripts/check.sh left in --out (below) and prints one
      line a test or layer, the failures, a line for the lint and build
      steps, and last "N passed, N failed, N skipped". Exits 1 if anything
      failed.

The pin (tests/expected.txt) lists what must run and pass:

  host N                       cargo test runs N tests
  kunit SUITE CASE             a KUnit case
  integration NAME             qemu/tests/NAME.sh
  skip LAYER NAME REASON...    NAME (of LAYER host, kunit SUITE.CASE or
                               integration) may skip: counted as skipped

The counts are of pinned tests only: a pinned test that passed is passed;
one that failed, did not run (a missing or crashed layer, an earlier step
that failed, a deleted file) or skipped without a skip line is failed. A
test that ran but is not in the pin, and every lint or build step, is
reported apart; either makes the exit status non-zero.

Files in --out (a missing .rc file: that layer did not run):

  steps.txt                    "ok NAME" or "not ok NAME" a step
  cargo-test.log, .rc          cargo test's output and exit status
  kunit.ktap, kunit.rc         the guest's KTAP report and exit status
  integration.tap, .rc         the guest's TAP results and exit status
                               (with several guests: tally.py merge's, from
                               shard-K/integration.tap and .rc)
"""
import argparse
import importlib.util
import os
import re
import sys

LAST = "99-kernel-log"
LAYERS = ("host", "kunit", "integration")


class Pin:
    """The parsed pin file; problems lists what is wrong with it."""

    def __init__(self, path):
        self.path = path
        self.host = None
        self.kunit = []
        self.integration = []
        self.skips = {}
        self.problems = []
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            self.problems.append(f"cannot read {path}: {e.strerror}")
            return
        for n, line in enumerate(lines, 1):
            words = line.split("#", 1)[0].split()
            if words:
                self._line(n, words)
        if self.host is None:
            self.problems.append(f"{path}: no 'host N' line")
        for (layer, name) in self.skips:
            known = {"kunit": [f"{s}.{c}" for s, c in self.kunit],
                     "integration": self.integration}.get(layer)
            if known is not None and name not in known:
                self.problems.append(f"{path}: skip for {layer} {name}, which is not pinned")

    def _line(self, n, words):
        where = f"{self.path}:{n}"
        kind = words[0]
        if kind == "host" and len(words) == 2 and words[1].isdigit():
            if self.host is not None:
                self.problems.append(f"{where}: a second 'host' line")
            self.host = int(words[1])
        elif kind == "kunit" and len(words) == 3:
            if tuple(words[1:]) in self.kunit:
                self.problems.append(f"{where}: kunit {words[1]} {words[2]} twice")
            self.kunit.append((words[1], words[2]))
        elif kind == "integration" and len(words) == 2:
            if words[1] in self.integration:
                self.problems.append(f"{where}: integration {words[1]} twice")
            self.integration.append(words[1])
        elif kind == "skip" and len(words) >= 4 and words[1] in LAYERS:
            self.skips[(words[1], words[2])] = " ".join(words[3:])
        else:
            self.problems.append(f"{where}: cannot read '{' '.join(words)}'")


def test_files(tests_dir):
    try:
        return sorted(f[:-3] for f in os.listdir(tests_dir) if f.endswith(".sh"))
    except OSError:
        return []


def plan(pin, tests_dir, select):
    """Returns (expected, run, problems): the integration tests that must
    report a result (in order), the paths to run, and why the selection
    cannot be run (empty if it can)."""
    files = test_files(tests_dir)
    problems = []
    if select is None:
        expected = sorted(n for n in pin.integration if n != LAST)
        expected += [LAST] if LAST in pin.integration else []
    else:
        expected = []
        for entry in select.split():
            matches = [f for f in files if f.startswith(entry)]
            if len(matches) != 1:
                problems.append(f"TESTS entry '{entry}' names {len(matches)} tests, not one")
            elif matches[0] != LAST and matches[0] not in expected:
                expected.append(matches[0])
        expected.append(LAST)
    run = [os.path.join(tests_dir, f"{name}.sh") for name in expected
           if name in files and name in pin.integration]
    return expected, run, problems


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def read_rc(path):
    text = read(path)
    if text is None:
        return None
    text = text.strip()
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else -1


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []     # counted failures, named
        self.problems = []     # the rest: steps, pin, layers
        self.steps_ok = []
        self.steps_ko = []

    def ok(self, what):
        self.passed += 1
        print(f"PASS  {what}")

    def ko(self, what, n=1):
        self.failed += n
        self.failures.append(what)
        print(f"FAIL  {what}")

    def skip(self, what):
        self.skipped += 1
        print(f"SKIP  {what}")

    def problem(self, what):
        self.problems.append(what)
        print(f"FAIL  {what}")

    def step(self, name, good):
        (self.steps_ok if good else self.steps_ko).append(name)

    def verdict(self):
        return self.failed == 0 and not self.problems and not self.steps_ko


def tally_steps(t, out):
    text = read(os.path.join(out, "steps.txt")) or ""
    for line in text.splitlines():
        if line.startswith("ok "):
            t.step(line[3:], True)
        elif line.startswith("not ok "):
            t.step(line[7:], False)


def tally_host(t, pin, out):
    want = pin.host or 0
    rc = read_rc(os.path.join(out, "cargo-test.rc"))
    log = read(os.path.join(out, "cargo-test.log"))
    if rc is None or log is None:
        t.ko(f"host: cargo test did not run ({want} pinned tests)", want)
        return
    results = re.findall(r"^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored;",
                         log, re.M)
    if not results:
        t.ko(f"host: no cargo test results (cargo exited {rc}; {want} pinned tests)", want)
        return
    passed, failed, ignored = (sum(int(r[i]) for r in results) for i in range(3))
    t.passed += passed
    print(f"PASS  host: {passed} tests")
    named = re.findall(r"^test (\S+) \.\.\. FAILED$", log, re.M)
    for name in named:
        t.ko(f"host {name}: FAILED")
    if failed > len(named):
        t.ko(f"host: {failed - len(named)} more failed tests", failed - len(named))
    named = re.findall(r"^test (\S+) \.\.\. ignored", log, re.M)
    for name in named:
        reason = pin.skips.get(("host", name))
        if reason:
            t.skip(f"host {name}: ignored (allowed: {reason})")
        else:
            t.ko(f"host {name}: ignored, and the pin does not allow it to skip")
    if ignored > len(named):
        t.ko(f"host: {ignored - len(named)} more ignored tests", ignored - len(named))
    ran = passed + failed + ignored
    if ran < want:
        t.ko(f"host: {ran} tests ran, {pin.path} pins {want}: {want - ran} missing", want - ran)
    elif ran > want:
        t.problem(f"host: {ran} tests ran, {pin.path} pins {want}: update the pin")
    if rc != 0 and failed == 0:
        t.problem(f"host: cargo test exited {rc} with no failed test")


def load_summary():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(os.path.dirname(here), "kunit", "summary.py")
    spec = importlib.util.spec_from_file_location("kunit_summary", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tally_kunit(t, pin, out, ksrc):
    want = len(pin.kunit)
    rc = read_rc(os.path.join(out, "kunit.rc"))
    ktap = os.path.join(out, "kunit.ktap")
    if rc is None:
        t.ko(f"kunit: not run ({want} pinned cases)", want)
        return
    text = read(ktap)
    if not text or "KTAP version" not in text:
        t.ko(f"kunit: no KTAP report (guest exited {rc}; {want} pinned cases)", want)
        return
    cases, errors, prc, output = load_summary().parse(ksrc, ktap)
    if cases is None:
        print(output)
        t.ko(f"kunit: KTAP report not parsable ({want} pinned cases)", want)
        return
    got = {}
    for suite, case, status in cases:
        if (suite, case) in got:
            t.problem(f"kunit {suite}.{case}: reported twice")
        elif (suite, case) not in pin.kunit:
            t.problem(f"kunit {suite}.{case}: {status}, but not in {pin.path}")
        got.setdefault((suite, case), status)
    failed = t.failed
    suites = {}
    for suite, case in pin.kunit:
        status = got.get((suite, case))
        name = f"kunit {suite}.{case}"
        if status == "PASS":
            t.passed += 1
            suites[suite] = suites.get(suite, 0) + 1
        elif status == "SKIP":
            reason = pin.skips.get(("kunit", f"{suite}.{case}"))
            if reason:
                t.skip(f"{name} (allowed: {reason})")
            else:
                t.ko(f"{name}: skipped, and the pin does not allow it to skip")
        elif status is None:
            t.ko(f"{name}: not reported")
        else:
            t.ko(f"{name}: {status}")
    for suite in dict.fromkeys(s for s, _ in pin.kunit):
        n = sum(1 for s, _ in pin.kunit if s == suite)
        if suites.get(suite, 0) == n:
            print(f"PASS  kunit {suite}: {n} cases")
    if errors:
        t.problem(f"kunit: the KTAP parser reports {errors} errors")
    if prc != 0 and t.failed == failed and not errors:
        t.problem(f"kunit: kunit.py parse exited {prc}")
    if rc != 0:
        t.problem(f"kunit: the guest script exited {rc}")


def tally_integration(t, pin, out, tests_dir, select):
    expected, run, problems = plan(pin, tests_dir, select)
    for p in problems:
        t.problem(f"integration: {p}")
    files = test_files(tests_dir)
    for name in files if select is None else []:
        if name not in pin.integration:
            t.problem(f"integration: qemu/tests/{name}.sh is not in {pin.path}")
    rc = read_rc(os.path.join(out, "integration.rc"))
    tap = read(os.path.join(out, "integration.tap"))
    if rc is None:
        t.ko(f"integration: not run ({len(expected)} planned tests)", len(expected))
        return
    results = {}
    planned = None
    for line in (tap or "").splitlines():
        m = re.match(r"^1\.\.(\d+)$", line)
        if m and planned is None:
            planned = int(m.group(1))
        m = re.match(r"^(not )?ok \d+ (\S+)(.*)$", line)
        if not m:
            continue
        name, rest = m.group(2), m.group(3)
        if name in results:
            t.problem(f"integration {name}: reported twice")
            continue
        if m.group(1):
            results[name] = ("fail", rest.strip())
        elif re.match(r"^\s*# SKIP", rest):
            results[name] = ("skip", re.sub(r"^\s*# SKIP:?\s*", "", rest))
        else:
            results[name] = ("pass", "")
    if planned != len(run):
        t.problem(f"integration: the guest planned {planned} tests, the host {len(run)}")
    for name in expected:
        res = results.get(name)
        label = f"integration {name}"
        if name not in pin.integration:
            t.ko(f"{label}: selected but not in {pin.path}")
        elif name not in files:
            t.ko(f"{label}: pinned, but qemu/tests/{name}.sh does not exist")
        elif res is None:
            t.ko(f"{label}: no result (guest exited {rc}: crashed, hung or stopped?)")
        elif res[0] == "pass":
            t.ok(label)
        elif res[0] == "skip":
            reason = pin.skips.get(("integration", name))
            if reason:
                t.skip(f"{label}: {res[1]} (allowed: {reason})")
            else:
                t.ko(f"{label}: skipped ({res[1]}), and the pin does not allow it to skip")
        else:
            t.ko(f"{label} {res[1]}".rstrip())
    for name in results:
        if name not in expected:
            t.problem(f"integration {name}: reported, but not planned")
    if rc not in (0, 1) or (rc == 1 and not any(r[0] == "fail" for r in results.values())):
        t.problem(f"integration: the guest script exited {rc}")


def checked_plan(a):
    """The plan's paths, or None after saying on stderr why there is none."""
    pin = Pin(a.pin)
    _, run, problems = plan(pin, a.tests_dir, a.select)
    problems = pin.problems + problems
    for p in problems:
        print(f"tally: {p}", file=sys.stderr)
    return None if problems else run


def cmd_plan(a):
    run = checked_plan(a)
    if run is None:
        return 2
    for path in run:
        print(path)
    return 0


def read_costs(path, deploy=False):
    """NAME SECONDS [DEPLOY_SECONDS] a line: the third column, where there
    is one, for make check-deploy."""
    costs = {}
    for line in (read(path) or "").splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) in (2, 3) and all(w.isdigit() for w in words[1:]):
            costs[words[0]] = int(words[-1] if deploy else words[1])
    return costs


def shard(run, shards, costs):
    """Cuts the plan's paths run (99-kernel-log last) into at most shards
    lists, each in the plan's order and each ending with 99-kernel-log."""
    name = lambda path: os.path.basename(path)[:-3]  # noqa: E731
    last = [p for p in run if name(p) == LAST]
    rest = [p for p in run if name(p) != LAST]
    n = max(1, min(shards, len(rest)))
    load = [0] * n
    where = {}
    for i, path in sorted(enumerate(rest), key=lambda x: (-costs.get(name(x[1]), 100), x[0])):
        k = min(range(n), key=lambda j: (load[j], j))
        where[i] = k
        load[k] += costs.get(name(path), 100)
    return [[p for i, p in enumerate(rest) if where[i] == k] + last for k in range(n)]


def cmd_shard(a):
    run = checked_plan(a)
    if run is None:
        return 2
    costs = read_costs(a.costs, a.deploy) if a.costs else {}
    for k, paths in enumerate(shard(run, a.shards, costs), 1):
        for path in paths:
            print(k, path)
    return 0


def cmd_merge(a):
    lines, planned, plans, rcs = [], 0, 0, []
    last = []
    for k in range(1, a.shards + 1):
        d = os.path.join(a.out, f"shard-{k}")
        rc = read_rc(os.path.join(d, "integration.rc"))
        rcs.append(255 if rc is None else rc)
        for line in (read(os.path.join(d, "integration.tap")) or "").splitlines():
            m = re.match(r"^1\.\.(\d+)$", line)
            if m:
                planned += int(m.group(1))
                plans += 1
                continue
            m = re.match(r"^(not )?ok \d+ (\S+)(.*)$", line)
            if m and m.group(2) == LAST:
                last.append((k, m.group(1), m.group(3)))
            elif m:
                lines.append(f"{m.group(1) or ''}ok {{}} {m.group(2)}{m.group(3)}")
            elif line.startswith("#"):
                lines.append(line)
    # Its verdict: reported exactly once by every guest, else none (no
    # result); failed in one, failed; else skipped in one, skipped.
    if sorted(k for k, _, _ in last) == list(range(1, a.shards + 1)):
        bad = [f"guest {k}{rest}" for k, no, rest in last if no]
        skips = [rest for _, no, rest in last if not no and re.match(r"^\s*# SKIP", rest)]
        if bad:
            lines.append(f"not ok {{}} {LAST} ({', '.join(bad)})")
        else:
            lines.append(f"ok {{}} {LAST}{skips[0] if skips else ''}")
    # 99-kernel-log runs in every guest and counts once.
    planned -= max(plans - 1, 0)
    n = 0
    with open(os.path.join(a.out, "integration.tap"), "w", encoding="utf-8") as f:
        f.write(f"TAP version 13\n1..{planned}\n")
        for line in lines:
            if "{}" in line and not line.startswith("#"):
                n += 1
                line = line.replace("{}", str(n), 1)
            f.write(line + "\n")
    odd = [rc for rc in rcs if rc not in (0, 1)]
    rc = odd[0] if odd else max(rcs)
    with open(os.path.join(a.out, "integration.rc"), "w", encoding="utf-8") as f:
        f.write(f"{rc}\n")
    return 0


def cmd_tally(a):
    pin = Pin(a.pin)
    t = Tally()
    for p in pin.problems:
        t.problem(f"pin: {p}")
    tally_steps(t, a.out)
    tally_host(t, pin, a.out)
    tally_kunit(t, pin, a.out, a.ksrc)
    tally_integration(t, pin, a.out, a.tests_dir, a.select)
    print()
    print("== summary")
    for f in t.failures + t.problems:
        print(f"failed: {f}")
    for s in t.steps_ko:
        print(f"failed: step {s}")
    print(f"steps (lint, build, set-up; not counted below): {len(t.steps_ok)} passed, "
          f"{len(t.steps_ko)} failed" + (f" ({', '.join(t.steps_ko)})" if t.steps_ko else ""))
    print(f"{t.passed} passed, {t.failed} failed, {t.skipped} skipped")
    return 0 if t.verdict() else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("merge")
    m.add_argument("--out", required=True)
    m.add_argument("--shards", type=int, required=True)
    for name in ("plan", "shard", "tally"):
        s = sub.add_parser(name)
        s.add_argument("--pin", required=True)
        s.add_argument("--tests-dir", required=True)
        s.add_argument("--select", default=None,
                       help="TESTS: integration tests by number or name (blank: all)")
        if name == "shard":
            s.add_argument("--shards", type=int, required=True)
            s.add_argument("--costs", default=None)
            s.add_argument("--deploy", action="store_true",
                           help="the costs of make check-deploy (the third column)")
        if name == "tally":
            s.add_argument("--out", required=True)
            s.add_argument("--ksrc", default=os.environ.get("KSRC", ""))
    a = p.parse_args(argv)
    if a.cmd == "merge":
        return cmd_merge(a)
    if a.select is not None and not a.select.strip():
        a.select = None
    return {"plan": cmd_plan, "shard": cmd_shard, "tally": cmd_tally}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
