"""Strategy selection policies: learn, from measured runs, which optimization strategy
to give a block, as a function of the block's feature vector.

Each block decision is a one-step episode (a contextual bandit): the state is the
block's feature vector, the action a strategy id, and the reward

    reward = log(t_numpy / t_strategy)        when the strategy built and ran,
    reward = FAIL_PENALTY (-5)                when it failed,

so 0 means "as fast as the NumPy reference", +0.69 twice as fast, -0.69 twice as slow.
With discount `gamma = 0` (the default) the Q-learning target is the reward itself, so
`learn()` regresses Q(s, a) onto the rewards seen; with `gamma > 0` and a `next_state`
the target is `r + gamma * max_a' Q(s', a')` (fitted Q iteration), kept for callers that
chain decisions.

Three learners share one interface:

* `ReinforcementLearner`: per-action ridge regression on standardized features
  (closed form, `np.linalg.solve`), so predictions generalize to unseen feature vectors
  by linearity; unvisited actions predict the prior 0 (= the NumPy baseline). By
  default features are sign-log scaled (`slog`), a block's runs of one strategy are one
  example (`per_block`), a strategy more than e^3 slower than the block's best is
  regressed as e^3 slower (`regret_clip`: such predictions, NumPy's on scalar loops,
  are bounds, not estimates), and decisions favour the strategy best on average by
  `margin` (see `preference`).
* `DeepQLearner`: a 1-hidden-layer tanh MLP (NumPy, Adam), one output per action,
  trained on the taken action's output only.
* `ForestLearner` (the default, `DEFAULT_LEARNER`): a regression forest with one row
  per block and one output per action (`mcodec.passes.forest`), with the ridge's
  targets (`regret_clip`, `per_block`, `time_weight`) and `margin`.

Exploration: `explore=True` (profiling builds) is epsilon-greedy with
`epsilon = max(epsilon_min, epsilon_start / (1 + experiences / epsilon_decay))`, so it
explores a lot at first and less with experience; `explore=False` (release builds)
is greedy, epsilon 0. Either way, an action that failed for a state signature (the
block's identity; by default a hash of its feature vector) is never chosen again for
it while another action is left.

Persistence (`save(dir)` / `load(dir)`), format version 1:

* `policy.json`: {"format": "mcodec-policy", "format_version": 1, "kind": "ridge" | "mlp",
  "strategies": [OptimizationStrategy.to_json()...], "hyperparameters": {...},
  "n_features": int | null, "machine_fingerprint": str, "experiences": int,
  "failed": [[signature, strategy_id]...], "weights_file": "policy.npz",
  "weights_sha256": hex}
* `policy.npz`: plain arrays (np.savez, loaded with allow_pickle=False): `mu`, `sd`
  (standardization), the model's weights (ridge: `W` [n_actions, n_features + 1];
  mlp: `W1`, `b1`, `W2`, `b2`; forest: `feature`, `threshold`, `left`, `right`,
  `value`, all prefixed `w_`) and the replay buffer (`buf_states`, `buf_actions`,
  `buf_rewards`, `buf_next`, `buf_has_next`, and `buf_weights`: absent from older
  saves, read as all ones).

Both files are written to a temporary file and moved into place with `os.replace`, the
weights first; the JSON names the weights' SHA-256, so a torn pair is detected. Any
unreadable, foreign-version or inconsistent state raises `PolicyStateError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from mcodec.compiler.strategy import OptimizationStrategy

from .forest import Forest, fit_forest

FORMAT = "mcodec-policy"
FORMAT_VERSION = 1
JSON_NAME = "policy.json"
NPZ_NAME = "policy.npz"
FAIL_PENALTY = -5.0
BASELINE = "numpy"


class PolicyStateError(Exception):
    """A saved policy cannot be loaded (corrupt, truncated, foreign version or kind)."""


def reward_for(baseline_seconds: float | None, seconds: float | None, success: bool) -> float:
    """log(t_baseline / t_strategy), or FAIL_PENALTY for a failure (or unusable timings)."""
    if not success or seconds is None or baseline_seconds is None:
        return FAIL_PENALTY if not success else 0.0
    if seconds <= 0 or baseline_seconds <= 0:
        return 0.0
    return float(np.clip(math.log(baseline_seconds / seconds), -10.0, 10.0))


def state_signature(state: Any) -> str:
    v = np.round(np.asarray(state, dtype=np.float64).ravel(), 9)
    return hashlib.sha1(v.tobytes()).hexdigest()[:16]


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@contextmanager
def state_lock(directory: str | Path, exclusive: bool) -> Iterator[None]:
    """Serializes the saves and loads of one policy directory between processes: a save
    renames two files, and a reader between the renames saw a torn pair. The lock file
    sits beside the directory (which may be renamed aside); a save creates it, a load
    takes it only where one exists (the shipped prior is never saved by users)."""
    try:
        import fcntl
    except ImportError:  # (no flock: Windows)
        yield
        return
    d = Path(directory)
    lock = d.with_name(f".{d.name}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | (os.O_CREAT if exclusive else 0), 0o644)
    except OSError:  # none yet, or a place nothing can be written to
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _blocks(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct states (a profiled block is one state, run under several strategies)
    and each experience's index among them."""
    uniq, group = np.unique(states, axis=0, return_inverse=True)
    return uniq, group.ravel()


