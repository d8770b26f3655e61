#!/usr/bin/env python
"""Pattern recognition and policy decisions against program size.

On generated programs (bench_frontend's generator) of about 1k, 10k and 50k lines,
times, over every block: the networkx block graph, anchored pattern matching and the
Weisfeiler-Lehman signature (`PatternRecognizer.analyze_block`, memo off), and the
whole `decide` of `mcodec build --optimize` (graphs, patterns, features, capability
checks, prediction) with the policy `mcodec build --optimize` would load. Prints
blocks, seconds, milliseconds per block and the time ratio of each size to the
smallest against its block ratio (equal ratios: linear). Also the Python function
calls each one makes (counted with cProfile, one run): a count that grows like the
blocks is linear in work whatever the machine's load, which the times are not.

    .venv/bin/python tests/bench/bench_patterns.py [--sizes 1000,10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_frontend import make_program  # noqa: E402
from mcodec.compiler.driver import frontend  # noqa: E402
from mcodec.compiler.optimize import decide, load_learner  # noqa: E402
from mcodec.compiler.stitch import block_views  # noqa: E402
from mcodec.passes.patterns import PatternRecognizer  # noqa: E402


def _median_time(fn, runs: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _calls(fn) -> int:  # noqa: ANN001
    """Python function calls made by one run of `fn` (primitive calls, recursion once)."""
    prof = cProfile.Profile()
    prof.runcall(fn)
    return sum(stat[0] for stat in pstats.Stats(prof).stats.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    notes: list[str] = []
    learner = load_learner(notes)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        module = frontend(make_program(size), "bench.mc")
        views = [v for fn in module.functions.values() for v in block_views(fn)]
        print(f"{size} lines: {len(views)} blocks", file=sys.stderr, flush=True)

        def recognize(views: list = views) -> None:
            rec = PatternRecognizer()  # a fresh one: no memo across runs
            for v in views:
                rec.analyze_block(v)

        def decide_all(module: object = module) -> None:
            decide(module, learner)

        decide_all()  # warm-up: imports, first-use caches
        rows.append((size, len(views), _median_time(recognize, args.runs), _median_time(decide_all, args.runs),
                     _calls(recognize), _calls(decide_all)))
    print(f"{'lines':>7} {'blocks':>7} {'patterns s':>11} {'ms/block':>9} {'decide s':>9} {'ms/block':>9}"
          f" {'blocks ratio':>13} {'patterns ratio':>15} {'decide ratio':>13}")
    base = rows[0]
    for size, n, tp, td, _, _ in rows:
        print(f"{size:7d} {n:7d} {tp:11.3f} {tp / n * 1e3:9.3f} {td:9.3f} {td / n * 1e3:9.3f}"
              f" {n / base[1]:13.2f} {tp / base[2]:15.2f} {td / base[3]:13.2f}")
    print("\nPython calls per block (cProfile, one run) and their ratio to the smallest size's")
    print(f"{'lines':>7} {'patterns':>9} {'ratio':>6} {'decide':>9} {'ratio':>6}")
    for size, n, _, _, cp, cd in rows:
        print(f"{size:7d} {cp / n:9.0f} {cp / n / (base[4] / base[1]):6.2f} {cd / n:9.0f}"
              f" {cd / n / (base[5] / base[1]):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
