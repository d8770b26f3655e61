"""A multi-output regression forest in NumPy, for strategy selection.

One row per block, one output per strategy: `Y[i, a]` is the block's reward under
strategy `a`, `M[i, a]` whether that was measured. Rewards are modelled as additive,
`Y[i, a] ~ u[i] + v[a]` (u: how fast the block is under any strategy; v: how each
strategy ranks there). A split minimizes the squared error of the rewards less each
block's u, so trees separate blocks by how the strategies rank on them rather than by
how much faster than NumPy they all are; a node predicts the additive fit's mean over
its blocks, so a strategy measured on only some of them is compared with the others on
those same blocks (and takes its parent's value where none measured it). A tree
predicts only values it has seen, where a linear model extrapolates a count it has
never seen far past any block.

Trees are stored as padded arrays [n_trees, max_nodes]: `feature` (-1 at a leaf),
`threshold`, `left`, `right` (children come after their parent), and `value`
[n_trees, max_nodes, n_outputs].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Forest:
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray

    ARRAYS = ("feature", "threshold", "left", "right", "value")

    def predict(self, X: np.ndarray) -> np.ndarray:
        """[rows, outputs]: the mean over trees of each row's leaf value."""
        n_trees = self.feature.shape[0]
        if n_trees == 0:
            return np.zeros((X.shape[0], self.value.shape[-1] if self.value.ndim == 3 else 0))
        t = np.arange(n_trees)[None, :]
        node = np.zeros((X.shape[0], n_trees), dtype=np.int64)
        rows = np.arange(X.shape[0])[:, None]
        while True:
            f = self.feature[t, node]
            inner = f >= 0
            if not inner.any():
                break
            go_left = X[rows, np.where(inner, f, 0)] <= self.threshold[t, node]
            node = np.where(inner, np.where(go_left, self.left[t, node], self.right[t, node]), node)
        return self.value[t, node].mean(axis=1)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in self.ARRAYS}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray], n_outputs: int) -> Forest:
        """A saved forest, checked; it may have fewer outputs than `n_outputs` (strategies
        registered after its fit)."""
        f = cls(**{k: np.asarray(a[k]) for k in cls.ARRAYS})
        shape = f.feature.shape
        if (len(shape) != 2 or any(getattr(f, k).shape != shape for k in ("threshold", "left", "right"))
                or f.value.ndim != 3 or f.value.shape[:2] != shape or f.value.shape[2] > n_outputs):
            raise ValueError(f"forest arrays of inconsistent shapes (feature {shape}, value {f.value.shape})")
        # children after their parent and inside the tree: every walk ends at a leaf
        node = np.broadcast_to(np.arange(shape[1]), shape)
        inner = f.feature >= 0
        for child in (f.left, f.right):
            if not ((child[inner] > node[inner]) & (child[inner] < shape[1])).all():
                raise ValueError("forest child index out of range")
        return f


