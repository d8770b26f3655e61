#!/usr/bin/env python
"""MLX's GPU path on a machine that has one (Metal, or CUDA with `mlx-cuda-13`).

For every corpus program: build it with `mlx-gpu` for every block, report which blocks
run on the GPU (f64 blocks are declined there: MLX's GPU has no float64, and they fall
back as a build does), check the result against the independent NumPy reference at
--check-preset, and time --preset under `numpy`, `mlx-cpu` and `mlx-gpu` (median of
--repeat calls after one warm-up, block crossings and device transfers included).
Programs with no block on the GPU are listed, not timed.

    .venv/bin/python tests/bench/mlx_gpu_check.py                 # S checked, M timed
    .venv/bin/python tests/bench/mlx_gpu_check.py --programs softmax,mlp --json out.json

On a machine without a GPU it says so and exits 2: this is a device check, never part
of the test suite or CI.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backends import entry_call, median_time  # noqa: E402
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
from mcodec.runtime_shim.hardware import machine, mlx_devices  # noqa: E402

TIMED = ("numpy", "mlx-cpu", "mlx-gpu")


def build(name: str, strategy: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        return build_module(frontend((CORPUS / f"{name}.mc").read_text(), f"{name}.mc"),
                            default=strategy, use_cache=False)


def gpu_blocks(result: Any) -> tuple[list[str], dict[str, str]]:
    """Blocks built for the GPU, and the others with the strategy they fell back to."""
    on_gpu, other = [], {}
    for bid, b in result.blocks.items():
        if b.built.strategy_id == "mlx-gpu" and b.built.info.get("device") == "gpu":
            on_gpu.append(bid)
        else:
            other[bid] = b.built.strategy_id
    return on_gpu, other


def check_program(name: str, check_preset: str, preset: str, repeat: int) -> dict[str, Any]:
    row: dict[str, Any] = {"program": name}
    im, ref = inputs_module(name), reference_module(name)
    gpu = build(name, "mlx-gpu")
    row["gpu_blocks"], row["fallback_blocks"] = gpu_blocks(gpu)
    if not row["gpu_blocks"]:
        return row
    small = im.make_inputs(check_preset)
    got, want = run_entry(gpu.program, im.ENTRY, small), ref.reference(small)
    for key in want:
        assert_same(got[key], want[key], f"{name}:{key} mlx-gpu vs NumPy")
    row["correct"] = True
    big = im.make_inputs(preset)
    row["ms"] = {}
    for s in TIMED:
        program = gpu.program if s == "mlx-gpu" else build(name, s).program
        row["ms"][s] = median_time(entry_call(program, im.ENTRY), big, repeat) * 1e3
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--programs", help="comma-separated corpus programs (default: all)")
    ap.add_argument("--preset", default="M", help="preset timed (default M)")
    ap.add_argument("--check-preset", default="S", help="preset checked against NumPy (default S)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path, help="write the rows as JSON")
    args = ap.parse_args()
    info = machine()
    print(f"machine: {info.get('system')} {info.get('arch')}, {info.get('cpus')} cpus, "
          f"MLX devices {info.get('mlx_devices')}", flush=True)
    if "gpu" not in mlx_devices():
        print("MLX has no GPU here: nothing to check", file=sys.stderr)
        return 2
    rows = []
    for name in args.programs.split(",") if args.programs else corpus_names():
        try:
            row = check_program(name, args.check_preset, args.preset, args.repeat)
        except Exception as e:  # noqa: BLE001 (a check reports every program, failures included)
            row = {"program": name, "error": f"{type(e).__name__}: {e}",
                   "trace": traceback.format_exc(limit=4)}
        rows.append(row)
        if "error" in row:
            print(f"{name:<16} ERROR {row['error'][:300]}", flush=True)
        elif not row["gpu_blocks"]:
            print(f"{name:<16} no block on the GPU ({', '.join(sorted(set(row['fallback_blocks'].values())))})",
                  flush=True)
        else:
            ms = row["ms"]
            rest = "".join(f", {b} on {s}" for b, s in sorted(row["fallback_blocks"].items()))
            print(f"{name:<16} on the GPU: {','.join(row['gpu_blocks'])}{rest}; correct at {args.check_preset}; "
                  f"{args.preset}: numpy {ms['numpy']:.2f} ms, mlx-cpu {ms['mlx-cpu']:.2f} ms, "
                  f"mlx-gpu {ms['mlx-gpu']:.2f} ms ({ms['numpy'] / ms['mlx-gpu']:.2f}x over numpy)", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": rows}, indent=1, default=str))
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
