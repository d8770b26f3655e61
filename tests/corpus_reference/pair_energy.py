import numpy as np


def reference(inputs: dict) -> dict:
    pos, q = inputs["pos"], inputs["charge"]
    soft = inputs.get("soft", 0.01)
    n = pos.shape[0]
    iu, ju = np.triu_indices(n, 1)
    diff = pos[iu] - pos[ju]
    inv = 1.0 / np.sqrt(np.einsum("ij,ij->i", diff, diff) + soft)
    energy = float(np.sum(q[iu] * q[ju] * inv))
    # pair (i, j) pushes i along +diff and j along -diff
    f_pair = (q[iu] * q[ju] * inv ** 3)[:, None] * diff
    force = np.zeros_like(pos)
    np.add.at(force, iu, f_pair)
    np.add.at(force, ju, -f_pair)
    return {"return": (energy, force)}