def _block_means(group: np.ndarray, acts: np.ndarray, targets: np.ndarray, n_groups: int,
                 n_actions: int, weights: np.ndarray | None = None) -> np.ndarray:
    """[block, action] the (weighted) mean target of the action's runs on the block
    (NaN: none, or none of any weight)."""
    key = group * n_actions + acts
    w = np.ones(len(key)) if weights is None else weights
    sums = np.bincount(key, weights=targets * w, minlength=n_groups * n_actions)
    counts = np.bincount(key, weights=w, minlength=n_groups * n_actions)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts).reshape(n_groups, n_actions)


def _floor_to_best(states: np.ndarray, acts: np.ndarray, targets: np.ndarray, n_actions: int,
                   clip: float) -> np.ndarray:
    """Targets raised to at least (the block's best strategy's mean target - clip); a
    block is the set of experiences with one state. A decision is a ranking: whether
    NumPy runs a scalar loop 20 or 3000 times slower than compiled code does not
    change it, but as a squared error the 3000x would outweigh every other block in the
    fit of NumPy's (and any other slow strategy's) model."""
    _, group = _blocks(states)
    means = _block_means(group, acts, targets, int(group.max()) + 1, n_actions)
    best = np.nanmax(means, axis=1)
    return np.maximum(targets, best[group] - clip)


