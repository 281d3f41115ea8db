"""Viper kernels of ``tinysense.knn``: the k-nearest search and vote, and row copies.

Called by ``KNN`` with its work buffer; not meant for direct use. 32-bit bounds in the module's
docstring and docs/knn.md.
"""

from array import array

def nearest(data: bytearray | array[int], x: array[int], w: array[int], lab: bytearray) -> int:
    """Class index voted by the k stored rows nearest to ``x``; the heap is left in ``w``."""

def copy(dst: bytearray | array[int], d: int, src: bytearray | array[int], s: int, n: int, w: array[int]) -> None:
    """Copy ``n`` int16 items from ``src[s:]`` to ``dst[d:]`` ascending; widen the stored range
    in ``w``."""

def shift8(b: bytearray, start: int, end: int) -> None:
    """Drop byte ``start`` of ``b[:end]``, moving the later ones down."""
