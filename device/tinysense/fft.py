"""Real FFT of 64..1024 int16 samples in fixed point, power spectrum, Hann window.

    f = fft.RFFT(256)
    x = array.array("h", samples)       # int16, length 256
    spec = array.array("h", [0] * 258)  # re, im of bins 0..128
    e = f.forward(x, spec)              # numpy.fft.rfft(x)[k] ~= (spec[2k] + 1j*spec[2k+1]) * 2**e
    pw = array.array("i", [0] * 129)
    e2 = f.power(x, pw)                 # abs(numpy.fft.rfft(x)[k])**2 ~= pw[k] * 2**e2

The N-point real FFT is an N/2-point complex FFT of the even/odd samples packed as re/im (a
multiply-free radix-4 first pass that also reads the input in bit-reversed order, radix-4
passes, one radix-2 pass when log2(N/2) is odd), then a split pass that separates the two
halves. Data stay int16 between passes; each butterfly works in full precision in a 32-bit int
and rounds once when it stores.

Scaling is block floating point. Every pass knows A, the largest |value| it reads (tracked
while the previous pass stored them), and shifts its results right by s bits: the smallest
shift for which its worst case still fits int16.
  - Input: quiet input is first shifted left until |x| <= 2**13 (the exponent goes negative),
    so a -80 dBFS signal keeps the relative precision of a full-scale one.
  - First pass (twiddles 1 and -i, sums of four values): s = 0 for A <= 2**13, 1 for
    A <= 2**14, else 2; round half down keeps -32768..32767.
  - Radix-2 pass (a +- w*b grows a component at most 1 + sqrt(2) times): s = 0 for
    A <= 13568, 1 for A <= 27136, else 2.
  - Radix-4 passes (growth at most 1 + 3 sqrt(2) = 5.243): s = 0 for A <= 6240, 1 for
    A <= 12480, 2 for A <= 24960, else 3.
  - Split (|X[k]| <= 2A): s = 0 for A <= 16376, 1 for A <= 32752, else 2; |out| < 32760.
The exponent e that forward() returns is the sum of the shifts minus the left shift:
numpy.fft.rfft(x) ~= out * 2**e; the largest output stays above 2**11 at any input level.
Error (tests/device/test_fft.py): below -70 dB of max|x| * N/2 in every bin, below -78 dB RMS,
for N = 64..1024 at any level. Halving at every pass instead (no block floating point) does as
well for a full-scale sine but is ~35 dB worse at -40 dBFS and has errors as large as the
signal at -80 dBFS.

32-bit bounds (viper ints are 32 bits on a microcontroller): twiddles are Q15 with 1.0 = 32768
(cos stored minus 1 in int16, sin unsigned), |w| <= 1.0000172; a twiddle product sum
c*br + s*bi <= |w| * |b| <= 32768.6 * sqrt(2) * 32768 < 1.52e9 < 2**31 (so -32768 * -32768
terms are fine); sums before a shift stay below 5.25 * 32768 + 8 < 2**18; the split
multiplies values |g| <= sqrt(2) * 32752: < 1.52e9. Power re*re + im*im < 2**30.
"""

import array
import micropython

from . import arrays

