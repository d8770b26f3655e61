"""Per-block timers: a wrapper around each built block's call that accumulates wall
time, so a run can say where its time went block by block."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any


class BlockTimer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, block_id: str, call: Callable[..., Any]) -> Callable[..., Any]:
        seconds, calls, clock = self.seconds, self.calls, time.perf_counter

        def timed(*args: Any) -> Any:
            t0 = clock()
            try:
                return call(*args)
            finally:
                seconds[block_id] += clock() - t0
                calls[block_id] += 1

        return timed

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()
