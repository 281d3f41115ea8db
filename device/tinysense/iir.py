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
(H + (L >> 12)) >> (F - 12) plus the integer-part terms, rounded to nearest (a constant in L);
the F bits it drops (the residue e) are fed back through the denominator's integer parts (error
feedback: L -= n_a1 e1 + n_a2 e2), so rounding noise near z = 1 is not amplified by poles close
to the unit circle. Silence after any input decays to exactly 0 (no limit cycle; tested).

32-bit bound: the host (tinysense.design.sos.quantize) computes the worst-case |signal| at every
node (L1 norm of the impulse response x 32768 x 256) and picks F so that |L|, |H| and every
partial sum stay below 2**31; it refuses filters it cannot bound. A-weighting at 16 kHz: signals
< 2**24.3, largest intermediate < 2**30.9; F = 23, 19, 19. The int32 output's level is within
0.01 dB of scipy's float64 ``sosfilt`` for sines from 31.5 Hz to 6.3 kHz at -70 to -1 dBFS
(noise floor ~0.002 LSB rms); rounding to int16 adds up to 0.5 LSB rms, so the int16 output is
within 0.1 dB down to about 10 LSB rms (-70 dBFS) of filtered level.

Outputs: array('h'), rounded and saturated to int16; or array('i') with the internal Q.8 value
(int16 scale x 256, not saturated), for levels below the int16 resolution.

