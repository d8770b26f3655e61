"""Automatic peers for the corpus benchmarks, made from the independent NumPy
reference of a program (tests/corpus_reference/NAME.py, `reference(inputs) -> dict`):

* Numba: the reference module rewritten so that `reference` takes one keyword
  argument per input key it reads (`inputs["k"]`, `inputs.get("k", default)`) and
  returns a tuple in place of its result dict, with every top-level function of the
  module under `numba.njit` (serial, or `parallel=True`; `cache=True` for startup
  runs). Where the module does not have that shape, or Numba rejects it (a typing
  error, say), the peer is "n/a" with the short reason.
* JAX (only when `jax` is importable): a hand-written JAX port where
  tests/bench/jax_ports/NAME.py exists (functional updates, `lax` loops and
  convolutions, as JAX code is written), else the reference module run with
  `jax.numpy` in place of every global bound to NumPy; under `jax.jit` with the array
  inputs traced and the scalar inputs static. References that write arrays in place,
  or use what jax.numpy lacks, fail to trace: "n/a" with the reason.

A peer's result is checked against the NumPy reference before it is timed; one that
differs is "wrong" (excluded, with the mismatch). Nothing here special-cases a program.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import re
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from corpus_util import REFERENCES, assert_same, load_module

ARG_PREFIX = "in_"  # parameter name of input key k in a Numba port: in_k
NJIT_ALIAS = "_peer_njit"


class PortError(Exception):
    """The reference does not have the shape an automatic port needs."""


@dataclass
class Peer:
    """One peer of one program and preset. `prepare(inputs)` runs untimed before each
    call (copies, device transfers); `call(prepared) -> result dict` is what is timed."""

    name: str
    status: str = "ok"  # ok | n/a | wrong
    reason: str = ""
    call: Callable[[Any], dict[str, Any]] | None = None
    prepare: Callable[[dict[str, Any]], Any] = copy.deepcopy
    first_call_s: float | None = None  # compilation + one run
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "first_call_s": self.first_call_s, **self.info}


# ---- short reasons ----------------------------------------------------------------------
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NOISE = ("Failed in ", "During: ", "File ", "Resolution failure", "- Resolution", "<source",
          "No implementation of function", "Traceback", "There are ", "The above", "-------")


# JAX tracing errors, by exception type: what the reference does that jit cannot trace
JAX_REASONS = {
    "ConcretizationTypeError": "needs the value of a traced array (int(), float(), tolist(), a data-dependent size)",
    "TracerBoolConversionError": "Python control flow on a traced value",
    "TracerIntegerConversionError": "a traced value used as a Python int",
    "TracerArrayConversionError": "NumPy called on a traced array",
    "NonConcreteBooleanIndexError": "boolean-mask indexing (a data-dependent shape)",
}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short_reason(exc: BaseException, limit: int = 110) -> str:
    """The informative line of an exception message (Numba's first lines are its
    pipeline stage), stripped of colour codes and cut to `limit` characters."""
    kind = type(exc).__name__
    if kind in JAX_REASONS:
        return f"{kind}: {JAX_REASONS[kind]}"
    lines = [_ANSI.sub("", ln).strip() for ln in str(exc).splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(_NOISE) and not set(ln) <= set("^ ")]
    text = lines[0] if lines else ""
    if "immutable" in text and "in-place" in text:
        text = "writes arrays in place (JAX arrays are immutable)"
    elif text.startswith(">>> "):  # Numba: the call it found no implementation for
        text = "no implementation of " + text[4:]
    return _cut(f"{kind}: {text}" if text else kind, limit)


# ---- the Numba port: a source rewrite --------------------------------------------------
@dataclass
class PortSpec:
    source: str  # the rewritten module
    params: list[str]  # input keys, in parameter order (required first)
    outputs: list[str]  # result keys, in the order of the returned tuple


def _const_key(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
        return node.value
    return None


class _InputReads(ast.NodeTransformer):
    """inputs["k"] and inputs.get("k"[, default]) -> in_k; any other use of the
    inputs name is an error."""

    def __init__(self, inputs: str) -> None:
        self.inputs = inputs
        self.required: list[str] = []
        self.defaults: dict[str, ast.expr] = {}

    def _is_inputs(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id == self.inputs

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        key = _const_key(node.slice) if self._is_inputs(node.value) else None
        if key is None:
            return self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load):
            raise PortError(f"writes to {self.inputs}[{key!r}]")
        if key not in self.required and key not in self.defaults:
            self.required.append(key)
        return ast.copy_location(ast.Name(ARG_PREFIX + key, ast.Load()), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        f = node.func
        if not (isinstance(f, ast.Attribute) and f.attr == "get" and self._is_inputs(f.value)):
            return self.generic_visit(node)
        key = _const_key(node.args[0]) if node.args and not node.keywords else None
        if key is None or len(node.args) > 2:
            raise PortError(f"{self.inputs}.get with a key that is not a constant name")
        default = node.args[1] if len(node.args) == 2 else ast.Constant(None)
        try:
            ast.literal_eval(default)
        except ValueError:
            raise PortError(f"{self.inputs}.get({key!r}, ...) has a default that is not a literal") from None
        if key in self.required:
            self.required.remove(key)
        self.defaults.setdefault(key, default)
        return ast.copy_location(ast.Name(ARG_PREFIX + key, ast.Load()), node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == self.inputs:
            raise PortError(f"uses its {self.inputs!r} dict other than by constant keys")
        return node


def _own_returns(fn: ast.FunctionDef) -> list[ast.Return]:
    """The return statements of `fn` itself (not of nested functions)."""
    out, todo = [], list(fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return):
            out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def _tuple_returns(fn: ast.FunctionDef) -> list[str]:
    """Rewrite every `return {"k": v, ...}` of fn as `return (v, ...)`; the keys."""
    keys: list[str] | None = None
    for ret in _own_returns(fn):
        d = ret.value
        if not isinstance(d, ast.Dict) or any(k is None or _const_key(k) is None for k in d.keys):
            raise PortError("returns something other than a dict literal with constant keys")
        these = [_const_key(k) for k in d.keys]
        if keys is not None and these != keys:
            raise PortError("its return statements have different keys")
        keys = these  # type: ignore[assignment]
        ret.value = ast.Tuple(list(d.values), ast.Load())
    if not keys:
        raise PortError("has no return statement")
    return keys


def _reference_def(tree: ast.Module) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "reference":
            a = node.args
            if len(a.args) != 1 or a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
                raise PortError("reference() does not take exactly one inputs argument")
            return node
    raise PortError("no top-level reference() function")


def _decorate(tree: ast.Module, njit_kwargs: dict[str, bool]) -> None:
    deco = ast.Call(ast.Name(NJIT_ALIAS, ast.Load()), [],
                    [ast.keyword(k, ast.Constant(v)) for k, v in sorted(njit_kwargs.items())])
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            node.decorator_list = [deco]
    at = 0
    while at < len(tree.body) and isinstance(tree.body[at], ast.ImportFrom) and tree.body[at].module == "__future__":
        at += 1
    tree.body.insert(at, ast.ImportFrom("numba", [ast.alias("njit", NJIT_ALIAS)], 0))


def numba_port_source(ref_source: str, parallel: bool = False, cache: bool = False) -> PortSpec:
    """The reference module rewritten for Numba (see the module docstring)."""
    tree = ast.parse(ref_source)
    fn = _reference_def(tree)
    reads = _InputReads(fn.args.args[0].arg)
    fn.body = [reads.visit(stmt) for stmt in fn.body]
    outputs = _tuple_returns(fn)
    params = reads.required + list(reads.defaults)
    fn.args = ast.arguments(posonlyargs=[], args=[ast.arg(ARG_PREFIX + k) for k in params], kwonlyargs=[],
                            kw_defaults=[], defaults=list(reads.defaults.values()))
    fn.returns = None
    _decorate(tree, {"cache": cache, "parallel": parallel})
    return PortSpec(ast.unparse(ast.fix_missing_locations(tree)) + "\n", params, outputs)


def port_kwargs(spec: PortSpec, inputs: dict[str, Any]) -> dict[str, Any]:
    """The port's keyword arguments for `inputs` (absent optional keys keep their default)."""
    return {ARG_PREFIX + k: inputs[k] for k in spec.params if k in inputs}


