"""The AI optimizer: the seed interface around a strategy-selection policy.

`optimize(code, context)` turns a block's code (plus its input shapes and types) into a
feature vector with an injectable featurizer and asks the learner for a strategy;
`feedback(code, strategy, seconds, success)` turns a measurement into a reward
(log(t_numpy / t), or the failure penalty) and updates the learner. The learner state
persists with `save_state` / `load_state`; a corrupt or foreign state is reported with a
warning and the optimizer falls back to its prior, keeping everything else.
"""

from __future__ import annotations

import contextvars
import hashlib
import math
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from mcodec.compiler.strategy import REGISTRY, OptimizationStrategy

from .policy import (
    BASELINE,
    DEFAULT_LEARNER,
    PolicyStateError,
    _Learner,
    load_policy,
    reward_for,
)

DEVICE_FALLBACK = ("ane", "gpu", "cpu")


class PolicyStateWarning(UserWarning):
    pass


@dataclass
class ExecutionContext:
    code_hash: str
    input_shapes: list[tuple[int, ...]] = field(default_factory=list)
    input_types: list[str] = field(default_factory=list)
    execution_time_ms: float | None = None
    success: bool = True


Featurizer = Callable[[str, ExecutionContext], np.ndarray]

_TEXT_PATTERNS = (
    r"\bfor\b", r"\bwhile\b", r"\bif\b", r"@|\bmatmul\b|\bdot\b|\beinsum\b",
    r"\b(sum|max|min|mean|prod|argmax|argmin)\s*\(", r"\b(exp|log|sqrt|tanh|sin|cos|pow)\s*\(",
    r"\[", r"[-+*/]", r"\bwhere\b|\bselect\b",
)
FEATURE_NAMES = (
    "log_chars", "log_lines", "loops_for", "loops_while", "branches", "matmuls", "reductions",
    "transcendentals", "subscripts", "arith_ops", "selects",
    "n_inputs", "log_max_elems", "log_total_elems", "max_rank", "frac_float32", "frac_int",
)


def text_features(code_str: str, context: ExecutionContext | None = None) -> np.ndarray:
    """A simple default featurizer: log-scaled code-text statistics plus the inputs'
    sizes, ranks and dtypes (FEATURE_NAMES). The pattern-recognition pass will supply a
    richer one."""
    f = [math.log1p(len(code_str)), math.log1p(code_str.count("\n") + 1)]
    f += [math.log1p(len(re.findall(p, code_str))) for p in _TEXT_PATTERNS]
    shapes = list(context.input_shapes) if context else []
    types = [str(t) for t in (context.input_types if context else [])]
    elems = [float(np.prod(s)) if len(s) else 1.0 for s in shapes]
    f += [float(len(shapes)), math.log1p(max(elems, default=0.0)), math.log1p(sum(elems)),
          float(max((len(s) for s in shapes), default=0))]
    f += [sum("float32" in t or t == "f32" for t in types) / max(1, len(types)),
          sum(t.startswith(("int", "uint", "i", "u", "bool")) for t in types) / max(1, len(types))]
    return np.asarray(f, dtype=np.float64)


_current: contextvars.ContextVar[OptimizationStrategy | None] = contextvars.ContextVar(
    "mcodec_current_strategy", default=None)


def current_strategy() -> OptimizationStrategy | None:
    """The strategy an `apply_strategy` call is running under (None outside one)."""
    return _current.get()


def _key(code_str: str) -> str:
    return hashlib.sha1(code_str.encode()).hexdigest()[:16]


