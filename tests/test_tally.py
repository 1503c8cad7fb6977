#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Self-tests of tests/tally.py on synthetic results: what `make check`
reports when a test is removed, skips, a layer is missing or a guest
crashes. Run first by `make check`; on the host, `python3
tests/test_tally.py` (KUnit reports are parsed with the kernel's
kunit.py, from $KSRC or the set-up's kernel source)."""
import contextlib
import io
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tally  # noqa: E402  pylint: disable=wrong-import-position

KSRC = os.environ.get("KSRC") or os.path.join(
    os.environ.get("IPVS_AUTH_CACHE", os.path.expanduser("~/.cache/ip_vs_sync_auth")),
    "src", "linux-7.3.4")

PIN = """\
host 3
kunit suite_a one
kunit suite_a two
kunit suite_b three
integration 01-first
integration 24-variants
integration 99-kernel-log
"""

TESTS = ("01-first", "24-variants", "99-kernel-log")

CARGO_OK = """\
running 3 tests
test a ... ok
test b ... ok
test c ... ok

test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

   Doc-tests x

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
"""


def ktap(a_two="ok 2 two", b=("ok 1 three",)):
    lines = ["KTAP version 1", "1..2",
             "    KTAP version 1", "    # Subtest: suite_a", "    1..2",
             "    ok 1 one", "    " + a_two, "ok 1 suite_a",
             "    KTAP version 1", "    # Subtest: suite_b", f"    1..{len(b)}"]
    lines += ["    " + x for x in b]
    lines.append("ok 2 suite_b")
    return "\n".join(lines) + "\n"


def tap(*results, plan=3):
    lines = ["TAP version 13", f"1..{plan}"]
    for i, (name, verdict) in enumerate(results, 1):
        lines.append(f"# {name}: 1 s")
        if verdict == "ok":
            lines.append(f"ok {i} {name}")
        elif verdict.startswith("skip"):
            lines.append(f"ok {i} {name} # SKIP {verdict[5:]}")
        else:
            lines.append(f"not ok {i} {name} (exit 1)")
    return "\n".join(lines) + "\n"


ALL_OK = tap(*((n, "ok") for n in TESTS))


class TallyTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tally-test-")
        self.tests = os.path.join(self.dir, "tests")
        self.out = os.path.join(self.dir, "out")
        os.mkdir(self.tests)
        os.mkdir(self.out)
        for name in TESTS:
            self.touch(os.path.join(self.tests, name + ".sh"), "")
        self.pin(PIN)
        self.write("steps.txt", "ok set-up\nok rustfmt --check\nok module build\n")
        self.write("cargo-test.log", CARGO_OK)
        self.write("cargo-test.rc", "0\n")
        self.write("kunit.ktap", ktap())
        self.write("kunit.rc", "0\n")
        self.write("integration.tap", ALL_OK)
        self.write("integration.rc", "0\n")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def touch(self, path, text):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def write(self, name, text):
        self.touch(os.path.join(self.out, name), text)

    def remove(self, name):
        os.unlink(os.path.join(self.out, name))

    def pin(self, text):
        self.pin_path = os.path.join(self.dir, "expected.txt")
        self.touch(self.pin_path, text)

    def run_tally(self, select=None):
        args = ["tally", "--pin", self.pin_path, "--tests-dir", self.tests,
                "--out", self.out, "--ksrc", KSRC]
        if select is not None:
            args += ["--select", select]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = tally.main(args)
        self.output = buf.getvalue()
        lines = self.output.splitlines()
        return rc, lines[-1], [x[len("failed: "):] for x in lines if x.startswith("failed: ")]

    def expect_failures(self, last, *texts, select=None):
        """The tally fails, ends with the line last and names each of texts."""
        rc, got, failures = self.run_tally(select)
        self.assertEqual((rc, got), (1, last))
        for text in texts:
            self.assertFailure(failures, text)

    def assertFailure(self, failures, text):
        self.assertTrue(any(text in f for f in failures), f"no failure '{text}' in {failures}")

    def test_kunit_parser_present(self):
        self.assertTrue(os.path.exists(f"{KSRC}/tools/testing/kunit/kunit.py"),
                        f"no kunit.py under KSRC={KSRC}: the KUnit self-tests cannot run")

    def test_all_pass(self):
        rc, last, failures = self.run_tally()
        self.assertEqual((rc, last, failures), (0, "9 passed, 0 failed, 0 skipped", []))
        self.assertIn("steps (lint, build, set-up; not counted below): 3 passed, 0 failed",
                      self.output)

    def test_removed_integration_test(self):
        os.unlink(os.path.join(self.tests, "24-variants.sh"))
        self.write("integration.tap", tap(("01-first", "ok"), ("99-kernel-log", "ok"), plan=2))
        self.expect_failures("8 passed, 1 failed, 0 skipped",
                             "integration 24-variants: pinned, but qemu/tests/24-variants.sh")

    def test_removed_from_pin_too_still_caught_as_unpinned_file(self):
        self.pin(PIN.replace("integration 24-variants\n", ""))
        self.write("integration.tap", tap(("01-first", "ok"), ("99-kernel-log", "ok"), plan=2))
        self.expect_failures("8 passed, 0 failed, 0 skipped",
                             "qemu/tests/24-variants.sh is not in")

    def check_skip(self, failure, skip_line):
        """One test skipped: a failure named failure, unless the pin has
        skip_line; then counted as skipped."""
        self.expect_failures("8 passed, 1 failed, 0 skipped", failure)
        self.pin(PIN + skip_line + "\n")
        rc, last, failures = self.run_tally()
        self.assertEqual((rc, last, failures), (0, "8 passed, 0 failed, 1 skipped", []))

    def test_integration_skip_fails_unless_allowed(self):
        self.write("integration.tap", tap(("01-first", "ok"), ("24-variants", "skip no ipv6"),
                                          ("99-kernel-log", "ok")))
        self.check_skip("integration 24-variants: skipped (no ipv6)",
                        "skip integration 24-variants the machine has no IPv6")

    def test_kunit_skip_fails_unless_allowed(self):
        self.write("kunit.ktap", ktap(a_two="ok 2 two # SKIP no hardware"))
        self.check_skip("kunit suite_a.two: skipped", "skip kunit suite_a.two needs hardware")

    def test_kunit_failure_and_removed_case(self):
        self.write("kunit.ktap", ktap(a_two="not ok 2 two", b=()))
        self.expect_failures("7 passed, 2 failed, 0 skipped",
                             "kunit suite_a.two: FAIL",
                             "kunit suite_b.three: not reported")

    def test_kunit_case_not_in_pin(self):
        self.write("kunit.ktap", ktap(b=("ok 1 three", "ok 2 four")))
        self.expect_failures("9 passed, 0 failed, 0 skipped",
                             "kunit suite_b.four: PASS, but not in")

    def test_missing_ktap(self):
        self.remove("kunit.ktap")
        self.write("kunit.rc", "1\n")
        self.expect_failures("6 passed, 3 failed, 0 skipped",
                             "kunit: no KTAP report (guest exited 1; 3 pinned cases)")

    def test_truncated_ktap(self):
        self.write("kunit.ktap", "\n".join(ktap().splitlines()[:7]) + "\n")
        rc, last, failures = self.run_tally()
        self.assertEqual(rc, 1)
        self.assertFailure(failures, "kunit suite_b.three: not reported")

    def test_crashed_guest(self):
        self.write("integration.tap", tap(("01-first", "ok")))
        self.write("integration.rc", "124\n")
        self.expect_failures("7 passed, 2 failed, 0 skipped",
                             "integration 24-variants: no result (guest exited 124",
                             "integration 99-kernel-log: no result",
                             "integration: the guest script exited 124")

    def test_integration_not_run(self):
        self.remove("integration.rc")
        self.remove("integration.tap")
        self.expect_failures("6 passed, 3 failed, 0 skipped",
                             "integration: not run (3 planned tests)")

    def test_failed_integration_test(self):
        self.write("integration.tap", tap(("01-first", "not ok"), ("24-variants", "ok"),
                                          ("99-kernel-log", "ok")))
        self.write("integration.rc", "1\n")
        self.expect_failures("8 passed, 1 failed, 0 skipped", "integration 01-first (exit 1)")

    def test_guest_plan_differs(self):
        self.write("integration.tap", ALL_OK.replace("1..3", "1..4"))
        rc, _, failures = self.run_tally()
        self.assertEqual(rc, 1)
        self.assertFailure(failures, "the guest planned 4 tests, the host 3")

    def test_cargo_did_not_build(self):
        self.write("cargo-test.log", "error[E0425]: cannot find value `x`\n")
        self.write("cargo-test.rc", "101\n")
        self.expect_failures("6 passed, 3 failed, 0 skipped",
                             "host: no cargo test results (cargo exited 101; 3 pinned tests)")

    def test_cargo_test_removed_or_added(self):
        self.write("cargo-test.log", CARGO_OK.replace("3 passed", "2 passed"))
        self.expect_failures("8 passed, 1 failed, 0 skipped", "host: 2 tests ran, ")
        self.write("cargo-test.log", CARGO_OK.replace("3 passed", "4 passed"))
        self.expect_failures("10 passed, 0 failed, 0 skipped", "update the pin")

    def test_cargo_failed_and_ignored(self):
        log = CARGO_OK.replace("test b ... ok", "test b ... FAILED").replace(
            "test c ... ok", "test c ... ignored").replace(
            "ok. 3 passed; 0 failed; 0 ignored", "FAILED. 1 passed; 1 failed; 1 ignored")
        self.write("cargo-test.log", log)
        self.write("cargo-test.rc", "101\n")
        self.expect_failures("7 passed, 2 failed, 0 skipped",
                             "host b: FAILED",
                             "host c: ignored, and the pin does not allow it")

    def test_failed_step_reported_apart(self):
        self.write("steps.txt", "ok set-up\nnot ok cargo clippy\n")
        self.expect_failures("9 passed, 0 failed, 0 skipped", "step cargo clippy")
        self.assertIn("not counted below): 1 passed, 1 failed (cargo clippy)", self.output)

    def test_nothing_ran(self):
        for name in os.listdir(self.out):
            self.remove(name)
        self.write("steps.txt", "not ok set-up\n")
        rc, last, _ = self.run_tally()
        self.assertEqual((rc, last), (1, "0 passed, 9 failed, 0 skipped"))

    def test_selection(self):
        self.write("integration.tap", tap(("24-variants", "ok"), ("99-kernel-log", "ok"), plan=2))
        rc, last, failures = self.run_tally(select="24")
        self.assertEqual((rc, last, failures), (0, "8 passed, 0 failed, 0 skipped", []))
        # The selection's plan is checked as strictly as the whole one.
        self.write("integration.tap", tap(("24-variants", "ok"), plan=2))
        self.expect_failures("7 passed, 1 failed, 0 skipped",
                             "integration 99-kernel-log: no result",
                             select="24")

    def test_plan(self):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = tally.main(["plan", "--pin", self.pin_path, "--tests-dir", self.tests])
        self.assertEqual(rc, 0)
        self.assertEqual([os.path.basename(x) for x in buf.getvalue().split()],
                         [n + ".sh" for n in TESTS])
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = tally.main(["plan", "--pin", self.pin_path, "--tests-dir", self.tests,
                             "--select", "99 24-variants 24"])
        self.assertEqual(rc, 0)
        self.assertEqual([os.path.basename(x) for x in buf.getvalue().split()],
                         ["24-variants.sh", "99-kernel-log.sh"])
        self.touch(os.path.join(self.tests, "02-second.sh"), "")
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = tally.main(["plan", "--pin", self.pin_path, "--tests-dir", self.tests,
                             "--select", "0 nosuch"])
        self.assertEqual(rc, 2)
        self.assertIn("TESTS entry '0' names 2 tests, not one", err.getvalue())
        self.assertIn("TESTS entry 'nosuch' names 0 tests, not one", err.getvalue())

    def shard_plan(self, shards, costs=None, select=None, deploy=False):
        args = ["shard", "--pin", self.pin_path, "--tests-dir", self.tests,
                "--shards", str(shards)]
        if costs is not None:
            self.touch(os.path.join(self.dir, "costs.txt"), costs)
            args += ["--costs", os.path.join(self.dir, "costs.txt")]
        if select is not None:
            args += ["--select", select]
        if deploy:
            args += ["--deploy"]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = tally.main(args)
        self.assertEqual(rc, 0)
        got = {}
        for line in buf.getvalue().splitlines():
            k, path = line.split()
            got.setdefault(int(k), []).append(os.path.basename(path)[:-3])
        return got

    def test_shard(self):
        for name in ("02-second", "03-third", "04-fourth"):
            self.touch(os.path.join(self.tests, name + ".sh"), "")
            with open(self.pin_path, encoding="utf-8") as f:
                self.pin(f.read() + f"integration {name}\n")
        # Longest first to the least loaded guest; each guest keeps the
        # plan's order and ends with 99-kernel-log.
        got = self.shard_plan(2, "01-first 50\n03-third 300\n24-variants 200\n# comment\n")
        # 03 (300) to 1; 24 (200) to 2; 02 (100) to 2, now 300 each; 04
        # (100) to the first of equals, 1; 01 (50) to 2 (300 < 400).
        self.assertEqual(got, {1: ["03-third", "04-fourth", "99-kernel-log"],
                               2: ["01-first", "02-second", "24-variants", "99-kernel-log"]})
        # make check-deploy's column: 24 (1000) alone, the rest together.
        got = self.shard_plan(2, "01-first 50\n03-third 300\n24-variants 200 1000\n", deploy=True)
        self.assertEqual(got, {1: ["24-variants", "99-kernel-log"],
                               2: ["01-first", "02-second", "03-third", "04-fourth",
                                   "99-kernel-log"]})
        # Every test exactly once, 99-kernel-log once a guest.
        got = self.shard_plan(3)
        names = sorted(n for v in got.values() for n in v if n != "99-kernel-log")
        self.assertEqual(names, ["01-first", "02-second", "03-third", "04-fourth", "24-variants"])
        self.assertEqual([v[-1] for v in got.values()], ["99-kernel-log"] * 3)
        # No guest with nothing but 99-kernel-log.
        self.assertEqual(self.shard_plan(4, select="24"), {1: ["24-variants", "99-kernel-log"]})
        self.assertEqual(self.shard_plan(1), {1: ["01-first", "02-second", "03-third",
                                                  "04-fourth", "24-variants", "99-kernel-log"]})

    def write_shard(self, k, tap_text, rc):
        d = os.path.join(self.out, f"shard-{k}")
        os.makedirs(d, exist_ok=True)
        if tap_text is not None:
            self.touch(os.path.join(d, "integration.tap"), tap_text)
        if rc is not None:
            self.touch(os.path.join(d, "integration.rc"), f"{rc}\n")

    def merge(self, shards=2):
        self.remove("integration.tap")
        self.remove("integration.rc")
        self.assertEqual(tally.main(["merge", "--out", self.out, "--shards", str(shards)]), 0)

    def test_merge_all_pass(self):
        self.write_shard(1, tap(("01-first", "ok"), ("99-kernel-log", "ok"), plan=2), 0)
        self.write_shard(2, tap(("24-variants", "ok"), ("99-kernel-log", "ok"), plan=2), 0)
        self.merge()
        rc, last, failures = self.run_tally()
        self.assertEqual((rc, last, failures), (0, "9 passed, 0 failed, 0 skipped", []))

    def test_merge_kernel_log_fails_in_one_guest(self):
        self.write_shard(1, tap(("01-first", "ok"), ("99-kernel-log", "ok"), plan=2), 0)
        self.write_shard(2, tap(("24-variants", "ok"), ("99-kernel-log", "not ok"), plan=2), 1)
        self.merge()
        self.expect_failures("8 passed, 1 failed, 0 skipped", "integration 99-kernel-log (guest 2")

    def test_merge_failure_and_skip(self):
        self.write_shard(1, tap(("01-first", "not ok"), ("99-kernel-log", "ok"), plan=2), 1)
        self.write_shard(2, tap(("24-variants", "skip no ipv6"), ("99-kernel-log", "ok"), plan=2), 0)
        self.merge()
        self.expect_failures("7 passed, 2 failed, 0 skipped", "integration 01-first (exit 1)",
                             "integration 24-variants: skipped (no ipv6)")

    def test_merge_kernel_log_once_a_guest(self):
        # Twice from one guest and never from the other: no result.
        self.write_shard(1, tap(("01-first", "ok"), ("99-kernel-log", "ok"), ("99-kernel-log", "ok"),
                                plan=2), 0)
        self.write_shard(2, tap(("24-variants", "ok"), plan=2), 0)
        self.merge()
        self.expect_failures("8 passed, 1 failed, 0 skipped", "integration 99-kernel-log: no result")

    def test_merge_kernel_log_skip_is_kept(self):
        self.write_shard(1, tap(("01-first", "ok"), ("99-kernel-log", "skip no log"), plan=2), 0)
        self.write_shard(2, tap(("24-variants", "ok"), ("99-kernel-log", "ok"), plan=2), 0)
        self.merge()
        self.expect_failures("8 passed, 1 failed, 0 skipped",
                             "integration 99-kernel-log: skipped (no log)")

    def test_merge_crashed_guest(self):
        self.write_shard(1, tap(("01-first", "ok"), ("99-kernel-log", "ok"), plan=2), 0)
        self.write_shard(2, "TAP version 13\n1..2\n", 124)
        self.merge()
        self.expect_failures("7 passed, 2 failed, 0 skipped",
                             "integration 24-variants: no result (guest exited 124",
                             "integration 99-kernel-log: no result",
                             "integration: the guest script exited 124")

    def test_merge_guest_never_ran(self):
        self.write_shard(1, tap(("01-first", "ok"), ("99-kernel-log", "ok"), plan=2), 0)
        self.merge()
        self.expect_failures("7 passed, 2 failed, 0 skipped",
                             "integration 24-variants: no result (guest exited 255",
                             "the guest planned 2 tests, the host 3")

    def test_pin_errors(self):
        self.pin(PIN + "integration 01-first\nhost x\nskip integration 50-none no reason\n")
        rc, _, failures = self.run_tally()
        self.assertEqual(rc, 1)
        self.assertFailure(failures, "integration 01-first twice")
        self.assertFailure(failures, "cannot read 'host x'")
        self.assertFailure(failures, "skip for integration 50-none, which is not pinned")

    def test_the_real_pin(self):
        top = os.path.dirname(HERE)
        pin = tally.Pin(os.path.join(top, "tests", "expected.txt"))
        self.assertEqual(pin.problems, [])
        _, run, problems = tally.plan(pin, os.path.join(top, "qemu", "tests"), None)
        self.assertEqual(problems, [])
        self.assertEqual(sorted(os.path.basename(p)[:-3] for p in run),
                         sorted(tally.test_files(os.path.join(top, "qemu", "tests"))))
        self.assertEqual(os.path.basename(run[-1]), "99-kernel-log.sh")


if __name__ == "__main__":
    unittest.main(verbosity=1)