def port_result(spec: PortSpec, result: Any) -> dict[str, Any]:
    return dict(zip(spec.outputs, result))


def write_port(name: str, directory: Path, parallel: bool = False, cache: bool = False) -> tuple[Path, PortSpec]:
    """Write the Numba port of program `name` as `directory/<module>.py`."""
    spec = numba_port_source((REFERENCES / f"{name}.py").read_text(), parallel, cache)
    path = Path(directory) / f"{name}_numba{'_par' if parallel else ''}_port.py"
    path.write_text(f"# generated from tests/corpus_reference/{name}.py by tests/bench/peers.py\n" + spec.source)
    return path, spec


# ---- validation -------------------------------------------------------------------------
def _mismatch(e: AssertionError) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith(("Mismatched elements", "(shapes", "x and y nan")):
            return ln
    return lines[0] if lines else "assertion failed"


def check_result(peer: Peer, got: dict[str, Any], want: dict[str, Any], loose: bool) -> None:
    """Mark `peer` wrong when its result differs from the reference's."""
    missing = sorted(set(want) - set(got))
    if missing:
        peer.status, peer.reason = "wrong", f"no result for {', '.join(missing)}"
        return
    for k in want:
        try:
            assert_same(got[k], want[k], k, fastmath=loose)
        except AssertionError as e:
            detail = (f"got {np.asarray(got[k]).item()!r}, NumPy gives {np.asarray(want[k]).item()!r}"
                      if not isinstance(want[k], tuple) and np.size(want[k]) == 1 and np.size(got[k]) == 1
                      else _mismatch(e))
            peer.status, peer.reason = "wrong", _cut(f"{k!r} differs from NumPy: {detail}", 110)
            return


