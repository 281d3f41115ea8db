"""Analog sources: ``machine.ADC`` on a board (:class:`ADCSource`), :class:`ReplayADC`, its twin
that plays a recording of raw readings, and :class:`Linear`, the raw -> degrees C calibration.

    src = adc.ADCSource(26)                      # a board: machine.ADC(26).read_u16()
    src = adc.ReplayADC("trace.csv")             # any port: the recorded read_u16() values
    buf = array.array("h", bytearray(2 * 9))     # 9 readings, made once
    n = src.read_into(buf, 20)                   # 9 readings 20 ms apart, stored as raw - 32768
    raw = median.median(buf) + adc.CENTER        # back to read_u16 units (0..65535)
    cal = adc.Linear.for_sensor("TMP36", vref=3.3)
    print(cal.celsius(raw), cal.centi(raw))      # 21.53 (float, degrees C), 2153 (int, 0.01 C)

Readings are ``read_u16()`` values, 0..65535 for 0 V..``vref`` whatever the converter's real
resolution (a 12-bit ADC's count ``c`` reads as about ``c * 16``). :meth:`ADCSource.read_into`
stores each one minus :data:`CENTER` (32768) in an ``array('h')``: the offset keeps all 16 bits
in an int16, which is what the viper kernels (``tinysense.median``) take; add ``CENTER`` back
to a result. No allocation per reading: everything stays a small int.

The replay twin reads, once, a whole recording of ``read_u16`` values into memory:

- ``.csv``/``.txt``: one reading per line, or comma-separated columns of which ``column``
  (index or header name, default 0) is used; a header line and ``#`` comments are skipped;
- ``.npy``: a 1-D little-endian ``uint16`` or ``int16`` array (numpy ``np.save``);
- any other name: raw little-endian 16-bit words, ``uint16`` (``.u16``, ``.raw``, ``.bin``)
  or ``int16`` (``.h``, ``.i16``).

Values must be 0..65535 (int16 files: 0..32767); anything else raises ``ValueError`` naming the
file and the line or index.
"""

import array
import time

CENTER = 32768  # read_u16() - CENTER is stored in array('h')

# Analog temperature sensors: (volts at 0 degrees C, volts per degree C), from the datasheets.
SENSORS = {
    "TMP36": (0.5, 0.010),  # Analog Devices TMP36: 750 mV at 25 C, 10 mV/C, -40..125 C
    "LM35": (0.0, 0.010),  # Texas Instruments LM35: 0 mV + 10 mV/C, 2..150 C (basic circuit)
    "TMP35": (0.0, 0.010),  # Analog Devices TMP35: 250 mV at 25 C, 10 mV/C, 10..125 C
    "TMP37": (0.0, 0.020),  # Analog Devices TMP37: 500 mV at 25 C, 20 mV/C, 5..100 C
    "MCP9700": (0.5, 0.010),  # Microchip MCP9700: 500 mV at 0 C, 10 mV/C, -40..125 C
    "MCP9701": (0.4, 0.0195),  # Microchip MCP9701: 400 mV at 0 C, 19.5 mV/C, -10..125 C
}


