#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compare `make bench` outputs (out/bench.txt): BASE and NEW.

    scripts/bench-compare.py BASE.txt NEW.txt
    scripts/bench-compare.py BASE1.txt BASE2.txt ... -- NEW1.txt NEW2.txt ...

With several outputs per side (rounds of one guest, qemu/bench-compare.sh),
each figure is the best of its side's rounds: the lowest time, the highest
rate. With as many outputs on each side, given in round order, the K-th
of each side are paired (one round: run minutes apart in one guest), and
two more columns show the median of the paired ratios and their range:
a figure whose paired ratios straddle 1 widely is noise, whatever its
best-of ratio.

Prints, for every figure both outputs have, BASE, NEW and NEW/BASE. For
times (ns, ms, us) a ratio above 1 means NEW is slower; for rates
(pps, conns/s) a ratio below 1 means NEW is slower. The bare hmac(md5)
digest ("shash", the same kernel code in both) is the noise reference:
its ratio shows how far the two guests' speed differed on their own.
Numbers only: nothing here asserts a timing.
"""

import re
import sys

NUM = r"(\d+)"
# The expiring collector pass's work that C's never did (issue 21), timed
# on its own in NEW: the pass less it compares the rest with C's pass.
ACCOUNTING = "expiring pass's prefix accounting"
# An accepted message's sender line (issue 22), which C's backup never
# kept, timed on its own in NEW: the skb verify paths less it compare the
# rest with C's paths.
SENDER_LINE = "sync accepted message: its sender's line ns"
# The gate benchmark's warm-up table (first run of its code after the
# module's load): its own rows; the table's rows come after it.
FIRST_RUN = "first run"
# The gate's figures, in the order of its table's columns (after the
# entries) and of its first-run line.
GATE_COLUMNS = (
    ("create", "ns"),
    ("establish", "ns"),
    ("esp-hit", "ns"),
    ("esp-miss", "ns"),
    ("collector pass, live entries", "us"),
    ("collector pass, expiring", "us"),
)


def parse(path):
    """Returns {name: (value, kind)}; kind is "time" or "rate"."""
    figures = {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    section = None
    for line in lines:
        m = re.match(
            r"^(full|1 entry)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+) \([\d.]+\)\s+(\d+) \([\d.]+\)\s*$",
            line,
        )
        if m:
            label = m.group(1)
            for col, i in (("shash", 3), ("lib", 4), ("sign+insert", 6), ("verify+strip", 7)):
                figures[f"sync {label}: {col} ns"] = (int(m.group(i)), "time")
            continue
        m = re.match(r"^(full|1 entry)\s+skb paths: sign\+insert (\d+) ns .*verify\+strip (\d+) ns", line)
        if m:
            figures[f"sync {m.group(1)}: skb sign+insert ns"] = (int(m.group(2)), "time")
            figures[f"sync {m.group(1)}: skb verify+strip ns"] = (int(m.group(3)), "time")
            continue
        m = re.match(r"^early drops: TTL 254 (\d+) ns/op, stale seq (\d+) ns/op", line)
        if m:
            figures["sync early drop: TTL ns"] = (int(m.group(1)), "time")
            figures["sync early drop: stale seq ns"] = (int(m.group(2)), "time")
            continue
        m = re.match(
            r"^early drops' accounting: counter and log run (\d+) ns/op, the source's line (\d+) ns/op "
            r"\((\d+) of (\d+) counted there\)",
            line,
        )
        if m:
            figures["sync early drop: its counter ns"] = (int(m.group(1)), "time")
            # Only a figure of drops that all found the line measures it.
            if m.group(3) == m.group(4):
                figures["sync early drop: its source's line ns"] = (int(m.group(2)), "time")
            continue
        m = re.match(
            r"^an accepted message's accounting besides its counter: the sender's line (\d+) ns/op "
            r"\((\d+) of (\d+) on a line\)",
            line,
        )
        if m:
            # Only a figure of messages that all found the line measures it.
            if m.group(2) == m.group(3):
                figures[SENDER_LINE] = (int(m.group(1)), "time")
            continue
        m = re.match(r"^the expiring pass's per-prefix accounting alone .*?: (.*)$", line)
        if m:
            for n, us in re.findall(r"(\d+) entries (\d+) us", m.group(1)):
                figures[f"gate {n} entries: {ACCOUNTING} us"] = (int(us), "time")
            continue
        m = re.match(
            r"^first run \(code cold, not in the table\): (\d+) entries: create (\d+) ns, establish (\d+) ns, "
            r"esp-hit (\d+) ns, esp-miss (\d+) ns, gc-live (\d+) us, gc-expire (\d+) us",
            line,
        )
        if m:
            for (name, unit), v in zip(GATE_COLUMNS, m.groups()[1:]):
                figures[f"gate {m.group(1)} entries, {FIRST_RUN}: {name} {unit}"] = (int(v), "time")
            continue
        if line.startswith("entries  create"):
            section = "gate"
            continue
        if section == "gate":
            cols = line.split()
            if len(cols) == 9 and all(c.isdigit() for c in cols):
                for (name, unit), v in zip(GATE_COLUMNS, cols[1:]):
                    figures[f"gate {cols[0]} entries: {name} {unit}"] = (int(v), "time")
                continue
            section = None
        m = re.match(r"^auth on / auth off \(conns/s\): (\d+)%", line)
        if m:
            figures["sync convergence: auth on/off %"] = (int(m.group(1)), "rate")
            continue
        m = re.match(r"^gate on / gate off: (\d+)%", line)
        if m:
            figures["ESP through IPVS: gate on/off %"] = (int(m.group(1)), "rate")
            continue
    return figures


def best(paths):
    """The best value of each figure over several outputs of one side."""
    out = {}
    for path in paths:
        for name, (value, kind) in parse(path).items():
            if name not in out:
                out[name] = (value, kind)
            else:
                old = out[name][0]
                out[name] = (min(old, value) if kind == "time" else max(old, value), kind)
    return out


def paired(base_paths, new_paths):
    """{name: [new/base of round K, ...]} when both sides have as many
    outputs (rounds in order); {} otherwise."""
    if len(base_paths) != len(new_paths) or len(base_paths) < 2:
        return {}
    out = {}
    for bp, np in zip(base_paths, new_paths):
        b, v = parse(bp), parse(np)
        for name, (bv, _) in b.items():
            if name in v:
                out.setdefault(name, []).append(v[name][0] / bv if bv else None)
    return out


def median(xs):
    """The median of a sorted, non-empty list."""
    k = len(xs) // 2
    return xs[k] if len(xs) % 2 else (xs[k - 1] + xs[k]) / 2


def less_part(base_runs, new_runs, base, figure, part, label):
    """Prints (NEW's FIGURE less NEW's PART) / BASE's FIGURE: best of
    rounds (NEW's best round of the figure less the same round's part,
    over BASE's best) and, with paired rounds, the median and range of the
    rounds' ratios. PART is work the NEW side does that BASE never did,
    timed on its own."""
    if figure not in base or not base[figure][0]:
        return

    def rest(v):
        """A NEW round's figure less the same round's part."""
        return v[figure][0] - v[part][0] if figure in v and part in v else None

    rests = [r for r in map(rest, new_runs) if r is not None]
    if not rests:
        return
    row = f"# {label}: {min(rests) / base[figure][0]:.2f}"
    if len(base_runs) == len(new_runs) >= 2:
        r = sorted(
            rest(v) / b[figure][0]
            for b, v in zip(base_runs, new_runs)
            if figure in b and b[figure][0] and rest(v) is not None
        )
        if r:
            row += f" (paired median {median(r):.2f}, range {r[0]:.2f}-{r[-1]:.2f})"
    print(row)


def less_accounting(base_paths, new_paths, base):
    """Prints the figures less the NEW side's accounting that BASE never
    did: the expiring collector pass less its prefix accounting (issue 21)
    for each table size, and the skb verify paths less an accepted
    message's sender line (issue 22)."""
    base_runs = [parse(p) for p in base_paths]
    new_runs = [parse(p) for p in new_paths]
    names = sorted({n for v in new_runs for n in v})
    for name in names:
        m = re.match(rf"^gate (\d+) entries: {re.escape(ACCOUNTING)} us$", name)
        if m:
            less_part(
                base_runs,
                new_runs,
                base,
                f"gate {m.group(1)} entries: collector pass, expiring us",
                name,
                f"gate {m.group(1)} entries: collector pass, expiring, less the new side's prefix accounting",
            )
    if SENDER_LINE in names:
        for label in ("full", "1 entry"):
            less_part(
                base_runs,
                new_runs,
                base,
                f"sync {label}: skb verify+strip ns",
                SENDER_LINE,
                f"sync {label}: skb verify+strip, less the new side's sender line",
            )


def main():
    args = sys.argv[1:]
    if "--" in args:
        i = args.index("--")
        base_paths, new_paths = args[:i], args[i + 1:]
    elif len(args) == 2:
        base_paths, new_paths = args[:1], args[1:]
    else:
        base_paths = new_paths = []
    if not base_paths or not new_paths:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    base, new = best(base_paths), best(new_paths)
    names = [n for n in base if n in new]
    if not names:
        sys.exit("bench-compare: the two outputs have no figure in common")
    pairs = paired(base_paths, new_paths)
    width = max(len(n) for n in names)
    head = f"{'figure':<{width}}  {'base':>8}  {'new':>8}  new/base"
    if pairs:
        head += f"  {'paired median':>13}  {'range':>11}"
    print(head)
    for n in names:
        b, kind = base[n]
        v, _ = new[n]
        ratio = f"{v / b:.2f}" if b else "-"
        row = f"{n:<{width}}  {b:>8}  {v:>8}  {ratio:>8}"
        if pairs:
            r = sorted(x for x in pairs.get(n, []) if x is not None)
            if r:
                span = f"{r[0]:.2f}-{r[-1]:.2f}"
                row += f"  {median(r):>13.2f}  {span:>11}"
            else:
                row += f"  {'-':>13}  {'-':>11}"
        note = "" if kind == "time" else "  (rate: below 1 is slower)"
        print(f"{row}{note}")
    less_accounting(base_paths, new_paths, base)
    warm = [any(n.startswith("gate ") and f", {FIRST_RUN}:" in n for n in side) for side in (base, new)]
    if warm[0] != warm[1]:
        print(
            f"# warning: only the {'base' if warm[0] else 'new'} side warmed the gate's code up "
            "before its table: the other side's first gate rows timed code run for the first time"
        )
    for side, mine, other in (("base", base, new), ("new", new, base)):
        for n in sorted(set(mine) - set(other)):
            print(f"# {side} only: {n} {mine[n][0]}")


if __name__ == "__main__":
    main()
