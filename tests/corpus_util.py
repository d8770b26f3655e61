"""Shared helpers for tests and benchmarks over the corpus."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
REFERENCES = ROOT / "tests" / "corpus_reference"


def corpus_names() -> list[str]:
    return sorted(p.stem for p in CORPUS.glob("*.mc") if (CORPUS / f"{p.stem}.py").is_file())


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def inputs_module(name: str) -> ModuleType:
    return load_module(CORPUS / f"{name}.py", f"corpus_inputs_{name}")


def reference_module(name: str) -> ModuleType:
    return load_module(REFERENCES / f"{name}.py", f"corpus_reference_{name}")


def run_entry(program: Any, entry: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Call an entry; collect its result and final inout arrays as the reference does.

    Only inout arguments are copied (the entry writes them); the others are passed
    as they are, so a benchmark timing this call does not time copying its inputs."""
    fn = getattr(program, entry)
    inout = {p.name for p in fn.fn.params if p.inout}
    args = {k: (copy.deepcopy(v) if k in inout else v) for k, v in inputs.items()}
    result = fn(**args)
    out: dict[str, Any] = {}
    if fn.fn.result_types:
        out["return"] = result
    for p in fn.fn.params:
        if p.inout:
            out[p.name] = args[p.name]
    return out


def tolerance(dtype: np.dtype, fastmath: bool = False) -> tuple[float, float]:
    """(rtol, atol) per dtype: integers exact; floats loose enough for reassociation."""
    if dtype.kind in "iub":
        return 0.0, 0.0
    if dtype in (np.float32, np.complex64):
        return (1e-3, 1e-4) if fastmath else (2e-4, 1e-5)
    return (1e-7, 1e-9) if fastmath else (1e-9, 1e-11)


def assert_same(got: Any, want: Any, where: str, fastmath: bool = False,
                computed_in: np.dtype | None = None) -> None:
    """`computed_in`: the narrowest float dtype the values went through (an f64 result
    of f32 arithmetic carries f32 rounding), when it is looser than the result's."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), f"{where}: tuple arity"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]", fastmath, computed_in)
        return
    g, w = np.asarray(got), np.asarray(want)
    assert g.shape == w.shape, f"{where}: shape {g.shape} != {w.shape}"
    assert g.dtype == w.dtype, f"{where}: dtype {g.dtype} != {w.dtype}"
    rtol, atol = tolerance(w.dtype, fastmath)
    if computed_in is not None and w.dtype.kind in "fc":
        rtol, atol = max((rtol, atol), tolerance(np.dtype(computed_in), fastmath))
    if rtol == 0:
        np.testing.assert_array_equal(g, w, err_msg=where)
    else:
        # the scale of the finite values: a NaN or inf in `want` would make atol NaN or
        # inf (every finite difference failing, or passing); those compare exactly
        finite = np.abs(w[np.isfinite(w)])
        scale = float(finite.max()) if finite.size else 0.0
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol * max(scale, 1.0), err_msg=where)


def build_source(src: str, strategy: str, filename: str = "test.mc") -> Any:
    """The Program of `src` built with `strategy` for every block (fallbacks silent, no
    block cache), for tests that compare back ends."""
    import warnings

    from mcodec.compiler.build import BuildWarning, build_module
    from mcodec.compiler.driver import frontend

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        return build_module(frontend(src, filename), default=strategy, use_cache=False).program
