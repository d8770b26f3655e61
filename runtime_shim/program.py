"""`Program`: the callable face of a compiled M-CODE module. Each entry checks and
converts its arguments (dtypes, ranks, symbolic dims), calls the lowered code, and
returns NumPy values; entries carry a real `inspect.Signature` and docstring."""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable
from functools import cache, partial
from typing import Any

import numpy as np
from mcodec.compiler.ir import Function, Param
from mcodec.compiler.types import ArrayType, np_dtype


class ArgumentError(TypeError):
    """An entry was called with arguments that do not fit its M-CODE signature."""


def _convert(fn: Function, p: Param, value: Any, dims: dict[str, tuple[int, str]]) -> Any:
    t = p.type
    where = f"{fn.name}(): argument '{p.name}'"
    if isinstance(t, ArrayType):
        if p.inout:
            if not isinstance(value, np.ndarray):
                raise ArgumentError(f"{where} is inout and must be a NumPy array (its writes reach the caller)")
            if value.dtype != np_dtype(t.dtype):
                raise ArgumentError(f"{where} is inout {t} but the array has dtype {value.dtype}; "
                                    f"pass an array of dtype {np_dtype(t.dtype)}")
            if not value.flags.writeable:
                raise ArgumentError(f"{where} is inout but the array is read-only")
            # a subclass (np.matrix: `*` is a matrix product, A[0] stays 2-D) as a plain
            # ndarray view of the same memory: writes still reach the caller, with NumPy
            # array semantics (as the other arguments get from np.asarray)
            arr = value if type(value) is np.ndarray else value.view(np.ndarray)
        else:
            try:
                arr = np.asarray(value)
            except (ValueError, TypeError, OverflowError) as e:  # ragged lists, huge ints
                raise ArgumentError(f"{where} must be {t}; cannot make an array of it ({e})") from None
            if arr.dtype != np_dtype(t.dtype):
                if not np.can_cast(arr.dtype, np_dtype(t.dtype), "same_kind"):
                    raise ArgumentError(f"{where} must be {t}; got dtype {arr.dtype}, which does not convert safely")
                arr = arr.astype(np_dtype(t.dtype))
        if arr.ndim != t.rank:
            raise ArgumentError(f"{where} must be {t} (rank {t.rank}); got shape {arr.shape}")
        for axis, d in enumerate(t.shape):
            size = arr.shape[axis]
            if d is None:
                continue
            if d.is_const:
                if size != d.const:
                    raise ArgumentError(f"{where} must be {t}; dim {axis} is {size}, expected {d.const}")
                continue
            if len(d.terms) == 1 and d.terms[0][1] == 1 and d.const == 0:
                sym = d.terms[0][0]
                if sym in dims and dims[sym][0] != size:
                    raise ArgumentError(f"{where} has shape {arr.shape}: dim {sym} is {size} here "
                                        f"but {dims[sym][0]} from argument '{dims[sym][1]}'")
                dims.setdefault(sym, (size, p.name))
        return arr
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.ndarray) or not isinstance(value, (bool, int, float, complex, np.generic)):
        raise ArgumentError(f"{where} must be a scalar {t}; got {type(value).__name__}")
    dt = np_dtype(t.dtype)
    src = np.asarray(value).dtype
    if isinstance(value, (bool, int, float, complex)):
        ok = np.can_cast(np.result_type(value, dt), dt, "same_kind") if not isinstance(value, bool) else True
        if t.dtype[0] in "iu" and isinstance(value, float):
            ok = False
    else:
        ok = np.can_cast(src, dt, "same_kind")
    if not ok:
        raise ArgumentError(f"{where} must be {t}; got {value!r}")
    # a value the dtype cannot hold is an error, not an OverflowError from NumPy (Python
    # ints) or a silent wrap-around / inf (NumPy scalars, floats)
    if dt.kind in "iu" and not isinstance(value, bool):
        lo, hi = _int_range(dt)
        if not lo <= int(value) <= hi:
            raise ArgumentError(f"{where} must be {t}; {value!r} is out of its range {lo}..{hi}")
    try:
        with np.errstate(over="raise"):
            out = dt.type(value)
    except (OverflowError, FloatingPointError):
        raise ArgumentError(f"{where} must be {t}; {value!r} is out of its range") from None
    return out


@cache
def _int_range(dt: np.dtype) -> tuple[int, int]:
    """(min, max) of an integer dtype (np.iinfo is built anew on each call: every call
    of an entry checks its integer scalars)."""
    info = np.iinfo(dt)
    return int(info.min), int(info.max)


