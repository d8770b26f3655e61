"""The learned policy at build time: features per block -> learner -> a strategy per
block among the strategies whose back end can lower it; plus the profile-guided loop
(profiles recorded per block, the learner retrained on them)."""

from __future__ import annotations

import hashlib
import json
import math
import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from mcodec.passes.features import FEATURE_NAMES, feature_vector
from mcodec.passes.pattern_library import PATTERN_LIBRARY
from mcodec.passes.patterns import PatternMatch, block_graph, match_patterns, matched_names
from mcodec.passes.policy import DEFAULT_LEARNER, load_policy, reward_for, state_lock
from mcodec.runtime_shim.hardware import machine
from mcodec.runtime_shim.profile_store import ProfileRecord, ProfileStore, cache_root

from .backends.base import BlockView
from .build import backend
from .ir import Module, Op, Value, line_range
from .stitch import block_views
from .strategy import REGISTRY


@dataclass
class Decision:
    block_id: str
    kind: str
    lines: tuple[int, int]
    signature: str
    patterns: list[str]
    chosen: str
    explored: bool
    predicted: dict[str, float]  # predicted log-speedup over NumPy, candidates only
    confidence: float
    rejected: dict[str, str] = field(default_factory=dict)  # strategy -> why it cannot lower the block
    measured: dict[str, float] = field(default_factory=dict)  # strategy -> median seconds from profiles
    decide_ms: float = 0.0
    from_profiles: bool = False  # chosen by this block's measured times, not by prediction


def user_policy_dir() -> Path:
    return cache_root() / "policy"


def shipped_prior_dir() -> Path:
    return Path(str(resources.files("mcodec.passes").joinpath("prior")))


def load_learner(notes: list[str], unusable: list[Path] | None = None) -> Any:
    """The user's trained policy, else the prior shipped with mcodec, else a fresh one.
    `unusable` gets each policy directory that is there but could not be used."""
    for where, d in (("trained policy", user_policy_dir()), ("shipped prior", shipped_prior_dir())):
        if not (d / "policy.json").exists():  # (a directory there is reported, not skipped)
            continue
        try:
            learner = load_policy(d)
        except Exception as e:
            notes.append(f"{where} at {d} not used: {e}")
            if unusable is not None:
                unusable.append(d)
            continue
        if learner.n_features not in (None, len(FEATURE_NAMES)):
            notes.append(f"{where} at {d} has {learner.n_features} features, this mcodec {len(FEATURE_NAMES)}: not used")
            if unusable is not None:
                unusable.append(d)
            continue
        if learner.machine_fingerprint != machine()["fingerprint"]:
            notes.append(f"{where} was trained on machine {learner.machine_fingerprint}, this is "
                         f"{machine()['fingerprint']}: its choices are a starting point; profile to adapt")
        for s in REGISTRY.values():
            if s.strategy_id not in learner.strategies:
                learner.register_strategy(s)
        return learner
    notes.append("no trained policy or prior found: starting from NumPy everywhere")
    return DEFAULT_LEARNER(REGISTRY.values())


def set_aside_unusable_policy(unusable: list[Path]) -> str | None:
    """Before a trained policy is saved over the user's: one that `load_learner` could
    not use (`unusable`: corrupt, from another mcodec, other features), or a file where
    the directory goes, is renamed aside, not overwritten; a note saying where, else None."""
    d = user_policy_dir()
    if not d.exists() and not d.is_symlink():
        return None
    if d.is_dir() and d not in unusable:
        return None  # usable (or empty)
    with state_lock(d, exclusive=True):
        if d.is_dir():
            try:  # another process may have saved a good one since this one loaded
                load_policy(d, locked=False)
                return None
            except Exception:
                pass
        elif not d.exists() and not d.is_symlink():
            return None
        why = "was not used (see above)" if d.is_dir() else "is not a directory"
        aside = d.with_name(f"{d.name}.unusable-{time.strftime('%Y%m%d-%H%M%S')}")
        d.rename(aside)
    return f"the trained policy at {d} {why}: moved to {aside}; a new one is saved in its place"


def live_block_sigs(module: Module) -> set[str]:
    """Structural ids of the module's blocks: what profiles are keyed on."""
    return {view.op.attrs["sid"] for fn in module.functions.values() for view in block_views(fn)}


