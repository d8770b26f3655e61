#!/usr/bin/env python
"""Policy evaluation over the corpus, and training of the prior shipped with mcodec.

1. Profiles every program (a NumPy baseline, then every standard strategy applied to
   all blocks) into a fresh profile store: per-block times for every strategy.
2. Leave-one-program-out: for each program, a policy trained on the *other* programs'
   profiles builds it (`--optimize`); it is timed against the per-block oracle (the
   best strategy per block from its own profiles) and the best single fixed strategy.
   regret = t(policy) / t(oracle); gain = t(best fixed) / t(policy), against two fixed
   baselines: each program's own best strategy (chosen per program in hindsight) and the
   best fixed rule (the one strategy with the best geometric mean over the corpus).
   Inputs are copied before each timed call, outside the clock.
   Then "one round on the program itself": the policy also sees the program's profiles.
3. With --save-prior, a policy trained on all programs is written to passes/prior/.
   With --prior-only STORE, only that: the prior is trained on an existing store (after
   a change to the learner, without profiling again).

    .venv/bin/python tests/bench/eval_policy.py --preset S [--programs a,b] [--save-prior]
    .venv/bin/python tests/bench/eval_policy.py --prior-only /tmp/policy_eval/profilesM.sqlite3
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mcodec  # noqa: F401 - before NumPy: sets OpenBLAS's spin time (runtime_shim/hardware.py)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_util import CORPUS, corpus_names, inputs_module, reference_module  # noqa: E402
from mcodec.compiler.driver import frontend  # noqa: E402
from mcodec.compiler.optimize import decide, dims_from_inputs, program_signature, train_from_store  # noqa: E402
from mcodec.compiler.pgo import build_with_plan, profile_program, time_entry  # noqa: E402
from mcodec.compiler.stitch import block_views  # noqa: E402
from mcodec.compiler.strategy import REGISTRY  # noqa: E402
from mcodec.passes.policy import DEFAULT_LEARNER, LEARNERS  # noqa: E402
from mcodec.runtime_shim.hardware import short_openmp_spins  # noqa: E402
from mcodec.runtime_shim.profile_store import ProfileStore  # noqa: E402
from peers import Peer, jax_available, make_peers  # noqa: E402

NUMPY_PEER = "numpy-peer"
ROUND_BUDGET_S = 0.05  # a plan's timed rounds take at least this long, up to MAX_ROUNDS
MAX_ROUNDS = 41


def time_plans(name: str, inputs: dict[str, Any], blocks: list[str], plans: dict[str, dict[str, str]],
               repeat: int, peer_kinds: tuple[str, ...] = ()) -> tuple[dict[str, float], dict[str, str]]:
    """Median seconds per named plan (over the program's `blocks`) and per peer (the
    NumPy reference, and those of `peer_kinds` that run the program; with the reasons
    of those that do not), on `inputs` (copied before each call, outside the clock).

    Plans that give every block the same strategy (a block a plan leaves out is
    NumPy's) are one build, timed once: timing equal builds separately only measured
    the machine's noise (in one run an identical plan timed 28 and 62 ms). Everything is
    timed in interleaved rounds, so a slow spell of the machine falls on all of it
    rather than on one; programs faster than ROUND_BUDGET_S / repeat get more rounds."""
    source = (CORPUS / f"{name}.mc").read_text()
    entry = inputs_module(name).ENTRY
    key_of: dict[str, Any] = {label: tuple(plan.get(b, "numpy") for b in blocks) for label, plan in plans.items()}
    runs: dict[Any, Callable[[], float]] = {}
    plan_keys = list(dict.fromkeys(key_of.values()))
    for key in plan_keys:
        program = build_with_plan(source, f"{name}.mc", dict(zip(blocks, key))).program
        runs[key] = lambda program=program: time_entry(program, entry, inputs, 1)[0]
    missing: dict[str, str] = {}
    if peer_kinds:
        ref = reference_module(name)
        want = ref.reference(copy.deepcopy(inputs))
        peers = [Peer(NUMPY_PEER, call=ref.reference),
                 *make_peers(name, inputs, want, list(peer_kinds), Path(tempfile.mkdtemp(prefix="mcodec-peer-")))]
        for peer in peers:
            if peer.status == "ok" and peer.call is not None:
                key_of[peer.name] = runs_key = ("peer", peer.name)
                runs[runs_key] = lambda peer=peer: _time_peer(peer, inputs)
            else:
                missing[peer.name] = peer.reason
    # warm-up (and a peer's first call after its compilation)
    first = {key: run() for key, run in runs.items()}
    # Fast programs get more rounds: at 5 rounds, sub-millisecond plans that differ only
    # in a block of microseconds timed 0.36 and 0.61 ms (xorshift), pure noise. (By the
    # slowest plan: the NumPy peer, 50 times slower, left such programs at 5.)
    slowest = max(first[key] for key in plan_keys)
    rounds = max(repeat, min(MAX_ROUNDS, math.ceil(ROUND_BUDGET_S / max(slowest, 1e-9))))
    # Each round runs in a new (seeded) random order: what runs right after the NumPy
    # peer runs slower (fdtd_2d's plans took 4-7% longer there, whichever plan it was;
    # xorshift's 11%), and with a fixed order, or one rotated each round, one plan
    # followed the peer in most rounds: the policy's, listed first.
    order, shuffle = list(runs), random.Random(0).shuffle
    times: dict[Any, list[float]] = {key: [] for key in runs}
    for _ in range(rounds):
        shuffle(order)
        for key in order:
            times[key].append(runs[key]())
    return {label: statistics.median(times[key]) for label, key in key_of.items()}, missing


def _time_peer(peer: Peer, inputs: dict[str, Any]) -> float:
    args = peer.prepare(inputs)  # (copies, outside the clock)
    assert peer.call is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        peer.call(args)
        return time.perf_counter() - t0


class _Subset:
    """A read-only view of the store without some programs (leave-one-out)."""

    def __init__(self, store: ProfileStore, exclude: set[str]) -> None:
        self.store, self.exclude = store, exclude

    def query(self, **kw: Any) -> list:
        return [r for r in self.store.query(**kw) if r.program_sig not in self.exclude]


def oracle_plan(store: ProfileStore, psig: str) -> dict[str, str]:
    """Per block, the strategy with the least median time over its profiled runs (the
    median, as `fixed_from_store` and `mcodec build --optimize` read profiles: the least
    single run of a noisy block is luck, not a better strategy)."""
    runs: dict[str, dict[str, list[float]]] = {}
    for r in store.query():
        if r.program_sig == psig and r.success and r.seconds is not None:
            runs.setdefault(r.block_id, {}).setdefault(r.strategy_id, []).append(r.seconds)
    return {b: min(t, key=lambda s: (statistics.median(t[s]), s)) for b, t in runs.items()}


def fixed_from_store(store: ProfileStore, psig: str) -> dict[str, float]:
    """Per strategy, the program's time with it on every block, from the profiles: the
    sum of its blocks' median times (NumPy's where the strategy failed, as a build falls
    back)."""
    runs: dict[str, dict[str, list[float]]] = {}
    for r in store.query():
        if r.program_sig == psig and r.success and r.seconds is not None:
            runs.setdefault(r.block_id, {}).setdefault(r.strategy_id, []).append(r.seconds)
    med = {b: {s: statistics.median(v) for s, v in t.items()} for b, t in runs.items()}
    strategies = {s for t in med.values() for s in t}
    return {s: sum(t.get(s, t.get("numpy", 0.0)) for t in med.values()) for s in strategies}


def fixed_rule(fixed: dict[str, dict[str, float]], names: list[str]) -> str:
    """The one strategy with the best geometric-mean time over `names` when applied to
    every program (NumPy's time where a program has no profiles of it): the fixed rule a
    user without a policy would pick, chosen with hindsight over the whole corpus."""
    strategies = sorted({s for n in names for s in fixed[n]})
    return min(strategies, key=lambda s: geomean([fixed[n].get(s, fixed[n]["numpy"]) for n in names]))


def geomean(xs: list[float]) -> float:
    xs = [x for x in xs if x > 0 and math.isfinite(x)]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")


def main() -> int:
    short_openmp_spins()  # before any parallel Numba code runs, peers' included
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="S")
    ap.add_argument("--programs")
    ap.add_argument("--strategies", default=",".join(s for s in REGISTRY if s != "numpy"))
    ap.add_argument("--runs", type=int, default=5, help="timed calls per profiled round (fewer past 2 s)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--store", type=Path, help="reuse/extend this profile store (default: a fresh one)")
    ap.add_argument("--save-prior", action="store_true")
    ap.add_argument("--learner", choices=sorted(LEARNERS), default=DEFAULT_LEARNER.kind,
                    help="the policy model evaluated (and saved as the prior)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--peers", default="numba,numba-par" + (",jax" if jax_available() else ""),
                    help="peers timed beside the policy, with the NumPy reference ('none': no peers)")
    ap.add_argument("--skip-profiling", action="store_true",
                    help="with --store: evaluate on the profiles already there (after a change to the learner)")
    ap.add_argument("--prior-only", type=Path, metavar="STORE",
                    help="train and save the prior from this profile store; no profiling or evaluation")
    args = ap.parse_args()
    if args.prior_only:
        if not args.prior_only.is_file():
            ap.error(f"{args.prior_only}: no such profile store")
        save_prior(ProfileStore(args.prior_only), LEARNERS[args.learner])
        return 0
    names = args.programs.split(",") if args.programs else corpus_names()
    peer_kinds = tuple(k for k in args.peers.split(",") if k and k != "none")
    strategies = args.strategies.split(",")
    if args.skip_profiling and not (args.store and args.store.is_file()):
        ap.error("--skip-profiling needs an existing --store")
    tmp = Path(tempfile.mkdtemp(prefix="mcodec-eval-"))
    os.environ.setdefault("MCODEC_CACHE_DIR", str(tmp / "cache"))
    store = ProfileStore(args.store or tmp / "profiles.sqlite3")
    fixed: dict[str, dict[str, float]] = {}
    psigs = {n: program_signature((CORPUS / f"{n}.mc").read_text()) for n in names}
    log = sys.stderr
    for i, name in enumerate(names):
        if args.skip_profiling:
            fixed[name] = fixed_from_store(store, psigs[name])
            if not fixed[name]:  # edited since it was profiled: its profiles are stale
                print(f"skipped {name}: the store has no profiles of its current source", file=log, flush=True)
            continue
        print(f"[{i + 1}/{len(names)}] profiling {name} ({args.preset})", file=log, flush=True)
        rounds = profile_program(CORPUS / f"{name}.mc", inputs_module(name), args.preset, len(strategies),
                                 args.runs, store, log=log, plans=strategies, save=False)
        fixed[name] = {"numpy": rounds[0]["ms"] / 1e3}
        fixed[name].update({s: r["ms"] / 1e3 for s, r in zip(strategies, rounds[1:])})
    evaluated = [n for n in names if fixed[n]]
    rule = fixed_rule(fixed, evaluated)
    print(f"best fixed rule (one strategy for every program, by its geometric mean over the "
          f"profiles): {rule}", file=log, flush=True)
    rows = []
    for name in evaluated:
        source = (CORPUS / f"{name}.mc").read_text()
        im = inputs_module(name)
        module = frontend(source, f"{name}.mc")
        inputs = im.make_inputs(args.preset)
        dims = dims_from_inputs(module, im.ENTRY, inputs)
        learner = LEARNERS[args.learner](REGISTRY.values())
        train_from_store(learner, _Subset(store, {psigs[name]}))  # type: ignore[arg-type]
        # decision time per block: the build's one call (cold: right after training, its
        # code and data out of the CPU caches), and the median of repeats after it
        decide_ms = []
        for _ in range(6):
            t0 = time.perf_counter()
            plan, decisions = decide(module, learner, dims=dims)
            decide_ms.append((time.perf_counter() - t0) * 1e3 / max(len(decisions), 1))
        learner_all = LEARNERS[args.learner](REGISTRY.values())
        train_from_store(learner_all, store)
        # (as `mcodec build --optimize` decides: with the store, whose measurements of
        # the program's own blocks now exist)
        plan_own, _ = decide(frontend(source, f"{name}.mc"), learner_all, dims=dims, store=store)
        blocks = [b.id for fn in module.functions.values() for b in block_views(fn)]
        best_fixed_id = min(fixed[name], key=fixed[name].get)
        t, peers_missing = time_plans(name, inputs, blocks, {
            "policy": plan, "own": plan_own, "oracle": oracle_plan(store, psigs[name]),
            "fixed": dict.fromkeys(blocks, best_fixed_id), "rule": dict.fromkeys(blocks, rule)}, args.repeat,
            peer_kinds)
        t_policy, t_own, t_oracle, t_fixed, t_rule = t["policy"], t["own"], t["oracle"], t["fixed"], t["rule"]
        rows.append({"program": name, "policy_s": t_policy, "own_round_s": t_own, "oracle_s": t_oracle,
                     "best_fixed": best_fixed_id, "best_fixed_s": t_fixed, "numpy_s": fixed[name]["numpy"],
                     "regret": t_policy / t_oracle, "regret_after_round": t_own / t_oracle,
                     "gain": t_fixed / t_policy, "rule": rule, "rule_s": t_rule, "gain_rule": t_rule / t_policy,
                     "decide_ms_per_block": decide_ms[0],
                     "decide_ms_per_block_warm": statistics.median(decide_ms[1:]), "plan": plan,
                     "peers": {k: v for k, v in t.items() if k.endswith("-peer")}, "peers_missing": peers_missing})
        r = rows[-1]
        print(f"  {name:<16} policy {t_policy * 1e3:9.2f} ms  oracle {t_oracle * 1e3:9.2f}  best fixed "
              f"{best_fixed_id} {t_fixed * 1e3:9.2f}  {rule} {t_rule * 1e3:9.2f}  regret {r['regret']:.2f}  "
              f"gain {r['gain']:.2f} / {r['gain_rule']:.2f}", file=log)
    print(f"{'program':<16}{'numpy ms':>10}{'policy ms':>11}{'oracle ms':>11}{'fixed ms':>10}{'fixed':>11}"
          f"{'rule ms':>10}{'regret':>8}{'+1round':>8}{'gain':>7}{'g.rule':>7}{'vs numpy':>9}")
    for r in rows:
        print(f"{r['program']:<16}{r['numpy_s'] * 1e3:>10.2f}{r['policy_s'] * 1e3:>11.2f}{r['oracle_s'] * 1e3:>11.2f}"
              f"{r['best_fixed_s'] * 1e3:>10.2f}{r['best_fixed']:>11}{r['rule_s'] * 1e3:>10.2f}{r['regret']:>8.2f}"
              f"{r['regret_after_round']:>8.2f}{r['gain']:>7.2f}{r['gain_rule']:>7.2f}{r['numpy_s'] / r['policy_s']:>8.1f}x")
    print(f"gain: over each program's best fixed strategy (chosen per program in hindsight) "
          f"{geomean([r['gain'] for r in rows]):.3f}; over the best fixed rule ({rule} for every program) "
          f"{geomean([r['gain_rule'] for r in rows]):.3f}")
    print(f"geomean regret {geomean([r['regret'] for r in rows]):.3f}, after one round on the program "
          f"{geomean([r['regret_after_round'] for r in rows]):.3f}, "
          f"speedup over NumPy {geomean([r['numpy_s'] / r['policy_s'] for r in rows]):.2f}x, "
          f"decision per block (median over programs) {statistics.median(r['decide_ms_per_block'] for r in rows):.2f} ms "
          f"cold, {statistics.median(r['decide_ms_per_block_warm'] for r in rows):.2f} ms warm (median of 5 repeats)")
    if peer_kinds:
        print(peer_report(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.save_prior:
        save_prior(store, LEARNERS[args.learner])
    return 0


def peer_report(rows: list[dict[str, Any]]) -> str:
    """Geometric-mean speedups over the NumPy reference (timed in the same rounds) of
    the policy's builds and of each single peer over all the programs; where a peer
    cannot run a program, its user keeps NumPy there (1x)."""
    rows = [r for r in rows if NUMPY_PEER in r["peers"]]
    if not rows:
        return "no NumPy reference timings"
    kinds = sorted({k for r in rows for k in (*r["peers"], *r["peers_missing"])} - {NUMPY_PEER})
    speed = {k: geomean([r["peers"][NUMPY_PEER] / r["peers"].get(k, r["peers"][NUMPY_PEER]) for r in rows])
             for k in kinds}
    lines = [f"speedup over the NumPy reference, geometric mean over {len(rows)} programs: policy "
             f"{geomean([r['peers'][NUMPY_PEER] / r['policy_s'] for r in rows]):.2f}x, oracle "
             f"{geomean([r['peers'][NUMPY_PEER] / r['oracle_s'] for r in rows]):.2f}x; single peers: "
             + ", ".join(f"{k} {v:.2f}x ({sum(k in r['peers'] for r in rows)} programs run)" for k, v in speed.items())]
    if speed:
        best = max(speed, key=speed.get)  # type: ignore[arg-type]
        lines.append(f"best single peer: {best} {speed[best]:.2f}x")
    return "\n".join(lines)


def save_prior(store: ProfileStore, kind: type = DEFAULT_LEARNER) -> None:
    """The prior shipped with mcodec: a learner (the default one unless told) trained on
    every run in the store."""
    prior = kind(REGISTRY.values())
    n = train_from_store(prior, store)
    out = Path(__file__).resolve().parents[2] / "passes" / "prior"
    prior.save(out)
    print(f"prior trained on {n} block runs from {store.path} saved to {out}")


if __name__ == "__main__":
    sys.exit(main())