# round(32768 * sin(2*pi*i/1024)) for i = 0..256, uint16 little endian: the quarter wave every
# table is read from, so that twiddles and windows are the same integers on every port
# (float32 and float64 cos can round differently).
_SIN = (
    b'\x00\x00\xc9\x00\x92\x01[\x02$\x03\xed\x03\xb6\x04\x7f\x05H\x06\x11\x07\xd9\x07\xa2\x08k\t3\n\xfb\n\xc4\x0b\x8c\x0cT\r\x1c\x0e\xe4\x0e'
    b'\xab\x0fs\x10:\x11\x01\x12\xc8\x12\x8f\x13U\x14\x1c\x15\xe2\x15\xa8\x16n\x173\x18\xf9\x18\xbe\x19\x83\x1aG\x1b\x0c\x1c\xd0\x1c\x93\x1dW\x1e'
    b'\x1a\x1f\xdd\x1f\x9f b!$"\xe5"\xa7#g$(%\xe8%\xa8&h\'\'(\xe5(\xa4)b*\x1f+\xdc+\x99,U-'
    b"\x11.\xcc.\x87/B0\xfc0\xb51n2'3\xdf3\x974N5\x046\xba6p7%8\xd98\x8d9@:\xf3:\xa5;"
    b'W<\x08=\xb8=h>\x17?\xc6?t@!A\xceAzB&C\xd1C{D$E\xcdEuF\x1dG\xc4GjH\x0fI'
    b'\xb4IXJ\xfbJ\x9eK@L\xe1L\x81M!N\xc0N^O\xfbO\x98P4Q\xcfQiR\x03S\x9bS3T\xcaT`U'
    b'\xf6U\x8aV\x1eW\xb1WCX\xd4XdY\xf4Y\x82Z\x10[\x9d[)\\\xb4\\>]\xc8]P^\xd7^^_\xe4_h`'
    b'\xec`oa\xf1arb\xf2bqc\xefcld\xe9dde\xdeeWf\xd0fGg\xbdg2h\xa7h\x1ai\x8ci\xfdi'
    b'nj\xddjKk\xb8k$l\x8fl\xf9lbm\xcam1n\x97n\xfbn_o\xc2o#p\x83p\xe3pAq\x9eq\xfaq'
    b'Ur\xafr\x08s_s\xb6s\x0bt`t\xb3t\x05uVu\xa6u\xf4uBv\x8ev\xd9v#wlw\xb4w\xfbw@x'
    b"\x85x\xc8x\nyJy\x8ay\xc9y\x06zBz}z\xb7z\xefz'{]{\x92{\xc6{\xf9{*|Z|\x89|\xb7|"
    b'\xe4|\x0f}:}c}\x8a}\xb1}\xd6}\xfb}\x1e~?~`~\x7f~\x9d~\xba~\xd6~\xf0~\n\x7f"\x7f8\x7fN\x7f'
    b'b\x7fu\x7f\x87\x7f\x98\x7f\xa7\x7f\xb5\x7f\xc2\x7f\xce\x7f\xd9\x7f\xe2\x7f\xea\x7f\xf1\x7f\xf6\x7f\xfa\x7f\xfe\x7f\xff\x7f\x00\x80'
)


