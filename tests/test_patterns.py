"""Pattern recognition on blocks: the library (a positive and a negative case for
every pattern), block signatures, the recognizer's pattern store, block features, and
that matching work grows linearly with program and block size."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_util import CORPUS, corpus_names
from mcodec.compiler.driver import frontend
from mcodec.compiler.stitch import block_views
from mcodec.passes import patterns as P
from mcodec.passes.features import FEATURE_NAMES, block_features, feature_vector
from mcodec.passes.pattern_library import PATTERN_LIBRARY, PATTERN_NAMES
from mcodec.passes.patterns import (
    CodePattern,
    PatternRecognizer,
    block_graph,
    block_signature,
    match_patterns,
    matched_names,
)

MACHINE = {"cpus": 4, "has_gpu": False}


def views(src: str, fn: str | None = None) -> list:
    module = frontend(src)
    fns = [module.functions[fn]] if fn else list(module.functions.values())
    return [v for f in fns for v in block_views(f)]


def main_block(src: str, fn: str | None = None):  # noqa: ANN201 - BlockView
    """The function's block with the most ops."""
    return max(views(src, fn), key=lambda v: len(v.ops()))


def found(src: str, fn: str | None = None) -> set[str]:
    """Every pattern matched in any block of the function (or program)."""
    out: set[str] = set()
    for v in views(src, fn):
        out.update(matched_names(match_patterns(block_graph(v))))
    return out


# ---- one positive and one negative program per pattern ------------------------------
CASES: dict[str, tuple[list[str], list[str]]] = {
    "elementwise_chain": (
        ["fn f(x: f64[N]) -> f64[N]:\n    return exp(x) * 2.0\n"],
        ["fn f(x: f64[N]) -> f64[N]:\n    return x + 1.0\n",
         "fn f(a: f64) -> f64:\n    return exp(a) * 2.0\n"],  # scalars: nothing to fuse
    ),
    "map_reduce": (
        ["fn f(x: f64[N]) -> f64:\n    return sum(x * x)\n"],
        ["fn f(x: f64[N]) -> f64:\n    return sum(x)\n",
         "fn f(x: f64[N]) -> f64[N]:\n    return sqrt(x) + 1.0\n"],
    ),
    "softmax_normalize": (
        ["fn f(x: f64[N]) -> f64[N]:\n    return x - mean(x)\n",
         "fn f(x: f32[N, M]) -> f32[N, M]:\n    let e = exp(x - max(x, axis=-1, keepdims=true))\n"
         "    return e / sum(e, axis=-1, keepdims=true)\n"],
        ["fn f(x: f64[N], y: f64[N]) -> f64[N]:\n    return y - mean(x)\n",
         "fn f(x: f64[N]) -> f64[N]:\n    return x * sum(x)\n"],
    ),
    "matmul_chain": (
        ["fn f(A: f64[N, K], B: f64[K, M], C: f64[M, P]) -> f64[N, P]:\n    return (A @ B) @ C\n"],
        ["fn f(A: f64[N, K], B: f64[K, M], C: f64[N, M]) -> f64[N, M]:\n    return A @ B + C\n"],
    ),
    "matmul_bias_act": (
        ["fn f(A: f64[N, K], B: f64[K, M], b: f64[M]) -> f64[N, M]:\n    return maximum(A @ B + b, 0.0)\n",
         "fn f(A: f32[N, K], B: f32[K, M], b: f32[M]) -> f32[N, M]:\n    return tanh(A @ B + b)\n"],
        ["fn f(A: f64[N, K], B: f64[K, M], b: f64[M]) -> f64[N, M]:\n    return (A @ B + b) * 2.0\n",
         "fn f(A: f64[N, K], B: f64[K, M]) -> f64[N, M]:\n    return maximum(A @ B, 0.0)\n"],
    ),
    "stencil": (
        ["fn f(A: f64[N]) -> f64[?]:\n    return A[1:-1] + A[:-2] + A[2:]\n",
         "fn f(A: f64[N, N]) -> f64[?, ?]:\n"
         "    return 0.25 * (A[1:-1, :-2] + A[1:-1, 2:] + A[:-2, 1:-1] + A[2:, 1:-1])\n",
         "fn f(inout B: f64[N], A: f64[N]):\n    for i in range(1, N - 1):\n"
         "        B[i] = (A[i - 1] + A[i] + A[i + 1]) / 3.0\n"],
        ["fn f(A: f64[N]) -> f64[?]:\n    return A[1:] + A[:-1]\n",
         "fn f(A: f64[N], B: f64[N], C: f64[N]) -> f64[?]:\n    return A[1:-1] + B[:-2] + C[2:]\n"],
    ),
    "scalar_loop_carried": (
        ["fn f(x: f64[N]) -> f64:\n    let s = 0.0\n    for i in range(N):\n"
         "        s = s * 0.5 + x[i]\n    return s\n",
         "fn f(inout A: f64[N]):\n    for i in range(1, N):\n        A[i] = A[i - 1] * 0.5 + A[i]\n"],
        ["fn f(x: f64[N, M]) -> f64[N, M]:\n    let y = zeros((N, M), dtype=f64)\n"
         "    for i in range(N):\n        y[i] = x[i] * 2.0\n    return y\n",
         "fn f(x: f64[N]) -> f64[N]:\n    return x * 2.0\n"],
    ),
    "gather_scatter": (
        ["fn f(x: f64[N], idx: i64[K]) -> f64[K]:\n    return x[idx]\n",
         "fn f(inout x: f64[N], idx: i64[K], v: f64[K]):\n    x[idx] = v\n"],
        ["fn f(x: f64[N]) -> f64[?]:\n    return x[1:]\n",
         "fn f(x: f64[N]) -> f64[?]:\n    return x[x > 0.0]\n"],
    ),
    "mask_select": (
        ["fn f(x: f64[N]) -> f64[?]:\n    return x[x > 0.0]\n",
         "fn f(x: f64[N]) -> f64[N]:\n    return where(x > 0.0, x, 0.0)\n"],
        ["fn f(m: bool[N], x: f64[N], y: f64[N]) -> f64[N]:\n    return where(m, x, y)\n",
         "fn f(x: f64[N], idx: i64[K]) -> f64[K]:\n    return x[idx]\n"],
    ),
    "inplace_update": (
        ["fn f(inout x: f64[N]):\n    x[0] = 1.0\n"],
        ["fn f(x: f64[N]) -> f64[N]:\n    let y = x\n    y[0] = 1.0\n    return y + x\n",
         "fn f(x: f64[N]) -> f64[N]:\n    return x + 1.0\n"],
    ),
}