def program_signature(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()[:16]


def dims_from_inputs(module: Module, entry: str, inputs: dict[str, Any]) -> dict[str, int]:
    dims: dict[str, int] = {}
    for p in module.functions[entry].params:
        shape = getattr(p.type, "shape", None)
        if shape and p.name in inputs:
            for d, n in zip(shape, np.shape(inputs[p.name])):
                if d is not None and len(d.terms) == 1 and d.const == 0:
                    dims.setdefault(d.terms[0][0], int(n))
    return dims


# back ends whose capability does not depend on the strategy's knobs (MLX's does: f64
# is declined on GPU targets), so one check serves all their strategies
_STRATEGY_INDEPENDENT = frozenset({"numpy", "numba", "llvm"})


class _MemoView(BlockView):
    """A BlockView whose walks are done once: every back end's `can_lower` (and the
    policy's features) walk the region again for its ops, live-ins and early exits,
    and nothing edits the IR while a block is being decided."""

    def __init__(self, view: BlockView) -> None:
        super().__init__(view.fn, view.op)
        self._ops: list[Op] | None = None
        self._live_ins: list[Value] | None = None
        self._early: bool | None = None
        self.memo: dict[str, Any] = {}  # back ends' analyses that several strategies share

    @property
    def live_ins(self) -> list[Value]:
        if self._live_ins is None:
            self._live_ins = BlockView.live_ins.fget(self)  # type: ignore[attr-defined]
        return list(self._live_ins)

    def ops(self) -> list[Op]:
        if self._ops is None:
            self._ops = list(self.region.walk())
        return list(self._ops)

    def has_early_exit(self) -> bool:
        if self._early is None:
            self._early = any(o.name == "mc.return" for o in (self._ops or self.ops()))
        return self._early


def candidates(view: BlockView) -> tuple[list[str], dict[str, str]]:
    if not isinstance(view, _MemoView):
        view = _MemoView(view)
    ok, rejected = [], {}
    seen: dict[str, tuple[bool, str]] = {}
    for sid, s in REGISTRY.items():
        be = backend(s.backend)
        if be is None:
            rejected[sid] = "back end unavailable"
            continue
        if s.backend in seen:
            can, why = seen[s.backend]
        else:
            can, why = be.can_lower(view, s)
            if s.backend in _STRATEGY_INDEPENDENT:
                seen[s.backend] = (can, why)
        if can:
            ok.append(sid)
        else:
            rejected[sid] = why
    return ok, rejected


def decide(module: Module, learner: Any, explore: bool = False, dims: dict[str, int] | None = None,
           store: ProfileStore | None = None, rng: random.Random | None = None) -> tuple[dict[str, str], list[Decision]]:
    """A plan (block id -> strategy id) and the decision record behind each choice.

    Two passes: each block's features and candidates, then the learner scores every
    block at once (one matrix product rather than a small one per block: with NumPy's
    per-call overheads, scoring was a third of a decision). Each Decision's decide_ms
    is its own first-pass time plus an equal share of the scoring pass."""
    if explore and rng is None:  # (seeding a Random costs more than a small block's features)
        rng = random.Random(0)
    plan: dict[str, str] = {}
    decisions: list[Decision] = []
    m = machine()
    for name in {s.backend for s in REGISTRY.values()}:
        backend(name)  # imported once, before timing: a decision's time is not the build's imports
    pending: list[tuple[_MemoView, list[PatternMatch], list[str], dict[str, str], float]] = []
    states: list[np.ndarray] = []
    for fn in module.functions.values():
        for plain in block_views(fn):
            t0 = time.perf_counter()
            view = _MemoView(plain)
            if view.has_early_exit():
                continue
            graph = block_graph(view)  # (the WL signature is not needed here: profiles key on sid)
            matches = match_patterns(graph, PATTERN_LIBRARY, first_only=True)
            states.append(feature_vector(view, m, dims, graph=graph, matches=matches))
            ok, rejected = candidates(view)
            pending.append((view, matches, ok, rejected, time.perf_counter() - t0))
    if not pending:
        return plan, decisions
    t0 = time.perf_counter()
    if hasattr(learner, "predict_many") and hasattr(learner, "confidence_many"):
        all_preds, all_conf = learner.predict_many(states), learner.confidence_many(states)
    else:  # a learner with the single-state interface only
        all_preds, all_conf = [learner.predict(x) for x in states], [learner.confidence(x) for x in states]
    share = (time.perf_counter() - t0) / len(pending)
    epsilon = getattr(learner, "epsilon", 0.0) if explore else 0.0
    # Exploit only what experience backs: a strategy no profile has measured yet (newly
    # registered, absent from the prior) gets tried by exploring, not chosen blind on
    # an untrained prediction.
    measured_ids = (learner.measured_actions() if hasattr(learner, "measured_actions")
                    else {e[1] for e in getattr(learner, "buffer", ())})
    # (the learner's margin for its default strategy: see _Learner.preference)
    pref = learner.preference() if hasattr(learner, "preference") else {}
    for (view, matches, ok, rejected, t_first), preds, conf in zip(pending, all_preds, all_conf):
        t0 = time.perf_counter()
        ranked = sorted(ok, key=lambda s: (-preds.get(s, 0.0) - pref.get(s, 0.0), s != "numpy", s))
        explored = explore and rng is not None and rng.random() < max(epsilon, 0.2)
        backed = [s for s in ranked if s in measured_ids]
        chosen = rng.choice(ok) if explored and rng is not None else (backed or ranked)[0]
        measured = measured_times(store, view.op.attrs["sid"]) if store is not None else {}
        from_profiles = False
        if not explored and measured:
            chosen, from_profiles = _profile_guided(chosen, ok, measured, preds, pref, measured_ids)
        d = Decision(view.id, view.kind, line_range(view.ops()) or (0, 0), view.op.attrs["sid"],
                     matched_names(matches, PATTERN_LIBRARY), chosen,
                     explored, {s: round(float(preds.get(s, 0.0)), 3) for s in ranked},
                     round(float(conf.get(chosen, 0.0)), 3), rejected, measured, from_profiles=from_profiles)
        d.decide_ms = (t_first + share + time.perf_counter() - t0) * 1e3
        plan[view.id] = chosen
        decisions.append(d)
    return plan, decisions


def _profile_guided(chosen: str, ok: list[str], measured: dict[str, float], preds: dict[str, float],
                    pref: dict[str, float], backed: frozenset[str] | set[str]) -> tuple[str, bool]:
    """The choice for a block with profiles of its own: measured times where the block
    was timed, and where not, the time the model predicts from the block's measured
    NumPy time (its prediction is a log-speedup over NumPy); the fastest wins. A
    measurement of the block itself beats a model that generalizes across blocks, but
    a strategy no round happened to explore is not passed over for one that was. Also
    whether a measured strategy won."""
    est = {s: t for s, t in measured.items() if s in ok}
    if "numpy" in est:
        base = est["numpy"]
        for s in ok:
            if s not in est and s in backed:
                est[s] = base / math.exp(min(preds.get(s, 0.0) + pref.get(s, 0.0), 50.0))
    elif chosen not in est or len(est) < 2:
        return chosen, False  # nothing to compare the prediction with
    best = min(est, key=lambda s: (est[s], s))
    return best, best in measured


def measured_times(store: ProfileStore, block_sig: str) -> dict[str, float]:
    """Per strategy, the median seconds of the block's successful profiled runs on this
    machine, at the largest inputs it was profiled with: at other sizes strategies rank
    differently (threads pay off on big inputs only), and big runs are what matters."""
    runs: dict[str, dict[str, list[float]]] = {}  # input shapes -> strategy -> seconds
    size: dict[str, int] = {}
    for r in store.query(block_sig=block_sig, machine=machine()["fingerprint"]):
        if r.success and r.seconds is not None:
            key = json.dumps(r.shapes, sort_keys=True)
            runs.setdefault(key, {}).setdefault(r.strategy_id, []).append(r.seconds)
            size[key] = _elements(r.shapes)
    if not runs:
        return {}
    largest = max(runs, key=lambda k: (size[k], k))
    return {s: statistics.median(v) for s, v in runs[largest].items()}


def _elements(shapes: Any) -> int:
    """Total elements of a profiled run's inputs (shapes as recorded: by name, or a list)."""
    items = shapes.values() if isinstance(shapes, dict) else shapes if isinstance(shapes, list) else []
    return sum(math.prod(s) for s in items if isinstance(s, list))


def train_from_store(learner: Any, store: ProfileStore, time_weight: float | None = None) -> int:
    """Feed every profiled block run on this machine to the learner; rewards are
    log-speedups over the NumPy run of the same block at the same shapes.

    With `time_weight` p > 0 (default: the learner's `time_weight` hyperparameter, else
    0), a run weighs share**p in the fit, share = the block's part of its program's
    NumPy time at those shapes (mean weight 1): what a program's time depends on is
    its heavy blocks, not the many small ones."""
    records = [r for r in store.query(machine=machine()["fingerprint"]) if r.features is not None]
    baseline: dict[tuple[str, str], list[float]] = {}
    for r in records:
        if r.strategy_id == "numpy" and r.success:
            baseline.setdefault((r.block_sig, json.dumps(r.shapes, sort_keys=True)), []).append(r.seconds)
    if time_weight is None:
        time_weight = float(getattr(learner, "hyper", {}).get("time_weight") or 0.0)
    share: dict[tuple[str, str, str], float] = {}
    if time_weight > 0:
        # a program run's blocks: (program, shapes) -> block id -> median NumPy seconds
        per_run: dict[tuple[str, str], dict[str, list[float]]] = {}
        for r in records:
            if r.strategy_id == "numpy" and r.success and r.seconds is not None:
                key = (r.program_sig, json.dumps(r.shapes, sort_keys=True))
                per_run.setdefault(key, {}).setdefault(r.block_id, []).append(r.seconds)
        for (psig, shapes), blocks in per_run.items():
            med = {b: statistics.median(v) for b, v in blocks.items()}
            total = sum(med.values())
            for b, t in med.items():
                share[(psig, shapes, b)] = t / total if total > 0 else 1.0 / len(med)
    used = []
    for r in records:
        shapes = json.dumps(r.shapes, sort_keys=True)
        base = baseline.get((r.block_sig, shapes))
        if not base or r.strategy_id not in learner.strategies or len(r.features) != len(FEATURE_NAMES):
            continue
        w = share.get((r.program_sig, shapes, r.block_id), 1.0) ** time_weight if time_weight > 0 else 1.0
        used.append((r, reward_for(statistics.median(base), r.seconds, r.success), w))
    if not used:
        return 0
    scale = len(used) / sum(w for _, _, w in used)  # mean weight 1: the ridge keeps its scale
    for r, reward, w in used:
        if w != 1.0 or scale != 1.0:
            learner.remember(np.asarray(r.features), r.strategy_id, reward, signature=r.block_sig, weight=w * scale)
        else:  # (learners without weights keep working)
            learner.remember(np.asarray(r.features), r.strategy_id, reward, signature=r.block_sig)
    learner.learn()
    return len(used)


def profile_records(source: str, module: Module, built_blocks: dict[str, Any], timer: Any, runs: int,
                    inputs: dict[str, Any], entry: str, failures: dict[str, str] | None = None) -> list[ProfileRecord]:
    """One record per block from a BlockTimer after `runs` calls of the entry (its
    seconds per run: see BlockTimer.per_run)."""
    dims = dims_from_inputs(module, entry, inputs)
    shapes = {k: list(np.shape(v)) for k, v in inputs.items()}
    dtypes = {k: str(np.asarray(v).dtype) for k, v in inputs.items()}
    psig = program_signature(source)
    m = machine()
    recs = []
    for fn in module.functions.values():
        for view in block_views(fn):
            b = built_blocks.get(view.id)
            if b is None:
                continue
            calls = timer.calls.get(view.id, 0)
            if not calls:
                continue
            feats = feature_vector(view, m, dims).tolist()
            per_run = timer.per_run(view.id, runs)
            recs.append(ProfileRecord(program_sig=psig, block_id=view.id, block_sig=view.op.attrs["sid"],
                                      strategy_id=b.built.strategy_id, shapes=shapes, dtypes=dtypes,
                                      seconds=per_run, success=True, features=feats))
            for sid, why in (failures or {}).items():
                if sid.startswith(view.id + ":"):
                    recs.append(ProfileRecord(program_sig=psig, block_id=view.id, block_sig=view.op.attrs["sid"],
                                              strategy_id=sid.split(":", 1)[1], shapes=shapes, dtypes=dtypes,
                                              seconds=None, success=False, features=feats, error=why))
    return recs


def decisions_json(decisions: list[Decision]) -> list[dict[str, Any]]:
    return [asdict(d) for d in decisions]
