"""Boundary checks shared by the device modules: the typecode of an ``array.array`` on
MicroPython (whose arrays have no ``typecode`` attribute), int16 feature vectors, integer
parameters."""

from typing import Any

def typecode(a: Any) -> str | None:
    """One of ``b B h H i I q Q f d`` for an ``array.array``; None for anything else and for an
    empty array. Writes probe values into ``a[0]`` and puts its value back; allocates a little,
    so check a buffer once and remember it."""

def check_features(x: Any, n: int, name: str = "x") -> None:
    """Refuse ``x`` unless it is ``array('h')`` of ``n`` int16 features (TypeError /
    ValueError naming ``name``). Allocates a little: check a buffer once, remember it."""

def check_int(v: Any, name: str, lo: int, hi: int) -> int:
    """``v`` if it is an int in ``lo..hi``; else TypeError / ValueError naming ``name``."""
