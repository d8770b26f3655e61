from jax import lax


def reference(inputs: dict) -> dict:
    x, w, b = inputs["x"], inputs["w"], inputs["b"]
    # cross-correlation over [C, H, W] with [K, C, R, S] filters, no padding: NCHW/OIHW
    out = lax.conv_general_dilated(x[None], w, window_strides=(1, 1), padding="VALID",
                                   dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                   precision=lax.Precision.HIGHEST)[0]
    return {"return": out + b[:, None, None]}