class Linear:
    """A linear calibration ``degrees C = raw * scale + offset`` for ``read_u16`` readings
    (``raw``: 0..65535).

    Make one with :meth:`for_sensor` (datasheet constants at an ADC reference voltage) or
    :meth:`two_point` (two readings at known temperatures), or give ``scale`` (degrees C per
    raw unit, non-zero) and ``offset`` (degrees C at raw 0) directly."""

    def __init__(self, scale, offset):
        scale = float(scale)
        offset = float(offset)
        if scale == 0 or scale != scale or offset != offset:
            raise ValueError("calibration scale must be a non-zero number and offset a number, not %r, %r"
                             % (scale, offset))
        self.scale = scale
        self.offset = offset

    @staticmethod
    def for_sensor(name, vref=3.3):
        """The datasheet line of an analog sensor named in :data:`SENSORS` (``"TMP36"``,
        ``"LM35"``...) read by an ADC whose ``read_u16`` full scale (65535) is ``vref`` volts
        (0.5..6.0; 3.3 on an RP2040, about 3.1..3.3 on an ESP32 at 11 dB attenuation, whose
        ``read_uv()`` is better calibrated). ``ValueError`` for an unknown name or a bad vref."""
        key = str(name).upper()
        if key not in SENSORS:
            raise ValueError("unknown analog sensor %r; known: %s" % (name, ", ".join(sorted(SENSORS))))
        if not (0.5 <= vref <= 6.0):
            raise ValueError("ADC reference must be 0.5..6.0 V, not %r" % (vref,))
        v0, slope = SENSORS[key]
        volts = vref / 65535
        return Linear(volts / slope, -v0 / slope)

    @staticmethod
    def two_point(raw1, t1, raw2, t2):
        """The line through two measurements: ``raw1`` read at ``t1`` degrees C and ``raw2`` at
        ``t2`` (e.g. ice water and a reference thermometer). The readings must differ and be
        in 0..65535; ``ValueError`` otherwise."""
        for r in (raw1, raw2):
            if not (0 <= r <= 65535):
                raise ValueError("raw reading %r is outside read_u16 range 0..65535" % (r,))
        if raw1 == raw2:
            raise ValueError("two-point calibration needs two different readings (both %r)" % (raw1,))
        scale = (t2 - t1) / (raw2 - raw1)
        return Linear(scale, t1 - raw1 * scale)

    def celsius(self, raw):
        """Degrees C (float) for a reading ``raw`` (int or float, 0..65535)."""
        return raw * self.scale + self.offset

    def centi(self, raw):
        """Hundredths of a degree C (int, rounded half away from zero) for a reading ``raw``:
        the unit of a BTHome temperature. About -1e6..1e6 for the sensors above, a small int."""
        c = (raw * self.scale + self.offset) * 100
        return int(c + 0.5) if c >= 0 else -int(0.5 - c)

    def raw(self, celsius):
        """The reading (float) that gives ``celsius``: the inverse of :meth:`celsius`."""
        return (celsius - self.offset) / self.scale


def _check_buf(buf):
    from ..arrays import typecode

    if typecode(buf) != "h":
        raise TypeError("buf must be a non-empty array('h') (readings - CENTER), not %s"
                        % (type(buf).__name__ if type(buf) is not array.array else "array('%s')" % typecode(buf)))


class ADCSource:
    """``machine.ADC`` on pin ``pin`` (a number or a ``machine.Pin``), read with ``read_u16``.
    ``atten`` (ESP32 only, e.g. ``machine.ADC.ATTN_11DB`` for 0..3.1 V) is passed on when given.
    Raises ``ImportError`` on a port without ``machine.ADC`` (the unix port: use ReplayADC)."""

    def __init__(self, pin, atten=None):
        from machine import ADC, Pin

        if type(pin) is int:
            pin = Pin(pin)
        self.adc = ADC(pin) if atten is None else ADC(pin, atten=atten)
        self.finished = False
        self._buf = None

    def read_u16(self):
        """One reading, 0..65535."""
        return self.adc.read_u16()

    def read_into(self, buf, spacing_ms=0, sleep_ms=time.sleep_ms):
        """Fill ``buf`` (``array('h')``, checked on the first call with that buffer) with
        ``len(buf)`` readings, each stored as ``read_u16() - CENTER``, waiting ``spacing_ms``
        (0..60000) between two readings with ``sleep_ms``. Returns ``len(buf)``. Allocates
        nothing after the first call."""
        if buf is not self._buf:
            _check_buf(buf)
            self._buf = buf
        read = self.adc.read_u16
        n = len(buf)
        i = 0
        while i < n:
            if i and spacing_ms:
                sleep_ms(spacing_ms)
            buf[i] = read() - 32768
            i += 1
        return n


