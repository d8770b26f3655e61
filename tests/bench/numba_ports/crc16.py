"""Hand-written Numba port of crc16 (bit-serial CRC-16), for startup comparisons where
the automatic port of the reference does not run under Numba. Same interface as the
references: `reference(inputs) -> dict`."""

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


def reference(inputs: dict) -> dict:
    return {"return": crc16(inputs["data"], inputs.get("poly", 0x8408))}