class Entry:
    """One callable M-CODE function."""

    def __init__(self, fn: Function, impl: Callable[..., Any],
                 aliased: Callable[[], Callable[..., Any]] | None = None) -> None:
        self.fn = fn
        self.impl = impl
        self.aliased = aliased  # the entry for inout arguments that share memory, made on first use
        self._inout = [k for k, p in enumerate(fn.params) if p.inout]
        self.__name__ = fn.name
        self.__qualname__ = fn.name
        self.__doc__ = f"{fn.signature_text}\n\nM-CODE entry point compiled by mcodec."
        params = []
        # M-CODE names that are Python keywords (`lambda`, `in`, `is`...) are valid parameter
        # names; the Python signature spells them with a trailing underscore, and keyword
        # arguments are accepted under either spelling
        self.py_names: dict[str, str] = {}
        taken = {p.name for p in fn.params}
        for p in fn.params:
            py = p.name
            while keyword.iskeyword(py) or (py != p.name and py in taken):
                py += "_"
            taken.add(py)
            self.py_names[p.name] = py
        for p in fn.params:
            default = p.default if p.has_default else inspect.Parameter.empty
            params.append(inspect.Parameter(self.py_names[p.name], inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                                            annotation=str(p.type) if not p.inout else f"inout {p.type}"))
        ret = ", ".join(str(t) for t in fn.result_types) if fn.result_types else None
        if fn.result_is_tuple and ret:
            ret = f"({ret})"
        self.__signature__ = inspect.Signature(params, return_annotation=ret if ret else inspect.Signature.empty)

    def bind(self, *args: Any, **kwargs: Any) -> list[Any]:
        renamed = {self.py_names[k]: v for k, v in kwargs.items() if k in self.py_names and self.py_names[k] != k}
        if renamed:
            kwargs = {k: v for k, v in kwargs.items() if not (k in self.py_names and self.py_names[k] != k)}
            dup = set(renamed) & set(kwargs)
            if dup:
                raise ArgumentError(f"{self.fn.name}(): argument '{dup.pop()}' given twice; "
                                    f"signature: {self.fn.signature_text}")
            kwargs.update(renamed)
        try:
            bound = self.__signature__.bind(*args, **kwargs)
        except TypeError as e:
            raise ArgumentError(f"{self.fn.name}(): {e}; signature: {self.fn.signature_text}") from None
        bound.apply_defaults()
        dims: dict[str, tuple[int, str]] = {}
        values = [_convert(self.fn, p, bound.arguments[self.py_names[p.name]], dims) for p in self.fn.params]
        self._check_compound_dims(values, dims)
        inouts = [v for p, v in zip(self.fn.params, values) if p.inout]
        for k, p in enumerate(self.fn.params):
            # an array parameter is a value: the entry's writes through an inout argument
            # that shares its memory (`f(x, x)`) must not change it, as in an M-CODE call
            if not p.inout and isinstance(values[k], np.ndarray) \
                    and any(np.may_share_memory(values[k], w) for w in inouts):
                values[k] = values[k].copy()
        return values

    def _check_compound_dims(self, values: list[Any], dims: dict[str, tuple[int, str]]) -> None:
        for p, v in zip(self.fn.params, values):
            if not isinstance(p.type, ArrayType):
                continue
            for axis, d in enumerate(p.type.shape):
                if d is None or d.is_const or (len(d.terms) == 1 and d.terms[0][1] == 1 and d.const == 0):
                    continue
                if all(s in dims for s, _ in d.terms):
                    want = d.const + sum(c * dims[s][0] for s, c in d.terms)
                    if v.shape[axis] != want:
                        raise ArgumentError(f"{self.fn.name}(): argument '{p.name}' dim {axis} is {v.shape[axis]}, "
                                            f"expected {d} = {want}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        values = self.bind(*args, **kwargs)
        impl = self.impl
        if self.aliased is not None and self._inouts_overlap(values):
            impl = self.aliased()
        with np.errstate(all="ignore"):
            return impl(*values)

    def _inouts_overlap(self, values: list[Any]) -> bool:
        """Two inout arguments that may share memory (`f(x, x)`, `f(x[1:], x[:-1])`): the
        compiled blocks assume distinct inout arrays never overlap (a fused loop read rows
        of one that it had just written through the other), so such a call runs the NumPy
        reference, whose writes go through the arrays as given."""
        io = self._inout
        # one inout array whose elements share memory (a writeable `as_strided` view with
        # overlapping rows): the compiled blocks read values that the reference, writing
        # through the array element by element, has already overwritten
        if any(_self_overlapping(values[a]) for a in io):
            return True
        return len(io) > 1 and any(np.may_share_memory(values[a], values[b])
                                   for i, a in enumerate(io) for b in io[i + 1:])

    def __repr__(self) -> str:
        return f"<mcodec entry {self.fn.signature_text}>"


def _self_overlapping(a: Any) -> bool:
    """Whether two elements of `a` may be one memory location: not unless, with the axes
    ordered by stride, each stride spans the extent of the axes below it (a sufficient
    test, as NumPy's own quick check; an array it cannot clear runs the reference)."""
    if not isinstance(a, np.ndarray) or a.size <= 1 or a.flags.c_contiguous or a.flags.f_contiguous:
        return False
    extent = a.itemsize
    for n, s in sorted(((n, abs(s)) for n, s in zip(a.shape, a.strides) if n > 1), key=lambda t: t[1]):
        if s < extent:
            return True
        extent += s * (n - 1)
    return False


class Program:
    """A compiled M-CODE module: `program.NAME(...)` calls entry NAME."""

    def __init__(self, functions: dict[str, Function], impls: dict[str, Callable[..., Any]],
                 source_path: str | None = None, info: dict[str, Any] | None = None,
                 reference: Callable[[], dict[str, Callable[..., Any]]] | None = None) -> None:
        """`reference`: makes the NumPy reference's entries, for calls with overlapping
        inout arguments (None: these entries are the reference, or take no inouts)."""
        aliased = None
        if reference is not None:
            made: dict[str, Callable[..., Any]] = {}

            def aliased_entry(name: str) -> Callable[..., Any]:
                if not made:
                    made.update(reference())
                return made[name]

            aliased = aliased_entry
        self._entries = {name: Entry(fn, impls[name], None if aliased is None else partial(aliased, name))
                         for name, fn in functions.items()}
        self.source_path = source_path
        self.info = info or {}

    def __getattr__(self, name: str) -> Entry:
        entries = self.__dict__.get("_entries", {})
        if name in entries:
            return entries[name]
        raise AttributeError(f"program has no entry '{name}'; entries: {', '.join(entries) or 'none'}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._entries))

    @property
    def entries(self) -> dict[str, Entry]:
        return dict(self._entries)

    def __repr__(self) -> str:
        return f"<mcodec Program: {', '.join(self._entries)}>"


__all__ = ["Program", "Entry", "ArgumentError"]
