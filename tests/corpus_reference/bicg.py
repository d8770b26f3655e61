

def reference(inputs: dict) -> dict:
    A = inputs["A"]
    s = inputs["r"] @ A
    q = A @ inputs["p"]
    return {"return": (s, q)}
