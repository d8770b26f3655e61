import numpy as np


def reference(inputs: dict) -> dict:
    # odd-only sieve: index k stands for 2k + 1
    n = inputs["n"]
    if n < 2:
        return {"return": (np.zeros(0, dtype=np.int64), 0)}
    odd = np.ones((n + 1) // 2, dtype=bool)
    odd[0] = False  # 1 is not prime
    for p in range(3, int(n ** 0.5) + 1, 2):
        if odd[p // 2]:
            odd[p * p // 2::p] = False
    primes = np.concatenate(([2], 2 * np.flatnonzero(odd) + 1)).astype(np.int64)
    return {"return": (primes, int(primes.size))}
