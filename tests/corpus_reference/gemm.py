

def reference(inputs: dict) -> dict:
    alpha, beta = inputs["alpha"], inputs["beta"]
    C = alpha * (inputs["A"] @ inputs["B"]) + beta * inputs["C"]
    return {"C": C}