@micropython.viper
def _rfft(pa: ptr16, pb: ptr16, t: ptr16, n: int) -> int:
    # On entry pa is the output z (2n + 2 int16), pb the input x (2n int16); t holds n
    # bit-reversed input offsets, then n twiddle pairs (cos(2 pi k / 2n) * 32768 - 1,
    # sin * 32768). Returns the exponent. pa and pb are then reused as the cursors of every
    # pass: .mpy code keeps only a function's first two locals in registers.
    z = uint(pa)
    x = uint(pb)
    nn = n + n
    zend = z + uint(nn + nn)
    m = 0
    while uint(pb) < x + uint(nn + nn):  # largest |x| (ones' complement: -v - 1 for v < 0)
        v = (pb[0] ^ 0x8000) - 0x8000
        if (v ^ (v >> 31)) > m:
            m = v ^ (v >> 31)
        pb = ptr16(uint(pb) + 2)
    up = 0
    s = 0
    if m >= 0x4000:
        s = 2
    elif m >= 0x2000:
        s = 1
    else:  # also all-zero input (then out is all zero and e is -12)
        b = m + 1
        while b <= 0x1000:  # normalise: afterwards |x << up| <= 2**13
            b += b
            up += 1
    e = s - up
    # Passes 1 and 2 (twiddles 1 and -i) read x in bit-reversed order. A sum of four values of
    # |v| <= 2**13 * 2**s lies in [-2**15 * 2**s, 2**15 * 2**s - 4]; with round half down
    # (r = 2**s / 4) it stores in [-32768, 32767].
    r = (1 << s) >> 2
    m = 0
    pb = ptr16(x)
    q = t
    while uint(pa) < zend:
        k = q[0]
        x0r = (pb[k] ^ 0x8000) - 0x8000
        x0i = (pb[k + 1] ^ 0x8000) - 0x8000
        k = q[1]
        x1r = (pb[k] ^ 0x8000) - 0x8000
        x1i = (pb[k + 1] ^ 0x8000) - 0x8000
        k = q[2]
        x2r = (pb[k] ^ 0x8000) - 0x8000
        x2i = (pb[k + 1] ^ 0x8000) - 0x8000
        k = q[3]
        x3r = (pb[k] ^ 0x8000) - 0x8000
        x3i = (pb[k + 1] ^ 0x8000) - 0x8000
        q = ptr16(uint(q) + 8)
        a0r = x0r + x1r
        a0i = x0i + x1i
        a1r = x0r - x1r
        a1i = x0i - x1i
        a2r = x2r + x3r
        a2i = x2i + x3i
        a3r = x2r - x3r
        a3i = x2i - x3i
        v = (((a0r + a2r) << up) + r) >> s
        pa[0] = v
        if (v ^ (v >> 31)) > m:
            m = v ^ (v >> 31)
        v = (((a0i + a2i) << up) + r) >> s
        pa[1] = v
        if (v ^ (v >> 31)) > m:
            m = v ^ (v >> 31)
        v = (((a1r + a3i) << up) + r) >> s
        pa[2] = v
        if (v ^ (v >> 31)) > m:
            m = v ^ (v >> 31)
        v = (((a1i - a3r) << up) + r) >> s
        pa[3] = v
        if (v ^ (v >> 31)) > m:
            m = v ^ (v >> 31)
        v = (((a0r - a2r) << up) + r) >> s
        pa[4] = v
        if (v ^ (v >> 31)) > m:
            m = v ^ (v >> 31)
        v = (((a0i - a2i) << up) + r) >> s
        pa[5] = v
        if (v ^ (v >> 31)) > m:
            m = v ^ (v >> 31)
        v = (((a1r - a3i) << up) + r) >> s
        pa[6] = v
        if (v ^ (v >> 31)) > m:
            m = v ^ (v >> 31)
        v = (((a1i + a3r) << up) + r) >> s
        pa[7] = v
        if (v ^ (v >> 31)) > m:
            m = v ^ (v >> 31)
        pa = ptr16(uint(pa) + 16)
    # One radix-2 pass (butterflies of complex values 4 apart) when log2(n) is odd, so that
    # radix-4 passes finish the job. Every value read obeys |v| <= A = m + 1; s is the smallest
    # shift for which the largest result, (A + 1.0000172 * sqrt(2) * A + 0.5 + r) >> s, fits
    # int16: s = 0 for A <= 13568, 1 for A <= 27136, else 2 (A <= 32768 gives < 19,780).
    tw = ptr16(uint(t) + uint(nn))
    hh = 8  # int16 entries between the two values of a butterfly
    b = 4
    odd = 0
    while b < n:
        b += b
        odd ^= 1
    if odd:
        s = 0
        if m >= 27136:
            s = 2
        elif m >= 13568:
            s = 1
        r = (1 << s) >> 1
        e += s
        m = 0
        ts = n >> 1  # twiddle table step (int16 entries) per butterfly column
        j = 0
        w = 0
        while j < hh:
            c = (tw[w] ^ 0x8000) - 0x7FFF  # cos * 32768, in [-32768, 32768]
            sn = tw[w + 1]  # sin * 32768, in [0, 32768]
            pa = ptr16(z + uint(j + j))
            pb = ptr16(uint(pa) + uint(hh + hh))
            while uint(pa) < zend:
                br = (pb[0] ^ 0x8000) - 0x8000
                bi = (pb[1] ^ 0x8000) - 0x8000
                tr = (c * br + sn * bi + 0x4000) >> 15  # |c*br + sn*bi| < 1.52e9 < 2**31
                ti = (c * bi - sn * br + 0x4000) >> 15
                ar = (pa[0] ^ 0x8000) - 0x8000
                ai = (pa[1] ^ 0x8000) - 0x8000
                v = (ar + tr + r) >> s
                pa[0] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                v = (ai + ti + r) >> s
                pa[1] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                v = (ar - tr + r) >> s
                pb[0] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                v = (ai - ti + r) >> s
                pb[1] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                pa = ptr16(uint(pa) + uint(hh + hh + hh + hh))
                pb = ptr16(uint(pb) + uint(hh + hh + hh + hh))
            j += 2
            w += ts
        hh += hh
    # Radix-4 passes (two radix-2 stages at once) on x0..x3, hh int16 entries apart, with
    # W = exp(-2 pi i jc / 2hh) for column jc: b1 = W**2 x1, b2 = W x2, b3 = W**3 x3, then
    # y0 = x0 + b1 + (b2 + b3), y2 = x0 + b1 - (b2 + b3), y1 = x0 - b1 - i(b2 - b3),
    # y3 = x0 - b1 + i(b2 - b3). A component grows at most 1 + 3 * 1.0000172 * sqrt(2) =
    # 5.2427 times (+1.5 from rounding): s = 0 for A <= 6240, 1 for A <= 12480, 2 for
    # A <= 24960, else 3 (A <= 32768 gives < 21,480).
    tj = n >> 3  # int16 offset of W in the table per column step (j += 2): n / hh
    if odd:
        tj = n >> 4
    while hh < nn:
        s = 0
        if m >= 24960:
            s = 3
        elif m >= 12480:
            s = 2
        elif m >= 6240:
            s = 1
        r = (1 << s) >> 1
        e += s
        m = 0
        j = 0
        while j < hh:
            w = j * tj  # W, W**2 at int16 offsets w, 2w; W**3 at 3w, past the half turn if >= nn
            c1 = (tw[w] ^ 0x8000) - 0x7FFF
            s1 = tw[w + 1]
            c2 = (tw[w + w] ^ 0x8000) - 0x7FFF
            s2 = tw[w + w + 1]
            k = w + w + w
            if k < nn:
                c3 = (tw[k] ^ 0x8000) - 0x7FFF
                s3 = tw[k + 1]
            else:  # W**3 = -(the entry half a turn back)
                k -= nn
                c3 = 0x7FFF - (tw[k] ^ 0x8000)
                s3 = 0 - tw[k + 1]
            pa = ptr16(z + uint(j + j))
            pb = ptr16(uint(pa) + uint(hh + hh + hh + hh))
            while uint(pa) < zend:
                x0r = (pa[0] ^ 0x8000) - 0x8000
                x0i = (pa[1] ^ 0x8000) - 0x8000
                v = (pa[hh] ^ 0x8000) - 0x8000
                a = (pa[hh + 1] ^ 0x8000) - 0x8000
                b1r = (c2 * v + s2 * a + 0x4000) >> 15  # each product sum < 1.52e9 < 2**31
                b1i = (c2 * a - s2 * v + 0x4000) >> 15
                v = (pb[0] ^ 0x8000) - 0x8000
                a = (pb[1] ^ 0x8000) - 0x8000
                b2r = (c1 * v + s1 * a + 0x4000) >> 15
                b2i = (c1 * a - s1 * v + 0x4000) >> 15
                v = (pb[hh] ^ 0x8000) - 0x8000
                a = (pb[hh + 1] ^ 0x8000) - 0x8000
                b3r = (c3 * v + s3 * a + 0x4000) >> 15
                b3i = (c3 * a - s3 * v + 0x4000) >> 15
                t0r = x0r + b1r + r
                t0i = x0i + b1i + r
                t1r = x0r - b1r + r
                t1i = x0i - b1i + r
                t2r = b2r + b3r
                t2i = b2i + b3i
                t3r = b2r - b3r
                t3i = b2i - b3i
                v = (t0r + t2r) >> s
                pa[0] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                v = (t0i + t2i) >> s
                pa[1] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                v = (t0r - t2r) >> s
                pb[0] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                v = (t0i - t2i) >> s
                pb[1] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                v = (t1r + t3i) >> s
                pa[hh] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                v = (t1i - t3r) >> s
                pa[hh + 1] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                v = (t1r - t3i) >> s
                pb[hh] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                v = (t1i + t3r) >> s
                pb[hh + 1] = v
                if (v ^ (v >> 31)) > m:
                    m = v ^ (v >> 31)
                pa = ptr16(uint(pa) + uint(hh << 3))
                pb = ptr16(uint(pb) + uint(hh << 3))
            j += 2
        hh = hh << 2
        tj = tj >> 2
    # Split: X[k] = (Fe - i W^k Fo) / 2 with Fe = Z[k] + conj Z[n-k], Fo = Z[k] - conj Z[n-k],
    # W = exp(-2 pi i / 2n); bins k and n-k together, in place; bin n goes to z[2n], z[2n+1].
    # |X| <= (|Fe| + |Fo|) / 2 <= sqrt(|Z[k]|**2 + |Z[n-k]|**2) <= 2A, so s = 0 for A <= 16376,
    # 1 for A <= 32752, else 2 keeps |out| < 32760.
    s = 0
    if m >= 32752:
        s = 2
    elif m >= 16376:
        s = 1
    e += s
    d = s + 1
    r = 1 << s
    q = ptr16(z)
    ar = (q[0] ^ 0x8000) - 0x8000
    ai = (q[1] ^ 0x8000) - 0x8000
    q[0] = ((ar + ai) * 2 + r) >> d
    q[1] = 0
    q[nn] = ((ar - ai) * 2 + r) >> d
    q[nn + 1] = 0
    ar = (q[n] ^ 0x8000) - 0x8000
    ai = (q[n + 1] ^ 0x8000) - 0x8000
    q[n] = (ar * 2 + r) >> d  # X[n/2] = conj Z[n/2]
    q[n + 1] = (r - ai * 2) >> d
    pa = ptr16(z + 4)  # bin k = 1
    pb = ptr16(zend - 4)  # bin n - 1
    q = ptr16(uint(tw) + 4)  # W^1
    r2 = (1 << s) >> 1
    while uint(pa) < uint(pb):
        ar = (pa[0] ^ 0x8000) - 0x8000
        ai = (pa[1] ^ 0x8000) - 0x8000
        br = (pb[0] ^ 0x8000) - 0x8000
        bi = (pb[1] ^ 0x8000) - 0x8000
        fr = ar + br  # Fe
        fi = ai - bi
        gr = (ar - br + r2) >> s  # Fo / 2**s: |gr|, |gi| <= 32752
        gi = (ai + bi + r2) >> s
        c = (q[0] ^ 0x8000) - 0x7FFF
        sn = q[1]
        q = ptr16(uint(q) + 4)
        tr = ((sn * gr - c * gi + 0x4000) >> 15) << s  # |sn*gr - c*gi| < 1.52e9 < 2**31
        ti = ((sn * gi + c * gr + 0x4000) >> 15) << s
        pa[0] = (fr - tr + r) >> d
        pa[1] = (fi - ti + r) >> d
        pb[0] = (fr + tr + r) >> d
        pb[1] = (r - fi - ti) >> d
        pa = ptr16(uint(pa) + 4)
        pb = ptr16(uint(pb) - 4)
    return e


