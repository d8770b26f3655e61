"""What each IR op means, as NumPy source templates: the single table that the NumPy
reference lowering, the constant folder and the other Python-source back ends share.

Templates use `{0}`, `{1}`... for operands and `{attr}` for attributes rendered as
Python literals; `np` is NumPy in the generated module.
"""

from __future__ import annotations

from .types import NUMPY_NAME

ELEMENTWISE_BINARY: dict[str, str] = {
    "mc.add": "({0} + {1})", "mc.sub": "({0} - {1})", "mc.mul": "({0} * {1})",
    "mc.div": "({0} / {1})", "mc.floordiv": "({0} // {1})", "mc.mod": "({0} % {1})",
    "mc.pow": "({0} ** {1})", "mc.bitand": "({0} & {1})", "mc.bitor": "({0} | {1})",
    "mc.bitxor": "({0} ^ {1})", "mc.shl": "({0} << {1})", "mc.shr": "({0} >> {1})",
    "mc.eq": "({0} == {1})", "mc.ne": "({0} != {1})", "mc.lt": "({0} < {1})",
    "mc.le": "({0} <= {1})", "mc.gt": "({0} > {1})", "mc.ge": "({0} >= {1})",
    "mc.arctan2": "np.arctan2({0}, {1})", "mc.maximum": "np.maximum({0}, {1})",
    "mc.minimum": "np.minimum({0}, {1})", "mc.logical_and": "np.logical_and({0}, {1})",
    "mc.logical_or": "np.logical_or({0}, {1})",
}
UNARY_FUNCS = ("exp log log2 log10 sqrt sin cos tan arcsin arccos arctan sinh cosh tanh abs "
               "sign floor ceil round isnan isinf logical_not real imag conj").split()
ELEMENTWISE_UNARY: dict[str, str] = {f"mc.{n}": f"np.{n}({{0}})" for n in UNARY_FUNCS}
ELEMENTWISE_UNARY.update({"mc.neg": "(-{0})", "mc.pos": "(+{0})", "mc.invert": "(~{0})"})

REDUCTIONS = ("sum", "mean", "prod", "max", "min", "any", "all", "std", "var", "argmax", "argmin")

# Ops whose NumPy result may share memory with their first operand (np.real of a real
# array is the array itself; of a complex one, like np.imag, a view of its parts).
VIEW_OPS = frozenset({"mc.getitem", "mc.transpose", "mc.reshape", "mc.flip", "mc.real", "mc.imag"})

ELEMENTWISE = frozenset(ELEMENTWISE_BINARY) | frozenset(ELEMENTWISE_UNARY) | {"mc.where", "mc.clip", "mc.cast"}


def np_dtype_expr(dtype: str) -> str:
    return f"np.{NUMPY_NAME[dtype]}"