def _first_call(peer: Peer, inputs: dict[str, Any], want: dict[str, Any], loose: bool,
                to_dict: Callable[[Any], dict[str, Any]]) -> Peer:
    """Compile (first call) and validate; a failure makes the peer n/a, never raises."""
    assert peer.call is not None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            args = peer.prepare(inputs)
            t0 = time.perf_counter()
            got = to_dict(peer.call(args))
            peer.first_call_s = time.perf_counter() - t0
    except Exception as e:  # a typing, lowering or tracing error: the peer cannot run this program
        peer.status, peer.reason, peer.call = "n/a", short_reason(e), None
        return peer
    check_result(peer, got, want, loose)
    if peer.status != "ok":
        peer.call = None
    return peer


# ---- Numba peers -------------------------------------------------------------------------
def numba_peer(name: str, inputs: dict[str, Any], want: dict[str, Any], parallel: bool,
               workdir: Path | None = None) -> Peer:
    """`njit` (serial or parallel=True) of the reference of `name`, compiled and checked."""
    peer = Peer("numba-par-peer" if parallel else "numba-peer")
    workdir = Path(workdir or tempfile.mkdtemp(prefix="mcodec-peer-"))
    try:
        path, spec = write_port(name, workdir, parallel)
        module = load_module(path, f"peer_{path.stem}")
    except (PortError, SyntaxError) as e:
        peer.status, peer.reason = "n/a", f"no automatic port: {e}"
        return peer
    except Exception as e:  # the rewritten module failed to import
        peer.status, peer.reason = "n/a", short_reason(e)
        return peer
    fn = module.reference
    peer.call = lambda kwargs: fn(**kwargs)
    peer.prepare = lambda inp: port_kwargs(spec, copy.deepcopy(inp))
    # serial compiled code reorders nothing NumPy would not; parallel reductions may
    return _first_call(peer, inputs, want, loose=parallel, to_dict=lambda r: port_result(spec, r))


# ---- the JAX peer ------------------------------------------------------------------------
def jax_available() -> bool:
    return importlib.util.find_spec("jax") is not None


def _jax() -> tuple[Any, Any]:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # the references compute in float64 where NumPy does
    return jax, jnp


JAX_PORTS = Path(__file__).resolve().parent / "jax_ports"


def _jax_namespace(name: str, jnp: Any) -> dict[str, Any]:
    """The hand-written port's globals, or the reference module's with every NumPy
    binding replaced by jax.numpy."""
    port = JAX_PORTS / f"{name}.py"
    if port.is_file():
        return load_module(port, f"jax_port_{name}").__dict__
    module: ModuleType = load_module(REFERENCES / f"{name}.py", f"jax_peer_{name}")
    ns = module.__dict__
    for k, v in list(ns.items()):
        if v is np:
            ns[k] = jnp
    return ns


def _to_numpy_tree(x: Any) -> Any:
    if isinstance(x, tuple):
        return tuple(_to_numpy_tree(v) for v in x)
    return np.asarray(x) if hasattr(x, "__array__") else x


def jax_peer(name: str, inputs: dict[str, Any], want: dict[str, Any]) -> Peer:
    """`jax.jit` of the reference run over jax.numpy, compiled and checked."""
    peer = Peer("jax-peer")
    if not jax_available():
        peer.status, peer.reason = "n/a", "jax is not installed"
        return peer
    jax, jnp = _jax()
    ns = _jax_namespace(name, jnp)
    static = {k: v for k, v in inputs.items() if not isinstance(v, np.ndarray)}
    jitted = jax.jit(lambda arrays: ns["reference"]({**static, **arrays}))

    def prepare(inp: dict[str, Any]) -> dict[str, Any]:
        return jax.block_until_ready({k: jnp.asarray(v) for k, v in inp.items() if isinstance(v, np.ndarray)})

    peer.prepare = prepare
    peer.call = lambda arrays: jax.block_until_ready(jitted(arrays))
    peer.info["static_inputs"] = sorted(static)
    peer.info["port"] = "hand-written" if (JAX_PORTS / f"{name}.py").is_file() else "automatic"
    return _first_call(peer, inputs, want, loose=True,
                       to_dict=lambda r: {k: _to_numpy_tree(v) for k, v in r.items()})


PEER_KINDS = ("numba", "numba-par", "jax")


def make_peers(name: str, inputs: dict[str, Any], want: dict[str, Any], kinds: list[str],
               workdir: Path | None = None) -> list[Peer]:
    """The requested peers (from PEER_KINDS) of program `name`, compiled and checked;
    Numba ports are written to `workdir` (default: a new temporary directory)."""
    out = []
    for kind in kinds:
        if kind == "jax":
            out.append(jax_peer(name, inputs, want))
        elif kind in ("numba", "numba-par"):
            out.append(numba_peer(name, inputs, want, parallel=kind == "numba-par", workdir=workdir))
        else:
            raise ValueError(f"unknown peer {kind!r}; known: {', '.join(PEER_KINDS)}")
    return out
