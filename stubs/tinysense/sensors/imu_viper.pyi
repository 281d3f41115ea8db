"""Viper kernel of :mod:`tinysense.sensors.imu` (byte copies, no arithmetic to bound)."""

from array import array

def be16(raw: bytearray | memoryview, out: array[int], n: int, p: int) -> None:
    """Copy ``n`` FIFO frames of ``p & 15`` bytes (x, y, z big-endian int16 first) into ``out``
    (array('h'), interleaved x, y, z) from frame ``p >> 4`` on."""
