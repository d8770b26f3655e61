import numpy as np

ENTRY = "crc16"
PRESETS = {
    "S": {"N": 100_000},
    "M": {"N": 800_000},
}


def make_inputs(preset: str, seed: int = 0) -> dict:
    n = PRESETS[preset]["N"]
    rng = np.random.default_rng(seed)
    out = {"data": rng.integers(0, 256, size=n, dtype=np.uint8)}
    if preset == "M":
        out["poly"] = 0xA001  # CRC-16/ARC polynomial; S uses the default
    return out
