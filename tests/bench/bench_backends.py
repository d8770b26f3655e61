#!/usr/bin/env python
"""Back-end benchmark over the corpus: peers and mcodec strategies, measured in one run.

For each program and preset: the independent NumPy implementation (the peer every
user already has), mcodec with every standard strategy applied to all blocks, and the
*oracle*: the per-block best strategy found from the per-block timings of those runs
(exhaustive over the standard strategies, one block at a time), built and timed
again. Times are medians of --repeat runs after one warm-up run; ratios are speedups
over the NumPy peer (higher is better). Writes JSON and a PNG plot.

    .venv/bin/python tests/bench/bench_backends.py --presets S --programs crc16,softmax
    .venv/bin/python tests/bench/bench_backends.py --json out.json --png out.png
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus_util import (  # noqa: E402
    CORPUS,
    assert_same,
    corpus_names,
    inputs_module,
    reference_module,
    run_entry,
)
from mcodec.compiler.build import BuildWarning, build_module  # noqa: E402
from mcodec.compiler.driver import frontend  # noqa: E402
from mcodec.compiler.strategy import REGISTRY  # noqa: E402
from mcodec.runtime_shim.profiling import BlockTimer  # noqa: E402


def _median_time(call: Any, inputs: dict[str, Any], repeat: int) -> float:
    call(copy.deepcopy(inputs))  # warm-up (JIT compilation, caches)
    times = []
    for _ in range(repeat):
        args = copy.deepcopy(inputs)
        t0 = time.perf_counter()
        call(args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_program(name: str, preset: str, strategies: list[str], repeat: int, log: Any) -> dict[str, Any]:
    source = (CORPUS / f"{name}.mc").read_text()
    im = inputs_module(name)
    inputs = im.make_inputs(preset)
    ref = reference_module(name)
    want = ref.reference(inputs)
    row: dict[str, Any] = {"program": name, "preset": preset, "times": {}, "block_times": {}, "build_s": {}}
    row["times"]["numpy-peer"] = _median_time(ref.reference, inputs, repeat)
    for sid in strategies:
        module = frontend(source, f"{name}.mc")
        timer = BlockTimer()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BuildWarning)
            result = build_module(module, default=sid, wrap=timer.wrap)
        row["build_s"][sid] = time.perf_counter() - t0
        used = {b.built.strategy_id for b in result.blocks.values()}
        got = run_entry(result.program, im.ENTRY, inputs)  # correctness before timing
        for k in want:
            assert_same(got[k], want[k], f"{name}:{sid}:{k}", fastmath=REGISTRY[sid].jit_level >= 2)
        timer.reset()
        row["times"][sid] = _median_time(lambda a, p=result.program: run_entry(p, im.ENTRY, a), inputs, repeat)
        runs = repeat + 1
        row["block_times"][sid] = {b: s / max(runs, 1) for b, s in timer.seconds.items()}
        row.setdefault("used", {})[sid] = sorted(used)
        print(f"  {name}/{preset} {sid:<10} {row['times'][sid] * 1e3:9.2f} ms  (blocks ran as {', '.join(sorted(used))})",
              file=log, flush=True)
    # oracle: per block, the strategy whose run spent least time in it
    blocks = set().union(*(set(bt) for bt in row["block_times"].values())) if row["block_times"] else set()
    plan = {b: min(strategies, key=lambda s: row["block_times"][s].get(b, math.inf)) for b in blocks}
    module = frontend(source, f"{name}.mc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        result = build_module(module, plan=plan, default="numpy")
    got = run_entry(result.program, im.ENTRY, inputs)
    for k in want:
        assert_same(got[k], want[k], f"{name}:oracle:{k}", fastmath=True)
    row["times"]["oracle"] = _median_time(lambda a: run_entry(result.program, im.ENTRY, a), inputs, repeat)
    row["oracle_plan"] = plan
    return row


def geomean(xs: list[float]) -> float:
    xs = [x for x in xs if x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    head = f"{'program':<16}{'preset':<7}{'numpy ms':>10}" + "".join(f"{c:>11}" for c in columns)
    print(head)
    print("-" * len(head))
    for r in rows:
        base = r["times"]["numpy-peer"]
        cells = "".join(f"{base / r['times'][c]:>10.2f}x" if c in r["times"] else f"{'-':>11}" for c in columns)
        print(f"{r['program']:<16}{r['preset']:<7}{base * 1e3:>10.2f}{cells}")
    gm = "".join(f"{geomean([r['times']['numpy-peer'] / r['times'][c] for r in rows if c in r['times']]):>10.2f}x"
                 for c in columns)
    print(f"{'geomean':<16}{'':<7}{'':>10}{gm}")
    print("(speedup over the NumPy peer; higher is better)")


def plot(rows: list[dict[str, Any]], columns: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['program']}/{r['preset']}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.6), 5))
    width = 0.8 / len(columns)
    for i, c in enumerate(columns):
        vals = [r["times"]["numpy-peer"] / r["times"][c] if c in r["times"] else 0 for r in rows]
        ax.bar([x + i * width for x in range(len(rows))], vals, width, label=c)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(rows))], labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("speedup over NumPy (log)")
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", help="comma-separated corpus names (default: all)")
    ap.add_argument("--presets", default="S,M")
    ap.add_argument("--strategies", default="numpy,numba,numba-par,numba-fast,llvm,mlx-cpu")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--png", type=Path)
    args = ap.parse_args()
    names = args.programs.split(",") if args.programs else corpus_names()
    strategies = [s for s in args.strategies.split(",") if s]
    rows = []
    total = len(names) * len(args.presets.split(","))
    for i, (name, preset) in enumerate((n, p) for n in names for p in args.presets.split(",")):
        print(f"[{i + 1}/{total}] {name} {preset}", file=sys.stderr, flush=True)
        rows.append(bench_program(name, preset, strategies, args.repeat, sys.stderr))
    columns = strategies + ["oracle"]
    print_table(rows, columns)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))
    if args.png:
        plot(rows, columns, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
