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

Time weighting is applied once per block on the mean square: E = a * E + (1 - a) * ms with a =
exp(-T / tau), T the block's duration, tau 0.125 s (Fast) or 1 s (Slow). It is the IEC
exponential average sampled at the block rate: for a level steady over a block it is the same;
a level that jumps inside a block is seen as the block's mean. The first block starts Fast and
Slow at its own level. Lmax and Lmin are the extremes of the Fast level at block ends over the
interval; Leq is the exact energy mean over the interval's samples.

No allocation per block: :meth:`Meter.process` makes no object. Levels live in integers: log2 of
the energy relative to the reference, in Q16 (one unit = 10*log10(2)/65536 = 4.6e-5 dB). A viper
kernel takes log2 of the exact integer sum of squares (:mod:`tinysense.rms`) with a 256-entry
table and linear interpolation (error < 1e-5 dB), and adds energies in the log domain with a
table of log2(1 + 2**-d) (step 1/32; error < 3e-4 dB per Slow step). Every intermediate is
below 2**31 (stated at each step). Reading a level converts it to a float (allocates).
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
_SIZE = 27


def _tables():
    t = array.array("H", bytearray(2 * (256 + 769)))
    for i in range(256):
        t[i] = int(math.log(1 + i / 256) / math.log(2) * 65536 + 0.5)
    for j in range(769):
        t[256 + j] = min(65535, int(math.log(1 + 2 ** (-j / 32)) / math.log(2) * 65536 + 0.5))
    return t


_TAB = _tables()


@micropython.viper
def _levels(st: ptr32, tab: ptr16):
    # --- log2 of the block's sum of squares (3 limbs, < 2**47) in Q16, plus the offset
    a2 = st[2]
    low = (st[1] << 15) | st[0]  # < 2**30
    if a2 > 0:  # a2 < 2**17 for one block
        k = 0
        t = a2
        while t > 0:
            t = t >> 1
            k += 1
        m = (a2 << (24 - k)) | (low >> (6 + k))  # 24-bit mantissa, value = m * 2**(6 + k)
        e = 6 + k
    elif low > 0:
        k = 0
        t = low
        while t > 0:
            t = t >> 1
            k += 1
        if k <= 24:
            m = low << (24 - k)
        else:
            m = low >> (k - 24)
        e = k - 24
    else:
        m = 0
        e = 0
    if m == 0:
        lv = 134217728  # the floor
    else:
        i = (m >> 15) & 255
        if i == 255:
            t1 = 65536
        else:
            t1 = tab[i + 1]
        # (t1 - t0) <= 370, times r < 2**15: < 2**24; e + 23 <= 70, so log2 < 2**23; the
        # biased offset st[11] is in (0, 2**29), so lv < 2**30
        lv = ((e + 23) << 16) + tab[i] + (((t1 - tab[i]) * (m & 0x7FFF)) >> 15) + st[11]
        if lv < 134217728:
            lv = 134217728
    st[6] = lv
    # --- interval accumulator += block sum (limbs stay < 2**15, top limb < 2**31 by contract)
    c0 = st[3] + st[0]
    c1 = st[4] + st[1] + (c0 >> 15)
    st[3] = c0 & 0x7FFF
    st[5] = st[5] + st[2] + (c1 >> 15)
    st[4] = c1 & 0x7FFF
    st[0] = 0
    st[1] = 0
    st[2] = 0
    # --- Fast and Slow: E = a*E + (1-a)*ms as log2-add of (LE + log2 a) and (lv + log2(1-a))
    g = ptr16(uint(tab) + 512)
    if st[16] == 0:
        st[7] = lv
        st[8] = lv
        st[16] = 1
    else:
        j = 0
        while j < 2:
            x = st[7 + j] - st[12 + 2 * j]  # st[12..15]: -log2(a), -log2(1-a), >= 0
            y = lv - st[13 + 2 * j]
            if x < y:
                t = x
                x = y
                y = t
            d = x - y  # 0 <= d < 2**30: both in (2**27 - 2**22, 2**30)
            if d < (24 << 16):
                q = d >> 11
                r = d & 2047
                # table step 2048 Q16 units; |g[q+1] - g[q]| < 2**11, times r < 2**11
                x += g[q] + (((g[q + 1] - g[q]) * r) >> 11)
            if x < 134217728:
                x = 134217728
            st[7 + j] = x
            j += 1
    # --- Lmax, Lmin of the Fast level; latch the interval when it is complete
    f = st[7]
    if f > st[9]:
        st[9] = f
    if f < st[10]:
        st[10] = f


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
        self._n = 0

    def _setup(self, n):
        # Per block length (once, and again only if the length changes): floats allowed here.
        st = self._st
        t = n / self.rate
        cal = (self.ref_spl - self.sensitivity) / (10 * math.log10(2))
        off = int((cal - 29 - math.log(n) / math.log(2)) * 65536 + 0.5)
        if not -_B < off < _B:
            raise ValueError("calibration out of range: sensitivity %r dBFS" % (self.sensitivity,))
        st[_OFF] = _B + off
        for k, tau in ((_LAF, 0.125), (_LAS, 1.0)):
            a = math.exp(-t / tau)
            st[k] = int(-math.log(a) / math.log(2) * 65536 + 0.5)
            st[k + 1] = int(-math.log(1 - a) / math.log(2) * 65536 + 0.5)
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
        rms._sumsq(x, n, st)
        _levels(st, _TAB)
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
        """Fast (125 ms) time-weighted level after the last block, dB (LAF)."""
        return self._db(_LF)

    def slow(self):
        """Slow (1 s) time-weighted level after the last block, dB (LAS)."""
        return self._db(_LS)

    def interval(self):
        """``(Leq, Lmax, Lmin, seconds)`` in dB of the interval completed since the last call,
        or None if none has completed. Lmax/Lmin are of the Fast level."""
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