class AIOptimizer:
    def __init__(self, learner: _Learner | None = None, featurizer: Featurizer | None = None,
                 strategies: Iterable[OptimizationStrategy] | None = None, explore: bool = False,
                 prior: _Learner | None = None, devices: list[str] | None = None) -> None:
        self.featurizer: Featurizer = featurizer or text_features
        self._strategies = list(strategies) if strategies is not None else list(REGISTRY.values())
        self._explore = explore
        self.prior = prior
        self.learner = learner or prior or self._fresh()
        for s in self._strategies:
            self.learner.register_strategy(s)
        self.learner.explore = explore
        self.devices = devices
        self._contexts: dict[str, ExecutionContext] = {}
        self._baseline: dict[str, float] = {}
        self.last_execution: dict[str, Any] | None = None
        self.notes: list[str] = []

    def _fresh(self) -> _Learner:
        return DEFAULT_LEARNER(self._strategies, explore=self._explore)

    @property
    def explore(self) -> bool:
        return self.learner.explore

    @explore.setter
    def explore(self, value: bool) -> None:
        self._explore = value
        self.learner.explore = value

    def features(self, code_str: str, context: ExecutionContext | None = None) -> np.ndarray:
        ctx = context or self._contexts.get(_key(code_str)) or ExecutionContext(_key(code_str))
        return np.asarray(self.featurizer(code_str, ctx), dtype=np.float64)

    def optimize(self, code_str: str, context: ExecutionContext) -> OptimizationStrategy:
        key = _key(code_str)
        self._contexts[key] = context
        state = self.features(code_str, context)
        self._check_dims(state)
        sid = self.learner.get_action(state, signature=key)
        strategy = self.learner.strategies[sid]
        if self.devices is not None:
            strategy, note = self.adapt_to_hardware(strategy, self.devices)
            if note:
                self.notes.append(note)
        return strategy

    def _check_dims(self, state: np.ndarray) -> None:
        """A learner trained on another feature layout (the featurizer changed) is set
        aside with a warning for the prior or a fresh one; nothing on disk changes."""
        nf = self.learner.n_features
        if nf is None or nf == state.size:
            return
        prior = self.prior if self.prior is not None and self.prior.n_features in (None, state.size) else None
        warnings.warn(f"the policy expects {nf} features but the featurizer gives {state.size}; "
                      f"using the {'prior' if prior is not None else 'untrained'} policy",
                      PolicyStateWarning, stacklevel=3)
        self.learner = prior or self._fresh()
        for s in self._strategies:
            self.learner.register_strategy(s)
        self.learner.explore = self._explore

    def apply_strategy(self, strategy: OptimizationStrategy, function: Callable[..., Any],
                       *args: Any, **kwargs: Any) -> Any:
        """Call `function` under `strategy` (visible to it as `current_strategy()`; a
        function with a `with_strategy(strategy)` method is called through what that
        returns), time it into `last_execution`, and return its result. Exceptions
        propagate after being recorded as a failure."""
        target = function
        with_strategy = getattr(function, "with_strategy", None)
        if callable(with_strategy):
            target = with_strategy(strategy)
        token = _current.set(strategy)
        t0 = time.perf_counter()
        ok = False
        try:
            result = target(*args, **kwargs)
            ok = True
            return result
        finally:
            _current.reset(token)
            self.last_execution = {"strategy_id": strategy.strategy_id, "seconds": time.perf_counter() - t0,
                                   "success": ok}

    def feedback(self, code_str: str, strategy: OptimizationStrategy | str, execution_time: float | None,
                 success: bool, baseline_time: float | None = None, learn: bool = True) -> float:
        """Record a measurement (seconds) and update the learner; returns the reward.

        The reward's reference is `baseline_time` when given (the NumPy reference's
        time), else the first successful time measured for this code (profiling runs
        measure NumPy first); it is then kept fixed so rewards stay comparable across
        strategies."""
        sid = strategy if isinstance(strategy, str) else strategy.strategy_id
        if sid not in self.learner.strategies:
            s = strategy if isinstance(strategy, OptimizationStrategy) else REGISTRY.get(sid)
            if s is None:
                raise KeyError(f"unknown strategy {sid!r}")
            self.learner.register_strategy(s)
        key = _key(code_str)
        if baseline_time is not None:
            self._baseline[key] = baseline_time
        elif success and execution_time and key not in self._baseline:
            self._baseline[key] = execution_time
        reward = reward_for(self._baseline.get(key), execution_time, success)
        state = self.features(code_str)
        self._check_dims(state)
        self.learner.remember(state, sid, reward, signature=key, failed=not success)
        if learn:
            self.learner.learn()
        return reward

    # -- persistence ----------------------------------------------------------------

    def save_state(self, directory: str | Path) -> None:
        self.learner.save(directory)

    def load_state(self, directory: str | Path) -> bool:
        """Load a saved learner. On a corrupt or foreign state, warn and fall back to
        the prior (or a fresh learner); returns whether the saved state was used."""
        try:
            learner = load_policy(directory)
        except PolicyStateError as e:
            warnings.warn(f"{e}; using the {'prior' if self.prior is not None else 'untrained'} policy",
                          PolicyStateWarning, stacklevel=2)
            learner = self.prior or self._fresh()
            ok = False
        else:
            ok = True
            from mcodec.runtime_shim.hardware import machine

            if learner.machine_fingerprint != machine()["fingerprint"]:
                self.notes.append(f"policy in {directory} was trained on machine "
                                  f"{learner.machine_fingerprint}, not this one ({machine()['fingerprint']}); "
                                  "it keeps learning here")
        for s in self._strategies:
            learner.register_strategy(s)
        learner.explore = self._explore
        self.learner = learner
        return ok

    # -- hardware -------------------------------------------------------------------

    def adapt_to_hardware(self, strategy: OptimizationStrategy,
                          devices: list[str]) -> tuple[OptimizationStrategy, str | None]:
        return adapt_to_hardware(strategy, devices, list(self.learner.strategies.values()))


