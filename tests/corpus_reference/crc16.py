

def _table(poly: int) -> list:
    tab = []
    for byte in range(256):
        c = byte
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        tab.append(c)
    return tab


def reference(inputs: dict) -> dict:
    # table-driven reflected CRC-16, then complement and byte swap
    tab = _table(int(inputs.get("poly", 0x8408)))
    crc = 0xFFFF
    for b in inputs["data"].tobytes():
        crc = (crc >> 8) ^ tab[(crc ^ b) & 0xFF]
    crc = ~crc & 0xFFFF
    crc = ((crc << 8) | (crc >> 8)) & 0xFFFF
    return {"return": crc}
