"""M-CODE types: scalar dtypes, arrays with symbolic shapes, and NumPy 2 promotion.

Promotion is asked of NumPy itself (on tiny probe arrays), so M-CODE's typing rules are
NumPy's by construction, Python-scalar ("weak") literals included.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

DTYPES = ("bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64", "c64", "c128")
NUMPY_NAME = {
    "bool": "bool", "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
    "u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64",
    "f32": "float32", "f64": "float64", "c64": "complex64", "c128": "complex128",
}
FROM_NUMPY = {v: k for k, v in NUMPY_NAME.items()}


def np_dtype(dtype: str) -> np.dtype:
    return np.dtype(NUMPY_NAME[dtype])


def is_int(dtype: str) -> bool:
    return dtype[0] in "iu"


def is_float(dtype: str) -> bool:
    return dtype[0] == "f"


def is_complex(dtype: str) -> bool:
    return dtype[0] == "c"


# ---- dims: affine forms over symbols, or unknown ---------------------------------
@dataclass(frozen=True)
class Dim:
    """`const + sum(coeff * sym)`; enough to tell `N-2` from `N-1` at compile time."""

    const: int = 0
    terms: tuple[tuple[str, int], ...] = ()

    @staticmethod
    def sym(name: str) -> Dim:
        return Dim(0, ((name, 1),))

    def __add__(self, other: Dim | int) -> Dim:
        o = other if isinstance(other, Dim) else Dim(other)
        # terms are kept sorted and nonzero, so a side without terms adds only its constant
        if not o.terms:
            return self if not o.const else Dim(self.const + o.const, self.terms)
        if not self.terms:
            return Dim(self.const + o.const, o.terms)
        acc = dict(self.terms)
        for s, c in o.terms:
            acc[s] = acc.get(s, 0) + c
        return Dim(self.const + o.const, tuple(sorted((s, c) for s, c in acc.items() if c)))

    def __neg__(self) -> Dim:
        return Dim(-self.const, tuple((s, -c) for s, c in self.terms))

    def __sub__(self, other: Dim | int) -> Dim:
        return self + (-(other if isinstance(other, Dim) else Dim(other)))

    @property
    def is_const(self) -> bool:
        return not self.terms

    def __str__(self) -> str:
        parts = []
        for s, c in self.terms:
            parts.append(("-" if c < 0 else "+") + (s if abs(c) == 1 else f"{abs(c)}*{s}"))
        if self.const or not parts:
            parts.append(("-" if self.const < 0 else "+") + str(abs(self.const)))
        text = "".join(parts)
        return text[1:] if text.startswith("+") else text


DimT = Dim | None  # None: unknown until run time (`?`)


def dim_str(d: DimT) -> str:
    return "?" if d is None else str(d)


def known_different(a: DimT, b: DimT) -> bool:
    return a is not None and b is not None and a.terms == b.terms and a.const != b.const


def is_one(d: DimT) -> bool:
    return d is not None and d.is_const and d.const == 1


@lru_cache(maxsize=8192)
def _array_str(dtype: str, shape: tuple[DimT, ...]) -> str:
    return f"{dtype}[{', '.join(dim_str(d) for d in shape)}]"


# ---- types -------------------------------------------------------------------------
@dataclass(frozen=True)
class ScalarType:
    dtype: str
    weak: bool = False  # a Python literal: takes its partner's dtype, as in NumPy 2

    @property
    def rank(self) -> int:
        return 0

    def strong(self) -> ScalarType:
        return ScalarType(self.dtype)

    def __str__(self) -> str:
        return self.dtype


@dataclass(frozen=True)
class ArrayType:
    dtype: str
    shape: tuple[DimT, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    # The passes hash and print types all the time, and hashing a shape hashes every
    # Dim dataclass in it: both are computed once per type object.
    def __hash__(self) -> int:
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.dtype, self.shape))
            object.__setattr__(self, "_hash", h)
        return h

    def __getstate__(self) -> dict:  # string hashes differ between processes: never pickle the cache
        return {"dtype": self.dtype, "shape": self.shape}

    def __str__(self) -> str:
        text = self.__dict__.get("_text")
        if text is None:
            text = _array_str(self.dtype, self.shape)
            object.__setattr__(self, "_text", text)
        return text


@dataclass(frozen=True)
class TupleType:
    items: tuple[Type, ...]

    def __str__(self) -> str:
        return "(" + ", ".join(str(t) for t in self.items) + ")"


@dataclass(frozen=True)
class DTypeRef:
    """A dtype name used as a value: `dtype=f32`, `astype(x, f32)`."""

    dtype: str

    def __str__(self) -> str:
        return f"dtype<{self.dtype}>"


@dataclass(frozen=True)
class NoneType:
    def __str__(self) -> str:
        return "none"


Type = ScalarType | ArrayType | TupleType | DTypeRef | NoneType
ValueType = ScalarType | ArrayType


def with_dtype(t: ValueType, dtype: str) -> ValueType:
    return ScalarType(dtype) if isinstance(t, ScalarType) else ArrayType(dtype, t.shape)


# ---- promotion via NumPy probes ---------------------------------------------------
_WEAK_PROBE = {"bool": True, "i64": 1, "f64": 1.0, "c128": 1 + 0j}


def _probe_value(t: ValueType, positive: bool = True) -> object:
    if isinstance(t, ScalarType) and t.weak:
        return _WEAK_PROBE[t.dtype]
    arr = np.ones((1,) * max(t.rank, 1), dtype=np_dtype(t.dtype))
    return arr if isinstance(t, ArrayType) else arr.reshape(())[()]


def _result_of(value: object, weak_in: bool) -> ScalarType | str:
    if isinstance(value, bool):
        return ScalarType("bool", weak_in)
    if isinstance(value, int):
        return ScalarType("i64", weak_in)
    if isinstance(value, float):
        return ScalarType("f64", weak_in)
    if isinstance(value, complex):
        return ScalarType("c128", weak_in)
    return FROM_NUMPY[np.asarray(value).dtype.name]


@lru_cache(maxsize=4096)
def probe_dtype(fn: Callable[..., object], *args: ValueType) -> str | ScalarType | None:
    """The dtype NumPy gives `fn(*args)`; None when NumPy rejects the dtypes.

    A weak result (every input a Python literal) comes back as a weak ScalarType.
    """
    values = [_probe_value(a) for a in args]
    all_weak = all(isinstance(a, ScalarType) and a.weak for a in args)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(*values)
    except (TypeError, ValueError, OverflowError, np.exceptions.DTypePromotionError):
        return None
    res = _result_of(out, all_weak)
    return res if isinstance(res, ScalarType) and res.weak else (res.dtype if isinstance(res, ScalarType) else res)
