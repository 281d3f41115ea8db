"""BTHome v2 advertising: sensor values in BLE advertisements that Home Assistant reads.

    enc = bthome.Encoder(name="tinysense")
    adv = enc.encode(packet_id=7, temperature=21.37, humidity=45.2, battery=87)
    # adv: memoryview of the whole advertising payload (<= 31 bytes), reused by the next call

    ad = bthome.Advertiser(name="tinysense")         # bluetooth.BLE() where the port has it
    ad.advertise(temperature=21.37, humidity=45.2)   # packet id counts up by itself

Payload (BTHome v2, unencrypted): the flags AD structure ``02 01 06``, then the service data AD
structure ``len 16 d2 fc`` (UUID 0xFCD2, little-endian) holding the device information byte
(0x40: version 2, or 0x44 with ``trigger=True``) and the objects in ascending object id:

    object        id    bytes            unit (resolution)     range
    packet_id     0x00  uint8            -                     0..255
    battery       0x01  uint8            % (1)                 0..100
    temperature   0x02  sint16           degrees C (0.01)      -327.68..327.67
    humidity      0x03  uint16           % RH (0.01)           0..655.35
    pressure      0x04  uint24           hPa (0.01)            0..167772.15
    voltage       0x0C  uint16           V (0.001)             0..65.535
    count         0x3E  uint32           - (1)                 0..2**30-1 (a small int everywhere)

then, if a ``name`` was given, the complete local name AD structure (type 0x09). Values are
rounded to the resolution (half away from zero, after the multiplication in the port's float
precision: single precision on most microcontrollers); a value outside its range raises
``ValueError`` naming the range.

On a port without the ``bluetooth`` module (the unix port) :class:`Advertiser` prints the
payload as hex instead, so the same application code runs on both.
"""

try:
    from binascii import hexlify as _hexlify
except ImportError:  # a port without binascii
    _hexlify = None

UUID = 0xFCD2
DEVICE_INFO = 0x40
TRIGGER = 0x04
MAX_PAYLOAD = 31
AD_FLAGS = b"\x02\x01\x06"

# (keyword, object id, bytes, scale (counts of the resolution per unit), lowest, highest count, unit, range)
OBJECTS = (
    ("packet_id", 0x00, 1, 1, 0, 255, "", "0..255"),
    ("battery", 0x01, 1, 1, 0, 100, "%", "0..100 %"),
    ("temperature", 0x02, 2, 100, -32768, 32767, "degrees C", "-327.68..327.67 degrees C (sint16 of 0.01 degrees C)"),
    ("humidity", 0x03, 2, 100, 0, 65535, "%", "0..655.35 % (uint16 of 0.01 %)"),
    ("pressure", 0x04, 3, 100, 0, 0xFFFFFF, "hPa", "0..167772.15 hPa (uint24 of 0.01 hPa)"),
    ("voltage", 0x0C, 2, 1000, 0, 65535, "V", "0..65.535 V (uint16 of 0.001 V)"),
    ("count", 0x3E, 4, 1, 0, 0x3FFFFFFF, "", "0..1073741823 (uint32, kept to a small int)"),
)


def _type_error(k, value):
    raise TypeError("%s must be a number, not %s" % (OBJECTS[k][0], type(value).__name__))


def _range_error(k, value):
    o = OBJECTS[k]
    raise ValueError("%s %r %s is outside BTHome's range %s" % (o[0], value, o[6], o[7]))


