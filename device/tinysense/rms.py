"""Mean square and RMS of int16 blocks, exact on 32-bit microcontrollers.

    x = array.array("h", samples)          # 1 to 65535 int16 samples
    rms.rms(x)                              # float, e.g. 23170.5 for a full-scale sine
    rms.mean_square(x)                      # float
    acc = array.array("i", (0, 0, 0))       # allocation-free form: an integer accumulator
    rms.sumsq(x, acc)                       # acc += sum of x[i]**2 (exact, no float made)
    rms.value(acc)                          # the accumulated sum as a Python int

The viper kernel never lets an intermediate leave 32 bits: it reads two samples per 32-bit
word, the pair's squares add up to at most 2**31 (both -32768), exact as an unsigned 32-bit
value; it is added to a running sum kept below 2**30 (so the total stays below 2**32), whose
overflow past 2**30 is counted in a separate carry. The block's sum is then carried into the
accumulator's three 15-bit limbs, ``acc[0] + acc[1] * 2**15 + acc[2] *
2**30``, so a full-scale 65535-sample block (about 2**46) is exact on a Cortex-M as on a PC.
``acc[2]`` grows by at most 65536 per block: clear the accumulator (``acc[0] = acc[1] = acc[2]
= 0``) before 32768 full-scale 65535-sample blocks (2**31 samples) have been added.

Samples are read through ``ptr16`` and sign-extended, so -1 counts as 1, not 65535**2.
"""

import array
import micropython

from . import arrays

MAX_BLOCK = 65535


@micropython.viper
def _sumsq(x: ptr16, n: int, acc: ptr32):
    # Two samples per 32-bit load (little-endian: the low half is the first sample), two loads
    # per turn. Bounds: v, u in [-32768, 32767], so v*v + u*u <= 2**31, exact as uint32; a <
    # 2**30 before each pair, so a + pair < 2**32; c counts the 2**30s (c <= n < 2**16).
    a = uint(0)
    c = 0
    p = ptr32(x)
    end = uint(x) + 8 * (n >> 2)
    while uint(p) < end:
        w = p[0]
        v = ((w & 0xFFFF) ^ 0x8000) - 0x8000
        u = (((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000
        a += uint(v * v + u * u)
        c += int(a >> 30)
        a &= 0x3FFFFFFF
        w = p[1]
        v = ((w & 0xFFFF) ^ 0x8000) - 0x8000
        u = (((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000
        a += uint(v * v + u * u)
        c += int(a >> 30)
        a &= 0x3FFFFFFF
        p = ptr32(uint(p) + 8)
    k = n & ~3
    while k < n:  # the last 0..3 samples
        v = (x[k] ^ 0x8000) - 0x8000
        a += uint(v * v)
        c += int(a >> 30)
        a &= 0x3FFFFFFF
        k += 1
    # block sum = c * 2**30 + a, carried into the accumulator's 15-bit limbs
    t = int(a)
    a0 = acc[0] + (t & 0x7FFF)
    a1 = acc[1] + (t >> 15) + (a0 >> 15)
    acc[0] = a0 & 0x7FFF
    acc[2] = acc[2] + c + (a1 >> 15)
    acc[1] = a1 & 0x7FFF


def check_block(x, name="x"):
    """Raise ``TypeError``/``ValueError`` unless ``x`` is an ``array('h')`` of 1 to 65535
    samples. Returns ``len(x)``."""
    if type(x) is not array.array:
        raise TypeError("%s must be array('h') of int16 samples, not %s" % (name, type(x).__name__))
    n = len(x)
    if n == 0:
        raise ValueError("%s is empty: a block needs at least one sample" % name)
    if n > MAX_BLOCK:
        raise ValueError("%s has %d samples; at most %d per block" % (name, n, MAX_BLOCK))
    if arrays.typecode(x) != "h":
        raise TypeError("%s must be array('h') (int16 samples); its typecode is another" % name)
    return n


def check_acc(acc):
    """Raise unless ``acc`` is an ``array('i')`` of at least 3 items (the accumulator)."""
    if type(acc) is not array.array or len(acc) < 3:
        raise ValueError("acc must be array('i') of 3 int32 limbs, e.g. array.array('i', (0, 0, 0))")
    keep = acc[0]
    try:
        acc[0] = 0x180000001  # an int32 item keeps the low 32 bits, read back signed
        ok = acc[0] == -0x7FFFFFFF
    except (TypeError, OverflowError):
        ok = False
    acc[0] = keep
    if not ok:
        raise TypeError("acc must be array('i') (int32)")


_seen = [None, None]


def sumsq(x, acc):
    """Add the sum of squares of ``x`` (``array('h')``, 1..65535 samples) into ``acc``
    (``array('i')`` of 3 limbs, see the module notes). Exact; allocates nothing once ``x``
    and ``acc`` have been seen (they are checked on first use)."""
    s = _seen
    n = len(x)
    if x is not s[0] or n == 0 or n > MAX_BLOCK:
        check_block(x)
        s[0] = x
    if acc is not s[1]:
        check_acc(acc)
        s[1] = acc
    _sumsq(x, n, acc)


def value(acc):
    """The sum held in accumulator ``acc`` as a Python int."""
    return (acc[2] << 30) + (acc[1] << 15) + acc[0]


_acc = array.array("i", (0, 0, 0))


def sum_squares(x):
    """Exact sum of ``x[i]**2`` over an ``array('h')`` block, as an int."""
    s = _seen
    n = len(x)
    if x is not s[0] or n == 0 or n > MAX_BLOCK:
        check_block(x)
        s[0] = x
    a = _acc
    a[0] = 0
    a[1] = 0
    a[2] = 0
    _sumsq(x, n, a)
    return (a[2] << 30) + (a[1] << 15) + a[0]


def mean_square(x):
    """Mean of ``x[i]**2`` (float) of an ``array('h')`` block of 1..65535 samples; the exact
    integer sum divided once, so within float rounding of numpy's ``mean(x.astype(float)**2)``."""
    return sum_squares(x) / len(x)


def rms(x):
    """Root mean square (float) of an ``array('h')`` block of 1..65535 samples."""
    return (sum_squares(x) / len(x)) ** 0.5
