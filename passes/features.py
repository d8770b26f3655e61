"""A fixed-length numeric description of a block, for strategy selection models.

`block_features(view, machine, dims)` returns a dict keyed by `FEATURE_NAMES` (always
all of them, in that order); `feature_vector` gives the same as a float64 array.
Symbolic dims are evaluated from `dims` (symbol -> size) where given, else taken as
`NOMINAL_DIM`; loop trip counts are read from the loop bounds where they resolve to
constants or dims (through the blocks that define them), else nominal too.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import networkx as nx
import numpy as np
from mcodec.compiler.ir import Op, Value
from mcodec.compiler.types import NUMPY_NAME, ArrayType

from .pattern_library import PATTERN_LIBRARY, PATTERN_NAMES, PatternEntry
from .patterns import CATEGORIES, LOOPS, PatternMatch, block_graph, match_patterns, matched_names

NOMINAL_DIM = 256
TRANSCENDENTAL = frozenset({"exp", "log", "log2", "log10", "sqrt", "sin", "cos", "tan", "arcsin",
                            "arccos", "arctan", "sinh", "cosh", "tanh", "pow", "arctan2"})

FEATURE_NAMES: list[str] = (
    [f"pat_{n}" for n in PATTERN_NAMES]
    + [f"n_{c}" for c in CATEGORIES]
    + ["n_ops", "flops", "bytes", "log_flops", "log_bytes", "intensity", "max_depth", "n_loops",
       "dtype_f32", "dtype_f64", "dtype_int", "dtype_bool", "dtype_complex", "loop_carried",
       "n_live_ins", "n_live_outs", "n_array_live_ins", "cpus", "has_gpu"]
)


_COUNT_KEY = {c: f"n_{c}" for c in CATEGORIES}  # (not formatted per node)


@lru_cache(maxsize=64)
def _itemsize(dtype: str) -> int:
    name = NUMPY_NAME.get(dtype)
    return np.dtype(name).itemsize if name else 8


def _dim(d: Any, dims: dict[str, int] | None) -> float:
    if d is None:
        return float(NOMINAL_DIM)
    n = float(d.const)
    for s, c in d.terms:
        n += c * float((dims or {}).get(s, NOMINAL_DIM))
    return max(n, 1.0)


def _elems(t: Any, dims: dict[str, int] | None) -> float:
    if isinstance(t, ArrayType):
        n = 1.0
        for d in t.shape:
            n *= _dim(d, dims)
        return n
    return 1.0


def _scalar(v: Value, dims: dict[str, int] | None, budget: int = 12) -> float | None:
    """The compile-time value of a scalar, where it is a constant or a dim (also
    through block results and simple arithmetic); None when unknown."""
    owner = v.owner
    if budget <= 0 or not isinstance(owner, Op):
        return None
    name = owner.name
    if name == "mc.const":
        val = owner.attrs.get("value")
        return float(val) if isinstance(val, (int, float)) and not isinstance(val, bool) else None
    if name == "mc.dim":
        t = owner.operands[0].type
        ax = owner.attrs.get("axis", 0)
        if isinstance(t, ArrayType) and -t.rank <= ax < t.rank:
            d = t.shape[ax]
            if d is None or any(s not in (dims or {}) for s, _ in d.terms):
                return float(NOMINAL_DIM) if d is None or d.terms else float(d.const)
            return _dim(d, dims)
        return None
    if name == "mc.block":
        term = owner.regions[0].terminator
        k = owner.results.index(v)
        return _scalar(term.operands[k], dims, budget - 1) if term is not None else None
    if name == "mc.cast":
        return _scalar(owner.operands[0], dims, budget - 1)
    if name in ("mc.add", "mc.sub", "mc.mul", "mc.floordiv"):
        a = _scalar(owner.operands[0], dims, budget - 1)
        b = _scalar(owner.operands[1], dims, budget - 1)
        if a is None or b is None:
            return None
        if name == "mc.add":
            return a + b
        if name == "mc.sub":
            return a - b
        if name == "mc.mul":
            return a * b
        return a // b if b else None
    return None


def _trip(loop: Op, dims: dict[str, int] | None, cache: dict) -> float:
    t = cache.get(loop)
    if t is None:
        t = float(NOMINAL_DIM)
        if loop.name == "mc.for" and len(loop.operands) >= 3:
            lo, hi, st = (_scalar(v, dims) for v in loop.operands[:3])
            if lo is not None and hi is not None and st:
                t = max(0.0, math.ceil((hi - lo) / st))
        cache[loop] = t
    return t


def _enclosing_trips(op: Op, top: Any, dims: dict[str, int] | None, cache: dict) -> float:
    n = 1.0
    r = op.parent
    while r is not None and r is not top:
        owner = r.parent
        if owner is None:
            break
        if owner.name in LOOPS:
            n *= _trip(owner, dims, cache)
        r = owner.parent
    return n


def _machine_features(machine: dict | None) -> tuple[float, float]:
    if machine is None:
        from mcodec.runtime_shim.hardware import machine as hw

        machine = hw()
    gpu = machine.get("has_gpu")
    if gpu is None:
        gpu = "gpu" in (machine.get("mlx_devices") or [])
    return float(machine.get("cpus") or 1), float(bool(gpu))


def block_features(view: Any, machine: dict | None = None, dims: dict[str, int] | None = None, *,
                   graph: nx.DiGraph | None = None, matches: list[PatternMatch] | None = None,
                   library: list[PatternEntry] | None = None) -> dict[str, float]:
    """Features of one block (a BlockView). `graph` / `matches` may be passed when the
    caller already has them; pattern indicators cover the standard library only."""
    g = graph if graph is not None else block_graph(view)
    if matches is None:
        matches = match_patterns(g, library if library is not None else PATTERN_LIBRARY, first_only=True)
    feats = dict.fromkeys(FEATURE_NAMES, 0.0)
    for name in matched_names(matches, PATTERN_LIBRARY):
        feats[f"pat_{name}"] = 1.0
    top = view.region if hasattr(view, "region") else None
    trip_cache: dict = {}
    elems_memo: dict[int, float] = {}  # by type object: values' types recur as operands

    def elems(t: Any) -> float:
        n = elems_memo.get(id(t))
        if n is None:
            n = elems_memo[id(t)] = _elems(t, dims)
        return n

    flops = 0.0
    nbytes = 0.0
    max_depth = 0
    dtypes: set[str] = set()
    carried = False
    n_in = n_arr_in = n_ops = 0
    for a in g._node.values():
        cat = a["category"]
        if cat == "input":
            n_in += 1
            n_arr_in += a["array"]
            continue
        feats[_COUNT_KEY[cat]] += 1
        n_ops += 1
        if a["depth"] > max_depth:
            max_depth = a["depth"]
        carried = carried or a["loop_carried"]
        if cat not in ("elementwise", "reduction", "matmul", "index", "store"):
            continue
        op: Op = a["ir"]
        dtypes.add(a["dtype"])
        trips = _enclosing_trips(op, top, dims, trip_cache) if a["depth"] else 1.0
        res_t = op.results[0].type if op.results else None
        if cat == "elementwise":
            e = elems(res_t)
            flops += trips * e * (4.0 if a["op"] in TRANSCENDENTAL else 1.0)
            nbytes += trips * (e * _itemsize(a["dtype"]) + sum(
                elems(v.type) * _itemsize(v.type.dtype) for v in op.operands if isinstance(v.type, ArrayType)))
        elif cat == "reduction":
            src = op.operands[0].type
            e = elems(src)
            flops += trips * e
            nbytes += trips * (e * _itemsize(getattr(src, "dtype", "f64")) + elems(res_t) * _itemsize(a["dtype"]))
        elif cat == "matmul":
            x, y = op.operands[0].type, op.operands[1].type
            k = _dim(x.shape[-1], dims) if isinstance(x, ArrayType) and a["op"] != "outer" else 1.0
            e = elems(res_t)
            flops += trips * 2.0 * e * k
            nbytes += trips * (elems(x) * _itemsize(x.dtype) + elems(y) * _itemsize(y.dtype)
                               + e * _itemsize(a["dtype"]))
        elif cat == "index":
            nbytes += trips * elems(res_t) * _itemsize(a["dtype"])
        else:  # store: the stored value's elements
            val = op.operands[-1].type
            nbytes += trips * elems(val) * _itemsize(getattr(val, "dtype", a["dtype"]))
    feats["n_ops"] = float(n_ops)
    feats["flops"] = flops
    feats["bytes"] = nbytes
    feats["log_flops"] = math.log10(1.0 + flops)
    feats["log_bytes"] = math.log10(1.0 + nbytes)
    feats["intensity"] = flops / nbytes if nbytes else 0.0
    feats["max_depth"] = float(max_depth)
    feats["n_loops"] = feats["n_loop"]
    feats["dtype_f32"] = float("f32" in dtypes)
    feats["dtype_f64"] = float("f64" in dtypes)
    feats["dtype_int"] = float(any(d[:1] in ("i", "u") for d in dtypes))
    feats["dtype_bool"] = float("bool" in dtypes)
    feats["dtype_complex"] = float(any(d[:1] == "c" for d in dtypes))
    feats["loop_carried"] = float(carried)
    feats["n_live_ins"] = float(n_in)
    feats["n_array_live_ins"] = float(n_arr_in)
    feats["n_live_outs"] = float(len(view.op.results)) if hasattr(view, "op") else 0.0
    feats["cpus"], feats["has_gpu"] = _machine_features(machine)
    return feats


def feature_vector(view: Any, machine: dict | None = None, dims: dict[str, int] | None = None,
                   **kw: Any) -> np.ndarray:
    f = block_features(view, machine, dims, **kw)
    return np.fromiter((f[n] for n in FEATURE_NAMES), dtype=np.float64, count=len(FEATURE_NAMES))


__all__ = ["FEATURE_NAMES", "NOMINAL_DIM", "block_features", "feature_vector"]