class Encoder:
    """Builds BTHome v2 advertising payloads in one preallocated 31-byte buffer.

    Parameters: ``name`` (str or bytes, optional) is sent as the complete local name;
    ``trigger`` sets the device information's trigger-based bit (a device that advertises
    only when something changes, e.g. after a wake-up).

    :meth:`encode` returns a memoryview into the buffer: no allocation apart from float
    arithmetic on ports that box floats. Use or copy the result before the next call.
    """

    def __init__(self, name=None, trigger=False):
        if isinstance(name, str):
            name = name.encode()
        if name is not None and not isinstance(name, (bytes, bytearray)):
            raise TypeError("name must be str or bytes, not %s" % type(name).__name__)
        self.name = bytes(name) if name else b""
        head = len(AD_FLAGS) + 5  # flags, then len 0x16 d2 fc and the device information byte
        if self.name and head + 2 + len(self.name) > MAX_PAYLOAD:
            raise ValueError("name of %d bytes leaves no room in the 31-byte advertisement; use at most %d"
                             % (len(self.name), MAX_PAYLOAD - head - 2))
        self.info = DEVICE_INFO | (TRIGGER if trigger else 0)
        self._buf = bytearray(MAX_PAYLOAD)
        mv = memoryview(self._buf)
        self._views = [mv[:n] for n in range(MAX_PAYLOAD + 1)]
        self._buf[0:3] = AD_FLAGS
        self._buf[4] = 0x16
        self._buf[5] = UUID & 0xFF
        self._buf[6] = UUID >> 8
        self._buf[7] = self.info

    def encode(self, packet_id=None, battery=None, temperature=None, humidity=None, pressure=None,
               voltage=None, count=None):
        """The advertising payload (memoryview, at most 31 bytes) with the values given.

        Parameters (each optional, sent only if not None): ``packet_id`` 0..255 (a receiver
        drops a payload whose packet id it has just seen: change it for every new measurement);
        ``battery`` in % (int, 0..100); ``temperature`` in degrees C (resolution 0.01);
        ``humidity`` in % RH (0.01); ``pressure`` in hPa (0.01); ``voltage`` in V (0.001);
        ``count`` (int, 0..2**30-1, sent as uint32).

        Raises ``TypeError`` for a value that is not a number, ``ValueError`` for one outside
        its BTHome range or if the payload would exceed 31 bytes (fewer values or a shorter
        name then).
        """
        buf = self._buf
        i = 8
        if packet_id is not None:
            i = self._put(i, 0, packet_id)
        if battery is not None:
            i = self._put(i, 1, battery)
        if temperature is not None:
            i = self._put(i, 2, temperature)
        if humidity is not None:
            i = self._put(i, 3, humidity)
        if pressure is not None:
            i = self._put(i, 4, pressure)
        if voltage is not None:
            i = self._put(i, 5, voltage)
        if count is not None:
            i = self._put(i, 6, count)
        buf[3] = i - 4  # service data AD length: type, UUID, device information, objects
        name = self.name
        if name:
            m = len(name)
            if i + 2 + m > MAX_PAYLOAD:
                raise ValueError("advertisement of %d bytes with the %d-byte name exceeds BLE's 31; "
                                 "send fewer values or a shorter name" % (i + 2 + m, m))
            buf[i] = m + 1
            buf[i + 1] = 0x09
            buf[i + 2:i + 2 + m] = name
            i += 2 + m
        return self._views[i]

    def _put(self, i, k, value):
        """Write object number ``k`` of OBJECTS at ``i``, rounded half away from zero and
        checked against its range; returns the index after it. Few locals and a shallow
        stack, so that MicroPython keeps the frame off the heap."""
        o = OBJECTS[k]
        if type(value) is not int and type(value) is not float:  # no tuple built; bool refused
            _type_error(k, value)
        r = value * o[3]
        if type(r) is float:
            if not (o[4] - 1 < r < o[5] + 1):  # also NaN and inf
                _range_error(k, value)
            r = int(r + 0.5) if r >= 0 else int(r - 0.5)
        if not (o[4] <= r <= o[5]):
            _range_error(k, value)
        n = o[2]
        if i + 1 + n > MAX_PAYLOAD:  # only with a long name
            raise ValueError("BTHome payload longer than 31 bytes; send fewer values or a shorter name")
        self._buf[i] = o[1]
        while n:
            i += 1
            self._buf[i] = r & 0xFF
            r >>= 8
            n -= 1
        return i + 1

    def service_data(self, packet_id=None, battery=None, temperature=None, humidity=None, pressure=None,
                     voltage=None, count=None):
        """Only the BTHome service data (device information byte and objects, after the UUID):
        a new ``bytes``. Parameters and errors as :meth:`encode`."""
        adv = self.encode(packet_id, battery, temperature, humidity, pressure, voltage, count)
        return bytes(adv[7:4 + adv[3]])


def advertising_payload(name=None, packet_id=None, battery=None, temperature=None, humidity=None,
                        pressure=None, voltage=None, count=None, trigger=False):
    """A new ``bytes``: the whole advertising payload (see :meth:`Encoder.encode`); for one-off
    use. A loop should keep one :class:`Encoder` instead."""
    return bytes(Encoder(name, trigger).encode(packet_id, battery, temperature, humidity, pressure, voltage, count))


def _hex(data):
    if _hexlify is not None:
        return _hexlify(data).decode()
    return "".join("%02x" % b for b in data)


class Advertiser:
    """Advertises BTHome v2 payloads with ``bluetooth.BLE().gap_advertise``, non-connectable.

    Parameters: ``name`` and ``trigger`` as :class:`Encoder`; ``interval_ms`` the advertising
    interval (milliseconds); ``ble`` a ``bluetooth.BLE`` object to use (default: made and
    activated here, if the port has the ``bluetooth`` module); ``log`` the function given the
    payload's hex text where there is no ``bluetooth`` module (default: print it as
    ``bthome <hex>``).

    ``available`` says whether a radio is used. ``packet_id`` is the last packet id sent.
    """

    def __init__(self, name=None, interval_ms=1000, trigger=False, ble=None, log=None):
        if not isinstance(interval_ms, int) or not 20 <= interval_ms <= 10240:
            raise ValueError("interval_ms must be an int of 20..10240 ms (BLE advertising interval), got %r"
                             % (interval_ms,))
        self.encoder = Encoder(name, trigger)
        self.interval_us = interval_ms * 1000
        self.packet_id = 0
        self.log = log
        if ble is None:
            try:
                import bluetooth
            except ImportError:
                bluetooth = None
            if bluetooth is not None and hasattr(bluetooth, "BLE"):
                ble = bluetooth.BLE()
                ble.active(True)
        self.ble = ble
        self.available = ble is not None

    def advertise(self, battery=None, temperature=None, humidity=None, pressure=None, voltage=None,
                  count=None, packet_id=None):
        """Start (or update) advertising these values; the units are those of
        :meth:`Encoder.encode`. The packet id advances by one (mod 256) unless given.
        Returns the payload (memoryview, valid until the next call)."""
        if packet_id is None:
            packet_id = (self.packet_id + 1) & 0xFF
        adv = self.encoder.encode(packet_id, battery, temperature, humidity, pressure, voltage, count)
        self.packet_id = packet_id
        if self.ble is not None:
            self.ble.gap_advertise(self.interval_us, adv, connectable=False)
        elif self.log is not None:
            self.log(_hex(adv))
        else:
            print("bthome", _hex(adv))
        return adv

    def stop(self):
        """Stop advertising (nothing to do without a radio)."""
        if self.ble is not None:
            self.ble.gap_advertise(None)
