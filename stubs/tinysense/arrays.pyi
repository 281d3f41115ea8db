"""Typecode of an ``array.array`` on MicroPython, whose arrays have no ``typecode`` attribute."""

from typing import Any

def typecode(a: Any) -> str | None:
    """One of ``b B h H i I q Q f d`` for an ``array.array``; None for anything else and for an
    empty array. Writes probe values into ``a[0]`` and puts its value back; allocates a little,
    so check a buffer once and remember it."""
