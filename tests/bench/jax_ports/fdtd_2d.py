import jax
import jax.numpy as jnp


def reference(inputs: dict) -> dict:
    def body(i, fields):
        ex, ey, hz = fields
        ey = ey.at[0, :].set(inputs["fict"][i])
        ey = ey.at[1:, :].add(-0.5 * jnp.diff(hz, axis=0))
        ex = ex.at[:, 1:].add(-0.5 * jnp.diff(hz, axis=1))
        hz = hz.at[:-1, :-1].add(-0.7 * (jnp.diff(ex[:-1, :], axis=1) + jnp.diff(ey[:, :-1], axis=0)))
        return ex, ey, hz

    fields = tuple(jnp.asarray(inputs[k]) for k in ("ex", "ey", "hz"))
    ex, ey, hz = jax.lax.fori_loop(0, inputs["fict"].shape[0], body, fields)
    return {"ex": ex, "ey": ey, "hz": hz}
