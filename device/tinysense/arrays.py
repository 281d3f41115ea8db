"""Typecode of an ``array.array``: MicroPython's arrays have no ``typecode`` attribute, yet every
kernel must refuse a buffer of the wrong type before viper reads it with fixed-width loads."""

import array


def typecode(a):
    """One of ``b B h H i I q Q f d`` for an ``array.array``, None for anything else and for an
    empty array. Found by the item size (``bytes`` of a one-item view) and by writing probe
    values into ``a[0]``, which is put back. Allocates a little: check a buffer once, then
    remember it."""
    if type(a) is not array.array or not len(a):
        return None
    size = len(bytes(memoryview(a)[:1]))
    keep = a[0]
    try:
        a[0] = 0.5
        real = type(a[0]) is float  # integer arrays refuse a float
    except TypeError:
        real = False
    if real:
        a[0] = keep
        return "f" if size == 4 else "d"
    a[0] = -1
    signed = a[0] == -1
    a[0] = keep
    return {1: "bB", 2: "hH", 4: "iI", 8: "qQ"}[size][0 if signed else 1]