@micropython.viper
def _power(z: ptr16, p: ptr32, n: int):
    # p[k] = re*re + im*im of the n values (re, im) in z: |(re, im)| < 32760, so < 2**30
    k = 0
    i = 0
    while k < n:
        a = (z[i] ^ 0x8000) - 0x8000
        b = (z[i + 1] ^ 0x8000) - 0x8000
        p[k] = a * a + b * b
        k += 1
        i += 2


@micropython.viper
def _window(x: ptr16, w: ptr16, n: int):
    # x[k] = round(x[k] * w[k] / 32768): |x| <= 32768, 0 <= w <= 32767, product < 2**30
    k = 0
    while k < n:
        x[k] = (((x[k] ^ 0x8000) - 0x8000) * w[k] + 0x4000) >> 15
        k += 1


def _quarter(k):
    # round(32768 * sin(2*pi*k/1024)) for 0 <= k <= 256
    return _SIN[k + k] | _SIN[k + k + 1] << 8


def _cos_sin(u):
    # round(32768 * cos(2*pi*u/1024)), round(32768 * sin(...)) for 0 <= u < 512
    if u <= 256:
        return _quarter(256 - u), _quarter(u)
    return -_quarter(u - 256), _quarter(512 - u)


def _check_n(n):
    if type(n) is not int:
        raise TypeError("n must be an int, not %s" % type(n).__name__)
    if n < 64 or n > 1024 or n & (n - 1):
        raise ValueError("n must be a power of two from 64 to 1024, not %d" % n)