def _isnum(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def _parse_csv(f, path, column):
    vals = array.array("H")
    col = column if type(column) is int else None
    first = True
    lineno = 0
    for line in f:
        lineno += 1
        line = line.strip()
        if not line or line[0] == "#":
            continue
        cells = line.split(",")
        if first:
            first = False
            if col is None:  # a column named: this line is the header
                names = [c.strip() for c in cells]
                if column not in names:
                    raise ValueError("%s: no column %r in the header %r" % (path, column, line))
                col = names.index(column)
                continue
            if col < len(cells) and not _isnum(cells[col]):
                continue  # a header line
        if col >= len(cells):
            raise ValueError("%s line %d: no column %d in %r" % (path, lineno, col, line))
        s = cells[col].strip()
        try:
            v = int(s)
        except ValueError:
            if not _isnum(s):
                raise ValueError("%s line %d: %r is not a number" % (path, lineno, s)) from None
            fv = float(s)
            v = int(fv)
            if v != fv:
                raise ValueError("%s line %d: %r is not a whole read_u16 value" % (path, lineno, s)) from None
        if v < 0 or v > 65535:
            raise ValueError("%s line %d: reading %d is outside read_u16 range 0..65535" % (path, lineno, v))
        vals.append(v)
    return vals


def _read_words(f, path, signed, n=-1):
    data = f.read() if n < 0 else f.read(2 * n)
    if len(data) & 1 or (n >= 0 and len(data) != 2 * n):
        raise ValueError("%s: %d bytes of data, not a whole number%s of 16-bit words"
                         % (path, len(data), "" if n < 0 else " (%d expected)" % n))
    vals = array.array("H", data)  # little-endian on every MicroPython port
    if signed:
        i = 0
        while i < len(vals):
            if vals[i] & 0x8000:
                raise ValueError("%s: int16 value %d at index %d is negative; read_u16 values are 0..65535"
                                 % (path, vals[i] - 65536, i))
            i += 1
    return vals


def _parse_npy(f, path):
    head = f.read(10)
    if len(head) < 10 or head[:6] != b"\x93NUMPY":
        raise ValueError("%s: not a .npy file" % path)
    hlen = head[8] | head[9] << 8
    if head[6] >= 2:
        b = f.read(2)
        hlen |= b[0] << 16 | b[1] << 24
    text = f.read(hlen).decode()
    descr = None
    for code in ("<u2", "<i2", "|u2", "|i2"):
        if "'%s'" % code in text:
            descr = code
    if descr is None:
        raise ValueError("%s: .npy dtype must be little-endian uint16 or int16 (header %s)" % (path, text.strip()))
    if "'fortran_order': True" in text:
        raise ValueError("%s: .npy array is in Fortran order; save a 1-D array" % path)
    i = text.index("'shape':")
    shape = text[text.index("(", i) + 1:text.index(")", i)]
    dims = [d.strip() for d in shape.split(",") if d.strip()]
    if len(dims) != 1:
        raise ValueError("%s: .npy array has shape (%s); a recording is 1-D" % (path, shape))
    return _read_words(f, path, descr[1] == "i", int(dims[0]))


def load(path, column=0):
    """All readings of the recording at ``path`` as an ``array('H')`` of ``read_u16`` values
    (see the module notes for the formats). ``OSError`` if it cannot be opened; ``ValueError``
    naming the file and place of a bad value, or for an empty recording."""
    name = path.lower()
    if name.endswith(".csv") or name.endswith(".txt"):
        with open(path) as f:
            vals = _parse_csv(f, path, column)
    else:
        with open(path, "rb") as f:
            if name.endswith(".npy"):
                vals = _parse_npy(f, path)
            else:
                vals = _read_words(f, path, name.endswith(".h") or name.endswith(".i16"))
    if not len(vals):
        raise ValueError("%s: the recording holds no readings" % path)
    return vals


class ReplayADC:
    """The twin of :class:`ADCSource`: plays the ``read_u16`` values recorded in ``path`` (see
    the module notes for the formats; ``column`` picks a CSV column by index or header name),
    or in an ``array('H')`` given as ``readings``. Each reading is returned once, in order;
    ``finished`` turns True when all have been read."""

    def __init__(self, path=None, column=0, readings=None):
        if readings is None:
            if path is None:
                raise ValueError("ReplayADC needs a recording: a path or readings")
            readings = load(path, column)
        self.readings = readings
        self.n_readings = len(readings)
        self.position = 0  # readings taken so far
        self.finished = not self.n_readings
        self._buf = None

    def read_u16(self):
        """The next recorded reading, 0..65535. ``EOFError`` after the last one."""
        i = self.position
        if i >= self.n_readings:
            raise EOFError("the recording ended after %d readings" % self.n_readings)
        self.position = i + 1
        if i + 1 == self.n_readings:
            self.finished = True
        return self.readings[i]

    def read_into(self, buf, spacing_ms=0, sleep_ms=None):
        """As :meth:`ADCSource.read_into`, from the recording; ``sleep_ms`` is called between two
        readings when given (a replay clock), else the replay does not wait. Returns the number
        of readings stored: ``len(buf)``, or fewer (then the recording is finished and the rest of
        ``buf`` is stale) at its end. Allocates nothing after the first call."""
        if buf is not self._buf:
            _check_buf(buf)
            self._buf = buf
        src = self.readings
        i = self.position
        n = len(buf)
        left = self.n_readings - i
        if n > left:
            n = left
        k = 0
        while k < n:
            if k and spacing_ms and sleep_ms is not None:
                sleep_ms(spacing_ms)
            buf[k] = src[i + k] - 32768
            k += 1
        self.position = i + n
        if self.position >= self.n_readings:
            self.finished = True
        return n
