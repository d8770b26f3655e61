

def reference(inputs: dict) -> dict:
    A, x = inputs["A"], inputs["x"]
    return {"return": A.T @ (A @ x)}