def _check_array(a, name, typecode, length):
    # typecode 'h' (int16) or 'i' (int32), found by what the array stores: MicroPython's arrays
    # have no typecode attribute. Raises TypeError / ValueError naming what is expected.
    what = "array('%s') of %d %s" % (typecode, length, "int16" if typecode == "h" else "int32")
    if type(a) is not array.array:
        raise TypeError("%s must be %s, not %s" % (name, what, type(a).__name__))
    if len(a) != length:
        raise ValueError("%s has %d values; expected %s" % (name, len(a), what))
    if arrays.typecode(a) != typecode:
        raise TypeError("%s must be %s" % (name, what))


class RFFT:
    """Real FFT of ``n`` int16 samples (``n`` a power of two, 64..1024); tables are made once.

    Attributes: ``n`` (the FFT length), ``bins`` (``n // 2 + 1``, the number of output bins).
    """

    def __init__(self, n):
        _check_n(n)
        self.n = n
        self.bins = n // 2 + 1
        h = n // 2
        bits = 0
        while 1 << bits < h:
            bits += 1
        t = array.array("h", bytearray(6 * h))
        for j in range(h):
            r = 0
            for b in range(bits):
                r |= ((j >> b) & 1) << (bits - 1 - b)
            t[j] = 2 * r
        step = 1024 // n
        for k in range(h):
            c, s = _cos_sin(k * step)
            t[h + 2 * k] = c - 1
            t[h + 2 * k + 1] = s - 65536 if s > 32767 else s
        self._t = t
        self._z = array.array("h", bytearray(2 * n + 4))
        self._seen = [None, None, None]

    def _check_x(self, x):
        if x is not self._seen[0]:
            _check_array(x, "x", "h", self.n)
            self._seen[0] = x

    def forward(self, x, out):
        """Complex spectrum of ``x`` (``array('h')``, n samples) into ``out`` (``array('h')``,
        n + 2 values: re, im of bins 0..n/2). Returns the exponent e: the spectrum is
        ``out * 2**e`` on numpy.fft.rfft's scale. Allocates nothing."""
        self._check_x(x)
        if out is not self._seen[1]:
            _check_array(out, "out", "h", self.n + 2)
            self._seen[1] = out
        return _rfft(out, x, self._t, self.n >> 1)

    def power(self, x, out):
        """Power spectrum of ``x`` (``array('h')``, n samples) into ``out`` (``array('i')``, n/2
        + 1 values, each < 2**30). Returns the exponent p: ``abs(rfft(x)[k])**2`` is
        ``out[k] * 2**p``. Allocates nothing."""
        self._check_x(x)
        if out is not self._seen[2]:
            _check_array(out, "out", "i", self.bins)
            self._seen[2] = out
        e = _rfft(self._z, x, self._t, self.n >> 1)
        _power(self._z, out, self.bins)
        return e + e


