"""Viper kernels of :mod:`tinysense.features`; call them only through ``Extractor``, whose
``array('i')`` parameter block they read (layout in the module docstring)."""

from array import array

def magnitude(win: array[int], dst: array[int], n: int) -> None:
    """``dst[i] = floor(sqrt(x*x + y*y + z*z) / 2)`` of the planar window (int16; <= 28378)."""

def stats(sig: array[int], srt: array[int], fin: array[int], v: array[int]) -> None:
    """Mean, std, min, max, quantiles, rms and mean-crossing rate of the current signal into
    its block of ``v``; fills the sort buffer ``srt`` and the FFT input ``fin`` as flagged."""

def bands(pw: array[int], v: array[int]) -> None:
    """Band energies (16 * log2, 1/16 octave steps) of the power spectrum ``pw``."""

def gather(v: array[int], idx: array[int], out: array[int], nf: int) -> None:
    """``out[j] = v[idx[j]]`` for ``j < nf``."""
