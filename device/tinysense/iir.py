"""IIR filters as cascades of second-order sections, for int16 streams (e.g. A-weighting).

    f = iir.load("aweight16k.tsm")       # made by `tinysense design aweighting --rate 16000`
    f.process(block)                      # array('h'), filtered in place; state kept between blocks
    f.process(block, out)                 # into out: array('h') (int16) or array('i') (Q.8, see below)
    f.reset()                             # back to silence

Fixed-point structure (docs/modelfile.md, kind 4). Signals are int32 with 8 fractional bits
(input << 8). Each section is direct form I, y = b0 u + b1 u1 + b2 u2 - a1 y1 - a2 y2, where
every coefficient c is split into an integer part n = round(c), applied to whole signals, and a
residual r = round((c - n) * 2**F) with F <= 30 bits chosen per section on the host. A residual
product r * v is made of two int32 products on the signal's halves, v = (v >> 12) * 4096 +
(v & 4095): H = sum r * (v >> 12) and L = sum r * (v & 4095). The section output is
(H + (L >> 12)) >> (F - 12) plus the integer-part terms; the F bits it drops (the residue e) are
fed back through the denominator's integer parts (error feedback: L -= n_a1 e1 + n_a2 e2), so
rounding noise near z = 1 is not amplified by poles close to the unit circle.

32-bit bound: the host (tinysense.design.sos.quantize) computes the worst-case |signal| at every
node (L1 norm of the impulse response x 32768 x 256) and picks F so that |L|, |H| and every
partial sum stay below 2**31; it refuses filters it cannot bound. A-weighting at 16 kHz: signals
< 2**24.3, largest intermediate < 2**30.9; F = 23, 19, 19. The level of the output is within
0.002 dB of scipy's float64 ``sosfilt`` from 31.5 Hz to 6.3 kHz, -70 to -1 dBFS, with the int32
output; the int16 output adds its own rounding (1/12 LSB**2 of noise).

Outputs: array('h'), rounded and saturated to int16; or array('i') with the internal Q.8 value
(int16 scale x 256, not saturated), for levels below the int16 resolution.
"""

import array
import micropython

from . import modelfile

_HEAD = 4  # int32 words before the sections: n_sections, output mode, 0, 0
_STRIDE = 20  # int32 words per section (the last block holds only the output history)


@micropython.viper
def _run(m: ptr32, x: ptr16, out: ptr16, n: int):
    # m: header, then per section: nb0 nb1 nb2 na1 na2 | rb0 rb1 rb2 ra1 ra2 | F-12, 2**(F-12)-1
    # | e1 e2 (residues) | 0 0 | (v >> 12, v & 4095) of the section's input one and two samples
    # back; the next section's input history is this section's output history.
    # ptr32 loads are zero-extended on 64-bit ports and signed on 32-bit ones: +, -, * and & are
    # right modulo 2**32 either way, so every value that is shifted right is first sign-extended
    # from 32 bits with (v << w) >> w: w = 32 on 64-bit ports, 0 (a no-op) on 32-bit ones.
    w = 1
    w = w << 31  # a machine int: negative on 32-bit ports (a constant 1 << 31 would be an object)
    if w > 0:
        w = 32
    else:
        w = 0
    o32 = ptr32(out)
    wide = m[1]
    i = 0
    while i < n:
        v = ((x[i] ^ 0x8000) - 0x8000) << 8
        vh = v >> 12
        vl = v & 4095
        p = ptr32(uint(m) + 16)
        k = m[0]
        while k > 0:
            h1 = p[16]
            l1 = p[17]
            h2 = p[18]
            l2 = p[19]
            g1 = p[36]
            j1 = p[37]
            g2 = p[38]
            j2 = p[39]
            # |L| <= 4095 * sum|r| + 2**F * sum|na| < 2**31
            lo = p[5] * vl + p[6] * l1 + p[7] * l2 - p[8] * j1 - p[9] * j2 - p[3] * p[12] - p[4] * p[13]
            lo = (lo << w) >> w
            # |H| <= sum|r| * |v >> 12| + |L| / 4096 < 2**31
            hi = p[5] * vh + p[6] * h1 + p[7] * h2 - p[8] * g1 - p[9] * g2 + (lo >> 12)
            hi = (hi << w) >> w
            p[13] = p[12]
            p[12] = ((hi & p[11]) << 12) | (lo & 4095)
            p[18] = h1
            p[19] = l1
            p[16] = vh
            p[17] = vl
            # |y| <= node bound < 2**31 (partial sums: |H| >> (F-12) + sum|n| * |u| + sum|n_a| * |y|)
            v = (hi >> p[10]) + p[0] * v + p[1] * ((h1 << 12) | l1) + p[2] * ((h2 << 12) | l2) \
                - p[3] * ((g1 << 12) | j1) - p[4] * ((g2 << 12) | j2)
            v = (v << w) >> w
            vh = v >> 12
            vl = v & 4095
            p = ptr32(uint(p) + 80)
            k -= 1
        p[18] = p[16]
        p[19] = p[17]
        p[16] = vh
        p[17] = vl
        if wide:
            o32[i] = v
        else:
            v = (v + 128) >> 8
            if v > 32767:
                v = 32767
            elif v < -32768:
                v = -32768
            out[i] = v
        i += 1


