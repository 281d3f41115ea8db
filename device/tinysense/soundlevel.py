"""Sound level meter: per-block Leq, Fast and Slow time-weighted levels, and Leq, Lmax, Lmin
over an interval, in dB SPL from int16 microphone blocks.

    from tinysense import iir, soundlevel
    meter = soundlevel.Meter(16000, sensitivity=-26.0, weighting=iir.load("aweighting.tsf"))
    meter.process(block)        # array('h'): A-weights in place, then updates every level
    meter.leq_block()           # LAeq of the last block, dB SPL (a float: call it from the main loop)
    meter.fast(), meter.slow()  # LAF, LAS
    meter.interval()            # None, or (Leq, Lmax, Lmin, seconds) of the interval that just ended

Calibration: ``sensitivity`` is the level in dBFS that a ``ref_spl`` (94 dB SPL, 1 Pa) tone
reads, with 0 dBFS the level of a full-scale sine (mean square 2**29). So dB SPL = dBFS -
sensitivity + ref_spl. Without ``weighting`` the levels are unweighted (Z).

Time weighting runs in sub-blocks of 4 ms (64 samples at 16 kHz; the block's last sub-block
may be shorter) on their mean square: E = a * E + (1 - a) * ms with a = exp(-T / tau), T the
sub-block's duration, tau 0.125 s (Fast) or 1 s (Slow): IEC 61672-1's exponential averaging,
with the samples of one 4 ms sub-block weighted alike (a Fast tone burst of 2 ms reads within
0.3 dB of the standard's response). The first sub-block starts Fast and Slow at its own level.
Lmax and Lmin are the extremes of the Fast level at sub-block ends over the interval; Leq is the
exact energy mean over the interval's samples. Fast and Slow are reported after each block.

No allocation per block: :meth:`Meter.process` makes no object. Levels live in integers: log2 of
the energy relative to the reference, in Q16 (one unit = 10*log10(2)/65536 = 4.6e-5 dB). One
viper call per block sums the squares exactly (as :mod:`tinysense.rms`), takes log2 of the
integer sums with a 256-entry table and linear interpolation (error < 1e-5 dB), and adds
energies in the log domain with a table of log2(1 + 2**-d) (step 1/32), rounding to nearest and
carrying 16 more fraction bits of each step's decay, so that Slow's 250 steps per second do not
accumulate a bias (measured: within 0.005 dB of a float64 meter). Every intermediate is below
2**31 (stated at each step); a Cortex-M3 runs a 2000-sample block in about 115,000 instructions.
Reading a level converts it to a float (allocates).
"""

import array
import math
import micropython

from . import rms

# Levels are stored biased by 2**28 so that every stored value is >= 0: viper's ptr32 loads
# are zero-extended on x64 and signed on 32-bit targets, and agree only for values >= 0. The
# floor (zero energy) is 2**27, i.e. log2 = -2**27 / 65536 = -2048; real levels are > -100.
# Biased levels stay below 2**30, so reading them in Python makes no big int on 32-bit ports.
_B = 1 << 28
_FLOOR = 1 << 27
_DB = 10 * math.log10(2) / 65536  # dB per Q16 log2 unit

# state layout (array('i')): block accumulator, interval accumulator, levels, settings, latch
_BLK, _ACC = 0, 3  # 3 limbs each (rms.sumsq)
_LBLK, _LF, _LS, _LMAX, _LMIN = 6, 7, 8, 9, 10
_OFF, _LAF, _L1AF, _LAS, _L1AS = 11, 12, 13, 14, 15
_START, _N, _COUNT, _PERIOD, _READY = 16, 17, 18, 19, 20
_DONE = 21  # latched interval: limbs (3), count, Lmax, Lmin
_SUB, _OFFSUB = 27, 28  # sub-block length; offsets for a full and for the last sub-block (28, 29)
_LAR = 30  # -log2(a), -log2(1-a) of Fast and Slow for the last, shorter sub-block (30..33)
_LAFRAC = 34  # next 16 fraction bits of a full sub-block's -log2(a), Fast and Slow (34, 35),
_SIZE = 38  # and their running sums (36, 37): the decay per step is exact on average
SUBBLOCK_MS = 4  # time-weighting step