def test_every_library_pattern_has_cases() -> None:
    assert set(CASES) == set(PATTERN_NAMES)
    assert len(PATTERN_NAMES) == len(set(PATTERN_NAMES))
    for entry in PATTERN_LIBRARY:  # declarative: templates or a known predicate
        if "predicate" in entry:
            assert entry["predicate"] in P.PREDICATES
        else:
            for t in entry["templates"]:
                assert 0 <= t["anchor"] < len(t["nodes"])
                assert all(0 <= i < len(t["nodes"]) and 0 <= j < len(t["nodes"]) for i, j in t["edges"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_pattern_positive(name: str) -> None:
    for src in CASES[name][0]:
        assert name in found(src), src


@pytest.mark.parametrize("name", sorted(CASES))
def test_pattern_negative(name: str) -> None:
    for src in CASES[name][1]:
        assert name not in found(src), src


def test_match_reports_template_nodes() -> None:
    v = main_block("fn f(A: f64[N, K], B: f64[K, M], b: f64[M]) -> f64[N, M]:\n"
                   "    return maximum(A @ B + b, 0.0)\n")
    g = block_graph(v)
    (m,) = [m for m in match_patterns(g) if m.pattern == "matmul_bias_act"]
    assert [g.nodes[n]["op"] for n in m.nodes] == ["matmul", "add", "maximum"]
    assert m.anchor == m.nodes[0]


def test_graph_nodes_and_attributes() -> None:
    src = CASES["scalar_loop_carried"][0][0]
    v = main_block(src)
    g = block_graph(v)
    ops = [a for _, a in g.nodes(data=True) if a["category"] != "input"]
    assert len(ops) == sum(1 for o in v.ops() if o.name not in P.TERMINATORS)
    inputs = [a for _, a in g.nodes(data=True) if a["category"] == "input"]
    assert len(inputs) == len(v.live_ins)
    (loop,) = [a for a in ops if a["category"] == "loop"]
    assert loop["depth"] == 0 and loop["loop_carried"] and loop["scalar_recurrence"]
    body = [a for a in ops if a["depth"] == 1]
    assert body and any(a["loop_carried"] and a["size"] == "scalar" for a in body)
    assert {a["size"] for a in inputs} >= {"large"}
    small = main_block("fn f() -> f64[4, 4]:\n    return ones((4, 4), dtype=f64) * 2.0\n")
    assert "small" in {a["size"] for _, a in block_graph(small).nodes(data=True)}


# ---- signatures ------------------------------------------------------------------
SOFTMAX = ("fn softmax(x: f32[N, M]) -> f32[N, M]:\n    let m = max(x, axis=-1, keepdims=true)\n"
           "    let e = exp(x - m)\n    return e / sum(e, axis=-1, keepdims=true)\n")
SOFTMAX_RENAMED = ("fn sm(inp: f32[A, B]) -> f32[A, B]:\n    let top = max(inp, axis=-1, keepdims=true)\n"
                   "    let ex = exp(inp - top)\n    return ex / sum(ex, axis=-1, keepdims=true)\n")
LAYERNORM = ("fn ln(x: f32[N, M]) -> f32[N, M]:\n    let mu = mean(x, axis=-1, keepdims=true)\n"
             "    let d = x - mu\n    return d / sqrt(mean(d * d, axis=-1, keepdims=true) + 1e-5)\n")
# (a loop that stays a loop: `s += x[i] * x[i]` alone is raised to a dot product)
ACC = ("fn acc(x: f64[N]) -> f64:\n    let s = 0.0\n    for i in range(N):\n"
       "        s += x[i] * x[i] + 1.0\n    return sqrt(s) + {tail}\n")


def _loop_block(src: str, fn: str):  # noqa: ANN202
    return [v for v in views(src, fn) if v.kind == "loop"][0]


def test_signature_stable_under_renames() -> None:
    assert block_signature(main_block(SOFTMAX)) == block_signature(main_block(SOFTMAX_RENAMED))
    # constants are not structure either
    a = main_block("fn f(x: f64[N]) -> f64[N]:\n    return exp(x) * 2.0\n")
    b = main_block("fn g(y: f64[K]) -> f64[K]:\n    return exp(y) * 3.5\n")
    assert block_signature(a) == block_signature(b)


def test_signature_stable_under_edits_elsewhere() -> None:
    other = "fn other(y: f64[N]) -> f64[N]:\n    return y * {k}\n"
    one = SOFTMAX + "\n" + other.format(k="2.0")
    two = other.format(k="exp(y) - 4.0") + "\n" + SOFTMAX
    assert block_signature(main_block(one, "softmax")) == block_signature(main_block(two, "softmax"))
    # an edit in another block of the same function
    s1 = block_signature(_loop_block(ACC.format(tail="1.0"), "acc"))
    s2 = block_signature(_loop_block(ACC.format(tail="exp(s) * 3.0 - 1.0"), "acc"))
    assert s1 == s2


def test_signature_differs_for_different_structure() -> None:
    sigs = {block_signature(main_block(s)) for s in (SOFTMAX, LAYERNORM, ACC.format(tail="1.0"))}
    assert len(sigs) == 3
    a = main_block("fn f(x: f64[N]) -> f64[N]:\n    return exp(x) * 2.0\n")
    b = main_block("fn f(x: f64[N]) -> f64[N]:\n    return log(x) * 2.0\n")
    c = main_block("fn f(x: f32[N]) -> f32[N]:\n    return exp(x) * 2.0\n")
    d = main_block("fn f(x: f64[N, M]) -> f64[N, M]:\n    return exp(x) * 2.0\n")
    assert len({block_signature(v) for v in (a, b, c, d)}) == 4


# ---- recognizer ------------------------------------------------------------------
def test_recognizer_round_trip() -> None:
    r = PatternRecognizer()
    pid = r.analyze_code(SOFTMAX)
    cp = r.get_pattern(pid)
    assert isinstance(cp, CodePattern) and cp.pattern_id == pid
    assert cp.frequency == 1 and cp.optimal_strategy is None and cp.avg_execution_time is None
    assert "softmax_normalize" in cp.name.split("+")
    assert len(cp.features) == len(FEATURE_NAMES) and cp.features["pat_softmax_normalize"] == 1.0
    assert r.analyze_code(SOFTMAX_RENAMED, {"execution_time": 2.0}) == pid
    assert r.analyze_code(SOFTMAX, {"execution_time": 4.0}) == pid
    cp = r.get_pattern(pid)
    assert cp.frequency == 3 and cp.avg_execution_time == pytest.approx(3.0)
    r.update_optimal_strategy(pid, "numba-parallel")
    assert r.get_pattern(pid).optimal_strategy == "numba-parallel"
    assert r.get_pattern("no-such-pattern") is None
    with pytest.raises(KeyError):
        r.update_optimal_strategy("no-such-pattern", "x")
    # the dominant block is the biggest: the loop, not the setup code around it
    pid2 = r.analyze_code(ACC.format(tail="1.0"))
    assert pid2 != pid and "scalar_loop_carried" in r.get_pattern(pid2).name
    ba = r.analyze_block(main_block(SOFTMAX))
    assert ba.signature == pid and "softmax_normalize" in ba.patterns and ba.graph.number_of_nodes() > 0


def test_recognizer_library_is_extensible() -> None:
    class WithTranspose(PatternRecognizer):
        library = PATTERN_LIBRARY + [{
            "name": "transpose_matmul",
            "templates": [{"nodes": [{"op": "transpose"}, {"category": "matmul"}],
                           "edges": [(0, 1)], "anchor": 1}],
        }]

    src = "fn f(A: f64[N, K], B: f64[M, K]) -> f64[N, M]:\n    return A @ B.T\n"
    assert "transpose_matmul" in WithTranspose().analyze_block(main_block(src)).patterns
    assert "transpose_matmul" not in PatternRecognizer().analyze_block(main_block(src)).patterns


# ---- features --------------------------------------------------------------------
MATMUL = "fn f(A: f64[N, N], B: f64[N, N]) -> f64[N, N]:\n    return A @ B\n"
ADD = "fn f(A: f64[N, N], B: f64[N, N]) -> f64[N, N]:\n    return A + B\n"


def test_features_fixed_length_and_values() -> None:
    mm = block_features(main_block(MATMUL), MACHINE)
    add = block_features(main_block(ADD), MACHINE)
    assert list(mm) == FEATURE_NAMES and list(add) == FEATURE_NAMES
    assert mm["flops"] > add["flops"] > 0
    assert mm["intensity"] > add["intensity"] > 0
    assert mm["n_matmul"] == 1 and add["n_elementwise"] == 1
    assert mm["dtype_f64"] == 1 and mm["dtype_f32"] == 0 and mm["n_live_ins"] == 2 and mm["n_live_outs"] == 1
    assert mm["cpus"] == 4 and mm["has_gpu"] == 0
    assert block_features(main_block(MATMUL), {"cpus": 1, "mlx_devices": ["cpu", "gpu"]})["has_gpu"] == 1
    # symbolic dims: nominal when unknown, evaluated when given
    small = block_features(main_block(MATMUL), MACHINE, {"N": 8})["flops"]
    big = block_features(main_block(MATMUL), MACHINE, {"N": 512})["flops"]
    assert small == 2 * 8 ** 3 and big == 2 * 512 ** 3
    loop = block_features(_loop_block(ACC.format(tail="1.0"), "acc"), MACHINE, {"N": 100})
    assert loop["max_depth"] == 1 and loop["n_loops"] == 1 and loop["loop_carried"] == 1
    assert loop["pat_scalar_loop_carried"] == 1 and loop["flops"] == pytest.approx(300)  # 3 per iteration
    vec = feature_vector(main_block(ADD), MACHINE)
    assert isinstance(vec, np.ndarray) and vec.shape == (len(FEATURE_NAMES),) and np.isfinite(vec).all()


@pytest.mark.parametrize("name", [n for n in ("crc16", "jacobi_2d", "softmax", "attention", "spmv",
                                              "gemm", "histogram", "floyd_warshall", "three_mm")
                                  if n in corpus_names()])
def test_corpus_features_and_patterns(name: str) -> None:
    module = frontend((CORPUS / f"{name}.mc").read_text(), f"{name}.mc")
    r = PatternRecognizer()
    seen: set[str] = set()
    for fn in module.functions.values():
        for v in block_views(fn):
            ba = r.analyze_block(v)
            seen.update(ba.patterns)
            vec = feature_vector(v, MACHINE, graph=ba.graph, matches=ba.matches)
            assert vec.shape == (len(FEATURE_NAMES),) and np.isfinite(vec).all()
    expect = {"crc16": "scalar_loop_carried", "jacobi_2d": "stencil", "softmax": "softmax_normalize",
              "attention": "softmax_normalize", "spmv": "gather_scatter", "gemm": "inplace_update",
              "histogram": "map_reduce", "floyd_warshall": "scalar_loop_carried", "three_mm": "matmul_chain"}
    assert expect[name] in seen


# ---- linear work -----------------------------------------------------------------
UNIT = """
fn k{i}(x: f64[N, M], w: f64[M, M], b: f64[M], inout acc: f64[N]) -> f64[N, M]:
    let h = maximum(x @ w + b, 0.0)
    let e = exp(h - max(h, axis=-1, keepdims=true))
    let p = e / sum(e, axis=-1, keepdims=true)
    let s = 0.0
    for i in range(N):
        s = s * 0.5 + acc[i]
        acc[i] = s
    let q = p[1:-1] + p[:-2] + p[2:]
    return p * {i}.0 + sum(q)
"""


def _count_calls(monkeypatch: pytest.MonkeyPatch, graphs: list) -> tuple[int, dict[str, int]]:
    calls = [0]
    orig = P.node_matches

    def counting(a: dict, b: dict) -> bool:
        calls[0] += 1
        return orig(a, b)

    monkeypatch.setattr(P, "node_matches", counting)
    counts: dict[str, int] = {}
    for g in graphs:
        for m in match_patterns(g):
            counts[m.pattern] = counts.get(m.pattern, 0) + 1
    monkeypatch.setattr(P, "node_matches", orig)
    return calls[0], counts


def test_matching_linear_in_number_of_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    def graphs(n: int) -> list:
        return [block_graph(v) for v in views("".join(UNIT.format(i=i) for i in range(n)))]

    g5, g20 = graphs(5), graphs(20)
    assert len(g20) == 4 * len(g5)
    c5, m5 = _count_calls(monkeypatch, g5)
    c20, m20 = _count_calls(monkeypatch, g20)
    assert set(m5) >= {"matmul_bias_act", "softmax_normalize", "scalar_loop_carried", "stencil",
                       "inplace_update", "elementwise_chain", "map_reduce"}
    assert m20 == {k: 4 * v for k, v in m5.items()}
    assert c20 == 4 * c5


def test_matching_linear_in_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    def big_block(n: int):  # noqa: ANN202 - one straight-line block of ~6n ops
        lines = ["fn f(x: f64[N, M]) -> f64[N, M]:", "    let y = x"]
        for i in range(n):
            lines += [f"    let e{i} = exp(y - max(y, axis=-1, keepdims=true))",
                      f"    y = e{i} / sum(e{i}, axis=-1, keepdims=true) + x * {i}.5"]
        lines.append("    return y")
        (v,) = views("\n".join(lines) + "\n")
        return block_graph(v)

    small, large = big_block(25), big_block(100)
    assert large.number_of_nodes() > 3.5 * small.number_of_nodes()
    c_small, m_small = _count_calls(monkeypatch, [small])
    c_large, m_large = _count_calls(monkeypatch, [large])
    assert m_large["softmax_normalize"] >= 4 * m_small["softmax_normalize"] - 4
    ratio = large.number_of_nodes() / small.number_of_nodes()
    assert c_large <= 1.25 * ratio * c_small  # linear, not quadratic, in the block's size