Cost: one viper call per block, which runs the block in chunks of 256 samples, one section at a
time with its coefficients and state in locals. A-weighting (3 sections): ~750 Cortex-M3
instructions per sample; a 2000-sample block at 16 kHz (125 ms) takes ~1.5 M instructions.
"""

import array
import micropython

from . import arrays, modelfile

_HEAD = 4  # int32 words before the sections: n_sections, output mode, block length, chunk
_STRIDE = 16  # int32 words per section (the last block holds only the output history)
_CHUNK = 256  # samples per pass through the sections (the int32 work buffer's length)


@micropython.viper
def _run(m: ptr32, x: ptr16, out: ptr16, buf: ptr32):
    # m: n_sections, output mode (1: int32), n samples, work-buffer length; then per section
    # (16 words): nb0 nb1 nb2 na1 na2 | rb0 rb1 rb2 ra1 ra2 | F-12, bias | e1 e2 (residues)
    # | u1 u2 (the section's input one and two samples back = the previous section's output
    # history; a last block holds the cascade's output history).
    # The block goes through in chunks: int16 -> Q.8 into buf (or straight into an int32 out),
    # then each section over the chunk in place, its coefficients and state in locals, then
    # rounding into out. ptr32 loads are zero-extended on 64-bit ports and signed on 32-bit
    # ones, so each loaded value is sign-extended with (v << s) >> s: s = 32 on a 64-bit port,
    # 0 (a no-op) on a 32-bit one; all other arithmetic is then the same on both.
    s = 1
    s = s << 31  # a machine int, negative on 32-bit ports (a constant 1 << 31 is an object)
    if s > 0:
        s = 32
    else:
        s = 0
    n = m[2]
    wide = m[1]
    start = 0
    while start < n:
        c = n - start
        if wide:
            b = ptr32(uint(out) + 4 * start)
        else:
            b = buf
            if c > m[3]:
                c = m[3]
        xs = ptr16(uint(x) + 2 * start)
        i = 0
        while i < c:
            b[i] = ((xs[i] ^ 0x8000) - 0x8000) << 8
            i += 1
        p = ptr32(uint(m) + 16)
        k = m[0]
        while k > 0:
            nb0 = (p[0] << s) >> s
            nb1 = (p[1] << s) >> s
            nb2 = (p[2] << s) >> s
            na1 = (p[3] << s) >> s
            na2 = (p[4] << s) >> s
            ra1 = (p[8] << s) >> s
            ra2 = (p[9] << s) >> s
            sh = p[10]
            mask = (1 << sh) - 1
            bias = (p[11] << s) >> s
            e1 = p[12]
            e2 = p[13]
            u1 = (p[14] << s) >> s
            u2 = (p[15] << s) >> s
            y1 = (p[30] << s) >> s
            y2 = (p[31] << s) >> s
            i = 0
            if p[5] or p[6] or p[7]:  # a numerator with residuals
                rb0 = (p[5] << s) >> s
                rb1 = (p[6] << s) >> s
                rb2 = (p[7] << s) >> s
                while i < c:
                    u = (b[i] << s) >> s
                    # |L| <= 4095 * sum|r| + (2**F - 1) * sum|na| + |bias| < 2**31
                    lo = rb0 * (u & 4095) + rb1 * (u1 & 4095) + rb2 * (u2 & 4095) \
                        - ra1 * (y1 & 4095) - ra2 * (y2 & 4095) - na1 * e1 - na2 * e2 + bias
                    # |H| <= sum|r| * max|v >> 12| + |L| / 4096 < 2**31
                    hi = rb0 * (u >> 12) + rb1 * (u1 >> 12) + rb2 * (u2 >> 12) \
                        - ra1 * (y1 >> 12) - ra2 * (y2 >> 12) + (lo >> 12)
                    e2 = e1
                    e1 = ((hi & mask) << 12) | (lo & 4095)
                    # every partial sum <= |H| >> (F-12) + sum|nb| |u| + sum|na| |y| < 2**31
                    y = (hi >> sh) + nb0 * u + nb1 * u1 + nb2 * u2 - na1 * y1 - na2 * y2
                    b[i] = y
                    u2 = u1
                    u1 = u
                    y2 = y1
                    y1 = y
                    i += 1
            elif nb0 == 1 and nb1 == -2 and nb2 == 1 and na1 == -2 and na2 == 1:
                # the usual high-pass section (double zero at DC, poles near z = 1): the integer
                # parts as additions; bias = 0
                while i < c:
                    u = (b[i] << s) >> s
                    lo = e1 + e1 - e2 - ra1 * (y1 & 4095) - ra2 * (y2 & 4095)
                    hi = (lo >> 12) - ra1 * (y1 >> 12) - ra2 * (y2 >> 12)
                    e2 = e1
                    e1 = ((hi & mask) << 12) | (lo & 4095)
                    y = (hi >> sh) + u - u1 - u1 + u2 + y1 + y1 - y2
                    b[i] = y
                    u2 = u1
                    u1 = u
                    y2 = y1
                    y1 = y
                    i += 1
            else:  # another integer numerator: no residual products for it
                while i < c:
                    u = (b[i] << s) >> s
                    lo = bias - ra1 * (y1 & 4095) - ra2 * (y2 & 4095) - na1 * e1 - na2 * e2
                    hi = (lo >> 12) - ra1 * (y1 >> 12) - ra2 * (y2 >> 12)
                    e2 = e1
                    e1 = ((hi & mask) << 12) | (lo & 4095)
                    y = (hi >> sh) + nb0 * u + nb1 * u1 + nb2 * u2 - na1 * y1 - na2 * y2
                    b[i] = y
                    u2 = u1
                    u1 = u
                    y2 = y1
                    y1 = y
                    i += 1
            p[12] = e1
            p[13] = e2
            p[14] = u1
            p[15] = u2
            if k == 1:  # the cascade's output history; a next section keeps its input history itself
                p[30] = y1
                p[31] = y2
            p = ptr32(uint(p) + 64)
            k -= 1
        if not wide:
            o = ptr16(uint(out) + 2 * start)
            i = 0
            while i < c:
                y = (((b[i] << s) >> s) + 128) >> 8
                if y > 32767:
                    y = 32767
                elif y < -32768:
                    y = -32768
                o[i] = y
                i += 1
        start += c


def _is_int_array(a, bits):
    # True if ``a`` is an array.array of signed ``bits``-bit integers ('h' or 'i').
    return arrays.typecode(a) == ("h" if bits == 16 else "i")


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
        m[3] = _CHUNK
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
            m[o + 11] = (1 + c[3] + c[4]) << (f - 1)  # rounding, and the residue's offset
        self._m = m
        self._buf = array.array("i", bytearray(4 * _CHUNK))
        self.n_sections = ns
        self.sos = sos
        self.fs = fs
        self.name = name
        self._x = self._out = None

    def reset(self):
        """Forget the past: the next block starts from silence."""
        m = self._m
        for k in range(self.n_sections + 1):
            o = _HEAD + _STRIDE * k
            for j in range(12, 16):
                m[o + j] = 0

    def process(self, x, out=None):
        """Filter ``x`` (``array('h')``, one block of a stream) and return the output: ``x``
        itself (in place) when ``out`` is None, else ``out``, an ``array('h')`` (rounded,
        saturated int16) or ``array('i')`` (int32 with 8 fractional bits) of ``len(x)``.
        The state carries over, so a stream cut into blocks of any sizes gives the same output."""
        if x is not self._x or out is not self._out:
            self._check(x, out)
        m = self._m
        m[2] = len(x)
        _run(m, x, x if out is None else out, self._buf)
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
