"""Boundary checks shared by the device modules: the typecode of an ``array.array`` (MicroPython's
arrays have no ``typecode`` attribute, yet every kernel must refuse a buffer of the wrong type
before viper reads it with fixed-width loads), int16 feature vectors, integer parameters."""

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


def check_features(x, n, name="x"):
    """Refuse ``x`` unless it is ``array('h')`` of ``n`` int16 features (TypeError / ValueError
    naming ``name``). Allocates a little (the typecode probe): check a buffer once, remember it."""
    if type(x) is not array.array:
        raise TypeError("%s must be array('h') of %d int16 features, not %s" % (name, n, type(x).__name__))
    if len(x) != n:
        raise ValueError("%s has %d values; the model expects %d features" % (name, len(x), n))
    if typecode(x) != "h":
        raise TypeError("%s must be array('h') (int16 features)" % name)


def check_int(v, name, lo, hi):
    """``v`` if it is an int in ``lo..hi``; else TypeError / ValueError naming ``name``."""
    if type(v) is not int:
        raise TypeError("%s must be an int, not %s" % (name, type(v).__name__))
    if v < lo or v > hi:
        raise ValueError("%s must be %d..%d, not %d" % (name, lo, hi, v))
    return v
