#!/usr/bin/env python
"""Time from process start to first result: a built mcodec artifact (llvm and numba
strategies) against a hand-written Numba `njit(cache=True)` port of the same kernel
(crc16), each with a warm on-disk cache. Medians of --repeat fresh processes.

    .venv/bin/python tests/bench/bench_startup.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"

NUMBA_PORT = '''
import numpy as np
from numba import njit

@njit(cache=True)
def crc16(data, poly):
    crc = 0xFFFF
    for b in data:
        cur = 0xFF & np.int64(b)
        for _ in range(8):
            if ((crc & 1) ^ (cur & 1)) != 0:
                crc = (crc >> 1) ^ poly
            else:
                crc >>= 1
            cur >>= 1
    crc = ~crc & 0xFFFF
    crc = (crc << 8) | ((crc >> 8) & 0xFF)
    return crc & 0xFFFF
'''

INPUTS = f'''
import importlib.util
spec = importlib.util.spec_from_file_location("p", {str(CORPUS / "crc16.py")!r})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
inputs = m.make_inputs("S")
'''


def run(script: str, repeat: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(repeat + 1):  # the first run warms caches
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
        out = r.stdout.strip()
    return statistics.median(times[1:]), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mcodec-startup-"))
    rows = []
    for strategy in ("llvm", "numba"):
        art = tmp / f"crc16-{strategy}.mcx"
        subprocess.run([sys.executable, "-m", "mcodec", "build", str(CORPUS / "crc16.mc"), "-o", str(art),
                        "--strategy", strategy, "-q"], check=True)
        script = INPUTS + f"import mcodec\nprint(int(mcodec.load({str(art)!r}).crc16(**inputs)))\n"
        rows.append((f"mcodec artifact ({strategy})", *run(script, args.repeat)))
    (tmp / "port.py").write_text(NUMBA_PORT)
    script = INPUTS + f"import sys; sys.path.insert(0, {str(tmp)!r})\nfrom port import crc16\n" \
        "print(int(crc16(inputs['data'], inputs.get('poly', 0x8408))))\n"
    rows.append(("numba njit(cache=True) port", *run(script, args.repeat)))
    print(f"{'process start -> first result (crc16, preset S)':<48}{'seconds':>9}  result")
    for name, secs, out in rows:
        print(f"{name:<48}{secs:>9.3f}  {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