def _additive(Y: np.ndarray, M: np.ndarray, w: np.ndarray, sweeps: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """A weighted least-squares fit Y[i, a] ~ u[i] + v[a] on the measured entries (u: how
    fast the block is under any strategy, v: each strategy's effect), by alternating
    means; with every entry measured, v is the column means and one sweep is exact."""
    wm = M * w[:, None]
    n, rows = wm.sum(axis=0), wm.sum(axis=1)
    n_safe, rows_safe = np.where(n > 0, n, 1.0), np.where(rows > 0, rows, 1.0)
    v = (wm * Y).sum(axis=0) / n_safe
    u = np.zeros(len(Y))
    for _ in range(1 if M.all() else sweeps):
        u = (wm * (Y - v)).sum(axis=1) / rows_safe
        v = (wm * (Y - u[:, None])).sum(axis=0) / n_safe
    return u, v


def _node_value(Y: np.ndarray, M: np.ndarray, w: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Per output, the node's prediction: the mean over its blocks of the additive fit,
    so that a strategy measured on only some of them is compared with the others on
    those; the parent's value where no block measured the output."""
    u, v = _additive(Y, M, w)
    wh = w[M.any(axis=1)]
    level = (u[M.any(axis=1)] * wh).sum() / wh.sum() if wh.sum() > 0 else 0.0  # (weights may be 0)
    return np.where(M.any(axis=0) & (M * w[:, None]).any(axis=0), level + v, parent)


def _best_split(X: np.ndarray, Y: np.ndarray, M: np.ndarray, w: np.ndarray, feats: np.ndarray,
                min_leaf: int) -> tuple[int, float, float]:
    """(feature, threshold, decrease of the squared error) of the best split of these
    rows on one of `feats`; feature -1 when no split keeps min_leaf rows a side."""
    n = X.shape[0]
    order = np.argsort(X[:, feats], axis=0, kind="stable")  # [n, k]
    xs = np.take_along_axis(X[:, feats], order, axis=0)
    wm = M * w[:, None]  # [n, A]
    a0 = wm[order]  # [n, k, A]
    a1 = (wm * Y)[order]
    a2 = (wm * Y * Y)[order]
    n_l, s_l, q_l = (np.cumsum(a, axis=0)[:-1] for a in (a0, a1, a2))  # left of a cut after row j
    n_t, s_t, q_t = a0.sum(axis=0), a1.sum(axis=0), a2.sum(axis=0)

    def sse(cnt: np.ndarray, s: np.ndarray, q: np.ndarray) -> np.ndarray:
        return (q - s * s / np.where(cnt > 0, cnt, 1.0)).sum(axis=-1)

    parent = sse(n_t, s_t, q_t)  # [k]
    gain = parent[None, :] - sse(n_l, s_l, q_l) - sse(n_t - n_l, s_t - s_l, q_t - q_l)  # [n-1, k]
    j = np.arange(n - 1)[:, None]
    valid = (xs[1:] > xs[:-1]) & (j + 1 >= min_leaf) & (n - j - 1 >= min_leaf)
    gain = np.where(valid, gain, -np.inf)
    flat = int(np.argmax(gain))
    r, c = divmod(flat, gain.shape[1])
    if not np.isfinite(gain[r, c]):
        return -1, 0.0, 0.0
    return int(feats[c]), float((xs[r, c] + xs[r + 1, c]) / 2.0), float(gain[r, c])


def fit_forest(X: np.ndarray, Y: np.ndarray, M: np.ndarray, w: np.ndarray, *, n_trees: int = 64,
               max_depth: int = 6, min_leaf: int = 3, max_features: float = 0.5, bootstrap: bool = True,
               rng: np.random.Generator) -> Forest:
    """Fit a forest on rows X [n, f] with outputs Y [n, A], measured mask M, weights w."""
    n, nf = X.shape
    na = Y.shape[1]
    Y = np.where(M, Y, 0.0)
    # (a block measured under one strategy only says nothing of a ranking: it enters
    # the split criterion as measured)
    u, _ = _additive(Y, M, w)
    C = np.where(M, Y - np.where(M.sum(axis=1) > 1, u, 0.0)[:, None], 0.0)
    k = max(1, min(nf, int(round(max_features * nf))))
    root_value = _node_value(Y, M, w, np.zeros(na))
    trees = [_grow_tree(X, Y, C, M, w, rng.integers(0, n, n) if bootstrap else np.arange(n), root_value, k,
                        max_depth, min_leaf, rng) for _ in range(n_trees)]
    width = max((len(t[0]) for t in trees), default=1)
    F = np.full((len(trees), width), -1, dtype=np.int32)
    T = np.zeros((len(trees), width))
    L = np.zeros((len(trees), width), dtype=np.int32)
    R = np.zeros((len(trees), width), dtype=np.int32)
    V = np.zeros((len(trees), width, na))
    for i, (feat, thr, left, right, val) in enumerate(trees):
        m = len(feat)
        F[i, :m], T[i, :m], L[i, :m], R[i, :m] = feat, thr, left, right
        V[i, :m] = np.stack(val)
    return Forest(F, T, L, R, V)


def _grow_tree(X: np.ndarray, Y: np.ndarray, C: np.ndarray, M: np.ndarray, w: np.ndarray, rows: np.ndarray,
               root_value: np.ndarray, k: int, max_depth: int, min_leaf: int,
               rng: np.random.Generator) -> tuple[list[int], list[float], list[int], list[int], list[np.ndarray]]:
    """One tree on `rows` (with repeats: a bootstrap sample), as node lists."""
    feat: list[int] = []
    thr: list[float] = []
    left: list[int] = []
    right: list[int] = []
    val: list[np.ndarray] = []

    def new_node(r: np.ndarray, parent_value: np.ndarray) -> int:
        feat.append(-1)
        thr.append(0.0)
        left.append(0)
        right.append(0)
        val.append(_node_value(Y[r], M[r], w[r], parent_value))
        return len(feat) - 1

    stack = [(rows, 0, new_node(rows, root_value))]  # (rows, depth, node)
    while stack:
        r, depth, node = stack.pop()
        if depth >= max_depth or len(r) < 2 * min_leaf:
            continue
        xr = X[r]
        varied = np.flatnonzero(xr.max(axis=0) > xr.min(axis=0))  # (a constant feature cannot split)
        if not len(varied):
            continue
        f, t, g = _best_split(xr, C[r], M[r], w[r], rng.choice(varied, size=min(k, len(varied)), replace=False),
                              min_leaf)
        if f < 0 or g <= 1e-12:
            continue
        go = xr[:, f] <= t
        feat[node], thr[node] = f, t
        for side, part in ((left, r[go]), (right, r[~go])):
            side[node] = child = new_node(part, val[node])
            stack.append((part, depth + 1, child))
    return feat, thr, left, right, val


__all__ = ["Forest", "fit_forest"]
