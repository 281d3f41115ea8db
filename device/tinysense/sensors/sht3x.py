"""Sensirion SHT3x (SHT30/31/35) and SHT4x (SHT40/41/45) temperature and humidity sensors on
``machine.I2C``, register level, with a CRC check on every word; and :class:`ReplayI2C`, a twin
of the bus with such a sensor on it that plays recorded values.

    i2c = machine.I2C(0, scl=machine.Pin(22), sda=machine.Pin(21), freq=100000)
    s = sht3x.SHT3x(i2c)            # "no device at address 0x44 on I2C(0, ...)" if it is missing
    if s.measure():                 # one single-shot measurement, about 16 ms
        print(s.t_centi, s.rh_centi)   # 2153 2987: 21.53 C, 29.87 %RH (ints)
    else:
        print("bad CRC; so far", s.crc_errors)   # the reading is skipped, not a value

SHT3x (datasheet "SHT3x-DIS", Sensirion, v6/2019), section 4:

- address 0x44 (ADDR pin low) or 0x45 (high);
- commands are 16 bits, MSB first. Single shot, clock stretching disabled (4.3, table 9):
  ``0x2400`` high repeatability (max 15.5 ms), ``0x240B`` medium (6.5 ms), ``0x2416`` low
  (4.5 ms); soft reset ``0x30A2`` (4.9, 1.5 ms); read status register ``0xF32D`` (4.11);
- a measurement is read as 6 bytes: temperature MSB, LSB, CRC, humidity MSB, LSB, CRC;
- CRC-8 (4.12, table 19): polynomial 0x31 (x^8 + x^5 + x^4 + 1), initial value 0xFF, no
  reflection, no final XOR, over each 2-byte word; CRC(0xBEEF) = 0x92;
- conversion (4.13): T = -45 + 175 * S_T / 65535 degrees C, RH = 100 * S_RH / 65535 %.

SHT4x (datasheet "SHT4x", v6.6/2023), section 4: address 0x44 (SHT4x-A; -B 0x45); one-byte
commands: ``0xFD`` high precision (max 8.3 ms), ``0xF6`` medium (4.5 ms), ``0xE0`` low
(1.7 ms), soft reset ``0x94``, serial number ``0x89``; the same 6-byte answer and CRC-8;
T = -45 + 175 * S_T / 65535, RH = -6 + 125 * S_RH / 65535 %, clipped to 0..100 %.

Values are kept as ints in hundredths (``t_centi``: 0.01 degrees C, -4500..13000;
``rh_centi``: 0.01 %RH, 0..10000), the units of a BTHome payload. The worst intermediate is
``17500 * 65535 < 2**31``: 32-bit safe. :meth:`SHT3x.measure` allocates nothing.

A missing sensor (no ACK) raises :class:`NoDevice`, an ``OSError`` whose message is "no device
at address 0x44 on I2C(...)". A word whose CRC does not match is counted in ``crc_errors`` and
the measurement is skipped: ``measure()`` returns False and the last good values stay.
"""

import time

ADDRESS = 0x44

# SHT3x commands (datasheet table 9 and section 4)
SHT3X_MEASURE = {"high": 0x2400, "medium": 0x240B, "low": 0x2416}
SHT3X_WAIT_MS = {"high": 16, "medium": 7, "low": 5}
SHT3X_SOFT_RESET = 0x30A2
SHT3X_READ_STATUS = 0xF32D

# SHT4x commands (datasheet section 4.5)
SHT4X_MEASURE = {"high": 0xFD, "medium": 0xF6, "low": 0xE0}
SHT4X_WAIT_MS = {"high": 9, "medium": 5, "low": 2}
SHT4X_SOFT_RESET = 0x94
SHT4X_READ_SERIAL = 0x89


class NoDevice(OSError):
    """No sensor answered at the address: wiring, power, pull-ups or the address (0x44/0x45)."""


def crc8(data, start=0, end=None):
    """Sensirion CRC-8 of ``data[start:end]`` (bytes-like): polynomial 0x31, initial 0xFF.
    ``crc8(b"\\xbe\\xef") == 0x92``. Allocates nothing."""
    if end is None:
        end = len(data)
    crc = 0xFF
    i = start
    while i < end:
        crc ^= data[i]
        b = 0
        while b < 8:
            if crc & 0x80:
                crc = ((crc << 1) ^ 0x31) & 0xFF
            else:
                crc = (crc << 1) & 0xFF
            b += 1
        i += 1
    return crc


def centi_celsius(st):
    """Hundredths of a degree C (int, rounded) for a raw temperature word ``st`` (0..65535):
    -4500..13000. ``17500 * 65535`` fits in 31 bits."""
    return (17500 * st + 32767) // 65535 - 4500