def _tables():
    t = array.array("H", bytearray(2 * (256 + 769)))
    for i in range(256):
        t[i] = int(math.log(1 + i / 256) / math.log(2) * 65536 + 0.5)
    for j in range(769):
        t[256 + j] = min(65535, int(math.log(1 + 2 ** (-j / 32)) / math.log(2) * 65536 + 0.5))
    return t


_TAB = _tables()


@micropython.viper
def _block(x: ptr16, n: int, st: ptr32, tab: ptr16):
    # One block: for each sub-block (st[27] samples, even; the last may be shorter) the exact
    # sum of squares (two samples per 32-bit load: a pair <= 2**31 is exact as uint32, a < 2**30
    # before each pair, c counts the 2**30s, c <= 2**16), its log2, the Fast and Slow updates and
    # Lmax/Lmin; then the block's Leq from the block sum (15-bit limbs st[0..2]) and the interval
    # sum (st[3..5]). Every stored value is >= 0 (see the module notes).
    # The sum of squares (as rms._sumsq) is written out here, not called: a viper-to-viper call
    # passes pointers as int objects, and on ports whose RAM lies above 2**30 (ESP32) each such
    # int is a heap object, so a call per sub-block would allocate. The log2 step is repeated
    # for the block sum below for the same one-call-per-block shape.
    g = ptr16(uint(tab) + 512)
    m = st[27]
    pos = 0
    while pos < n:
        r = n - pos
        base = 12  # -log2(a), -log2(1-a) of Fast and Slow for a full sub-block
        off = st[28]
        if r >= m:
            r = m
        else:  # the block's last, shorter sub-block
            base = 30
            off = st[29]
        a = uint(0)
        c = 0
        p = ptr32(uint(x) + 2 * pos)
        end = uint(p) + 4 * (r >> 1)
        while uint(p) < end:
            w = p[0]
            v = ((w & 0xFFFF) ^ 0x8000) - 0x8000
            u = (((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000
            a += uint(v * v + u * u)
            c += int(a >> 30)
            a &= 0x3FFFFFFF
            p = ptr32(uint(p) + 4)
        if r & 1:
            v = (x[pos + r - 1] ^ 0x8000) - 0x8000
            a += uint(v * v)
            c += int(a >> 30)
            a &= 0x3FFFFFFF
        pos += r
        low = int(a)
        b0 = st[0] + (low & 0x7FFF)
        b1 = st[1] + (low >> 15) + (b0 >> 15)
        st[0] = b0 & 0x7FFF
        st[2] = st[2] + c + (b1 >> 15)
        st[1] = b1 & 0x7FFF
        # log2 of c * 2**30 + low in Q16 (c < 2**17, low < 2**30): a 24-bit mantissa m24 and
        # its exponent e, table lookup with linear interpolation; plus the biased offset
        if c > 0:
            k = 0
            t = c
            while t > 0:
                t = t >> 1
                k += 1
            m24 = (c << (24 - k)) | (low >> (6 + k))
            e = 6 + k
        elif low > 0:
            k = 0
            t = low
            while t > 0:
                t = t >> 1
                k += 1
            if k <= 24:
                m24 = low << (24 - k)
            else:
                m24 = low >> (k - 24)
            e = k - 24
        else:
            m24 = 0
            e = 0
        if m24 == 0:
            lv = 134217728  # the floor
        else:
            i = (m24 >> 15) & 255
            t1 = 65536
            if i < 255:
                t1 = tab[i + 1]
            # (t1 - t0) <= 370, times < 2**15: < 2**24; log2 < 2**23; biased offset < 2**29
            lv = ((e + 23) << 16) + tab[i] + (((t1 - tab[i]) * (m24 & 0x7FFF) + 16384) >> 15) + off
            if lv < 134217728:
                lv = 134217728
        # Fast and Slow: E = a*E + (1-a)*ms as log2-add of (LE - la) and (lv - l1a)
        if st[16] == 0:
            st[7] = lv
            st[8] = lv
            st[16] = 1
        else:
            j = 0
            while j < 2:
                x1 = st[7 + j] - st[base + 2 * j]
                if base == 12:  # -log2(a) has 16 more fraction bits in st[34 + j], carried here
                    fr = st[36 + j] + st[34 + j]
                    x1 -= fr >> 16
                    st[36 + j] = fr & 0xFFFF
                y1 = lv - st[base + 1 + 2 * j]
                if x1 < y1:
                    t = x1
                    x1 = y1
                    y1 = t
                d = x1 - y1  # 0 <= d < 2**30: both in (2**27 - 2**22, 2**30)
                if d < (24 << 16):
                    q = d >> 11
                    # table step 2048 Q16 units; |g[q+1] - g[q]| < 2**11, times < 2**11
                    x1 += g[q] + (((g[q + 1] - g[q]) * (d & 2047) + 1024) >> 11)  # rounded
                if x1 < 134217728:
                    x1 = 134217728
                st[7 + j] = x1
                j += 1
        f = st[7]
        if f > st[9]:
            st[9] = f
        if f < st[10]:
            st[10] = f
    # --- the block's Leq: log2 of its sum (3 limbs, < 2**47) plus the block offset
    c = st[2]
    low = (st[1] << 15) | st[0]
    if c > 0:
        k = 0
        t = c
        while t > 0:
            t = t >> 1
            k += 1
        m24 = (c << (24 - k)) | (low >> (6 + k))
        e = 6 + k
    elif low > 0:
        k = 0
        t = low
        while t > 0:
            t = t >> 1
            k += 1
        if k <= 24:
            m24 = low << (24 - k)
        else:
            m24 = low >> (k - 24)
        e = k - 24
    else:
        m24 = 0
        e = 0
    if m24 == 0:
        lv = 134217728
    else:
        i = (m24 >> 15) & 255
        t1 = 65536
        if i < 255:
            t1 = tab[i + 1]
        lv = ((e + 23) << 16) + tab[i] + (((t1 - tab[i]) * (m24 & 0x7FFF) + 16384) >> 15) + st[11]
        if lv < 134217728:
            lv = 134217728
    st[6] = lv
    # --- interval sum += block sum (limbs stay < 2**15, top limb < 2**31 by contract)
    c0 = st[3] + st[0]
    c1 = st[4] + st[1] + (c0 >> 15)
    st[3] = c0 & 0x7FFF
    st[5] = st[5] + st[2] + (c1 >> 15)
    st[4] = c1 & 0x7FFF
    st[0] = 0
    st[1] = 0
    st[2] = 0


@micropython.viper
def _latch(st: ptr32):
    # The interval is complete: keep its energy, sample count, Lmax and Lmin; start the next.
    st[21] = st[3]
    st[22] = st[4]
    st[23] = st[5]
    st[24] = st[18]
    st[25] = st[9]
    st[26] = st[10]
    st[3] = 0
    st[4] = 0
    st[5] = 0
    st[18] = 0
    st[9] = 0
    st[10] = 1073741823
    st[20] = 1


class Meter:
    """A sound level meter fed with int16 blocks (see the module notes).

    Parameters: ``rate`` (samples per second); ``sensitivity`` (dBFS read for a ``ref_spl`` dB
    SPL tone, e.g. -26.0 for a typical MEMS microphone at 94 dB SPL); ``ref_spl``;
    ``weighting``, an object with ``process(x, None)`` filtering an ``array('h')`` in place
    (e.g. ``iir.load("aweighting.tsf")``) or None for unweighted (Z) levels; ``interval``,
    the seconds over which Leq, Lmax and Lmin are reported by :meth:`interval` (rounded to
    whole blocks: an interval ends with the first block that completes it).
    """

    def __init__(self, rate, sensitivity=-26.0, ref_spl=94.0, weighting=None, interval=60.0):
        if not rate > 0:
            raise ValueError("rate must be > 0 samples per second, not %r" % (rate,))
        if not interval > 0:
            raise ValueError("interval must be > 0 seconds, not %r" % (interval,))
        self.rate = rate
        self.sensitivity = sensitivity
        self.ref_spl = ref_spl
        self.weighting = weighting
        self._period = int(interval * rate + 0.5)
        if self._period >= 1 << 30:
            raise ValueError("interval too long: at most %d samples" % ((1 << 30) - 1))
        self._sub = max(2, int(rate * SUBBLOCK_MS / 1000) & ~1)  # even: pairs of samples
        self._st = array.array("i", bytearray(4 * _SIZE))
        self._n = 0
        self._x = None
        self.reset()

    def reset(self):
        """Start again: forget the time-weighted levels and the current interval."""
        st = self._st
        for i in range(_SIZE):
            st[i] = 0
        st[_LBLK] = st[_LF] = st[_LS] = _FLOOR
        st[_LMAX] = 0
        st[_LMIN] = (1 << 30) - 1
        st[_PERIOD] = self._period
        st[_SUB] = self._sub
        self._n = 0

    def _setup(self, n):
        # Per block length (once, and again only if the length changes): floats allowed here.
        st = self._st
        cal = (self.ref_spl - self.sensitivity) / (10 * math.log10(2))
        m = st[_SUB]
        last = n % m or m

        def offset(k):  # biased log2 offset for a mean over k samples
            off = int((cal - 29 - math.log(k) / math.log(2)) * 65536 + 0.5)
            if not -_B < off < _B:
                raise ValueError("calibration out of range: sensitivity %r dBFS" % (self.sensitivity,))
            return _B + off

        st[_OFF] = offset(n)
        st[_OFFSUB] = offset(m)
        st[_OFFSUB + 1] = offset(last)
        for base, k in ((_LAF, m), (_LAR, last)):
            t = k / self.rate
            for j, tau in ((0, 0.125), (2, 1.0)):
                a = math.exp(-t / tau)
                q = int(t / tau / math.log(2) * 65536 * 65536 + 0.5)  # -log2(a) in Q32
                st[base + j] = q >> 16
                if base == _LAF:
                    st[_LAFRAC + j // 2] = q & 0xFFFF
                st[base + j + 1] = int(-math.log(1 - a) / math.log(2) * 65536 + 0.5)
        st[_N] = n
        self._n = n

    def process(self, x):
        """Weight ``x`` (``array('h')``, 1..65535 samples; overwritten with the weighted signal
        when a ``weighting`` filter is set) and update every level. Allocates nothing once the
        block object and its length have been seen."""
        n = len(x)
        if x is not self._x or n == 0 or n > 65535:
            rms.check_block(x)
            self._x = x
        if n != self._n:
            self._setup(n)
        w = self.weighting
        if w is not None:
            w.process(x, None)
        st = self._st
        _block(x, n, st, _TAB)
        st[_COUNT] += n
        if st[_COUNT] >= st[_PERIOD]:
            _latch(st)

    def _db(self, k):
        v = self._st[k]
        return -math.inf if v <= _FLOOR else (v - _B) * _DB

    def leq_block(self):
        """Equivalent level of the last block, dB (LAeq with A-weighting); -inf for silence."""
        return self._db(_LBLK)

    def fast(self):
        """Fast (125 ms) time-weighted level at the end of the last block, dB (LAF)."""
        return self._db(_LF)

    def slow(self):
        """Slow (1 s) time-weighted level at the end of the last block, dB (LAS)."""
        return self._db(_LS)

    def interval(self):
        """``(Leq, Lmax, Lmin, seconds)`` in dB of the interval completed since the last call,
        or None if none has completed. Lmax/Lmin: extremes of the Fast level every 4 ms."""
        st = self._st
        if not st[_READY]:
            return None
        st[_READY] = 0
        d = _DONE
        e = (st[d + 2] << 30) + (st[d + 1] << 15) + st[d]
        n = st[d + 3]
        if e == 0:
            leq = -math.inf
        else:
            leq = 10 * math.log10(e / n / (1 << 29)) + self.ref_spl - self.sensitivity
        return leq, self._db(d + 4), self._db(d + 5), n / self.rate
