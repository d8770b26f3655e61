"""The built-in functions of M-CODE as a declarative table: name, kind (which typing
rule applies), parameter names with defaults (for keyword binding and messages), and
the NumPy function that defines its meaning (used for dtype probing and lowering)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

REQUIRED = object()


@dataclass(frozen=True)
class Builtin:
    name: str
    kind: str
    params: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)
    numpy: Any = None
    aliases: dict[str, str] = field(default_factory=dict)  # another keyword NumPy accepts -> parameter


def _table() -> dict[str, Builtin]:
    t: dict[str, Builtin] = {}

    def add(name: str, kind: str, params: str, numpy: Any = None, aliases: dict[str, str] | None = None,
            **defaults: Any) -> None:
        t[name] = Builtin(name, kind, tuple(params.split()) if params else (), defaults,
                          numpy if numpy is not None else getattr(np, name, None), aliases or {})

    for n in ("exp log log2 log10 sqrt sin cos tan arcsin arccos arctan sinh cosh tanh abs "
              "sign floor ceil isnan isinf logical_not real imag conj").split():
        add(n, "unary", "x")
    add("round", "round", "x decimals", aliases={"a": "x"}, decimals=0)  # (np.round names it a)
    for n in "arctan2 maximum minimum logical_and logical_or".split():
        add(n, "binary", "x1 x2")
    add("where", "where", "condition x y")
    add("clip", "clip", "a a_min a_max", aliases={"min": "a_min", "max": "a_max"})  # (NumPy 2.1's names)
    for n in "sum mean prod max min any all".split():
        add(n, "reduce", "a axis keepdims", axis=None, keepdims=False)
    for n in "std var".split():  # (NumPy's ddof: the divisor is n - ddof)
        add(n, "reduce", "a axis keepdims ddof", axis=None, keepdims=False, ddof=0)
    for n in "argmax argmin".split():
        add(n, "reduce", "a axis keepdims", axis=None, keepdims=False)
    for n in ("zeros", "ones", "empty"):
        add(n, "make", "shape dtype", dtype="f64")
    add("full", "make", "shape fill_value dtype", dtype=None)
    for n in ("zeros_like", "ones_like", "empty_like"):
        add(n, "make_like", "a dtype", dtype=None)
    add("full_like", "make_like", "a fill_value dtype", dtype=None)
    add("eye", "eye", "N M k dtype", M=None, k=0, dtype="f64")
    add("arange", "arange", "start stop step dtype", stop=None, step=None, dtype=None)
    add("linspace", "linspace", "start stop num endpoint dtype", num=50, endpoint=True, dtype=None)
    add("random", "random", "shape seed", seed=0)
    add("randn", "random", "shape seed", seed=0)
    add("dot", "matmul", "a b")
    add("matmul", "matmul", "x1 x2")
    add("outer", "outer", "a b")
    add("transpose", "transpose", "a axes", axes=None)
    add("reshape", "reshape", "a shape", aliases={"newshape": "shape"})  # (NumPy before 2.1)
    add("flip", "flip", "m axis", axis=None)
    add("triu", "tri", "m k", k=0)
    add("tril", "tri", "m k", k=0)
    add("concatenate", "concat", "arrays axis", axis=0)
    add("hstack", "concat", "tup")
    add("vstack", "concat", "tup")
    add("stack", "stack", "arrays axis", axis=0)
    add("diag", "diag", "v k", k=0)
    add("trace", "trace", "a offset", offset=0)
    add("copy", "copy", "a")
    add("astype", "astype", "x dtype")
    return t


BUILTINS: dict[str, Builtin] = _table()
# Names that exist for users but are not functions callable anywhere: `range` (for loops)
# and `newaxis` (indexing).
SPECIAL_NAMES = frozenset({"range", "newaxis"})
