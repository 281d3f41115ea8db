"""Viper kernels of :mod:`tinysense.window` (copies only, no arithmetic to bound)."""

from array import array

def copy_in(ring: array[int], src: array[int], p: array[int]) -> None:
    """De-interleave ``p[4]`` frames of ``src`` from frame ``p[3]`` into the planar ring
    (``p[0]`` channels of ``p[1]`` samples) at position ``p[2]``, wrapping."""

def copy_out(ring: array[int], out: array[int], p: array[int]) -> None:
    """Unroll the planar ring (``p[0]`` channels of ``p[1]``) from position ``p[2]`` into
    ``out``."""
