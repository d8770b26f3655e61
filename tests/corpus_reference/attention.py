import numpy as np


def reference(inputs: dict) -> dict:
    Q, K, V = inputs["Q"], inputs["K"], inputs["V"]
    d = Q.shape[-1]
    scores = np.matmul(Q, np.swapaxes(K, -1, -2)) * (np.float32(1.0) / np.sqrt(np.float32(d)))
    if inputs.get("causal", False):
        n, m = scores.shape[-2:]
        future = np.arange(m)[None, :] > np.arange(n)[:, None]
        scores = np.where(future, np.float32(-1e30), scores)
    scores = scores - scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=-1, keepdims=True)
    out = np.matmul(p, V)
    assert out.dtype == np.float32
    return {"return": out}
