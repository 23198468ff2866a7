#!/usr/bin/env python3
"""Aggregates the rounds of one benchmark script into the Markdown table docs/benchmarks.md
shows (called by scripts/bench.sh).

Each round is one full run of a bench/*.sh script, whose stdout holds tab-separated lines:

    row <TAB> operation <TAB> ours_seconds <TAB> anchor <TAB> anchor_seconds <TAB> target
    note <TAB> text

`target` is the least ratio anchor_seconds / ours_seconds that meets the target ("20" for
"at least 20x the anchor", "0.667" for "at most 1.5x the anchor's time"), or "-" for a
comparison without one. A row's ratio is taken within its round (both sides measured in the
same run); the table gives min, median and max over the rounds, and a target counts as met
only when the minimum ratio meets it. Notes are printed once, from the last round, under the
table.

usage: bench_table.py ROUND_FILE... > table.md
"""
import statistics
import sys


def fail(msg):
    print(f"bench_table: {msg}", file=sys.stderr)
    sys.exit(1)


def parse(path):
    rows, notes = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            f_ = line.split("\t")
            if f_[0] == "row" and len(f_) == 6:
                try:
                    ours, anchor = float(f_[2]), float(f_[4])
                    target = None if f_[5] == "-" else float(f_[5])
                except ValueError:
                    fail(f"{path}:{n}: a number is not a number: {line!r}")
                if ours <= 0 or anchor <= 0:
                    fail(f"{path}:{n}: a time of 0 or less: {line!r}")
                rows.append((f_[1], ours, f_[3], anchor, target))
            elif f_[0] == "note" and len(f_) == 2:
                notes.append(f_[1])
            else:
                fail(f"{path}:{n}: neither a row nor a note line: {line!r}")
    if not rows:
        fail(f"{path}: no row lines")
    return rows, notes


def mmm(values, fmt):
    return " / ".join(fmt % v for v in (min(values), statistics.median(values), max(values)))


def main():
    if len(sys.argv) < 2:
        fail("usage: bench_table.py ROUND_FILE...")
    rounds = [parse(p) for p in sys.argv[1:]]
    keys = [(r[0], r[2]) for r in rounds[0][0]]
    for i, (rows, _) in enumerate(rounds[1:], 2):
        if [(r[0], r[2]) for r in rows] != keys:
            fail(f"round {i} measured other comparisons than round 1")
    n = len(rounds)
    print(f"| operation | exai (s), min / median / max of {n} | anchor | anchor (s) "
          f"| ratio anchor / exai, min / median / max | target (ratio) | met (min ratio) |")
    print("|---|---|---|---|---|---|---|")
    for k, (op, anchor) in enumerate(keys):
        ours = [r[0][k][1] for r in rounds]
        anch = [r[0][k][3] for r in rounds]
        ratios = [r[0][k][3] / r[0][k][1] for r in rounds]
        target = rounds[0][0][k][4]
        if target is None:
            tgt, met = "", ""
        else:
            tgt = f">= {target:g}"
            met = "**met**" if min(ratios) >= target else "**not met**"
        print(f"| {op} | {mmm(ours, '%.2f')} | {anchor} | {mmm(anch, '%.2f')} "
              f"| {mmm(ratios, '%.2f')} | {tgt} | {met} |")
    notes = rounds[-1][1]
    if notes:
        print()
        for t in notes:
            print(t)


if __name__ == "__main__":
    main()
