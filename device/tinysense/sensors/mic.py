"""Microphone sources: ``machine.I2S`` on a board, and :class:`ReplayI2S`, its twin that plays a
WAV file (16-bit PCM mono) through the same interface on any port.

    mic = mic.open_i2s(sck=32, ws=25, sd=33, rate=16000)      # a board (e.g. ESP32)
    mic = mic.ReplayI2S("street.wav", rate=16000)             # the unix port, or a board
    mic.irq(callback)          # non-blocking mode, as machine.I2S
    mic.readinto(buf)          # arm: the callback runs when buf is full
    mic.sleep_ms(125)          # replay: deliver the blocks due in the next 125 ms

A replay delivers a block when it is due: in real time (``realtime=True``, by the wall clock)
or as fast as the callback takes them (the default; time then runs on the signal's clock). The
callback runs as a scheduled callback (``micropython.schedule``), as machine.I2S runs it.
A last partial block is dropped, as a microphone only delivers full buffers.
"""

import micropython
import time


def wav_info(f):
    """Read a WAV header from the binary stream ``f`` and leave it at the first sample.

    Returns ``(rate, channels, bits, n_frames)``. Raises ``ValueError`` naming what the file is
    when it is not a 16-bit PCM WAV (the format, bit depth, or that it is no WAV at all)."""
    head = f.read(12)
    if len(head) < 12 or head[0:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ValueError("not a WAV file (no RIFF/WAVE header)")
    fmt = None
    while True:
        ch = f.read(8)
        if len(ch) < 8:
            raise ValueError("WAV file has no data chunk" if fmt else "WAV file has no fmt chunk")
        size = ch[4] | ch[5] << 8 | ch[6] << 16 | ch[7] << 24
        if ch[0:4] == b"fmt ":
            b = f.read(size + (size & 1))
            if len(b) < 16:
                raise ValueError("WAV fmt chunk is truncated")
            tag = b[0] | b[1] << 8
            channels = b[2] | b[3] << 8
            rate = b[4] | b[5] << 8 | b[6] << 16 | b[7] << 24
            bits = b[14] | b[15] << 8
            if tag == 0xFFFE and len(b) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat's tag
                tag = b[24] | b[25] << 8
            fmt = (tag, channels, rate, bits)
        elif ch[0:4] == b"data":
            if fmt is None:
                raise ValueError("WAV data chunk comes before its fmt chunk")
            break
        else:
            f.read(size + (size & 1))
    tag, channels, rate, bits = fmt
    names = {1: "PCM", 3: "IEEE float", 6: "A-law", 7: "mu-law", 2: "ADPCM", 0x11: "IMA ADPCM"}
    what = "%s %d-bit %s at %d Hz" % (names.get(tag, "format %d" % tag), bits,
                                      "mono" if channels == 1 else "%d channels" % channels, rate)
    if tag != 1 or bits != 16 or channels != 1:
        raise ValueError("WAV file is %s; the replay microphone needs 16-bit PCM mono "
                         "(`tinysense run` converts other WAV files)" % what)
    return rate, channels, bits, size // 2


class ReplayI2S:
    """The twin of ``machine.I2S`` in RX mode: plays a 16-bit PCM mono WAV file.

    Parameters: ``path`` of the WAV file; ``rate``, the rate the application expects (a file at
    another rate raises ``ValueError``; None accepts the file's); ``realtime``: deliver blocks
    by the wall clock instead of as fast as possible.
    """

    RX = 0
    MONO = 0
    STEREO = 1

    def __init__(self, path, rate=None, realtime=False):
        self._f = open(path, "rb")
        try:
            r, _, _, n = wav_info(self._f)
        except ValueError as e:
            self._f.close()
            raise ValueError("%s: %s" % (path, e)) from None
        if rate is not None and r != rate:
            self._f.close()
            raise ValueError("%s: WAV file is at %d Hz; the application runs at %d Hz "
                             "(`tinysense run` resamples)" % (path, r, rate))
        self.rate = r
        self.n_samples = n
        self.realtime = realtime
        self.samples = 0  # samples delivered so far
        self.finished = False
        self._left = 2 * n
        self._handler = None
        self._buf = None
        self._t0 = None
        self._clock = 0  # signal-time ms for full-speed replay
        self._sized = None
        self._nbytes = 0

    def irq(self, handler):
        """Set the callback (called with this object) that runs when an armed buffer is full;
        None returns to blocking reads."""
        self._handler = handler

    def readinto(self, buf):
        """Blocking mode (no callback): fill ``buf`` from the file now and return the number
        of bytes (0 at the end). Non-blocking mode: arm ``buf``; return 0."""
        if self._handler is None:
            return self._fill(buf)
        self._buf = buf
        return 0

    def _size(self, buf):
        # Bytes in buf (an array, bytearray or memoryview), measured once per buffer object.
        if buf is not self._sized:
            self._nbytes = len(bytes(buf))
            self._sized = buf
        return self._nbytes

    def _fill(self, buf):
        n = self._size(buf)
        if self._left < n:
            self._left = 0
            self.finished = True
            return 0
        got = self._f.readinto(buf)
        if not got or got < n:
            self.finished = True
            return 0
        self._left -= got
        self.samples += got >> 1
        return got

    def _deliver(self):
        buf = self._buf
        self._buf = None
        if buf is None or self._fill(buf) == 0:
            return False
        micropython.schedule(self._handler, self)
        return True

    def ticks_ms(self):
        """Milliseconds of signal delivered so far (the replay's clock)."""
        return self.samples * 1000 // self.rate

    def sleep_ms(self, ms):
        """Let ``ms`` milliseconds pass, delivering the blocks that fall due: by the wall clock
        (real time) or at once on the signal's clock (full speed)."""
        if self._t0 is None:
            self._t0 = time.ticks_ms()
        if not self.realtime:
            end = self._clock + ms
            while not self.finished and self._buf is not None and self.ticks_ms() < end:
                if not self._deliver():
                    break
                time.sleep_ms(0)  # let the scheduled callback run (it re-arms a buffer)
            self._clock = end
            return
        deadline = time.ticks_add(time.ticks_ms(), ms)
        while True:
            now = time.ticks_ms()
            if self._buf is not None and not self.finished:
                n = self._size(self._buf)
                due = time.ticks_add(self._t0, (self.samples + n // 2) * 1000 // self.rate)
                if time.ticks_diff(due, now) <= 0:
                    self._deliver()
                    time.sleep_ms(0)
                    continue
                wait = min(time.ticks_diff(deadline, now), time.ticks_diff(due, now))
            else:
                wait = time.ticks_diff(deadline, now)
            if wait <= 0:
                return
            time.sleep_ms(wait)

    def deinit(self):
        """Close the file; no more blocks are delivered."""
        self.finished = True
        self._buf = None
        self._f.close()


def open_i2s(sck, ws, sd, rate=16000, block=2000, id=0):
    """A ``machine.I2S`` microphone in RX mode, 16-bit mono at ``rate``, with an internal
    buffer of two blocks of ``block`` samples. Raises ``ImportError`` on a port without I2S."""
    from machine import I2S, Pin

    return I2S(id, sck=Pin(sck), ws=Pin(ws), sd=Pin(sd), mode=I2S.RX, bits=16, format=I2S.MONO,
               rate=rate, ibuf=4 * block)