def _per_block(states: np.ndarray, acts: np.ndarray, targets: np.ndarray, weights: np.ndarray,
               n_actions: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One experience per block and action: the weighted mean target of its runs, with
    their mean weight. Runs of a strategy on a block are repeated measurements of one
    quantity, not independent examples; fitted one by one, a block and strategy would
    weigh as much as it happened to be run (profiling reruns, exploration)."""
    _, group = _blocks(states)
    key = group * n_actions + acts
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    wsum = np.bincount(inverse, weights=weights)
    count = np.bincount(inverse)
    safe = np.where(wsum > 0, wsum, 1.0)
    mean = np.where(wsum > 0, np.bincount(inverse, weights=targets * weights) / safe,
                    np.bincount(inverse, weights=targets) / count)
    return states[first], acts[first], mean, wsum / count


class _Learner:
    kind = "base"
    DEFAULTS: dict[str, Any] = {}

    def __init__(self, strategies: Iterable[OptimizationStrategy] = (), *, explore: bool = False,
                 epsilon_start: float = 1.0, epsilon_min: float = 0.05, epsilon_decay: float = 50.0,
                 gamma: float = 0.0, buffer_size: int = 5000, seed: int | None = 0, **hyper: Any) -> None:
        self.strategies: dict[str, OptimizationStrategy] = {}
        self.explore = explore
        self.hyper: dict[str, Any] = {
            "epsilon_start": float(epsilon_start), "epsilon_min": float(epsilon_min),
            "epsilon_decay": float(epsilon_decay), "gamma": float(gamma), "buffer_size": int(buffer_size),
            "seed": seed,
        }
        unknown = set(hyper) - set(self.DEFAULTS)
        if unknown:
            raise TypeError(f"unknown hyperparameters for {type(self).__name__}: {', '.join(sorted(unknown))}")
        self.hyper.update({**self.DEFAULTS, **hyper})
        self.rng = np.random.default_rng(seed)
        self.buffer: deque[tuple[np.ndarray, str, float, np.ndarray | None]] = deque(maxlen=int(buffer_size))
        # each experience's weight in the fit (aligned with `buffer`; 1 unless given)
        self.weights: deque[float] = deque(maxlen=int(buffer_size))
        self.experiences = 0
        self.failed: set[tuple[str, str]] = set()
        self.n_features: int | None = None
        self.mu: np.ndarray | None = None
        self.sd: np.ndarray | None = None
        self.machine_fingerprint = _current_fingerprint()
        for s in strategies:
            self.register_strategy(s)

    # -- strategies and state -----------------------------------------------------

    def register_strategy(self, strategy: OptimizationStrategy) -> None:
        if strategy.strategy_id not in self.strategies:
            self.strategies[strategy.strategy_id] = strategy
            self._grow()

    @property
    def actions(self) -> list[str]:
        return list(self.strategies)

    def _vec(self, state: Any) -> np.ndarray:
        v = np.asarray(state, dtype=np.float64).ravel()
        if not np.isfinite(v).all():  # (the method: np.all's dispatch costs more than the check)
            raise ValueError("state has NaN or infinite features")
        if self.n_features is None:
            self.n_features = v.size
            self._grow()
        elif v.size != self.n_features:
            raise ValueError(f"state has {v.size} features; this policy was trained on {self.n_features}")
        return v

    def _prep(self, states: np.ndarray) -> np.ndarray:
        """Features as the model sees them, before standardization: with `slog`,
        sign(x) log(1 + |x|), so heavy-tailed counts (flops, bytes, op counts) do not
        let a few huge blocks set the scale."""
        if self.hyper.get("slog"):
            return np.sign(states) * np.log1p(np.abs(states))
        return states

    def _z(self, states: np.ndarray) -> np.ndarray:
        states = self._prep(states)
        if self.mu is None or self.sd is None:
            return states
        z = (states - self.mu) / self.sd
        clip = self.hyper.get("zclip")
        # with `zclip`, a feature far outside the training range counts as at its edge:
        # a linear model extrapolates badly there
        return np.clip(z, -clip, clip) if clip else z

    @property
    def epsilon(self) -> float:
        if not self.explore:
            return 0.0
        h = self.hyper
        return max(h["epsilon_min"], h["epsilon_start"] / (1.0 + self.experiences / h["epsilon_decay"]))

    # -- acting ---------------------------------------------------------------------

    def allowed(self, state: Any, signature: str | None = None) -> list[str]:
        sig = signature or state_signature(state)
        ok = [a for a in self.strategies if (sig, a) not in self.failed]
        return ok or ([BASELINE] if BASELINE in self.strategies else [])

    def get_action(self, state: Any, signature: str | None = None, explore: bool | None = None) -> str:
        """The strategy id to use for this state: epsilon-greedy in explore mode, greedy
        otherwise; never an action that failed for this signature (while one is left)."""
        if not self.strategies:
            raise ValueError("no strategies registered")
        v = self._vec(state)
        allowed = self.allowed(v, signature)
        if not allowed:
            raise ValueError("every strategy failed for this state and no NumPy baseline is registered")
        old = self.explore
        if explore is not None:
            self.explore = explore
        try:
            eps = self.epsilon
        finally:
            self.explore = old
        if eps > 0 and self.rng.random() < eps:
            return str(allowed[int(self.rng.integers(len(allowed)))])
        q = self.predict(v)
        for a, m in self.preference().items():
            q[a] += m
        best = max(q[a] for a in allowed)
        # ties (an untrained model) go to the baseline, then registration order
        ties = [a for a in allowed if q[a] >= best - 1e-12]
        return BASELINE if BASELINE in ties else ties[0]

    def predict(self, state: Any) -> dict[str, float]:
        v = self._vec(state)
        q = self._q1(self._z(v))
        return dict(zip(self.strategies, q.tolist()))

    def predict_many(self, states: Any) -> list[dict[str, float]]:
        """`predict` for each row of `states`: one matrix product for all the blocks of
        a module instead of one small product (and its call overheads) per block."""
        V = self._mat(states)
        if not len(V):
            return []
        return [dict(zip(self.strategies, row)) for row in self._q(self._z(V)).tolist()]

    def preference(self) -> dict[str, float]:
        """What a decision adds to the predictions before taking the best: with the
        `margin` hyperparameter m, {default: m}, the default being the strategy that
        is fastest on average over the experienced blocks (the one fixed rule a user
        would pick), when one beats NumPy on average; else {}. A block leaves the
        default only for a strategy predicted more than e^m times faster: repeated
        timings of one block and strategy spread widely (max / min 1.6 at the median
        in the corpus profiles), so smaller predicted differences are mostly noise,
        and the default is right most often where the model knows nothing."""
        m = float(self.hyper.get("margin") or 0.0)
        if m <= 0 or not self.buffer:
            return {}
        key = (len(self.buffer), self.experiences, len(self.strategies))
        cached = getattr(self, "_default_cache", None)
        if cached is None or cached[0] != key:
            cached = self._default_cache = (key, self._default_action())
        return {cached[1]: m} if cached[1] is not None else {}

    def measured_actions(self) -> frozenset[str]:
        """The strategies some experience in the buffer measured: cached per buffer
        state and built by `learn` and `load`, as a pass over the whole buffer cost a
        build's decisions more than a block's features do."""
        key = (len(self.buffer), self.experiences)
        cached = getattr(self, "_measured_cache", None)
        if cached is None or cached[0] != key:
            cached = self._measured_cache = (key, frozenset(e[1] for e in self.buffer))
        return cached[1]

    def _experience(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The replay buffer as arrays: states, action indices, rewards (failures
        raised to the fail floor)."""
        index = {a: i for i, a in enumerate(self.strategies)}
        rewards = np.array([e[2] for e in self.buffer])
        floor = self.hyper.get("fail_floor")
        if floor is not None:
            rewards = np.maximum(rewards, float(floor))
        return np.stack([e[0] for e in self.buffer]), np.array([index[e[1]] for e in self.buffer]), rewards

    def _default_action(self) -> str | None:
        states, acts, targets = self._experience()
        _, group = _blocks(states)
        n, na = int(group.max()) + 1, len(self.strategies)
        means = _block_means(group, acts, targets, n, na)
        w = np.bincount(group, weights=self._weight_array(), minlength=n) / np.bincount(group, minlength=n)
        # `default_clip`: here a strategy counts at most e^clip slower than a block's best.
        # Two strategies can tie over the corpus within one block's worth (Numba
        # parallel with and without fastmath), and one profile that ran 4x slow
        # (gramschmidt under fastmath, 150 ms alone, 620 ms in a long profiling run)
        # then chose the default; at e^0.7 (twice as slow) it no longer does.
        clip = float(self.hyper.get("default_clip") or self.hyper.get("regret_clip") or 0.0)
        if clip:
            means = np.maximum(means, np.nanmax(means, axis=1, keepdims=True) - clip)
        # a strategy not measured on a block counts as NumPy's speed there (what a build
        # falls back to); one measured on no block cannot be the default
        score = np.where(np.isnan(means), 0.0, means).T @ w
        measured = ~np.isnan(means).all(axis=0)
        score[~measured] = -np.inf
        best = int(np.argmax(score))
        return self.actions[best] if score[best] > 0 else None

    def _q1(self, z: np.ndarray) -> np.ndarray:
        """Q of one standardized state (a build decides one block at a time; models
        may skip the batch path's stacking)."""
        return self._q(z[None, :])[0]

    def _mat(self, states: Any) -> np.ndarray:
        V = np.asarray(states, dtype=np.float64)
        if V.ndim != 2:
            V = V.reshape(len(V), -1) if V.size else np.zeros((0, self.n_features or 0))
        if len(V):
            self._vec(V[0])  # fixes n_features on first use, checks the width
            if V.shape[1] != self.n_features:
                raise ValueError(f"states have {V.shape[1]} features; this policy was trained on {self.n_features}")
            if not np.isfinite(V).all():
                raise ValueError("state has NaN or infinite features")
        return V

    def confidence(self, state: Any) -> dict[str, float]:
        """Per action, in [0, 1): how much nearby experience backs the prediction
        (n_eff / (n_eff + 3), n_eff a Gaussian-kernel count of this action's
        experiences around the state in standardized feature space)."""
        return self.confidence_many(self._vec(state)[None, :])[0]

    def confidence_many(self, states: Any) -> list[dict[str, float]]:
        """`confidence` for each row of `states`, in one pass over the replay buffer."""
        V = self._mat(states)
        if not self.buffer:
            return [dict.fromkeys(self.strategies, 0.0) for _ in range(len(V))]
        n, _ = self._kernel_sums(self._z(V), rewards=False)
        return [dict(zip(self.strategies, row)) for row in (n / (n + 3.0)).tolist()]

    def _kernel_sums(self, Z: np.ndarray, rewards: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Per state (row of standardized Z) and action: the Gaussian-kernel mass of the
        action's experiences around it, and (`rewards`) the kernel-weighted sum of their
        rewards."""
        _, S, sq, onehot, weighted = self._kernel_cache()
        # |s - z|^2 = |s|^2 - 2 s.z + |z|^2, clipped: rounding may leave it just below 0
        d2 = sq[None, :] - 2.0 * (Z @ S.T) + np.einsum("ij,ij->i", Z, Z)[:, None]
        k = np.exp(np.maximum(d2, 0.0) / (-0.5 * max(1, Z.shape[1])))
        return k @ onehot, (k @ weighted if rewards else None)

    def _kernel_cache(self) -> tuple:
        """The distinct standardized states of the buffer, their squared norms, and per
        distinct state and action the number of experiences and their reward sum:
        rebuilt only when experience, scaling or the strategies changed, and built by
        `learn` and `load`, so that a build's first decision does not pay for it. (A
        profiled block gives one state and several experiences, one per strategy and
        run: the kernel is evaluated once per state, a tenth of the buffer.)"""
        key = (len(self.buffer), self.experiences, id(self.mu), id(self.sd), len(self.strategies))
        cache = getattr(self, "_confidence_cache", None)
        if cache is None or cache[0] != key:
            states, acts, rewards = self._experience()
            uniq, inverse = _blocks(self._z(states))
            counts = np.zeros((len(uniq), len(self.strategies)))
            np.add.at(counts, (inverse, acts), 1.0)
            sums = np.zeros_like(counts)
            np.add.at(sums, (inverse, acts), rewards)
            uniq = np.ascontiguousarray(uniq)
            cache = (key, uniq, np.einsum("ij,ij->i", uniq, uniq), counts, sums)
            self._confidence_cache = cache
        return cache

    # -- learning -------------------------------------------------------------------

    def remember(self, state: Any, action: str, reward: float, next_state: Any = None,
                 signature: str | None = None, failed: bool | None = None, weight: float = 1.0) -> None:
        """Store an experience. A failure (`failed=True`, or a reward at or below
        FAIL_PENALTY) also bans `action` for this state's signature. `weight` scales
        the experience's squared error in the fit."""
        if action not in self.strategies:
            raise KeyError(f"unknown strategy {action!r}; registered: {', '.join(self.strategies)}")
        v = self._vec(state)
        nv = None if next_state is None else self._vec(next_state)
        if failed is None:
            failed = reward <= FAIL_PENALTY
        if failed:
            self.failed.add((signature or state_signature(v), action))
            reward = min(float(reward), FAIL_PENALTY)
        self.buffer.append((v, action, float(reward), nv))
        self.weights.append(float(weight))
        self.experiences += 1

    def mark_failed(self, state: Any, action: str, signature: str | None = None) -> None:
        self.remember(state, action, FAIL_PENALTY, signature=signature, failed=True)

    def learn(self) -> None:
        """Refit Q on the replay buffer (targets: rewards, plus gamma * max Q(s') when
        gamma > 0 and a next state was given)."""
        if not self.buffer:
            return
        # (a failure's target is raised to the fail floor for the regression; the ban stays)
        states, acts, targets = self._experience()
        prepped = self._prep(states)
        self.mu = prepped.mean(axis=0)
        sd = prepped.std(axis=0)
        self.sd = np.where(sd > 1e-9, sd, 1.0)
        clip = self.hyper.get("regret_clip")
        if clip:
            targets = _floor_to_best(states, acts, targets, len(self.strategies), float(clip))
        g = self.hyper["gamma"]
        if g > 0:
            for j, e in enumerate(self.buffer):
                if e[3] is not None:
                    targets[j] += g * float(np.max(self._q(self._z(e[3][None, :]))[0]))
        weights = self._weight_array()
        if self.hyper.get("per_block"):
            states, acts, targets, weights = _per_block(states, acts, targets, weights, len(self.strategies))
        self._fit(self._z(states), acts, targets, weights)
        self._kernel_cache()
        self.preference()  # (cached now: a build's first decision does not pay for it)
        self.measured_actions()

    def _weight_array(self) -> np.ndarray:
        w = np.array(self.weights, dtype=np.float64)
        return w if w.size == len(self.buffer) else np.ones(len(self.buffer))

    # -- model hooks ----------------------------------------------------------------

    def _grow(self) -> None:
        raise NotImplementedError

    def _q(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _fit(self, z: np.ndarray, acts: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> None:
        raise NotImplementedError

    def _weights(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _set_weights(self, w: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    # -- persistence ----------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        nf = self.n_features or 0
        n = len(self.buffer)
        arrays: dict[str, np.ndarray] = {
            "mu": self.mu if self.mu is not None else np.zeros(0),
            "sd": self.sd if self.sd is not None else np.zeros(0),
            "buf_states": np.stack([e[0] for e in self.buffer]) if n else np.zeros((0, nf)),
            "buf_actions": np.array([e[1] for e in self.buffer], dtype=np.str_) if n else np.zeros(0, dtype="<U1"),
            "buf_rewards": np.array([e[2] for e in self.buffer], dtype=np.float64),
            "buf_next": (np.stack([e[3] if e[3] is not None else np.zeros(nf) for e in self.buffer])
                         if n else np.zeros((0, nf))),
            "buf_has_next": np.array([e[3] is not None for e in self.buffer], dtype=bool),
            "buf_weights": self._weight_array(),
        }
        arrays.update({f"w_{k}": v for k, v in self._weights().items()})
        bio = io.BytesIO()
        np.savez(bio, **arrays)
        blob = bio.getvalue()
        meta = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "kind": self.kind,
            "strategies": [s.to_json() for s in self.strategies.values()],
            "hyperparameters": self.hyper, "n_features": self.n_features,
            "machine_fingerprint": self.machine_fingerprint, "experiences": self.experiences,
            "explore": self.explore, "failed": sorted([list(p) for p in self.failed]),
            "weights_file": NPZ_NAME, "weights_sha256": hashlib.sha256(blob).hexdigest(),
        }
        with state_lock(d, exclusive=True):
            _atomic_write(d / NPZ_NAME, blob)
            _atomic_write(d / JSON_NAME, (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode())

    @classmethod
    def load(cls, directory: str | Path, locked: bool = True) -> _Learner:
        """Load a saved policy. Called on a concrete class, the saved kind must match;
        called as `load_policy(dir)` any kind is accepted. (`locked=False`: the caller
        holds the directory's lock.)"""
        if locked:
            with state_lock(directory, exclusive=False):
                return cls.load(directory, locked=False)
        d = Path(directory)
        jp, wp = d / JSON_NAME, d / NPZ_NAME

        def bad(what: str) -> PolicyStateError:
            return PolicyStateError(f"policy state in {d}: {what}; delete or move the directory aside "
                                    "to start from a fresh policy")

        try:
            meta = json.loads(jp.read_text())
        except FileNotFoundError:
            raise bad(f"{JSON_NAME} is missing") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise bad(f"{JSON_NAME} is not valid JSON ({e})") from e
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise bad(f"{JSON_NAME} is not an mcodec policy file")
        if meta.get("format_version") != FORMAT_VERSION:
            raise bad(f"format_version {meta.get('format_version')!r} is not supported (this mcodec reads "
                      f"{FORMAT_VERSION})")
        kinds = LEARNERS
        kind = meta.get("kind")
        if kind not in kinds:
            raise bad(f"unknown policy kind {kind!r}")
        if cls is not _Learner and kinds[kind] is not cls:
            raise bad(f"holds a {kind!r} policy, not a {cls.kind!r} one")
        try:
            blob = wp.read_bytes()
        except OSError as e:
            raise bad(f"{NPZ_NAME} cannot be read ({e})") from e
        if hashlib.sha256(blob).hexdigest() != meta.get("weights_sha256"):
            raise bad(f"{NPZ_NAME} does not match {JSON_NAME} (truncated, or a torn save)")
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception as e:  # BadZipFile, ValueError, EOFError, ...
            raise bad(f"{NPZ_NAME} is unreadable ({type(e).__name__}: {e})") from e
        try:
            hyper = dict(meta["hyperparameters"])
            base = {k: hyper.pop(k) for k in ("epsilon_start", "epsilon_min", "epsilon_decay", "gamma",
                                               "buffer_size", "seed")}
            learner = kinds[kind]([OptimizationStrategy.from_json(s) for s in meta["strategies"]],
                                  explore=bool(meta.get("explore", False)), **base, **hyper)
            learner.n_features = meta["n_features"]
            learner.machine_fingerprint = str(meta["machine_fingerprint"])
            learner.experiences = int(meta["experiences"])
            learner.failed = {(str(a), str(b)) for a, b in meta["failed"]}
            nf = learner.n_features
            learner._grow()
            if arrays["mu"].size:
                learner.mu, learner.sd = arrays["mu"].astype(np.float64), arrays["sd"].astype(np.float64)
                if learner.mu.shape != (nf,) or learner.sd.shape != (nf,):
                    raise ValueError("standardization does not match n_features")
            learner._set_weights({k[2:]: v for k, v in arrays.items() if k.startswith("w_")})
            for i in range(arrays["buf_rewards"].size):
                nxt = arrays["buf_next"][i].astype(np.float64) if arrays["buf_has_next"][i] else None
                a = str(arrays["buf_actions"][i])
                if a not in learner.strategies:
                    raise ValueError(f"replay buffer names unknown strategy {a!r}")
                learner.buffer.append((arrays["buf_states"][i].astype(np.float64), a,
                                       float(arrays["buf_rewards"][i]), nxt))
                # (policies saved before weights existed: every experience weighs 1)
                learner.weights.append(float(arrays["buf_weights"][i]) if "buf_weights" in arrays else 1.0)
            if learner.buffer:
                learner._kernel_cache()
                learner.preference()
                learner.measured_actions()
        except PolicyStateError:
            raise
        except Exception as e:
            raise bad(f"inconsistent contents ({type(e).__name__}: {e})") from e
        return learner


def load_policy(directory: str | Path, locked: bool = True) -> _Learner:
    """Load a saved policy of whichever kind it is."""
    return _Learner.load(directory, locked)


def _current_fingerprint() -> str:
    try:
        from mcodec.runtime_shim.hardware import machine

        return str(machine()["fingerprint"])
    except Exception:  # pragma: no cover
        return "unknown"


class ReinforcementLearner(_Learner):
    """Q(s, a) = w_a . [1, z(s)], per-action ridge regression in closed form."""

    kind = "ridge"
    # Leave-one-program-out in tests/bench/simulate_policy.py on the corpus store at
    # preset M (8 strategies, 44 programs): geomean regret 1.37 with ridge 10 alone,
    # 1.30 with failures regressed at -1 rather than -5 (a failure is also banned for
    # its block; as a target, -5 dragged the linear fit for every other block), 1.27
    # with ridge 30, 1.23 with runs weighted by their block's share of the program's
    # time (time_weight 0.5). centered and local did not help there; zclip 2-3 gave
    # 1.19 there but 1.33 (vs 1.22) on an older store at preset S: not robust, off.
    # With numpy-mem as a 9th strategy that fit fell to 1.36 (gain 0.91 over Numba
    # fastmath everywhere): raw flops / bytes (up to 1e9) standardized put a few blocks
    # at z 6-8 where the linear models extrapolate (slog: 1.27), NumPy's 1000x on scalar
    # loops dominated the squared errors (regret_clip), blocks profiled more often
    # weighed more (per_block: 1.25 with regret_clip), and predicted differences within
    # the timing noise moved blocks off the strategy best on average (margin 0.1:
    # 1.20, gain 1.03; 1.16 and 1.03 on the 8-strategy store). margin 0.1-0.3 x ridge
    # 30-100 all give 1.20-1.23 (mem) and 1.16-1.20 (8 strategies).
    DEFAULTS = {"ridge": 30.0, "slog": True, "fail_floor": -1.0, "local": 0.0, "time_weight": 0.5,
                "centered": False, "zclip": None, "regret_clip": 3.0, "margin": 0.1, "per_block": True,
                "default_clip": 0.7}

    def __init__(self, strategies: Iterable[OptimizationStrategy] = (), **kw: Any) -> None:
        self.W = np.zeros((0, 0))
        super().__init__(strategies, **kw)

    def _grow(self) -> None:
        if self.n_features is None:
            return
        na, nf = len(self.strategies), self.n_features + 1
        W = np.zeros((na, nf))
        r, c = min(na, self.W.shape[0]), min(nf, self.W.shape[1]) if self.W.size else 0
        if r and c:
            W[:r, :c] = self.W[:r, :c]
        self.W = W

    def _q(self, z: np.ndarray) -> np.ndarray:
        if self.W.shape[0] != len(self.strategies):
            self._grow()
        X = np.hstack([np.ones((z.shape[0], 1)), z])
        q = X @ self.W.T
        c = float(self.hyper.get("local") or 0.0)
        if c > 0 and self.buffer:
            # blended with the kernel-weighted mean reward of nearby experiences of each
            # action: the linear model's error where the data says otherwise (weight
            # n / (n + c), n the kernel mass there)
            n, r = self._kernel_sums(z)
            assert r is not None
            q = (r + c * q) / (n + c)
        return q

    def _q1(self, z: np.ndarray) -> np.ndarray:
        if self.hyper.get("local"):
            return self._q(z[None, :])[0]
        if self.W.shape[0] != len(self.strategies):
            self._grow()
        return self.W[:, 0] + self.W[:, 1:] @ z

    def _fit(self, z: np.ndarray, acts: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> None:
        self._grow()
        X = np.hstack([np.ones((z.shape[0], 1)), z])
        sw = np.sqrt(weights)
        lam = float(self.hyper["ridge"])
        reg = lam * np.eye(X.shape[1])
        reg[0, 0] = 1e-6 * lam  # the intercept is barely shrunk (prior mean 0 only when unvisited)
        base = np.zeros(X.shape[1])
        if self.hyper.get("centered"):
            # Q(s, a) = B(s) + A_a(s): B fits each block's mean reward over the strategies
            # run on it, A_a the strategy's advantage over that mean. How much any compiled
            # code beats NumPy on a block varies far more between blocks than the ranking
            # of strategies does; fitted per action, that common part's errors differ per
            # action and decide the ranking.
            _, group = _blocks(z)
            counts = np.bincount(group)
            mean = np.bincount(group, weights=targets) / counts
            first = np.unique(group, return_index=True)[1]
            gw = np.sqrt(np.bincount(group, weights=weights)[group[first]] / counts[group[first]])
            Xg, yg = X[first] * gw[:, None], mean[group[first]] * gw
            base = np.linalg.solve(Xg.T @ Xg + reg, Xg.T @ yg)
            targets = targets - mean[group]
        for i in range(len(self.strategies)):
            m = acts == i
            if not m.any():
                self.W[i] = 0.0  # unvisited: the prior 0, NumPy's speed
                continue
            Xa, ya = X[m] * sw[m, None], targets[m] * sw[m]
            self.W[i] = base + np.linalg.solve(Xa.T @ Xa + reg, Xa.T @ ya)

    def _weights(self) -> dict[str, np.ndarray]:
        return {"W": self.W}

    def _set_weights(self, w: dict[str, np.ndarray]) -> None:
        W = w["W"].astype(np.float64)
        if self.n_features is not None and W.shape != (len(self.strategies), self.n_features + 1):
            raise ValueError(f"W has shape {W.shape}")
        self.W = W


class DeepQLearner(_Learner):
    """Q(s, .) = W2 tanh(W1 z(s) + b1) + b2: one hidden layer, one output per action,
    trained with Adam on the squared error of the taken action's output."""

    kind = "mlp"
    DEFAULTS = {"hidden": 32, "epochs": 60, "min_steps": 300, "batch_size": 64, "lr": 0.01, "l2": 1e-4,
                "slog": False, "fail_floor": None, "time_weight": 0.0}

    def __init__(self, strategies: Iterable[OptimizationStrategy] = (), **kw: Any) -> None:
        self.params: dict[str, np.ndarray] = {}
        super().__init__(strategies, **kw)

    def _grow(self) -> None:
        if self.n_features is None:
            return
        h, na, nf = int(self.hyper["hidden"]), len(self.strategies), self.n_features
        p = self.params
        if not p:
            rng = np.random.default_rng(self.hyper["seed"])
            p["W1"] = rng.normal(0, 1 / math.sqrt(max(nf, 1)), (h, nf))
            p["b1"] = np.zeros(h)
            p["W2"] = np.zeros((na, h))
            p["b2"] = np.zeros(na)
        elif p["W2"].shape[0] < na:  # a newly registered strategy starts at the prior 0
            extra = na - p["W2"].shape[0]
            p["W2"] = np.vstack([p["W2"], np.zeros((extra, h))])
            p["b2"] = np.concatenate([p["b2"], np.zeros(extra)])

    def _q(self, z: np.ndarray) -> np.ndarray:
        if not self.params or self.params["W2"].shape[0] != len(self.strategies):
            self._grow()
        p = self.params
        return np.tanh(z @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"]

    def _fit(self, z: np.ndarray, acts: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> None:
        self._grow()
        p, hp = self.params, self.hyper
        lr, l2, bs = float(hp["lr"]), float(hp["l2"]), int(hp["batch_size"])
        n = z.shape[0]
        m = {k: np.zeros_like(v) for k, v in p.items()}
        v2 = {k: np.zeros_like(v) for k, v in p.items()}
        b1, b2, t = 0.9, 0.999, 0
        batches = max(1, math.ceil(n / bs))
        epochs = max(int(hp["epochs"]), math.ceil(int(hp["min_steps"]) / batches))  # small buffers too
        for _ in range(epochs):
            order = self.rng.permutation(n)
            for s in range(0, n, bs):
                idx = order[s:s + bs]
                x, a, y = z[idx], acts[idx], targets[idx]
                h = np.tanh(x @ p["W1"].T + p["b1"])
                q = h @ p["W2"].T + p["b2"]
                k = len(idx)
                err = np.zeros_like(q)
                err[np.arange(k), a] = (q[np.arange(k), a] - y) * weights[idx] * (2.0 / k)
                g = {"W2": err.T @ h + l2 * p["W2"], "b2": err.sum(0)}
                dh = (err @ p["W2"]) * (1 - h * h)
                g["W1"] = dh.T @ x + l2 * p["W1"]
                g["b1"] = dh.sum(0)
                t += 1
                for key in p:
                    m[key] = b1 * m[key] + (1 - b1) * g[key]
                    v2[key] = b2 * v2[key] + (1 - b2) * g[key] ** 2
                    mh = m[key] / (1 - b1 ** t)
                    vh = v2[key] / (1 - b2 ** t)
                    p[key] = p[key] - lr * mh / (np.sqrt(vh) + 1e-8)

    def _weights(self) -> dict[str, np.ndarray]:
        return dict(self.params)

    def _set_weights(self, w: dict[str, np.ndarray]) -> None:
        if self.n_features is None:
            self.params = {}
            return
        h, na, nf = int(self.hyper["hidden"]), len(self.strategies), self.n_features
        want = {"W1": (h, nf), "b1": (h,), "W2": (na, h), "b2": (na,)}
        for k, shape in want.items():
            if k not in w or w[k].shape != shape:
                raise ValueError(f"{k} missing or of shape {None if k not in w else w[k].shape}, expected {shape}")
        self.params = {k: w[k].astype(np.float64) for k in want}


class ForestLearner(_Learner):
    """Q(s, .) = a regression forest's prediction (`mcodec.passes.forest`): one row per
    profiled block, one output per strategy.

    Why the default: leave-one-program-out on five corpus stores at preset M
    (tests/bench/simulate_policy.py), its gain over the best fixed rule was 1.012,
    0.997, 0.993, 1.000 and 0.989 where the ridge's was 1.023, 0.977, 0.976, 0.985 and
    0.982 (the MLP's 0.87-0.93); timed for real on the first store (eval_policy.py
    --skip-profiling), 1.006 against 0.989. The ridge extrapolated counts past every
    profiled block (three_mm's three products: NumPy for a block Numba runs 1.5 times
    faster); a tree's prediction is always a mean of measured blocks. The per-block
    oracle is only 7-10% ahead of the rule on these stores."""

    kind = "forest"
    DEFAULTS = {"n_trees": 64, "max_depth": 6, "min_leaf": 3, "max_features": 0.5, "bootstrap": True,
                "slog": False, "fail_floor": -1.0, "time_weight": 0.5, "regret_clip": 3.0,
                "margin": 0.1, "per_block": True, "default_clip": 0.7}

    def __init__(self, strategies: Iterable[OptimizationStrategy] = (), **kw: Any) -> None:
        self.forest: Forest | None = None
        super().__init__(strategies, **kw)

    def _grow(self) -> None:
        pass  # a strategy registered after the fit predicts the prior 0 (see _q)

    def _q(self, z: np.ndarray) -> np.ndarray:
        na = len(self.strategies)
        if self.forest is None:
            return np.zeros((z.shape[0], na))
        q = self.forest.predict(z)
        return q if q.shape[1] == na else np.hstack([q, np.zeros((q.shape[0], na - q.shape[1]))])

    def _fit(self, z: np.ndarray, acts: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> None:
        # one row per block (a distinct state), one column per strategy
        uniq, group = _blocks(z)
        means = _block_means(group, acts, targets, len(uniq), len(self.strategies), weights)
        M = ~np.isnan(means)
        w = np.bincount(group, weights=weights) / np.bincount(group)
        h = self.hyper
        self.forest = fit_forest(uniq, np.where(M, means, 0.0), M, w, n_trees=int(h["n_trees"]),
                                 max_depth=int(h["max_depth"]), min_leaf=int(h["min_leaf"]),
                                 max_features=float(h["max_features"]), bootstrap=bool(h["bootstrap"]),
                                 rng=np.random.default_rng(h["seed"]))

    def _weights(self) -> dict[str, np.ndarray]:
        return self.forest.arrays() if self.forest is not None else {}

    def _set_weights(self, w: dict[str, np.ndarray]) -> None:
        self.forest = Forest.from_arrays(w, len(self.strategies)) if w else None


LEARNERS: dict[str, type[_Learner]] = {c.kind: c for c in (ReinforcementLearner, DeepQLearner, ForestLearner)}
# the learner builds and the shipped prior use (ForestLearner says why)
DEFAULT_LEARNER: type[_Learner] = ForestLearner
