#!/usr/bin/env python
"""Offline (counterfactual) leave-one-program-out evaluation of policy models.

Reads a profile store that holds, for every block of every program, timings under
several strategies (e.g. the store `eval_policy.py --store` fills). For each program,
each learner kind is trained on the *other* programs' records and picks a strategy per
block; the program's simulated time is the sum of the measured median block times of
the picks. Nothing is built or run, so model variants compare in seconds on the same
data; `eval_policy.py` then times the chosen model for real.

    .venv/bin/python tests/bench/simulate_policy.py /tmp/evalS.sqlite3 --learners ridge,mlp
    .venv/bin/python tests/bench/simulate_policy.py /tmp/evalS.sqlite3 --learners ridge --hyper ridge=1,10,30

Reports per learner: geometric means of regret = t(policy) / t(per-block oracle), and
gain = t(fixed) / t(policy) against the best single fixed strategy over the corpus (one
strategy for every block of every program, the rule a user would otherwise pick) and
against the best fixed strategy per program (a whole-program oracle).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from corpus_util import CORPUS  # noqa: E402
from mcodec.compiler.optimize import train_from_store  # noqa: E402
from mcodec.compiler.strategy import REGISTRY  # noqa: E402
from mcodec.passes.features import FEATURE_NAMES  # noqa: E402
from mcodec.passes.policy import LEARNERS  # noqa: E402
from mcodec.runtime_shim.profile_store import ProfileStore  # noqa: E402

BASELINE = "numpy"


def geomean(xs: list[float]) -> float:
    xs = [x for x in xs if x > 0 and math.isfinite(x)]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")


class _Without:
    """The store without one program's records (leave-one-out)."""

    def __init__(self, store: ProfileStore, program_sig: str) -> None:
        self.store, self.program_sig = store, program_sig

    def query(self, **kw):  # noqa: ANN003, ANN201
        return [r for r in self.store.query(**kw) if r.program_sig != self.program_sig]


def block_table(store: ProfileStore) -> dict[str, dict[str, tuple[list[float], dict[str, float]]]]:
    """program sig -> block id -> (features, strategy -> median seconds of successful runs)."""
    runs: dict[str, dict[str, dict[str, list[float]]]] = {}
    feats: dict[tuple[str, str], list[float]] = {}
    for r in store.query():
        if r.features is not None:
            feats[(r.program_sig, r.block_id)] = r.features
        if r.success and r.seconds is not None:
            runs.setdefault(r.program_sig, {}).setdefault(r.block_id, {}).setdefault(r.strategy_id, []).append(r.seconds)
    table = {p: {b: (feats[(p, b)], {s: statistics.median(v) for s, v in t.items()})
                 for b, t in blocks.items() if (p, b) in feats and BASELINE in t}
             for p, blocks in runs.items()}
    return {p: blocks for p, blocks in table.items() if blocks}  # (a program left without features)


def program_time(blocks: dict[str, tuple[list[float], dict[str, float]]], pick) -> float:  # noqa: ANN001
    """Sum of block times; a strategy with no successful run falls back to NumPy, as a
    build does."""
    total = 0.0
    for b, (f, times) in blocks.items():
        s = pick(b, f, times)
        total += times.get(s, times[BASELINE])
    return total


def _value(text: str) -> Any:
    """A hyperparameter value from the command line: a number, a boolean, else text."""
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _label(kind: str, hp: dict[str, Any]) -> str:
    return kind + "".join(f" {k}={v}" for k, v in hp.items())


class Refeaturized:
    """The store with every record's features recomputed by this mcodec's
    `feature_vector`, from the corpus program's source and the record's input shapes:
    feature changes are evaluated on profiles recorded before them. Records of other
    programs keep theirs where they have today's width. A program edited since, or
    whose blocks no longer match the profiled ones (a pass changed its partition: another
    block id or structural signature), is left without features, so it drops out of
    the evaluation rather than being scored with the features of other code."""

    def __init__(self, store: ProfileStore) -> None:
        self.store = store
        self.sources = {sig: (CORPUS / f"{n}.mc").read_text() for sig, n in corpus_program_names().items()}
        self.cache: dict[tuple[str, str], dict[str, list[float]]] = {}
        self.stale: set[str] = set()

    def _features(self, program_sig: str, shapes: Any) -> dict[str, list[float]]:
        key = (program_sig, json.dumps(shapes, sort_keys=True))
        hit = self.cache.get(key)
        if hit is None:
            from mcodec.compiler.driver import frontend
            from mcodec.compiler.optimize import dims_from_inputs
            from mcodec.compiler.stitch import block_views
            from mcodec.passes.features import feature_vector
            from mcodec.runtime_shim.hardware import machine

            module = frontend(self.sources[program_sig])
            fake = {k: np.broadcast_to(np.zeros(()), v) for k, v in shapes.items()}  # (shapes only)
            dims: dict[str, int] = {}
            for entry in module.functions:
                dims.update(dims_from_inputs(module, entry, fake))
            hit = self.cache[key] = {view.id: (view.op.attrs["sid"], feature_vector(view, machine(), dims).tolist())
                                     for fn in module.functions.values() for view in block_views(fn)}
        return hit

    def query(self, **kw: Any) -> list:
        out = []
        for r in self.store.query(**kw):
            if r.program_sig in self.sources and isinstance(r.shapes, dict):
                sid, feats = self._features(r.program_sig, r.shapes).get(r.block_id, (None, None))
                if sid != r.block_sig:
                    self.stale.add(r.program_sig)
                r = dataclasses.replace(r, features=feats)
            elif r.features is not None and len(r.features) != len(FEATURE_NAMES):
                self.stale.add(r.program_sig)  # (a program edited since: its old source is gone)
            out.append(r)
        return [dataclasses.replace(r, features=None) if r.program_sig in self.stale else r for r in out]