def _is_int_array(a, bits):
    # True if ``a`` is an array.array of signed ``bits``-bit integers ('h' or 'i').
    if type(a) is not array.array or not len(a):
        return False
    keep = a[0]
    try:
        a[0] = -1
        neg = a[0] == -1
        a[0] = 0x12345678
        ok = neg and (a[0] == (0x5678 if bits == 16 else 0x12345678))
    except (TypeError, OverflowError):  # a float array, or 'h' refusing a big value
        ok = False
    a[0] = keep
    if ok and bits == 32:
        ok = len(bytes(memoryview(a)[:1])) == 4  # not a 64-bit 'l'/'q'
    return ok


class SOSFilter:
    """A cascade of second-order sections in the fixed-point form above (make one with
    :func:`load`, or from the integer ``coef`` table of a kind-4 file).

    Attributes: ``n_sections``; ``fs`` (Hz, 0 if unknown); ``sos`` (``array('f')`` of the float
    sections as designed, 6 per section, or None); ``name`` (str).
    """

    def __init__(self, coef, sos=None, fs=0, name=""):
        ns = len(coef) // 11
        if ns < 1 or ns > 64 or len(coef) != 11 * ns:
            raise ValueError("coef holds %d numbers; expected 11 per section (1 to 64 sections)" % len(coef))
        m = array.array("i", bytearray(4 * (_HEAD + _STRIDE * (ns + 1))))
        m[0] = ns
        for k in range(ns):
            c = coef[11 * k: 11 * k + 11]
            f = c[10]
            if not 12 <= f <= 30:
                raise ValueError("section %d: %d fractional bits, expected 12..30" % (k, f))
            if not (-2 <= c[3] <= 2 and -1 <= c[4] <= 1):
                raise ValueError("section %d: denominator integer parts %d, %d out of range" % (k, c[3], c[4]))
            o = _HEAD + _STRIDE * k
            for j in range(10):
                m[o + j] = c[j]
            m[o + 10] = f - 12
            m[o + 11] = (1 << (f - 12)) - 1
        self._m = m
        self.n_sections = ns
        self.sos = sos
        self.fs = fs
        self.name = name
        self._x = self._out = None
        self._wide = 0

    def reset(self):
        """Forget the past: the next block starts from silence."""
        m = self._m
        for k in range(self.n_sections + 1):
            o = _HEAD + _STRIDE * k
            for j in range(12, 20):
                m[o + j] = 0

    def process(self, x, out=None):
        """Filter ``x`` (``array('h')``, one block of a stream) and return the output: ``x``
        itself (in place) when ``out`` is None, else ``out``, an ``array('h')`` (rounded,
        saturated int16) or ``array('i')`` (int32 with 8 fractional bits) of ``len(x)``.
        The state carries over, so a stream cut into blocks of any sizes gives the same output."""
        if x is not self._x or out is not self._out:
            self._check(x, out)
        _run(self._m, x, x if out is None else out, len(x))
        return x if out is None else out

    def _check(self, x, out):
        if type(x) is not array.array and type(x) is not bytearray:
            raise TypeError("x must be array('h') of int16 samples, not %s" % type(x).__name__)
        if not len(x):
            raise ValueError("x is an empty block; give at least one sample")
        if not _is_int_array(x, 16):
            raise TypeError("x must be array('h') (int16 samples)")
        wide = 0
        if out is not None:
            if type(out) is not array.array:
                raise TypeError("out must be array('h') or array('i'), not %s" % type(out).__name__)
            if len(out) != len(x):
                raise ValueError("out has %d samples; x has %d" % (len(out), len(x)))
            if _is_int_array(out, 32):
                wide = 1
            elif not _is_int_array(out, 16):
                raise TypeError("out must be array('h') (int16) or array('i') (int32, Q.8)")
        self._m[1] = wide
        self._x, self._out = x, out


def load(source):
    """Load a filter from a kind-4 tinysense file (path or binary stream), as written by
    ``tinysense design`` or ``tinysense.design.sos.save`` on the host.

    Raises ``ValueError`` when the file is not an IIR filter, or is truncated or corrupted.
    """
    r, f, owned = modelfile.open_file(source, modelfile.KIND_SOS)
    try:
        h = r.fields
        if len(h) < 2 or not 0 < h[0] <= 64 or h[1] != 8:
            raise ValueError("IIR filter header out of range (sections %d, fractional bits %d; expected 1..64, 8)"
                             % (h[0] if len(h) else -1, h[1] if len(h) > 1 else -1))
        ns = h[0]
        coef = r.read("coef", "i", 0, 11 * ns)
        if len(coef) != 11 * ns:
            raise ValueError("IIR filter has %d coefficients for %d sections; expected %d" % (len(coef), ns, 11 * ns))
        sos = name = None
        if r.next_tag() == "sos ":
            sos = r.read("sos ", "f", 0, 6 * ns)
        if r.next_tag() == "name":
            name = bytes(r.read("name", "B")).decode()
        r.finish()
        return SOSFilter(coef, sos, h[2] if len(h) > 2 else 0, name or "")
    finally:
        if owned:
            f.close()
