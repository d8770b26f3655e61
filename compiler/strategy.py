"""Optimization strategies: what a block is lowered with. One type, one registry; a new
strategy registers itself without changes elsewhere."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

BACKENDS = ("numpy", "numba", "llvm", "mlx")
DEVICES = ("cpu", "gpu", "ane", "auto")


@dataclass(frozen=True)
class OptimizationStrategy:
    strategy_id: str
    name: str
    backend: str  # numpy | numba | llvm | mlx
    jit_level: int = 0  # 0 interpreted NumPy, 1 compiled, 2 aggressive (fastmath, unrolling, vector hints)
    parallelization_level: int = 0  # 0 serial; 1 threads over the outer loop (prange); 2 parallel array ops
    device_target: str = "cpu"  # for MLX: cpu | gpu | ane | auto
    memory_optimization: int = 0  # 0 none; 1 temporaries reused, copies elided; 2 outputs written in place
    operator_fusion: bool = False  # elementwise chains into one loop nest
    tensor_fusion: bool = False  # reductions fused with their producers

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}")
        if self.device_target not in DEVICES:
            raise ValueError(f"unknown device {self.device_target!r}")
        for f in ("jit_level", "parallelization_level", "memory_optimization"):
            if getattr(self, f) not in (0, 1, 2):
                raise ValueError(f"{f} must be 0, 1 or 2")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(d: dict[str, Any]) -> OptimizationStrategy:
        return OptimizationStrategy(**d)


REGISTRY: dict[str, OptimizationStrategy] = {}


def register(s: OptimizationStrategy) -> OptimizationStrategy:
    REGISTRY[s.strategy_id] = s
    return s


def get(strategy_id: str) -> OptimizationStrategy:
    try:
        return REGISTRY[strategy_id]
    except KeyError:
        raise KeyError(f"unknown strategy {strategy_id!r}; known: {', '.join(REGISTRY)}") from None


S = OptimizationStrategy
for _s in (
    S("numpy", "NumPy reference", "numpy"),
    S("numpy-mem", "NumPy, temporaries reused as ufunc outputs", "numpy", memory_optimization=1),
    S("numba", "Numba njit, fused loops", "numba", jit_level=1, operator_fusion=True, tensor_fusion=True),
    S("numba-par", "Numba njit parallel (prange over outer loops)", "numba", jit_level=1, parallelization_level=1,
      operator_fusion=True, tensor_fusion=True),
    S("numba-fast", "Numba njit fastmath", "numba", jit_level=2, operator_fusion=True, tensor_fusion=True),
    S("numba-fast-par", "Numba njit fastmath and parallel (prange over outer loops, float reductions too)",
      "numba", jit_level=2, parallelization_level=1, operator_fusion=True, tensor_fusion=True),
    S("llvm", "native code via llvmlite", "llvm", jit_level=1),
    S("llvm-fast", "native code via llvmlite, fast-math and O3 vectorization", "llvm", jit_level=2),
    S("mlx-cpu", "MLX compiled graph on CPU", "mlx", jit_level=1, device_target="cpu", operator_fusion=True),
    S("mlx-gpu", "MLX compiled graph on GPU (falls back to CPU)", "mlx", jit_level=1, device_target="gpu",
      operator_fusion=True),
):
    register(_s)
del S, _s
