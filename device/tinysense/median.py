"""Median of a small window, and a running (streaming) median filter for int16 samples.

    median.median(array.array("h", [215, 216, 850, 214, 215]))   # -> 215 (a spike ignored)
    median.median([21.5, 21.6, 85.0])                            # any numbers: plain Python

    f = median.RunningMedian(5)          # odd window
    f.process(block)                     # array('h'), filtered in place; state kept between blocks
    f.process(block, out)                # or into out (array('h'), same length)
    t = f.update(reading)                # one int16 sample in, the current median out

The running filter is causal: output ``k`` is the median of inputs ``k - window + 1 .. k``.
Before ``window`` samples have arrived the missing history is the first sample, so the output
starts at the first sample instead of at zero. Splitting a signal into blocks of any size does
not change the output.

Viper kernels keep the window sorted as biased values (``v ^ 0x8000``, so unsigned order is
signed order): one sample costs a binary search plus a shift of at most ``window`` items; every
value stays within 16 bits and every index below ``window`` (<= 32767), so nothing nears 2**31.
No allocation per sample or per block.
"""

import array
import micropython

from .rms import check_block as _check_h

MAX_WINDOW = 32767
SORT_MAX = 512  # longer arrays are sorted by sorted() (n log n, allocates a list)


@micropython.viper
def _sort(x: ptr16, w: ptr16, n: int):
    # Copy n int16 samples biased into w and insertion-sort them (unsigned order = signed order).
    # 32-bit bound: values are biased u16 (< 2**16) and only compared; indices < n <= 512.
    i = 0
    while i < n:
        v = x[i] ^ 0x8000
        j = i
        while j > 0 and w[j - 1] > v:
            w[j] = w[j - 1]
            j -= 1
        w[j] = v
        i += 1


@micropython.viper
def _run(st: ptr16, x: ptr16, out: ptr16, n: int):
    # st: [window, ring position, ring[window], sorted[window]], all biased u16 values.
    # 32-bit bound: values < 2**16 are only compared and copied; indices and byte offsets
    # < 4 + 4 * MAX_WINDOW < 2**18.
    m = st[0]
    pos = st[1]
    ring = ptr16(uint(st) + 4)
    s = ptr16(uint(st) + 4 + 2 * m)
    half = m >> 1
    k = 0
    while k < n:
        v = x[k] ^ 0x8000
        old = ring[pos]
        ring[pos] = v
        pos += 1
        if pos == m:
            pos = 0
        # index of old in s (binary search for its first occurrence)
        lo = 0
        hi = m
        while lo < hi:
            mid = (lo + hi) >> 1
            if s[mid] < old:
                lo = mid + 1
            else:
                hi = mid
        j = lo
        if v > old:
            while j + 1 < m and s[j + 1] < v:
                s[j] = s[j + 1]
                j += 1
        else:
            while j > 0 and s[j - 1] > v:
                s[j] = s[j - 1]
                j -= 1
        s[j] = v
        out[k] = s[half] ^ 0x8000
        k += 1
    st[1] = pos


_work = array.array("H")


_seen = None  # the last array found to be array('h'), so that a reused window is not probed again


def median(x):
    """Median of a sequence of numbers, as :func:`statistics.median`: the middle value for an
    odd length, the mean of the two middle values (a float) for an even length.

    ``array('h')`` input of up to ``SORT_MAX`` (512) samples is sorted by a viper insertion sort
    in a reused work buffer (small windows: the work grows as length**2); longer arrays and any
    other sequence of numbers (list, tuple, ``array('f')``...) take a plain-Python path. Raises ``ValueError``
    for an empty sequence, ``TypeError`` for a non-sequence."""
    global _work
    n = len(x)
    if n == 0:
        raise ValueError("median of an empty sequence")
    if type(x) is array.array and n <= SORT_MAX:
        global _seen
        h = x is _seen  # a buffer once found to be array('h') is not probed again
        if not h:
            try:
                _check_h(x, "x")
                h = True
                _seen = x
            except TypeError:
                h = False
        if h:
            if len(_work) < n:
                _work = array.array("H", bytearray(2 * n))
            w = _work
            _sort(x, w, n)
            a = w[(n - 1) >> 1] - 0x8000  # unbias
            if n & 1:
                return a
            return (a + w[n >> 1] - 0x8000) / 2
    s = sorted(x)
    if n & 1:
        return s[n >> 1]
    return (s[(n >> 1) - 1] + s[n >> 1]) / 2


class RunningMedian:
    """Causal running median of int16 samples over an odd ``window`` (1..32767) of the latest
    samples; state is kept between calls (see the module notes)."""

    def __init__(self, window):
        if type(window) is not int or window < 1 or window > MAX_WINDOW or not window & 1:
            raise ValueError("window must be an odd int from 1 to %d, not %r" % (MAX_WINDOW, window))
        self.window = window
        self._st = array.array("H", bytearray(4 + 4 * window))
        self._st[0] = window
        self._one = array.array("h", (0,))
        self._x = self._out = None
        self._started = False

    def reset(self):
        """Forget the history: the next sample starts the filter again."""
        self._started = False
        self._st[1] = 0

    def _start(self, v):
        st = self._st
        b = (v ^ 0x8000) & 0xFFFF
        i = 2
        while i < 2 + 2 * self.window:
            st[i] = b
            i += 1
        st[1] = 0
        self._started = True

    def process(self, x, out=None):
        """Filter ``x`` (``array('h')``, 1..65535 samples) into ``out`` (``array('h')`` of the
        same length), or in place when ``out`` is None. Returns the output array."""
        if x is not self._x:
            _check_h(x, "x")
            self._x = x
        n = len(x)
        if out is None:
            out = x
        elif out is not self._out or len(out) != n:
            if _check_h(out, "out") != n:
                raise ValueError("out has %d samples; x has %d" % (len(out), n))
            self._out = out
        if n == 0 or n > 65535:
            _check_h(x, "x")
        if not self._started:
            self._start(x[0])
        _run(self._st, x, out, n)
        return out

    def update(self, v):
        """Add one int16 sample ``v`` (-32768..32767); return the median of the window (int)."""
        if v < -32768 or v > 32767:
            raise ValueError("sample %r is outside int16 (-32768..32767)" % (v,))
        one = self._one
        one[0] = v
        if not self._started:
            self._start(v)
        _run(self._st, one, one, 1)
        return one[0]
