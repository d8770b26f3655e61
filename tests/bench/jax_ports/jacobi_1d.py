import jax
import jax.numpy as jnp


def reference(inputs: dict) -> dict:
    def body(_, ab):
        a, b = ab
        b = b.at[1:-1].set(0.33333 * (a[:-2] + a[1:-1] + a[2:]))
        return a.at[1:-1].set(0.33333 * (b[:-2] + b[1:-1] + b[2:])), b

    A, B = jax.lax.fori_loop(0, inputs["tsteps"], body, (jnp.asarray(inputs["A"]), jnp.asarray(inputs["B"])))
    return {"A": A, "B": B}
