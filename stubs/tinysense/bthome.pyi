"""BTHome v2 advertising: sensor values in BLE advertisements that Home Assistant reads.

    enc = bthome.Encoder(name="tinysense")
    adv = enc.encode(packet_id=7, temperature=21.37, humidity=45.2, battery=87)
    ad = bthome.Advertiser(name="tinysense")          # bluetooth.BLE() where the port has it
    ad.advertise(temperature=21.37, humidity=45.2)    # packet id counts up by itself

Payload: flags ``02 01 06``, the service data AD structure (UUID 0xFCD2, device information
byte 0x40, objects in ascending id: packet id 0x00 uint8, battery 0x01 uint8 %, temperature
0x02 sint16 0.01 degrees C, humidity 0x03 uint16 0.01 %, pressure 0x04 uint24 0.01 hPa,
voltage 0x0C uint16 0.001 V, count 0x3E uint32), then the complete local name if given.
Without the ``bluetooth`` module (unix port) :class:`Advertiser` prints the payload as hex.
"""

from typing import Any, Callable, Final

UUID: Final[int]
"""The BTHome service UUID, 0xFCD2."""
DEVICE_INFO: Final[int]
"""Device information byte of an unencrypted BTHome v2 payload (0x40)."""
TRIGGER: Final[int]
"""Bit of the device information byte for a trigger-based device (0x04)."""
MAX_PAYLOAD: Final[int]
"""Longest legacy BLE advertising payload: 31 bytes."""
AD_FLAGS: Final[bytes]
"""The flags AD structure: LE General Discoverable, BR/EDR not supported (``02 01 06``)."""
OBJECTS: Final[tuple[tuple[str, int, int, int, int, int, str, str], ...]]
"""Per object, in ascending id: (keyword, object id, bytes, counts per unit, lowest count,
highest count, unit, range text)."""

class Encoder:
    """Builds BTHome v2 advertising payloads in one preallocated 31-byte buffer."""

    name: bytes
    """The complete local name sent (``b""``: none)."""
    info: int
    """The device information byte (0x40, or 0x44 when trigger-based)."""

    def __init__(self, name: str | bytes | None = None, trigger: bool = False) -> None:
        """``name`` is sent as the complete local name; ``trigger`` sets the trigger-based bit.

        Raises ``TypeError`` for a name that is not str/bytes, ``ValueError`` for one too long
        to fit the 31-byte advertisement.
        """

    def encode(self, packet_id: int | None = None, battery: int | None = None, temperature: float | None = None,
               humidity: float | None = None, pressure: float | None = None, voltage: float | None = None,
               count: int | None = None) -> memoryview:
        """The whole advertising payload (memoryview into the buffer, at most 31 bytes, valid
        until the next call) with the values given (None: not sent).

        Units: ``packet_id`` 0..255; ``battery`` % 0..100; ``temperature`` degrees C (0.01,
        -327.68..327.67); ``humidity`` % RH (0.01, 0..655.35); ``pressure`` hPa (0.01);
        ``voltage`` V (0.001, 0..65.535); ``count`` 0..2**30-1. Rounded half away from zero.

        Raises ``TypeError`` for a value that is not a number, ``ValueError`` for one outside
        its range or a payload longer than 31 bytes.
        """

    def service_data(self, packet_id: int | None = None, battery: int | None = None,
                     temperature: float | None = None, humidity: float | None = None,
                     pressure: float | None = None, voltage: float | None = None,
                     count: int | None = None) -> bytes:
        """Only the BTHome service data after the UUID (device information byte and objects),
        as new bytes. Parameters and errors as :meth:`encode`."""

def advertising_payload(name: str | bytes | None = None, packet_id: int | None = None, battery: int | None = None,
                        temperature: float | None = None, humidity: float | None = None,
                        pressure: float | None = None, voltage: float | None = None,
                        count: int | None = None, trigger: bool = False) -> bytes:
    """The whole advertising payload as new bytes (one-off use; a loop keeps an :class:`Encoder`)."""

class Advertiser:
    """Advertises BTHome v2 payloads with ``bluetooth.BLE().gap_advertise`` (non-connectable);
    prints ``bthome <hex>`` instead on ports without the ``bluetooth`` module."""

    encoder: Encoder
    """The encoder whose buffer holds the payload."""
    interval_us: int
    """Advertising interval in microseconds."""
    packet_id: int
    """The last packet id sent (0 before the first)."""
    log: Callable[[str], Any] | None
    """Called with the payload's hex text where there is no radio (None: print it)."""
    ble: Any
    """The ``bluetooth.BLE`` object used, or None."""
    available: bool
    """Whether a radio is used."""

    def __init__(self, name: str | bytes | None = None, interval_ms: int = 1000, trigger: bool = False,
                 ble: Any = None, log: Callable[[str], Any] | None = None) -> None:
        """``interval_ms``: advertising interval, 20..10240 ms; ``ble``: a BLE object to use
        (default: ``bluetooth.BLE()``, activated, if the port has it). Raises ``ValueError``
        for an interval out of range."""

    def advertise(self, battery: int | None = None, temperature: float | None = None,
                  humidity: float | None = None, pressure: float | None = None,
                  voltage: float | None = None, count: int | None = None,
                  packet_id: int | None = None) -> memoryview:
        """Start or update advertising these values (units as :meth:`Encoder.encode`); the
        packet id advances by one (mod 256) unless given. Returns the payload."""

    def stop(self) -> None:
        """Stop advertising."""