def _no_device(i2c, address, e=None):
    msg = "no device at address 0x%02x on %r" % (address, i2c)
    if e is not None:
        msg += " (%s); check the wiring, power, pull-ups and the address (0x44 or 0x45)" % (e,)
    return NoDevice(msg)


class SHT3x:
    """An SHT3x on ``i2c`` (``machine.I2C``, ``machine.SoftI2C`` or a twin) at ``address``
    (0x44 or 0x45), measuring in single shots at ``repeatability`` ``"high"``, ``"medium"`` or
    ``"low"``. The constructor checks that the sensor answers (reads its status register) and
    raises :class:`NoDevice` if not; ``sleep_ms`` waits for the conversion."""

    COMMAND_BYTES = 2
    MEASURE = SHT3X_MEASURE
    WAIT_MS = SHT3X_WAIT_MS

    def __init__(self, i2c, address=ADDRESS, repeatability="high", sleep_ms=time.sleep_ms):
        if repeatability not in self.MEASURE:
            raise ValueError("repeatability must be 'high', 'medium' or 'low', not %r" % (repeatability,))
        if type(address) is not int or not 0x08 <= address <= 0x77:
            raise ValueError("I2C address must be 0x08..0x77, not %r" % (address,))
        self.i2c = i2c
        self.address = address
        self.sleep_ms = sleep_ms
        self.t_centi = 0  # last good temperature, 0.01 degrees C
        self.rh_centi = 0  # last good relative humidity, 0.01 %
        self.measurements = 0  # good measurements
        self.crc_errors = 0  # measurements skipped for a bad CRC
        self._cmd = bytearray(self.COMMAND_BYTES)
        self._buf = bytearray(6)
        self._command = self.MEASURE[repeatability]
        self._wait = self.WAIT_MS[repeatability]
        self._probe()

    def _write(self, command):
        cmd = self._cmd
        if self.COMMAND_BYTES == 2:
            cmd[0] = command >> 8
            cmd[1] = command & 0xFF
        else:
            cmd[0] = command
        try:
            acks = self.i2c.writeto(self.address, cmd)
        except OSError as e:
            raise _no_device(self.i2c, self.address, e) from None
        if acks == 0:  # ports that count ACKs instead of raising
            raise _no_device(self.i2c, self.address)

    def _read(self, buf):
        try:
            self.i2c.readfrom_into(self.address, buf)
        except OSError as e:
            raise _no_device(self.i2c, self.address, e) from None

    def _probe(self):
        # Read the status register: two bytes and their CRC.
        self._write(SHT3X_READ_STATUS)
        b = bytearray(3)
        self._read(b)
        if crc8(b, 0, 2) != b[2]:
            self.crc_errors += 1

    def reset(self):
        """Soft reset (command 0x30A2): the sensor reloads its calibration, about 2 ms."""
        self._write(SHT3X_SOFT_RESET)
        self.sleep_ms(2)

    def _humidity(self, srh):
        return (10000 * srh + 32767) // 65535

    def measure(self):
        """One single-shot measurement: send the command, wait, read 6 bytes, check both CRCs.
        True: ``t_centi`` and ``rh_centi`` hold the new values. False: a CRC did not match
        (``crc_errors`` counts it), the values are unchanged. :class:`NoDevice` if the sensor
        stops answering."""
        self._write(self._command)
        self.sleep_ms(self._wait)
        b = self._buf
        self._read(b)
        if crc8(b, 0, 2) != b[2] or crc8(b, 3, 5) != b[5]:
            self.crc_errors += 1
            return False
        self.t_centi = centi_celsius(b[0] << 8 | b[1])
        self.rh_centi = self._humidity(b[3] << 8 | b[4])
        self.measurements += 1
        return True

    def temperature(self):
        """The last good temperature in degrees C (float)."""
        return self.t_centi / 100

    def humidity(self):
        """The last good relative humidity in % (float)."""
        return self.rh_centi / 100


class SHT4x(SHT3x):
    """An SHT4x: as :class:`SHT3x`, with one-byte commands (high precision ``0xFD``) and
    ``RH = -6 + 125 * S_RH / 65535`` clipped to 0..100 %. The constructor reads the serial
    number (``0x89``) to check that the sensor answers."""

    COMMAND_BYTES = 1
    MEASURE = SHT4X_MEASURE
    WAIT_MS = SHT4X_WAIT_MS

    def _probe(self):
        self._write(SHT4X_READ_SERIAL)
        self.sleep_ms(1)
        b = self._buf
        self._read(b)
        if crc8(b, 0, 2) != b[2] or crc8(b, 3, 5) != b[5]:
            self.crc_errors += 1
        self.serial = (b[0] << 24 | b[1] << 16 | b[3] << 8 | b[4]) if b[2] == crc8(b, 0, 2) else None

    def reset(self):
        """Soft reset (command 0x94), about 1 ms."""
        self._write(SHT4X_SOFT_RESET)
        self.sleep_ms(1)

    def _humidity(self, srh):
        rh = (12500 * srh + 32767) // 65535 - 600
        return 0 if rh < 0 else 10000 if rh > 10000 else rh


