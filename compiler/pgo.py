"""Profile-guided optimization: `mcodec profile` runs a program for a bounded number of
rounds (a NumPy baseline, then plans the policy explores), records per-block timings in
the profile store and retrains the policy; `mcodec build --optimize` then exploits it."""

from __future__ import annotations

import copy
import random
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from mcodec.runtime_shim.profile_store import ProfileStore
from mcodec.runtime_shim.profiling import BlockTimer

from .build import BuildResult, BuildWarning, build_module
from .driver import frontend
from .optimize import (
    Decision,
    decide,
    dims_from_inputs,
    load_learner,
    profile_records,
    set_aside_unusable_policy,
    train_from_store,
    user_policy_dir,
)


def _entry(program: Any, name: str) -> Any:
    """An entry by name (by attribute, an entry named `info` would be the Program's)."""
    return program.entries[name] if hasattr(program, "entries") else getattr(program, name)


def call_entry(program: Any, entry: str, inputs: dict[str, Any]) -> list[Any]:
    """Run an entry on a copy of the inputs; the result plus final inout arrays."""
    fn = _entry(program, entry)
    args = copy.deepcopy(inputs)
    result = fn(**args)
    outs = list(result) if isinstance(result, tuple) else [result]
    return outs + [args[p.name] for p in fn.fn.params if p.inout]


def time_entry(program: Any, entry: str, inputs: dict[str, Any], runs: int) -> list[float]:
    """Seconds of each of `runs` calls of an entry, each on a fresh copy of the inputs
    made before its clock starts (copying a big input can cost more than the kernel)."""
    fn = _entry(program, entry)
    times = []
    for _ in range(runs):
        args = copy.deepcopy(inputs)
        t0 = time.perf_counter()
        fn(**args)
        times.append(time.perf_counter() - t0)
    return times


def same_results(a: list[Any], b: list[Any]) -> bool:
    for x, y in zip(a, b):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        if x.dtype.kind in "fc":
            if not np.allclose(x, y, rtol=1e-4, atol=1e-6 * max(1.0, float(np.max(np.abs(y))) if y.size else 1.0),
                               equal_nan=True):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def build_with_plan(source: str, filename: str, plan: dict[str, str], timer: BlockTimer | None = None,
                    default: str | None = None) -> BuildResult:
    module = frontend(source, filename)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        return build_module(module, plan, default=default or "numpy", wrap=timer.wrap if timer else None)


def profile_program(path: Path, inputs_mod: Any, preset: str, rounds: int, runs: int, store: ProfileStore,
                    log: TextIO = sys.stderr, seed: int = 0,
                    plans: list[dict[str, str] | str] | None = None, save: bool = True,
                    budget_s: float = 2.0) -> list[dict[str, Any]]:
    """Round 0 is the NumPy baseline; later rounds use `plans` when given (a plan, or
    a strategy id for every block: fixed experiments), else plans the policy explores.
    A round times `runs` calls after its warm-up, fewer once they took `budget_s`."""
    source = path.read_text()
    entry = inputs_mod.ENTRY
    inputs = inputs_mod.make_inputs(preset)
    notes: list[str] = []
    unusable: list[Path] = []
    learner = load_learner(notes, unusable)
    # (the policy trained here is saved at the end: never over one that could not be used)
    aside = set_aside_unusable_policy(unusable) if save else None
    if aside:
        notes.append(aside)
    for n in notes:
        print(f"note: {n}", file=log)
    train_from_store(learner, store)
    module0 = frontend(source, str(path))
    dims = dims_from_inputs(module0, entry, inputs)
    expected: list[Any] | None = None
    summary = []
    for r in range(rounds + 1):
        decisions: list[Decision] = []
        default = "numpy"
        if r == 0:
            plan: dict[str, str] = {}  # the NumPy baseline every reward is measured against
        elif plans is not None:
            item = plans[(r - 1) % len(plans)]
            plan, default = ({}, item) if isinstance(item, str) else (item, "numpy")
        else:
            plan, decisions = decide(frontend(source, str(path)), learner, explore=True, dims=dims,
                                     rng=random.Random(f"{seed}:{r}"))
        timer = BlockTimer()
        result = build_with_plan(source, str(path), plan, timer, default)
        failures = {f"{f.block_id}:{f.strategy_id}": f.reason for f in result.fallbacks}
        out = call_entry(result.program, entry, inputs)  # warm-up (JIT) and correctness
        if expected is None:
            expected = out
        elif not same_results(out, expected):
            for b in result.blocks.values():
                if b.built.strategy_id != "numpy":
                    failures[f"{b.block_id}:{b.built.strategy_id}"] = "results differ from the NumPy baseline"
            print(f"round {r}: results differ from the baseline; the strategies used are penalized", file=log)
        timer.reset()
        times: list[float] = []
        while len(times) < runs:
            times += time_entry(result.program, entry, inputs, 1)
            timer.end_run()
            if sum(times) >= budget_s:  # (slow calls: their noise is small against them)
                break
        total = statistics.median(times)
        recs = profile_records(source, result.module, result.blocks, timer, len(times), inputs, entry, failures)
        ok_blocks = {b.block_id for b in result.blocks.values()}
        recs = [x for x in recs if x.success or x.block_id in ok_blocks]
        store.record(recs)
        train_from_store(learner, store)
        used = ", ".join(f"{b.block_id}={b.built.strategy_id}" for b in result.blocks.values())
        print(f"round {r}/{rounds}: {total * 1e3:9.2f} ms  {used}", file=log, flush=True)
        summary.append({"round": r, "ms": total * 1e3, "plan": {b.block_id: b.built.strategy_id
                                                                 for b in result.blocks.values()}})
    if save:
        learner.save(user_policy_dir())
    return summary
