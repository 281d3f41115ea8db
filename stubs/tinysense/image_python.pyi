"""Plain-Python twin of :mod:`tinysense.image_viper` for ports without the native emitters:
the same functions, integer definitions and results, much slower. Use :mod:`tinysense.image`."""

from array import array
from typing import Union

_Buffer = Union[bytes, bytearray, memoryview]

def area(src: _Buffer, dst: bytearray, p: array) -> None:
    """Whole-factor block means; ``p``: sw, sh, dw, dh, fx, fy."""

def nearest(src: _Buffer, dst: bytearray, p: array) -> None:
    """Nearest-neighbour resize; ``p``: sw, sh, dw, dh."""

def bilinear(src: _Buffer, dst: bytearray, p: array) -> None:
    """Centre-aligned bilinear resize; ``p``: sw, sh, dw, dh."""

def crop(src: _Buffer, dst: bytearray, p: array) -> None:
    """Rectangle copy; ``p``: sw, x, y, dw, dh."""

def rgb565(src: _Buffer, dst: bytearray, n: int, big: int) -> None:
    """RGB565 -> BT.601 gray for ``n`` pixels."""

def stats(buf: _Buffer, n: int, p: array) -> None:
    """``p[0:3]`` = min, max, sum of ``n`` pixels."""

def lut_minmax(lut: bytearray, lo: int, hi: int) -> None:
    """The min/max stretch table."""

def lut_meanstd(buf: _Buffer, lut: bytearray, p: array) -> None:
    """The mean/std table (``p``: n, sum, target mean, target std)."""

def apply(buf: bytearray, n: int, lut: bytearray) -> None:
    """``buf[i] = lut[buf[i]]`` for ``n`` pixels."""