def adapt_to_hardware(strategy: OptimizationStrategy, devices: list[str],
                      candidates: Iterable[OptimizationStrategy] | None = None
                      ) -> tuple[OptimizationStrategy, str | None]:
    """Move a strategy off a device this machine lacks (ane -> gpu -> cpu): the registered
    strategy with the same back end on the first available fallback device, closest in
    its other settings; the NumPy reference when there is none. The note says what
    happened (None when nothing changed)."""
    dev = strategy.device_target
    if dev == "auto" or dev in devices or strategy.backend in ("numpy",):
        return strategy, None
    pool = list(candidates or []) + [s for s in REGISTRY.values()]
    chain = DEVICE_FALLBACK[DEVICE_FALLBACK.index(dev) + 1:] if dev in DEVICE_FALLBACK else ("cpu",)
    fields = ("jit_level", "parallelization_level", "memory_optimization", "operator_fusion", "tensor_fusion")
    for fb in chain:
        if fb not in devices and fb != "cpu":
            continue
        same = [s for s in pool if s.backend == strategy.backend and s.device_target == fb]
        if same:
            best = min(same, key=lambda s: sum(getattr(s, f) != getattr(strategy, f) for f in fields))
            return best, (f"strategy {strategy.strategy_id}: device {dev} not available "
                          f"(have {', '.join(devices) or 'none'}); using {best.strategy_id} on {fb}")
    base = next((s for s in pool if s.strategy_id == BASELINE), None) or replace(strategy, device_target="cpu")
    return base, (f"strategy {strategy.strategy_id}: device {dev} not available and no {strategy.backend} "
                  f"strategy registered for {', '.join(chain)}; using {base.strategy_id}")


_singleton: AIOptimizer | None = None
_singleton_lock = threading.Lock()


def default_state_dir() -> Path:
    from mcodec.runtime_shim.profile_store import cache_root

    return cache_root() / "policy"


def get_ai_optimizer() -> AIOptimizer:
    """The process-wide optimizer, loading the saved policy from `<cache>/policy` when
    there is one (a bad one is reported and the untrained policy used)."""
    global _singleton
    with _singleton_lock:
        if _singleton is None:
            opt = AIOptimizer()
            d = default_state_dir()
            if (d / "policy.json").exists():
                opt.load_state(d)
            _singleton = opt
        return _singleton


def optimize(code_str: str, context: ExecutionContext) -> OptimizationStrategy:
    return get_ai_optimizer().optimize(code_str, context)