def hann(n):
    """Periodic Hann window of ``n`` points (power of two, 64..1024) as ``array('h')`` in Q15:
    ``round(32768 * (1 - cos(2*pi*k/n)) / 2)``, the centre value 1.0 stored as 32767."""
    _check_n(n)
    w = array.array("h", bytearray(2 * n))
    step = 1024 // n
    for k in range(n):
        u = (k * step) % 1024
        c = _cos_sin(u)[0] if u < 512 else _cos_sin(1024 - u)[0]
        v = (32769 - c) >> 1
        w[k] = 32767 if v > 32767 else v
    return w


_wseen = [None, None]  # the last (x, w) pair apply_window checked


def apply_window(x, w):
    """Multiply ``x`` (``array('h')``) in place by the Q15 window ``w`` (``array('h')`` of the
    same length, values 0..32767, e.g. from :func:`hann`), rounding to nearest. The arrays are
    checked once and remembered, so repeated calls allocate nothing."""
    if x is not _wseen[0] or w is not _wseen[1]:
        if type(x) is not array.array or type(w) is not array.array:
            raise TypeError("x and w must be array('h')")
        if len(x) != len(w) or not len(x):
            raise ValueError("x has %d values but the window %d" % (len(x), len(w)))
        _check_array(x, "x", "h", len(x))
        _check_array(w, "w", "h", len(w))
        _wseen[0] = x
        _wseen[1] = w
    _window(x, w, len(x))
