"""Viper kernels of :mod:`tinysense.image`; call those functions, which validate sizes and
buffers first. Integer parameters come packed in one ``array('i')`` ``p``."""

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
    """RGB565 -> BT.601 gray for ``n`` pixels (``big``: high byte first)."""

def stats(buf: _Buffer, n: int, p: array) -> None:
    """``p[0:3]`` = min, max, sum of ``n`` pixels."""

def lut_minmax(lut: bytearray, lo: int, hi: int) -> None:
    """The min/max stretch table for ``lo < hi``."""

def lut_meanstd(buf: _Buffer, lut: bytearray, p: array) -> None:
    """The mean/std table for the ``n`` pixels of ``buf`` (a second pass for the squared
    deviations); ``p``: n, sum, target mean, target std; sets ``p[5]`` (16x mean) and ``p[6]``
    (16x standard deviation)."""

def apply(buf: bytearray, n: int, lut: bytearray) -> None:
    """``buf[i] = lut[buf[i]]`` for ``n`` pixels."""
