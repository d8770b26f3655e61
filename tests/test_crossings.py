"""Back-end crossings: a mixed plan (MLX tensor blocks around a compiled loop block)
converts each dynamic live-in once on entry to an MLX block and each live-out once on
exit, whatever the array size (never per element); NumPy-native plans cross nothing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("mlx.core")

from mcodec.compiler.build import BuildWarning, build_module  # noqa: E402
from mcodec.compiler.driver import frontend  # noqa: E402
from mcodec.runtime_shim.profiling import count_crossings, crossing_log  # noqa: E402

# (`abs` keeps the loop a loop: a plain dot product would be raised to a tensor op)
SRC = """fn f(x: f32[N], w: f32[N], s: f32) -> (f32[N], f32):
    let y = exp(x) * w + s
    let acc = f32(0.0)
    for i in range(N):
        acc = acc + abs(y[i]) * y[i]
    let z = y / acc
    return z, acc
"""


def build(default: str):  # noqa: ANN201 - BuildResult
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        return build_module(frontend(SRC, "t"), default=default)


def test_mixed_plan_crosses_once_per_block_boundary() -> None:
    result = build("mlx-cpu")
    used = {bid: b.built.strategy_id for bid, b in result.blocks.items()}
    assert used == {"f.b0": "mlx-cpu", "f.b1": "numba", "f.b2": "mlx-cpu"}
    for n in (5, 4000):
        x = np.linspace(0, 1, n, dtype=np.float32)
        w = np.ones(n, np.float32)
        with count_crossings() as log:
            z, acc = result.program.f(x, w, 0.5)
        y = np.exp(x) * w + np.float32(0.5)
        np.testing.assert_allclose(z, y / np.sum(np.abs(y) * y), rtol=1e-4)
        # f.b0: x, w, s in; y out (the constant acc is static). f.b2: y, acc in; z out.
        assert (log.into, log.out, log.boundaries) == (5, 2, 4)
        assert log.nbytes == 4 * (2 * n + 1) + 4 * (n + 1) + 4 * (2 * n)  # in: b0, b2; out: y, z
        assert log.seconds > 0
    assert crossing_log() is None


def test_numpy_native_plan_crosses_nothing() -> None:
    result = build("numba")
    with count_crossings() as log:
        result.program.f(np.ones(8, np.float32), np.ones(8, np.float32), 1.0)
    assert log.count == 0 and log.nbytes == 0


def test_crossings_count_block_calls_not_elements() -> None:
    result = build("mlx-cpu")
    counts = []
    for calls, n in ((1, 10), (3, 10), (3, 10_000)):
        x = np.ones(n, np.float32)
        with count_crossings() as log:
            for _ in range(calls):
                result.program.f(x, x, 1.0)
        counts.append((log.into, log.out, log.boundaries))
    assert counts == [(5, 2, 4), (15, 6, 12), (15, 6, 12)]
