"""Accelerometer sources with a FIFO: the MPU6886 (M5StickC PLUS2, M5Stack) and MPU6050 on
``machine.I2C``, register level, and :class:`ReplayIMU`, their twin that plays recordings.

    i2c = machine.I2C(0, scl=machine.Pin(22), sda=machine.Pin(21), freq=400000)
    imu = imu.MPU6886(i2c, rate=100)            # a board (M5StickC PLUS2: I2C0 scl=22 sda=21)
    imu = imu.ReplayIMU("walk.npy")             # the unix port, or a board
    buf = array.array("h", bytearray(2 * 3 * 32))   # 32 frames x, y, z interleaved
    imu.start()
    while not imu.done:
        if imu.fifo_level() >= 32 or imu.ended:
            n = imu.read_fifo(buf)              # frames read (int16 counts, 16384 = 1 g at 2 g)
            ...
        else:
            imu.sleep_ms(100)                   # a board: sleeps; a replay: time passes at once

Every source has ``rate`` (Hz), ``channels`` (3), ``fifo_capacity`` (frames), ``start()``,
``stop()``, ``fifo_level()`` (frames waiting), ``read_fifo(buf)`` (frames read into an
``array('h')``, interleaved x, y, z; at most ``len(buf) // 3`` and at most what is waiting),
``sleep_ms(ms)``, ``ticks_ms()``, ``done``, ``ended``, ``overflowed`` and ``overflows``
(``done``: every frame read, ``ended``: no more frames will arrive; a sensor never ends).

Overflow: a FIFO that fills up loses frames. When ``fifo_level()`` (or ``read_fifo``) finds the
FIFO full (``fifo_capacity`` frames waiting) or the chip's FIFO_OFLOW flag set, it empties the
FIFO (the frames in it are dropped: continuity is lost), adds one to ``overflows``, sets
``overflowed`` (True until the next ``fifo_level()`` call that finds no overflow) and reports 0
frames. An application resets its windows when it sees ``overflowed``. Read before the FIFO
fills: at 100 Hz the MPU6886's 128 frames last 1.28 s.

Register use, FIFO timing and the replay's clock are documented in docs/imu.md.

The big-endian to ``array('h')`` conversion is a viper kernel (``imu_viper.be16``), with a
plain-Python twin for ports without the native emitters (``KERNEL`` says which one runs). Reads
allocate nothing once a buffer has been checked.
"""

import array
import time

from .. import arrays
from .. import npyfile
from .. import sleep as _sleep

CHANNELS = 3
RATES = (25, 50, 100, 200)
RANGES = (2, 4, 8, 16)
FIFO_BYTES = 1024

# Registers (MPU-6886 datasheet DS-000193 v1.1, section 10 / register map; MPU-6050: RM-MPU-6000A-00)
SMPLRT_DIV = 0x19
CONFIG = 0x1A
GYRO_CONFIG = 0x1B
ACCEL_CONFIG = 0x1C
ACCEL_CONFIG2 = 0x1D
FIFO_EN = 0x23
INT_ENABLE = 0x38
INT_STATUS = 0x3A
USER_CTRL = 0x6A
PWR_MGMT_1 = 0x6B
PWR_MGMT_2 = 0x6C
FIFO_COUNTH = 0x72
FIFO_R_W = 0x74
WHO_AM_I = 0x75

FIFO_OFLOW = 0x10  # INT_ENABLE FIFO_OFLOW_EN / INT_STATUS FIFO_OFLOW_INT, bit 4
ACCEL_FIFO_EN = 0x08  # FIFO_EN bit 3
USER_FIFO_EN = 0x40  # USER_CTRL bit 6
USER_FIFO_RST = 0x04  # USER_CTRL bit 2
DEVICE_RESET = 0x80  # PWR_MGMT_1 bit 7

CHIPS = {0x19: "MPU6886", 0x68: "MPU6050", 0x70: "MPU6500", 0x71: "MPU9250", 0x73: "MPU9255",
         0x12: "ICM-20602", 0x11: "ICM-20600", 0xAF: "ICM-20608", 0x98: "ICM-20689"}

