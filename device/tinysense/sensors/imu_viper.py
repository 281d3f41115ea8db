# Viper kernel of tinysense.sensors.imu: IMU FIFO bytes (big-endian int16) -> array('h').
# Imported by imu.py, which falls back to a plain-Python twin where the native emitters are missing.
import micropython


@micropython.viper
def be16(raw: ptr8, out: ptr16, n: int, p: int):
    """Copy ``n`` FIFO frames of ``p & 15`` bytes each, starting with x, y, z as big-endian int16,
    into ``out`` from frame ``p >> 4`` on: ``out[3 * frame + axis]``.

    32-bit bound: a value ``(hi << 8) | lo`` < 2**16 is stored as its 16 bits (the 'h' array reads
    it back signed); byte and item indices stay below 8 * 1024 + 3 * len(out)."""
    stride = p & 15
    d = (p >> 4) * 3
    s = 0
    end = d + 3 * n
    while d < end:
        out[d] = (raw[s] << 8) | raw[s + 1]
        out[d + 1] = (raw[s + 2] << 8) | raw[s + 3]
        out[d + 2] = (raw[s + 4] << 8) | raw[s + 5]
        s += stride
        d += 3
