#!/usr/bin/env python
"""Back-end benchmark over the corpus: peers and mcodec strategies, measured in one run.

For each program and preset:

* peers: the independent NumPy implementation (tests/corpus_reference/NAME.py, the
  peer every user already has); Numba `njit` of that reference, serial and
  `parallel=True`, where Numba accepts it; JAX `jit` of it over jax.numpy where that
  traces and `jax` is installed (pip install -e '.[bench-jax]'). Each peer's result is
  checked against NumPy's before it is timed: one that Numba/JAX cannot compile is
  "n/a", one that differs is "wrong" and excluded; the reasons are listed.
* mcodec with every standard strategy applied to all blocks (checked likewise);
* the *oracle*: the per-block best strategy found from the per-block timings of those
  runs (exhaustive over the standard strategies, one block at a time), built and timed;
  where one strategy for every block ran faster, that uniform plan is the oracle
  (per-block times do not add up exactly).

Times are medians of --repeat runs after one warm-up run (fewer, down to one, for a
call whose warm-up takes over 2 s); copying the inputs (and a JAX peer's transfer to
device arrays) happens before each run, untimed. Ratios are speedups over the NumPy
peer (higher is better); "oracle/best" is the best peer's time over the oracle's
(above 1: mcodec's oracle beats every peer).

Also shown: back-end crossings (arrays converted NumPy <-> MLX at block boundaries,
per run, with their cost) for every plan that has any, and with --build-times the
build time of the oracle plan with `mcodec build` in a fresh process, cold (empty
block cache in a temporary MCODEC_CACHE_DIR) and cached (the same build again).
Startup (process start to first result) is tests/bench/bench_startup.py.

    .venv/bin/python tests/bench/bench_backends.py --presets S --programs crc16,softmax
    .venv/bin/python tests/bench/bench_backends.py --build-times --json out.json --png out.png
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mcodec  # noqa: F401 - before NumPy: sets OpenBLAS's spin time (runtime_shim/hardware.py)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

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
from mcodec.runtime_shim.hardware import short_openmp_spins  # noqa: E402
from mcodec.runtime_shim.profiling import BlockTimer, count_crossings  # noqa: E402
from peers import PEER_KINDS, Peer, jax_available, make_peers  # noqa: E402

NUMPY_PEER = "numpy-peer"
PEER_NAMES = {"numba": "numba-peer", "numba-par": "numba-par-peer", "jax": "jax-peer"}


# ---- timing -------------------------------------------------------------------------------
SLOW_S = 2.0  # a warm-up slower than this means fewer timed repeats (see median_time)


def median_time(call: Callable[[Any], Any], inputs: dict[str, Any], repeat: int,
                prepare: Callable[[dict[str, Any]], Any] = copy.deepcopy) -> float:
    """Median of `repeat` timed calls after one warm-up; `prepare(inputs)` runs untimed
    before each call. A call slower than SLOW_S (an interpreted loop nest, say) is timed
    fewer times, down to once: its run-to-run noise is small next to its time, and a
    full set of repeats would take most of the benchmark's time."""
    args = prepare(inputs)
    t0 = time.perf_counter()
    call(args)  # warm-up (JIT compilation, caches)
    warm = time.perf_counter() - t0
    if warm > SLOW_S:
        repeat = max(1, min(repeat, int(SLOW_S * repeat / warm)))
    times = []
    for _ in range(repeat):
        args = prepare(inputs)
        t0 = time.perf_counter()
        call(args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def entry_call(program: Any, entry: str) -> Callable[[dict[str, Any]], Any]:
    fn = getattr(program, entry)
    return lambda args: fn(**args)


def quiet_build(module: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        return build_module(module, **kwargs)


def check(got: dict[str, Any], want: dict[str, Any], where: str, fastmath: bool) -> str:
    """'' when `got` matches the reference, else the first line of the mismatch."""
    try:
        for k in want:
            assert_same(got[k], want[k], f"{where}:{k}", fastmath=fastmath)
    except (AssertionError, KeyError) as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        return f"{type(e).__name__}: {' '.join(lines[:3])}"[:160]
    return ""


# ---- one program and preset ----------------------------------------------------------------
class Case:
    """A program at a preset: its source, inputs, reference result and result row."""

    def __init__(self, name: str, preset: str, repeat: int, log: Any, workdir: Path) -> None:
        self.name, self.preset, self.repeat, self.log, self.workdir = name, preset, repeat, log, workdir
        self.source = (CORPUS / f"{name}.mc").read_text()
        self.im = inputs_module(name)
        self.inputs = self.im.make_inputs(preset)
        self.ref = reference_module(name)
        self.want = self.ref.reference(self.inputs)
        self.row: dict[str, Any] = {
            "program": name, "preset": preset, "times": {}, "peers": {}, "block_times": {}, "build_s": {},
            "used": {}, "failures": {}, "crossings": {},
        }

    def say(self, text: str) -> None:
        print(f"  {self.name}/{self.preset} {text}", file=self.log, flush=True)

    def module(self) -> Any:
        return frontend(self.source, f"{self.name}.mc")

    # peers
    def time_peers(self, kinds: list[str]) -> None:
        self.row["times"][NUMPY_PEER] = median_time(self.ref.reference, self.inputs, self.repeat)
        self.row["peers"][NUMPY_PEER] = {"status": "ok", "reason": ""}
        self.say(f"{NUMPY_PEER:<15}{self.row['times'][NUMPY_PEER] * 1e3:10.2f} ms")
        for peer in make_peers(self.name, self.inputs, self.want, kinds, self.workdir):
            self.time_peer(peer)

    def time_peer(self, peer: Peer) -> None:
        if peer.status == "ok" and peer.call is not None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.row["times"][peer.name] = median_time(peer.call, self.inputs, self.repeat, peer.prepare)
            except Exception as e:  # noqa: BLE001 - a peer never stops the run
                peer.status, peer.reason = "n/a", f"failed when timed: {type(e).__name__}: {e}"[:110]
        self.row["peers"][peer.name] = peer.to_json()
        shown = (f"{self.row['times'][peer.name] * 1e3:10.2f} ms  (first call {peer.first_call_s or 0:.2f} s)"
                 if peer.name in self.row["times"] else f"{peer.status:>10}     {peer.reason}")
        self.say(f"{peer.name:<15}{shown}")

    # mcodec
    def time_plan(self, label: str, **build_kwargs: Any) -> Any:
        """Build, check and time one plan; record times, crossings and failures."""
        timer = BlockTimer()
        t0 = time.perf_counter()
        try:
            result = quiet_build(self.module(), wrap=timer.wrap, **build_kwargs)
        except Exception as e:  # noqa: BLE001 - one failing strategy never stops the run
            self.fail(label, f"build failed: {type(e).__name__}: {e}")
            return None
        self.row["build_s"][label] = time.perf_counter() - t0
        fastmath = label == "oracle" or REGISTRY[label].jit_level >= 2
        try:
            got = run_entry(result.program, self.im.ENTRY, self.inputs)  # correctness before timing
            why = check(got, self.want, f"{self.name}:{label}", fastmath)
        except Exception as e:  # noqa: BLE001
            why = f"run failed: {type(e).__name__}: {e}"
        if why:
            self.fail(label, why)
            return None
        timer.reset()
        call = entry_call(result.program, self.im.ENTRY)
        self.row["times"][label] = median_time(call, self.inputs, self.repeat)
        runs = self.repeat + 1
        self.row["block_times"][label] = {b: s / runs for b, s in timer.seconds.items()}
        self.row["used"][label] = sorted({b.built.strategy_id for b in result.blocks.values()})
        self.row.setdefault("block_used", {})[label] = {bid: b.built.strategy_id for bid, b in result.blocks.items()}
        self.measure_crossings(label, call)
        return result

    def fail(self, label: str, why: str) -> None:
        self.row["failures"][label] = why[:300]
        self.say(f"{label:<15}{'FAILED':>10}     {why[:150]}")

    def measure_crossings(self, label: str, call: Callable[[dict[str, Any]], Any]) -> None:
        args = copy.deepcopy(self.inputs)
        with count_crossings() as log:
            t0 = time.perf_counter()
            call(args)
            run_s = time.perf_counter() - t0
        if log.count:
            self.row["crossings"][label] = {**log.to_json(), "run_s": run_s}

    def time_strategies(self, strategies: list[str]) -> None:
        for sid in strategies:
            if self.time_plan(sid, default=sid) is not None:
                used = ", ".join(self.row["used"][sid])
                self.say(f"{sid:<15}{self.row['times'][sid] * 1e3:10.2f} ms  (blocks ran as {used})")

    def time_oracle(self, strategies: list[str]) -> None:
        """Per block, the strategy whose run spent least time in it (named as the block
        was actually built: a strategy that fell back names its fallback); built and timed."""
        bt = {s: self.row["block_times"][s] for s in strategies if s in self.row["block_times"]}
        blocks = set().union(*(set(t) for t in bt.values())) if bt else set()
        plan = {}
        for b in sorted(blocks):
            best = min(bt, key=lambda s: bt[s].get(b, math.inf))
            plan[b] = self.row["block_used"][best].get(b, best)
        self.row["oracle_plan"] = plan
        times = self.row["times"]
        if self.time_plan("oracle", plan=plan, default="numpy") is not None:
            self.say(f"{'oracle':<15}{times['oracle'] * 1e3:10.2f} ms  (plan {plan})")
        # Per-block times do not add up exactly (crossings, caches shared between blocks):
        # when one strategy for every block ran faster than the composed plan, that
        # uniform plan (one of the per-block choices the search covers) is the oracle,
        # with the time it was measured at.
        uniform = [s for s in strategies if s in times]
        best = min(uniform, key=times.__getitem__, default=None)
        if best is None or ("oracle" in times and times["oracle"] <= times[best]):
            return
        for k in ("times", "build_s", "block_times", "used", "block_used", "crossings"):
            if best in self.row.get(k, {}):
                self.row[k]["oracle"] = self.row[k][best]
        self.row["oracle_plan"] = {b: self.row["block_used"][best].get(b, best) for b in plan}
        self.say(f"{'oracle':<15}{times['oracle'] * 1e3:10.2f} ms  (uniform {best}: faster than the composed plan)")

    def summarize(self) -> None:
        times, peers = self.row["times"], self.row["peers"]
        ok = [p for p in peers if peers[p]["status"] == "ok" and p in times]
        best = min(ok, key=lambda p: times[p]) if ok else None
        self.row["best_peer"] = best
        self.row["oracle_vs_best_peer"] = (times[best] / times["oracle"]
                                           if best and "oracle" in times else None)

    def build_times(self) -> None:
        plan = self.row.get("oracle_plan")
        if plan is None:
            return
        self.row["build"] = build_time(CORPUS / f"{self.name}.mc", plan)
        b = self.row["build"]
        self.say(f"{'build':<15}cold {b['cold_s']:.2f} s, cached {b['cached_s']:.2f} s")


def build_time(src: Path, plan: dict[str, str]) -> dict[str, Any]:
    """`mcodec build --plan` in a fresh process: first with an empty block cache (cold),
    then again with the cache that build filled (cached)."""
    with tempfile.TemporaryDirectory(prefix="mcodec-buildtime-") as tmp:
        t = Path(tmp)
        (t / "plan.json").write_text(json.dumps(plan))
        env = {**os.environ, "MCODEC_CACHE_DIR": str(t / "cache")}
        out: dict[str, Any] = {"plan": plan}
        for label in ("cold", "cached"):
            cmd = [sys.executable, "-m", "mcodec", "build", str(src), "-o", str(t / f"{label}.mcx"),
                   "--plan", str(t / "plan.json"), "-q"]
            t0 = time.perf_counter()
            r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            out[f"{label}_s"] = time.perf_counter() - t0
            if r.returncode:
                out[f"{label}_error"] = (r.stderr.strip().splitlines() or ["?"])[-1][:200]
    return out


def bench_program(name: str, preset: str, strategies: list[str], repeat: int, log: Any,
                  peers: list[str] | None = None, build_times: bool = False) -> dict[str, Any]:
    """One result row: peers, every strategy, the oracle (and build times)."""
    with tempfile.TemporaryDirectory(prefix="mcodec-peers-") as tmp:
        case = Case(name, preset, repeat, log, Path(tmp))
        case.time_peers(peers if peers is not None else [])
    case.time_strategies(strategies)
    case.time_oracle(strategies)
    case.summarize()
    if build_times:
        case.build_times()
    return case.row


# ---- reporting -----------------------------------------------------------------------------
def geomean(xs: list[float]) -> float:
    xs = [x for x in xs if x is not None and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def table(head: list[str], rows: list[list[str]], footer: list[str] | None = None, left: int = 2) -> str:
    """Aligned text table: the first `left` columns left-aligned, the rest right; the
    footer row (geomeans) below a rule."""
    every = [head, *rows, *([footer] if footer else [])]
    widths = [max(len(r[i]) for r in every) for i in range(len(head))]

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    rule = "-" * len(line(head))
    return "\n".join([line(head), rule, *(line(r) for r in rows), *([rule, line(footer)] if footer else [])])


def speedup(r: dict[str, Any], col: str) -> float | None:
    t = r["times"]
    return t[NUMPY_PEER] / t[col] if col in t and NUMPY_PEER in t else None


def cell_x(x: float | None) -> str:
    return f"{x:.2f}x" if x is not None and math.isfinite(x) else "-"


def strategy_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    body = []
    for r in rows:
        cells = [("FAILED" if c in r.get("failures", {}) else cell_x(speedup(r, c))) for c in columns]
        body.append([r["program"], r["preset"], f"{r['times'].get(NUMPY_PEER, math.nan) * 1e3:.2f}", *cells])
    foot = ["geomean", "", "", *(cell_x(geomean([speedup(r, c) for r in rows])) for c in columns)]
    return ("mcodec, one strategy for every block, and the oracle: speedup over the NumPy peer\n"
            + table(["program", "preset", "numpy ms", *columns], body, foot))


def peer_cell(r: dict[str, Any], p: str) -> str:
    info = r["peers"].get(p)
    if info is None:
        return "-"
    return cell_x(speedup(r, p)) if info["status"] == "ok" and p in r["times"] else info["status"]


def peer_table(rows: list[dict[str, Any]], peers: list[str]) -> str:
    body = []
    for r in rows:
        best = r.get("best_peer")
        body.append([r["program"], r["preset"], f"{r['times'].get(NUMPY_PEER, math.nan) * 1e3:.2f}",
                     *(peer_cell(r, p) for p in peers), (best or "-").removesuffix("-peer"),
                     cell_x(speedup(r, best) if best else None), cell_x(speedup(r, "oracle")),
                     cell_x(r.get("oracle_vs_best_peer"))])
    foot = ["geomean", "", "", *("" for _ in peers), "",
            cell_x(geomean([speedup(r, r["best_peer"]) for r in rows if r.get("best_peer")])),
            cell_x(geomean([speedup(r, "oracle") for r in rows])),
            cell_x(geomean([r.get("oracle_vs_best_peer") for r in rows]))]
    head = ["program", "preset", "numpy ms", *(p.removesuffix("-peer") for p in peers), "best peer", "best",
            "oracle", "oracle/best"]
    ratios = [r["oracle_vs_best_peer"] for r in rows if r.get("oracle_vs_best_peer") is not None]
    behind = sorted(f"{r['program']} ({r['preset']}) {r['oracle_vs_best_peer']:.2f}x" for r in rows
                    if r.get("oracle_vs_best_peer") is not None and r["oracle_vs_best_peer"] < 0.95)
    verdict = (f"\noracle at least 0.95x the best peer on {len(ratios) - len(behind)} of {len(ratios)} programs"
               + (f"; behind: {', '.join(behind)}" if behind else ""))
    return ("Peers: speedup over NumPy; the best peer against mcodec's oracle (oracle/best above 1: mcodec wins)\n"
            + table(head, body, foot) + verdict)


def peer_notes(rows: list[dict[str, Any]]) -> str:
    """Peers that could not run (n/a) or gave another answer (wrong), with reasons."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for r in rows:
        for p, info in r["peers"].items():
            if info["status"] != "ok":
                groups.setdefault((p, info["status"], r["program"], info["reason"]), []).append(r["preset"])
    if not groups:
        return ""
    lines = ["Peers not timed (n/a: cannot compile or trace the reference; wrong: a different answer, excluded)"]
    for (p, status, prog, reason), presets in groups.items():  # in the order of the run
        lines.append(f"  {p.removesuffix('-peer'):<10}{status:<6}{prog + ' (' + ','.join(presets) + ')':<26}{reason}")
    return "\n".join(lines)


def failure_notes(rows: list[dict[str, Any]]) -> str:
    lines = [f"  {r['program']}/{r['preset']} {label}: {why}" for r in rows for label, why in r["failures"].items()]
    return "mcodec plans that failed (not timed)\n" + "\n".join(lines) if lines else ""


def crossing_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        for label, c in r.get("crossings", {}).items():
            share = c["seconds"] / c["run_s"] if c["run_s"] > 0 else math.nan
            body.append([r["program"], r["preset"], label, str(c["count"]), str(c["boundaries"]),
                         f"{c['nbytes'] / 2**20:.2f}", f"{c['seconds'] * 1e3:.3f}", f"{c['run_s'] * 1e3:.2f}",
                         f"{100 * share:.1f}%"])
    if not body:
        return "Back-end crossings: none (no plan converted arrays between back ends)"
    head = ["program", "preset", "plan", "arrays", "boundaries", "MiB", "convert ms", "run ms", "share"]
    note = conversion_throughput()
    return ("Back-end crossings per run (NumPy <-> MLX; each array converted once per block boundary)\n"
            + table(head, body, left=3) + ("\n" + note if note else ""))


def conversion_throughput(mib: int = 16) -> str:
    """One line: how fast whole arrays convert NumPy -> MLX and back on this machine."""
    try:
        import mlx.core as mx
        import numpy as np
    except ImportError:
        return ""
    a = np.ones(mib * 2**20 // 8)
    m = mx.array(a)

    def best(f: Callable[[], Any]) -> float:
        return min(_timed(f) for _ in range(5))

    to_mx, to_np = best(lambda: mx.eval(mx.array(a))), best(lambda: np.array(m, copy=True))
    return (f"conversion throughput ({mib} MiB float64): NumPy -> MLX {mib / 1024 / to_mx:.1f} GiB/s, "
            f"MLX -> NumPy {mib / 1024 / to_np:.1f} GiB/s")


def _timed(f: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def build_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        b = r.get("build")
        if not b:
            continue
        jit = r["peers"].get("numba-peer", {}).get("first_call_s")
        err = "; ".join(b[k] for k in ("cold_error", "cached_error") if k in b)
        body.append([r["program"], r["preset"], str(len(b["plan"])), f"{b['cold_s']:.2f}", f"{b['cached_s']:.2f}",
                     "-" if jit is None else f"{jit:.2f}", err[:60]])
    if not body:
        return ""
    built = [r["build"] for r in rows if r.get("build")]
    foot = ["geomean", "", "", f"{geomean([b['cold_s'] for b in built]):.2f}",
            f"{geomean([b['cached_s'] for b in built]):.2f}", "", ""]
    head = ["program", "preset", "blocks", "cold s", "cached s", "numba jit s", "error"]
    return ("Build time of the oracle plan (`mcodec build` in a fresh process, cold = empty block cache;\n"
            "numba jit s = the Numba peer's first call, compilation and one run)\n" + table(head, body, foot))


def report(rows: list[dict[str, Any]], strategies: list[str], peers: list[str]) -> str:
    parts = [strategy_table(rows, strategies + ["oracle"]), peer_table(rows, peers), peer_notes(rows),
             failure_notes(rows), crossing_table(rows), build_table(rows)]
    return "\n\n".join(p for p in parts if p)


def plot(rows: list[dict[str, Any]], columns: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [c for c in columns if c != NUMPY_PEER]  # the line at 1
    labels = [f"{r['program']}/{r['preset']}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.7), 5.5))
    width = 0.8 / len(columns)
    for i, c in enumerate(columns):
        vals = [speedup(r, c) or 0 for r in rows]
        hatch = "//" if c.endswith("-peer") else None
        ax.bar([x + i * width for x in range(len(rows))], vals, width, label=c, hatch=hatch)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(rows))], labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("speedup over NumPy (log)")
    ax.set_title("speedup over the NumPy peer (line at 1); hatched: peers; no bar: n/a or failed", fontsize=9)
    ax.legend(fontsize=7, ncol=min(len(columns), 6), loc="upper center", bbox_to_anchor=(0.5, -0.22))
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# ---- command line --------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", help="comma-separated corpus names (default: all)")
    ap.add_argument("--presets", default="S,M")
    ap.add_argument("--strategies", help="comma-separated strategy ids (default: every registered one; "
                    "GPU ones only where there is a GPU)")
    ap.add_argument("--peers", default=",".join(PEER_KINDS),
                    help=f"comma-separated peers besides NumPy, of {', '.join(PEER_KINDS)} (jax only if installed)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--build-times", action="store_true",
                    help="also time `mcodec build` of the oracle plan, cold and cached (fresh processes)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--png", type=Path)
    return ap.parse_args(argv)


JAX_MISSING = "note: jax is not installed, so there is no JAX peer (pip install -e '.[bench-jax]')"


def peer_kinds(spec: str) -> list[str]:
    kinds = [k for k in spec.split(",") if k]
    for k in kinds:
        if k not in PEER_KINDS:
            raise SystemExit(f"unknown peer {k!r}; known: {', '.join(PEER_KINDS)}")
    return [k for k in kinds if k != "jax" or jax_available()]


def default_strategies() -> list[str]:
    """Every registered strategy; GPU ones only where MLX has a GPU (else they run as
    their CPU twins)."""
    try:
        from mcodec.compiler.backends.mlx_backend import gpu_available

        gpu = gpu_available()
    except ImportError:
        gpu = False
    return [sid for sid, s in REGISTRY.items() if s.device_target == "cpu" or gpu]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    short_openmp_spins()  # before any parallel Numba code runs, peers' included
    names = args.programs.split(",") if args.programs else corpus_names()
    presets = [p for p in args.presets.split(",") if p]
    strategies = [s for s in args.strategies.split(",") if s] if args.strategies else default_strategies()
    for s in strategies:
        if s not in REGISTRY:
            raise SystemExit(f"unknown strategy {s!r}; known: {', '.join(REGISTRY)}")
    kinds = peer_kinds(args.peers)
    notes = [JAX_MISSING] if "jax" in args.peers.split(",") and "jax" not in kinds else []
    # settings every peer and strategy ran under alike
    notes += [f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if os.environ.get(k)]
    peers = [PEER_NAMES[k] for k in kinds]
    rows = []
    cases = [(n, p) for n in names for p in presets]
    t_start = time.perf_counter()
    for i, (name, preset) in enumerate(cases):
        print(f"[{i + 1}/{len(cases)}] {name} {preset}  ({time.perf_counter() - t_start:.0f} s so far)",
              file=sys.stderr, flush=True)
        rows.append(bench_program(name, preset, strategies, args.repeat, sys.stderr, kinds, args.build_times))
    print(report(rows, strategies, peers) + "".join("\n" + n for n in notes))
    if args.json:
        meta = {"strategies": strategies, "peers": [NUMPY_PEER, *peers], "repeat": args.repeat,
                "presets": presets, "build_times": args.build_times, "notes": notes}
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1, default=str))
    if args.png:
        plot(rows, strategies + ["oracle", NUMPY_PEER, *peers], args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