def _be16_python(raw, out, n, p):
    stride = p & 15
    d = (p >> 4) * 3
    s = 0
    for _ in range(n):
        for k in range(3):
            v = raw[s + 2 * k] << 8 | raw[s + 2 * k + 1]
            out[d + k] = v - 65536 if v & 0x8000 else v
        s += stride
        d += 3


try:
    from .imu_viper import be16 as _be16

    KERNEL = "viper"
except (SyntaxError, ImportError, ValueError):  # no native emitters (or a foreign .mpy arch)
    _be16 = _be16_python
    KERNEL = "python"


class WrongChip(ValueError):
    """The chip at the address is not the one the class drives (WHO_AM_I differs)."""


class NoDevice(OSError):
    """No device answered at the I2C address."""


def _check_ms(ms):
    if type(ms) is not int:
        raise TypeError("ms must be an int (milliseconds), not %s" % type(ms).__name__)
    if ms < 0 or ms > _sleep.MAX_MS:
        raise ValueError("ms must be 0..%d milliseconds, not %d" % (_sleep.MAX_MS, ms))


def _check_buf(buf, who):
    if arrays.typecode(buf) != "h" or len(buf) < 3:
        raise TypeError("%s: buf must be array('h') of at least 3 items (one x, y, z frame), not %s"
                        % (who, "array of %d" % len(buf) if type(buf) is array.array else type(buf).__name__))
    return len(buf) // 3


