import numpy as np


def reference(inputs: dict) -> dict:
    f32 = np.float32
    z = inputs["x"] @ inputs["W1"] + inputs["b1"]
    c = f32(np.sqrt(2.0 / np.pi))
    h = f32(0.5) * z * (f32(1.0) + np.tanh(c * (z + f32(0.044715) * z ** 3)))
    y = h @ inputs["W2"] + inputs["b2"]
    assert y.dtype == np.float32
    return {"return": y}