def raw_words(celsius, rh, sht4x=False):
    """The raw words ``(S_T, S_RH)`` (0..65535 each) a sensor sends for ``celsius`` (-45..130)
    and ``rh`` (% , 0..100): the inverse of the datasheet conversion, rounded."""
    st = int((celsius + 45) * 65535 / 175 + 0.5)
    if sht4x:
        srh = int((rh + 6) * 65535 / 125 + 0.5)
    else:
        srh = int(rh * 65535 / 100 + 0.5)
    return (0 if st < 0 else 65535 if st > 65535 else st, 0 if srh < 0 else 65535 if srh > 65535 else srh)


def _put_word(buf, i, w):
    buf[i] = w >> 8
    buf[i + 1] = w & 0xFF
    buf[i + 2] = crc8(buf, i, i + 2)


class ReplayI2C:
    """The twin of a ``machine.I2C`` bus with one SHT3x (or ``sht4x=True``: SHT4x) at
    ``address``, answering measurements from recorded values.

    ``path``: a CSV file of ``temperature_c,humidity_pct`` rows (a header line and ``#``
    comments are skipped), or ``values``: a list of ``(celsius, rh)`` pairs. Each measurement
    command answers the next pair, with correct CRCs unless its index (0-based) is in
    ``corrupt`` (then one CRC bit is flipped: a transfer error). ``finished`` is True once every
    pair has been read; a measurement after that raises ``EOFError``."""

    def __init__(self, path=None, values=None, address=ADDRESS, sht4x=False, corrupt=()):
        if values is None:
            if path is None:
                raise ValueError("ReplayI2C needs recorded values: a path or values")
            values = self._load(path)
        self.values = values
        self.address = address
        self.sht4x = sht4x
        self.corrupt = corrupt
        self.position = 0  # measurements answered
        self.finished = not len(values)
        self._out = bytearray(6)
        self._n = 0

    @staticmethod
    def _load(path):
        vals = []
        lineno = 0
        with open(path) as f:
            for line in f:
                lineno += 1
                line = line.strip()
                if not line or line[0] == "#":
                    continue
                cells = line.split(",")
                try:
                    t, rh = float(cells[0]), float(cells[1])
                except (ValueError, IndexError):
                    if not vals:
                        continue  # a header
                    raise ValueError("%s line %d: expected temperature_c,humidity_pct, not %r"
                                     % (path, lineno, line)) from None
                vals.append((t, rh))
        if not vals:
            raise ValueError("%s: no temperature,humidity rows" % path)
        return vals

    def __repr__(self):
        return "ReplayI2C(SHT%s at 0x%02x)" % ("4x" if self.sht4x else "3x", self.address)

    def scan(self):
        """The addresses that answer: ``[address]``."""
        return [self.address]

    def writeto(self, addr, buf, stop=True):
        """Take a command; ``OSError(19)`` (ENODEV) for another address, as a real bus."""
        if addr != self.address:
            raise OSError(19)
        out = self._out
        cmd = buf[0] if len(buf) == 1 else buf[0] << 8 | buf[1]
        self._n = 6
        if cmd in (0x2400, 0x240B, 0x2416, 0xFD, 0xF6, 0xE0):
            i = self.position
            if i >= len(self.values):
                raise EOFError("the SHT recording ended after %d measurements" % len(self.values))
            self.position = i + 1
            self.finished = self.position >= len(self.values)
            t, rh = self.values[i]
            st, srh = raw_words(t, rh, self.sht4x)
            _put_word(out, 0, st)
            _put_word(out, 3, srh)
            if i in self.corrupt:
                out[5] ^= 0x01
        elif cmd == SHT3X_READ_STATUS:
            _put_word(out, 0, 0x8010)
            self._n = 3
        elif cmd == SHT4X_READ_SERIAL:
            _put_word(out, 0, 0x1234)
            _put_word(out, 3, 0x5678)
        else:
            self._n = 0
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        """Answer the last command into ``buf``."""
        if addr != self.address:
            raise OSError(19)
        n = len(buf)
        if n > self._n:
            n = self._n
        i = 0
        while i < n:
            buf[i] = self._out[i]
            i += 1
        while i < len(buf):
            buf[i] = 0xFF
            i += 1
