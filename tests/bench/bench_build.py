#!/usr/bin/env python
"""Build time of `mcodec build` per corpus program, as a user meets it: a fresh process
each time, cold (an empty block cache) and cached (the same build again), wall-clock
seconds including process start. Medians of --repeat cold builds and of as many cached
ones (cold builds dominate; the cached one mostly measures imports and the front end).

    .venv/bin/python tests/bench/bench_build.py --strategy numba
    .venv/bin/python tests/bench/bench_build.py --programs jacobi_2d,gemm --strategy numba-fast --repeat 3

With --against DIR (another mcodec checkout, e.g. `git worktree add /tmp/base REV`),
each build also runs with that checkout's mcodec in the same venv, interleaved with this
one, and the table shows both and their ratio: an A/B of a change on the same machine
at the same time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"


def pythonpath_for(checkout: Path, scratch: Path) -> str:
    """A PYTHONPATH entry under which `import mcodec` is `checkout` (the project venv
    maps `mcodec` to this checkout; a path entry comes first)."""
    link = scratch / "pkg" / "mcodec"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(checkout.resolve(), target_is_directory=True)
    return str(link.parent)


def build_once(program: str, strategy: str, cache: Path, out: Path, pythonpath: str | None) -> float | None:
    env = {**os.environ, "MCODEC_CACHE_DIR": str(cache)}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "mcodec", "build", "--strategy", strategy, str(CORPUS / f"{program}.mc"),
                        "-o", str(out)], env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    dt = time.perf_counter() - t0
    return dt if r.returncode == 0 else None


def geomean(xs: list[float]) -> float:
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", help="comma-separated corpus names (default: all)")
    ap.add_argument("--strategy", default="numba")
    ap.add_argument("--repeat", type=int, default=1, help="cold (and cached) builds per program (median)")
    ap.add_argument("--against", type=Path, metavar="DIR", help="another mcodec checkout to time beside this one")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    names = args.programs.split(",") if args.programs else sorted(p.stem for p in CORPUS.glob("*.mc"))
    scratch = Path(tempfile.mkdtemp(prefix="mcodec-bench-build-"))
    sides = {"this": None}
    if args.against:
        sides["other"] = pythonpath_for(args.against, scratch)
    rows = []
    try:
        for i, name in enumerate(names):
            print(f"[{i + 1}/{len(names)}] {name}", file=sys.stderr, flush=True)
            row: dict[str, object] = {"program": name}
            times: dict[str, dict[str, list[float | None]]] = {s: {"cold": [], "cached": []} for s in sides}
            for _ in range(args.repeat):
                for side, pp in sides.items():  # interleaved: both see the same machine load
                    cache = scratch / f"cache-{side}"
                    shutil.rmtree(cache, ignore_errors=True)
                    times[side]["cold"].append(build_once(name, args.strategy, cache, scratch / "out", pp))
                    times[side]["cached"].append(build_once(name, args.strategy, cache, scratch / "out", pp))
            for side in sides:
                for kind in ("cold", "cached"):
                    ok = [t for t in times[side][kind] if t is not None]
                    row[f"{side}_{kind}"] = statistics.median(ok) if len(ok) == len(times[side][kind]) else None
            rows.append(row)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    cols = [f"{s}_{k}" for s in sides for k in ("cold", "cached")]
    label = {"this_cold": "cold s", "this_cached": "cached s", "other_cold": "other cold s",
             "other_cached": "other cached s"}
    head = f"{'program':<16}" + "".join(f"{label[c]:>16}" for c in cols)
    print(f"mcodec build --strategy {args.strategy}, fresh process per build, median of {args.repeat}")
    print(head + (f"{'cold other/this':>17}" if args.against else ""))
    for r in rows:
        cells = "".join(f"{r[c]:>16.2f}" if r[c] is not None else f"{'failed':>16}" for c in cols)
        ratio = (f"{r['other_cold'] / r['this_cold']:>17.2f}" if args.against and r["this_cold"] and r["other_cold"]
                 else "")
        print(f"{r['program']:<16}{cells}{ratio}")
    means = "".join(f"{geomean([r[c] for r in rows]):>16.2f}" for c in cols)
    print(f"{'geomean':<16}{means}")
    print(f"{'total':<16}" + "".join(f"{sum(r[c] or 0.0 for r in rows):>16.1f}" for c in cols))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
