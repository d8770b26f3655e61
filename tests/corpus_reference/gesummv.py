

def reference(inputs: dict) -> dict:
    x = inputs["x"]
    y = inputs["alpha"] * (inputs["A"] @ x) + inputs["beta"] * (inputs["B"] @ x)
    return {"return": y}
