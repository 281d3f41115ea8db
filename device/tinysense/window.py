"""Streaming windows over multi-channel int16 samples arriving in blocks of any size.

    w = window.Window(channels=3, length=128, hop=64)
    buf = array.array("h", bytearray(2 * 3 * 32))   # interleaved x, y, z frames from a FIFO
    win = array.array("h", bytearray(2 * 3 * 128))  # planar: x[0..127], y[0..127], z[0..127]
    n = imu.read_fifo(buf)
    i = 0
    while i < n:
        i += w.push(buf, n - i, i)      # accepts frames until a complete window waits
        while w.pop(win):               # then hands it out and moves on by hop frames
            ex.compute(win, feats)

Windows start at frame 0, hop, 2 hop, ... of the stream; how the stream is cut into blocks
never changes them. Each sample is copied once into a planar ring buffer of ``length`` frames
and once out into the window; nothing is allocated per ``push``/``pop`` once a buffer has been
checked (the last 4 blocks and 2 outs are remembered, so alternating FIFO buffers stay free). With ``hop > length``
the frames between windows are skipped as they arrive.
"""

import array

from . import arrays


def _copy_in_py(ring, src, p):
    # Plain-Python twin of window_viper.copy_in (ports without the native emitters).
    ch, ln, pos, first, k = p[0], p[1], p[2], p[3], p[4]
    for c in range(ch):
        d = c * ln
        s = first * ch + c
        q = pos
        for _ in range(k):
            ring[d + q] = src[s]
            s += ch
            q += 1
            if q == ln:
                q = 0


def _copy_out_py(ring, out, p):
    # Plain-Python twin of window_viper.copy_out.
    ch, ln, st = p[0], p[1], p[2]
    for c in range(ch):
        b = c * ln
        for i in range(ln):
            j = st + i
            out[b + i] = ring[b + (j - ln if j >= ln else j)]


try:
    from .window_viper import copy_in as _copy_in
    from .window_viper import copy_out as _copy_out
except (SyntaxError, ValueError):  # no native emitters (or a foreign .mpy arch): the same copies in plain Python
    _copy_in = _copy_in_py
    _copy_out = _copy_out_py


MAX_CHANNELS = 16
MAX_LENGTH = 4096


_int = arrays.check_int


class Window:
    """Windows of ``length`` frames every ``hop`` frames (1..32767; ``hop > length`` skips
    frames) of ``channels`` int16 channels (1..16; length 1..4096)."""

    def __init__(self, channels=3, length=128, hop=64):
        self.channels = _int(channels, "channels", 1, MAX_CHANNELS)
        self.length = _int(length, "length", 1, MAX_LENGTH)
        self.hop = _int(hop, "hop", 1, 32767)
        self._ring = array.array("h", bytearray(2 * channels * length))
        self._p = array.array("i", [0] * 5)
        self._seen = [None] * 6  # buffers already checked: 4 blocks (FIFO buffers may alternate), 2 outs
        self._turn = 0
        self.reset()

    def reset(self):
        """Forget every frame: the next frame pushed starts a new window."""
        self._start = 0  # ring index of the window's first frame
        self._filled = 0  # frames held
        self._skip = 0  # frames still to drop (hop > length)

    @property
    def filled(self):
        """Frames held towards the next window (0..length)."""
        return self._filled

    def push(self, block, count, offset=0):
        """Take up to ``count`` frames of ``block`` (``array('h')``, interleaved: ``channels``
        values per frame) starting at frame ``offset``. Returns the frames accepted: fewer than
        ``count`` once a complete window waits to be popped (push the rest after ``pop``)."""
        ch = self.channels
        sn = self._seen
        if block is not sn[0] and block is not sn[1] and block is not sn[2] and block is not sn[3]:
            if type(block) is not array.array or (len(block) and arrays.typecode(block) != "h"):
                raise TypeError("block must be array('h') of interleaved frames")
            sn[self._turn & 3] = block  # the type check allocates: once per buffer
            self._turn += 1
        if type(count) is not int or type(offset) is not int or count < 0 or offset < 0:
            raise ValueError("count and offset must be ints >= 0")
        if (offset + count) * ch > len(block):
            raise ValueError("block holds %d frames of %d channels; offset + count is %d"
                             % (len(block) // ch, ch, offset + count))
        took = 0
        if self._skip:
            took = count if count < self._skip else self._skip
            self._skip -= took
            count -= took
            offset += took
        room = self.length - self._filled
        k = count if count < room else room
        if k:
            p = self._p
            w = self._start + self._filled
            p[0] = ch
            p[1] = self.length
            p[2] = w - self.length if w >= self.length else w
            p[3] = offset
            p[4] = k
            _copy_in(self._ring, block, p)
            self._filled += k
        return took + k

    def pop(self, out):
        """If a complete window is held, write it to ``out`` (``array('h')`` of
        ``channels * length``, planar: channel 0's ``length`` samples, then channel 1's, ...),
        move on by ``hop`` frames and return True; else return False and leave ``out`` alone."""
        sn = self._seen
        if out is not sn[4] and out is not sn[5]:
            n = self.channels * self.length
            if type(out) is not array.array or arrays.typecode(out) != "h" or len(out) != n:
                raise TypeError("out must be array('h') of channels * length = %d values" % n)
            sn[5] = sn[4]
            sn[4] = out
        if self._filled < self.length:
            return False
        p = self._p
        p[0] = self.channels
        p[1] = self.length
        p[2] = self._start
        _copy_out(self._ring, out, p)
        ln = self.length
        h = self.hop
        if h >= ln:
            self._skip = h - ln
            self._filled = 0
            self._start = 0
        else:
            self._filled = ln - h
            s = self._start + h
            self._start = s - ln if s >= ln else s
        return True