def corpus_program_names() -> dict[str, str]:
    """program signature -> corpus program name (for reports only)."""
    from corpus_util import corpus_names
    from mcodec.compiler.optimize import program_signature

    return {program_signature((CORPUS / f"{n}.mc").read_text()): n for n in corpus_names()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", type=Path)
    ap.add_argument("--learners", default=",".join(LEARNERS))
    ap.add_argument("--hyper", action="append", default=[], metavar="NAME=V1,V2,...",
                    help="learner hyperparameter values to try (repeatable: the grid of all combinations)")
    ap.add_argument("--refeaturize", action="store_true",
                    help="recompute the features of corpus programs' records with this mcodec (see Refeaturized)")
    ap.add_argument("--worst", type=int, default=0, metavar="N",
                    help="also list each configuration's N programs of highest regret")
    args = ap.parse_args()
    store: Any = ProfileStore(args.store)
    if args.refeaturize:
        store = Refeaturized(store)
    table = block_table(store)
    if args.refeaturize and store.stale:
        names = corpus_program_names()
        print("left out (changed since profiling): " + ", ".join(sorted(names.get(p, p) for p in store.stale)))
    strategies = sorted({s for blocks in table.values() for _, t in blocks.values() for s in t})
    fixed = {s: {p: program_time(blocks, lambda b, f, t, s=s: s) for p, blocks in table.items()} for s in strategies}
    oracle = {p: program_time(blocks, lambda b, f, t: min(t, key=t.get)) for p, blocks in table.items()}
    best_single = max(strategies, key=lambda s: geomean([oracle[p] / fixed[s][p] for p in table]))
    names = corpus_program_names()
    print(f"{len(table)} programs, strategies {', '.join(strategies)}; best single fixed: {best_single}")
    grid: list[dict[str, Any]] = [{}]
    for h in args.hyper:
        name, _, values = h.partition("=")
        grid = [{**g, name: _value(v)} for g in grid for v in values.split(",")]
    runs = [(kind, hp) for kind in args.learners.split(",") for hp in grid]
    width = max(10, *(len(_label(k, hp)) + 1 for k, hp in runs))
    print(f"{'learner':<{width}}{'regret':>8}{'gain':>8}{'gain/prog':>11}{'vs numpy':>10}")
    for kind, hp in runs:
        policy: dict[str, float] = {}
        for p, blocks in table.items():
            learner = LEARNERS[kind](REGISTRY.values(), **hp)
            train_from_store(learner, _Without(store, p))  # type: ignore[arg-type]

            pref = learner.preference()  # (as a build decides: see decide)

            def pick(b: str, f: list[float], times: dict[str, float], learner=learner, pref=pref) -> str:  # noqa: ANN001
                q = learner.predict(f)
                return max(times, key=lambda a: (q.get(a, -math.inf) + pref.get(a, 0.0), a == BASELINE))

            policy[p] = program_time(blocks, pick)
        regret = geomean([policy[p] / oracle[p] for p in table])
        gain = geomean([fixed[best_single][p] / policy[p] for p in table])
        gain_prog = geomean([min(fixed[s][p] for s in strategies) / policy[p] for p in table])
        vs_numpy = geomean([fixed[BASELINE][p] / policy[p] for p in table])
        print(f"{_label(kind, hp):<{width}}{regret:>8.3f}{gain:>8.3f}{gain_prog:>11.3f}{vs_numpy:>9.2f}x",
              flush=True)
        for p in sorted(table, key=lambda p: policy[p] / oracle[p], reverse=True)[:args.worst]:
            print(f"    {names.get(p, p):<18} regret {policy[p] / oracle[p]:6.2f}  policy {policy[p] * 1e3:10.3f} ms"
                  f"  oracle {oracle[p] * 1e3:10.3f} ms  {fixed[best_single][p] * 1e3:10.3f} ms with {best_single}")
    print(f"{'oracle':<{width}}{1.0:>8.3f}{geomean([fixed[best_single][p] / oracle[p] for p in table]):>8.3f}"
          f"{geomean([min(fixed[s][p] for s in strategies) / oracle[p] for p in table]):>11.3f}"
          f"{geomean([fixed[BASELINE][p] / oracle[p] for p in table]):>9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
