"""mcodec: an ahead-of-time optimizing compiler for M-CODE, a NumPy-flavoured array
language. `compile_source` / `compile_file` give a `Program` whose attributes are the
M-CODE entry points."""

from __future__ import annotations

from pathlib import Path

from .runtime_shim.hardware import short_blas_spins

short_blas_spins()  # before NumPy (imported below) loads its OpenBLAS

from .compiler.diagnostics import CompileError  # noqa: E402
from .runtime_shim.program import ArgumentError, Program  # noqa: E402

__version__ = "0.1.0"


def compile_source(text: str, filename: str = "<string>") -> Program:
    """Compile M-CODE text with the NumPy reference lowering."""
    if not isinstance(text, str):
        raise TypeError(f"compile_source() takes M-CODE text (a str), not {type(text).__name__}")
    from .compiler.driver import frontend
    from .compiler.reference import reference_program

    return reference_program(frontend(text, filename))


def compile_file(path: str | Path) -> Program:
    p = Path(path)
    return compile_source(p.read_text(), str(p))


def load(path: str | Path) -> Program:
    """Load a built artifact directory (see `mcodec build`)."""
    from .runtime_shim.artifact import load as _load

    return _load(path)


__all__ = ["load", "compile_source", "compile_file", "CompileError", "ArgumentError", "Program", "__version__"]