class MPU6886:
    """The accelerometer of an MPU6886 on ``i2c`` at ``address`` (0x68, or 0x69 with AD0 high),
    sampled at ``rate`` Hz (25, 50, 100 or 200) with full scale +-``range_g`` g (2, 4, 8, 16;
    counts per g: 32768 // range_g, 16384 at 2 g) into the chip's FIFO. The gyroscope is left
    in standby. ``light_sleep``: :meth:`sleep_ms` uses ``machine.lightsleep`` where the port has
    it (the USB console pauses), else ``time.sleep_ms``.

    The constructor resets the chip, checks WHO_AM_I (:class:`WrongChip` names the chip found),
    and configures it (docs/imu.md lists every register written); :meth:`start` starts the FIFO.
    ``OSError`` (:class:`NoDevice`) if nothing answers at ``address``.
    """

    NAME = "MPU6886"
    WHO_AM_I_VALUE = 0x19
    FRAME_BYTES = 8  # ACCEL_XOUT_H..ACCEL_ZOUT_L, then TEMP_OUT_H/L: the MPU6886 always adds temperature
    RESET_MS = 100
    # ACCEL_CONFIG2 A_DLPF_CFG per rate: 3 dB bandwidth below half the rate
    # (5: 10.2 Hz, 4: 21.2 Hz, 3: 44.8 Hz, 2: 99.0 Hz)
    A_DLPF = {25: 5, 50: 4, 100: 3, 200: 2}

    def __init__(self, i2c, address=0x68, rate=100, range_g=2, light_sleep=False):
        if rate not in RATES:
            raise ValueError("rate must be one of %r Hz, not %r" % (RATES, rate))
        if range_g not in RANGES:
            raise ValueError("range_g must be one of %r, not %r" % (RANGES, range_g))
        if type(address) is not int or not 0x08 <= address <= 0x77:
            raise ValueError("I2C address must be 0x08..0x77, not %r" % (address,))
        self.i2c = i2c
        self.address = address
        self.rate = rate
        self.range_g = range_g
        self.counts_per_g = 32768 // range_g
        self.channels = CHANNELS
        self.light_sleep = light_sleep
        self.fifo_capacity = FIFO_BYTES // self.FRAME_BYTES
        self.overflows = 0
        self.overflowed = False
        self.frames_read = 0
        self.running = False
        self._full = self.fifo_capacity * self.FRAME_BYTES
        self._b1 = bytearray(1)
        self._b2 = bytearray(2)
        # FIFO bursts of 2**j frames into views of one buffer: any count in at most 8 reads
        big = 1
        while big * 2 <= self.fifo_capacity:
            big *= 2
        self._raw = bytearray(big * self.FRAME_BYTES)
        mv = memoryview(self._raw)
        self._views = [mv[:(1 << j) * self.FRAME_BYTES] for j in range(8) if (1 << j) <= big]
        self._buf = self._buf2 = None
        self.who_am_i = self._read(WHO_AM_I)
        if self.who_am_i != self.WHO_AM_I_VALUE:
            raise WrongChip("WHO_AM_I (register 0x75) at address 0x%02x is 0x%02x (%s), expected 0x%02x for an %s%s"
                            % (address, self.who_am_i, CHIPS.get(self.who_am_i, "unknown chip"),
                               self.WHO_AM_I_VALUE, self.NAME,
                               "; use imu.MPU6050" if self.who_am_i == 0x68 and self.NAME != "MPU6050" else
                               "; use imu.MPU6886" if self.who_am_i == 0x19 and self.NAME != "MPU6886" else ""))
        self._write(PWR_MGMT_1, DEVICE_RESET)
        time.sleep_ms(self.RESET_MS)
        for reg, value in self.registers():
            self._write(reg, value)
        for reg, value in self.registers():
            if reg not in (SMPLRT_DIV, ACCEL_CONFIG):
                continue
            got = self._read(reg)
            if got != value:
                raise OSError("%s at 0x%02x: register 0x%02x reads 0x%02x after writing 0x%02x"
                              % (self.NAME, address, reg, got, value))

    def registers(self):
        """The configuration as ``[(register, value), ...]`` in the order written after the
        reset (docs/imu.md explains each)."""
        fs = RANGES.index(self.range_g) << 3
        return [
            (PWR_MGMT_1, 0x01),  # SLEEP=0, CLKSEL=1: best available clock
            (PWR_MGMT_2, 0x07),  # accelerometer on, gyroscope x, y, z in standby
            (CONFIG, 0x41),  # FIFO_MODE=1 (a full FIFO keeps its frames), DLPF_CFG=1
            (GYRO_CONFIG, 0x00),  # FCHOICE_B=00: the sample-rate divider applies
            (SMPLRT_DIV, 1000 // self.rate - 1),  # 1 kHz / (1 + SMPLRT_DIV)
            (ACCEL_CONFIG, fs),  # ACCEL_FS_SEL
            (ACCEL_CONFIG2, self.A_DLPF[self.rate]),  # DEC2_CFG=0, ACCEL_FCHOICE_B=0, A_DLPF_CFG
            (INT_ENABLE, FIFO_OFLOW),  # FIFO_OFLOW_EN: report overflows in INT_STATUS
            (FIFO_EN, 0x00),  # nothing into the FIFO until start()
            (USER_CTRL, 0x00),  # FIFO off
        ]

    def _read(self, reg):
        b = self._b1
        try:
            self.i2c.readfrom_mem_into(self.address, reg, b)
        except OSError as e:
            raise NoDevice("no device at address 0x%02x on %r (%s); check the wiring, power and the "
                           "address (0x68, or 0x69 with AD0 high)" % (self.address, self.i2c, e)) from None
        return b[0]

    def _write(self, reg, value):
        b = self._b1
        b[0] = value
        try:
            self.i2c.writeto_mem(self.address, reg, b)
        except OSError as e:
            raise NoDevice("no device at address 0x%02x on %r (%s)" % (self.address, self.i2c, e)) from None

    def start(self):
        """Empty the FIFO and start filling it with accelerometer frames at ``rate``."""
        self._write(FIFO_EN, ACCEL_FIFO_EN)
        self._write(USER_CTRL, USER_FIFO_EN | USER_FIFO_RST)
        self._read(INT_STATUS)  # clears a stale FIFO_OFLOW_INT
        self.overflowed = False
        self.running = True

    def stop(self):
        """Stop filling the FIFO and empty it."""
        self._write(FIFO_EN, 0x00)
        self._write(USER_CTRL, USER_FIFO_RST)
        self.running = False

    def _level(self):
        if not self.running:
            raise RuntimeError("%s: call start() before reading the FIFO" % self.NAME)
        i2c, a = self.i2c, self.address
        b = self._b1
        i2c.readfrom_mem_into(a, INT_STATUS, b)  # reading clears it
        status = b[0]
        c = self._b2
        i2c.readfrom_mem_into(a, FIFO_COUNTH, c)  # COUNTH then COUNTL, latched together
        count = (c[0] & 0x1F) << 8 | c[1]
        if status & FIFO_OFLOW or count >= self._full:
            self.overflows += 1
            self.overflowed = True
            b[0] = USER_FIFO_EN | USER_FIFO_RST
            i2c.writeto_mem(a, USER_CTRL, b)
            return 0
        return count // self.FRAME_BYTES

    def fifo_level(self):
        """Frames waiting in the FIFO (0..fifo_capacity - 1); 0 after an overflow, which
        resets the FIFO, counts in ``overflows`` and sets ``overflowed``. Two register reads
        (INT_STATUS, FIFO_COUNTH/L); allocates nothing."""
        n = self._level()
        if n:
            self.overflowed = False
        return n

    def read_fifo(self, buf):
        """Read up to ``len(buf) // 3`` waiting frames into ``buf`` (``array('h')``, x, y, z
        interleaved, counts); return the frames read (0 if none are waiting, or after an
        overflow). Burst reads of FIFO_R_W; allocates nothing once ``buf`` was checked (the last two
        buffers are remembered)."""
        if buf is not self._buf and buf is not self._buf2:
            _check_buf(buf, self.NAME + ".read_fifo")
            self._buf2 = self._buf  # the type check allocates: the last two buffers are remembered
            self._buf = buf
        cap = len(buf) // 3
        n = self._level()
        if n > cap:
            n = cap
        at = 0
        j = len(self._views) - 1
        fb = self.FRAME_BYTES
        while j >= 0:
            k = 1 << j
            while n - at >= k:
                v = self._views[j]
                self.i2c.readfrom_mem_into(self.address, FIFO_R_W, v)
                _be16(v, buf, k, at << 4 | fb)
                at += k
            j -= 1
        self.frames_read += n
        return n

    @property
    def done(self):
        """Always False: a sensor does not run out."""
        return False

    @property
    def ended(self):
        """Always False (see :attr:`ReplayIMU.ended`)."""
        return False

    def sleep_ms(self, ms):
        """Wait ``ms`` milliseconds: ``machine.lightsleep`` when ``light_sleep`` and the port has
        it (and ms >= 10), else ``time.sleep_ms``. The FIFO keeps filling meanwhile."""
        _sleep.sleep_ms(ms, self.light_sleep)

    def ticks_ms(self):
        """``time.ticks_ms()``."""
        return time.ticks_ms()


class MPU6050(MPU6886):
    """The accelerometer of an MPU6050 (or MPU6000 over I2C), as :class:`MPU6886`: frames of 6
    bytes (no temperature), FIFO 1024 bytes = 170 frames. The MPU6050 has no FIFO_MODE: a full
    FIFO overwrites its oldest bytes, so an overflow is detected (FIFO_OFLOW_INT, or 1020+
    bytes waiting) and the FIFO reset as on the MPU6886. Gyroscope on (its PLL is the clock)."""

    NAME = "MPU6050"
    WHO_AM_I_VALUE = 0x68
    FRAME_BYTES = 6
    # CONFIG DLPF_CFG per rate (accelerometer bandwidth 5: 10 Hz, 4: 21 Hz, 3: 44 Hz, 2: 94 Hz)
    DLPF = {25: 5, 50: 4, 100: 3, 200: 2}

    def registers(self):
        fs = RANGES.index(self.range_g) << 3
        return [
            (PWR_MGMT_1, 0x01),  # SLEEP=0, CLKSEL=1: PLL with the X gyroscope reference
            (PWR_MGMT_2, 0x00),  # all axes on
            (CONFIG, self.DLPF[self.rate]),  # DLPF_CFG: anti-aliasing; gyro output rate 1 kHz
            (SMPLRT_DIV, 1000 // self.rate - 1),
            (ACCEL_CONFIG, fs),  # AFS_SEL
            (INT_ENABLE, FIFO_OFLOW),
            (FIFO_EN, 0x00),
            (USER_CTRL, 0x00),
        ]


class _Csv:
    # A .csv recording as a source with the npyfile.Reader interface used here: rows,
    # expected_rows, truncated, readinto(buf, rows), skip(rows), close().
    def __init__(self, path, partial):
        self.name = path
        self._f = npyfile._open_read(path, "r")
        try:
            self._scan(partial)
        except BaseException:
            self._f.close()
            raise

    def _fields(self, line):
        return [s.strip().strip("\"'").strip() for s in line.split(",")]

    def _scan(self, partial):
        f, path = self._f, self.name
        first = f.readline()
        if not first.strip():
            raise npyfile.Truncated("%s: empty CSV file: expected rows of x,y,z counts" % path)
        names = [s.lower() for s in self._fields(first)]
        try:
            float(names[0])
            header = False
        except ValueError:
            header = True
        if header:
            if "x" in names and "y" in names and "z" in names:
                cols = (names.index("x"), names.index("y"), names.index("z"))
            elif len(names) == 3:
                cols = (0, 1, 2)
            else:
                raise ValueError("%s: CSV header %r has no x, y, z columns" % (path, ",".join(names)))
        elif len(names) == 3:
            cols = (0, 1, 2)
        else:
            raise ValueError("%s: CSV rows have %d columns and no header: expected x,y,z (3 columns) "
                             "or a header naming x, y and z" % (path, len(names)))
        self._cols = cols
        self._width = len(names)
        self._header = header
        rows = 0
        bad = None
        lineno = 1 if header else 0
        f.seek(0)
        if header:
            f.readline()
        while True:
            line = f.readline()
            if not line:
                break
            lineno += 1
            if not line.strip():
                continue
            if bad is not None:  # a broken row followed by more rows: not a truncation
                raise ValueError(bad)
            try:
                self._parse(line, None, 0, lineno)
                rows += 1
            except ValueError as e:
                bad = str(e)
        self.truncated = bad is not None
        self.expected_rows = rows + (1 if self.truncated else 0)
        if self.truncated and not partial:
            raise npyfile.Truncated("%s: truncated CSV: the last row is incomplete (%s); %d complete rows"
                                    % (path, bad, rows))
        self.rows = rows
        self.typecode = "h"
        self.columns = 3
        self.position = 0
        self._lineno = 0
        self._rewind()

    def _rewind(self):
        self._f.seek(0)
        self._lineno = 0
        if self._header:
            self._f.readline()
            self._lineno = 1

    def _parse(self, line, buf, at, lineno):
        parts = line.split(",")
        if len(parts) != self._width:
            raise ValueError("%s line %d: %d fields, expected %d" % (self.name, lineno, len(parts), self._width))
        for k in range(3):
            s = parts[self._cols[k]].strip()
            try:
                v = int(s)
            except ValueError:
                raise ValueError("%s line %d: %r is not an integer count (16384 = 1 g)"
                                 % (self.name, lineno, s)) from None
            if v < -32768 or v > 32767:
                raise ValueError("%s line %d: %d is outside int16" % (self.name, lineno, v))
            if buf is not None:
                buf[at + k] = v

    def _next_line(self):
        while True:
            line = self._f.readline()
            if not line:  # the file shrank since it was scanned: no hang at its end
                raise npyfile.Truncated("%s: the file ended early at line %d" % (self.name, self._lineno))
            self._lineno += 1
            if line.strip():
                return line

    def readinto(self, buf, rows=None):
        n = self.rows - self.position
        cap = len(buf) // 3
        if n > cap:
            n = cap
        if rows is not None and rows < n:
            n = rows if rows > 0 else 0
        for i in range(n):
            self._parse(self._next_line(), buf, 3 * i, self._lineno)
        self.position += n
        return n

    def skip(self, rows):
        n = self.rows - self.position
        if rows < n:
            n = rows if rows > 0 else 0
        for _ in range(n):
            self._next_line()
        self.position += n
        return n

    def close(self):
        self._f.close()


def _open(path, partial):
    if path.lower().endswith(".csv"):
        return _Csv(path, partial)
    r = npyfile.Reader(path, partial=partial)
    if r.typecode != "h" or r.columns != 3 or len(r.shape) != 2:
        r.close()
        raise ValueError("%s: a recording must be int16 with shape (rows, 3) (x, y, z counts), not '%s' %r"
                         % (path, npyfile.DESCR[r.typecode], r.shape))
    return r


class ReplayIMU:
    """The twin of :class:`MPU6886`: plays ``.npy`` (int16, shape (rows, 3)) or ``.csv``
    (x,y,z integer counts; a header line optional, naming x, y, z if there are more columns)
    recordings, one after another as one stream, through the same FIFO interface.

    ``paths``: one path or a list. ``rate``: the recordings' rate in Hz (default 100; .npy and
    .csv carry none). ``realtime``: frames arrive by the wall clock (``sleep_ms`` is
    ``time.sleep_ms``); otherwise time is simulated (see docs/imu.md): ``sleep_ms(ms)`` moves
    the replay's clock on at once, and a ``fifo_level()`` not preceded by a ``sleep_ms`` since
    the previous one moves it to the next frame (a busy-polling app still advances), as does a
    ``read_fifo`` that would return nothing. ``fifo_capacity``: frames the FIFO holds (128, the
    MPU6886's); an app that lets it fill loses frames as on the chip. ``partial``: play the
    complete rows of a truncated recording (and skip an empty one), printing one line about
    it, instead of raising ``npyfile.Truncated``. ``quiet``: no such line.

    All files are opened once here to check them (errors name the file); then one is open at a
    time while it plays. ``frames``: total frames; ``files``: ``(path, first frame, frames)``
    of each recording played so far; ``notes``: the truncation notices.
    """

    def __init__(self, paths, rate=None, realtime=False, fifo_capacity=128, partial=True, quiet=False):
        if isinstance(paths, str):
            paths = [paths]
        if not paths:
            raise ValueError("ReplayIMU needs at least one recording (.npy or .csv)")
        if rate is None:
            rate = 100
        if type(rate) is not int or not 1 <= rate <= 10000:
            raise ValueError("rate must be an int 1..10000 Hz, not %r" % (rate,))
        if type(fifo_capacity) is not int or fifo_capacity < 1:
            raise ValueError("fifo_capacity must be an int >= 1 frames, not %r" % (fifo_capacity,))
        self.rate = rate
        self.channels = CHANNELS
        self.counts_per_g = 16384
        self.fifo_capacity = fifo_capacity
        self.realtime = realtime
        self.overflows = 0
        self.overflowed = False
        self.frames_read = 0
        self.frames_dropped = 0
        self.running = False
        self.files = []
        self.notes = []
        plan = []
        total = 0
        for p in paths:
            try:
                src = _open(p, partial)
            except npyfile.Truncated as e:
                if not partial or "header" not in str(e) and "empty" not in str(e):
                    raise
                note = "ReplayIMU: skipping %s: %s" % (p, str(e).split(": ", 1)[-1])
                self.notes.append(note)
                if not quiet:
                    print(note)
                continue
            if src.truncated:
                note = "ReplayIMU: %s is truncated: playing its %d complete rows of %d" % (
                    p, src.rows, src.expected_rows)
                self.notes.append(note)
                if not quiet:
                    print(note)
            if src.rows:
                plan.append((p, src.rows))
                total += src.rows
            src.close()
        if not total:
            raise ValueError("ReplayIMU: no frames to play in %d recording(s)" % len(paths))
        self.frames = total
        self._plan = plan
        self._partial = partial
        self._next = 0
        self._src = None
        self._scratch = array.array("h", bytearray(2 * 3 * 32))
        self._consumed = 0  # frames read or dropped
        self._opened = 0  # frames in the recordings opened so far
        self._base = 0  # frames consumed when start() was called
        self._now = 0  # simulated ms since construction
        self._t0 = time.ticks_ms()
        self._start_ms = 0
        self._slept = False
        self._buf = self._buf2 = None

    def _clock(self):
        if self.realtime:
            return time.ticks_diff(time.ticks_ms(), self._t0)
        return self._now

    def _due(self):
        due = self._base + (self._clock() - self._start_ms) * self.rate // 1000
        return due if due < self.frames else self.frames

    def _advance(self):
        # Simulated time: move to the moment the next frame arrives.
        due = self._due()
        if due < self.frames:
            k = due - self._base + 1
            self._now = self._start_ms + (k * 1000 + self.rate - 1) // self.rate

    def _level(self):
        if not self.running:
            raise RuntimeError("ReplayIMU: call start() before reading the FIFO")
        n = self._due() - self._consumed
        if n >= self.fifo_capacity:
            self._drop(n)
            self.overflows += 1
            self.overflowed = True
            return 0
        return n

    def _source(self):
        src = self._src
        while src is None or src.position >= src.rows:
            if src is not None:
                src.close()
                self._src = src = None
            if self._next >= len(self._plan):
                return None
            path, rows = self._plan[self._next]
            self._next += 1
            src = _open(path, self._partial)
            if src.rows != rows:  # else the frames promised would never come: an app waits for ever
                src.close()
                raise npyfile.Truncated("%s changed since ReplayIMU checked it: %d complete rows, then %d"
                                        % (path, rows, src.rows))
            self.files.append((path, self._opened, rows))
            self._opened += rows
            self._src = src
        return src

    def _drop(self, n):
        left = n
        while left:
            src = self._source()
            if src is None:
                break
            left -= src.skip(left)
        self._consumed += n - left
        self.frames_dropped += n - left

    def start(self):
        """Start (or resume) playing: frames arrive from now at ``rate``."""
        self._base = self._consumed
        self._start_ms = self._clock()
        self._slept = False
        self.overflowed = False
        self.running = True

    def stop(self):
        """Pause: the clock no longer delivers frames until :meth:`start`; the recording
        resumes where it stopped."""
        self.running = False

    def fifo_level(self):
        """Frames waiting (0..fifo_capacity - 1); 0 after an overflow (the waiting frames are
        dropped, ``overflows`` counts it, ``overflowed`` is set). With simulated time, a call not
        preceded by ``sleep_ms`` moves the clock to the next frame first."""
        if not self.running:
            raise RuntimeError("ReplayIMU: call start() before reading the FIFO")
        if not self.realtime and not self._slept:
            self._advance()
        self._slept = False
        n = self._level()
        if n:
            self.overflowed = False
        return n

    def read_fifo(self, buf):
        """Read up to ``len(buf) // 3`` waiting frames into ``buf`` (``array('h')``, x, y, z
        interleaved); return the frames read. No allocation once ``buf`` was checked (a
        ``.csv`` recording allocates while parsing its lines)."""
        if buf is not self._buf and buf is not self._buf2:
            _check_buf(buf, "ReplayIMU.read_fifo")
            self._buf2 = self._buf  # the type check allocates: the last two buffers are remembered
            self._buf = buf
        cap = len(buf) // 3
        n = self._level()  # raises before start()
        if not n and not self.realtime and not self._slept:
            self._advance()
            n = self._level()
        self._slept = False
        if n > cap:
            n = cap
        scratch = self._scratch
        at = 0
        while at < n:
            src = self._source()
            if src is None:
                break
            k = src.readinto(scratch, n - at)
            d = 3 * at
            for i in range(3 * k):
                buf[d + i] = scratch[i]
            at += k
        self._consumed += at
        self.frames_read += at
        return at

    @property
    def done(self):
        """True once every frame has been read (or dropped in an overflow)."""
        return self._consumed >= self.frames

    @property
    def ended(self):
        """True once the last frame has arrived in the FIFO: no more will come, so an app
        waiting for a full block should read what is left (then ``done``)."""
        return self._due() >= self.frames

    def sleep_ms(self, ms):
        """Let ``ms`` milliseconds (int, 0..``tinysense.sleep.MAX_MS``) pass: on the simulated
        clock at once, or with ``time.sleep_ms`` when ``realtime``."""
        _check_ms(ms)
        if self.realtime:
            time.sleep_ms(ms)
        else:
            self._now += ms
            if ms:
                self._slept = True

    def ticks_ms(self):
        """Milliseconds since the replay was made: simulated, or by the wall clock."""
        return self._clock()

    def close(self):
        """Close the recording being played; nothing more is delivered."""
        if self._src is not None:
            self._src.close()
            self._src = None
        self._next = len(self._plan)
        self._consumed = self.frames
        self.running = False
