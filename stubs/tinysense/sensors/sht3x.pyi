"""Sensirion SHT3x and SHT4x temperature/humidity sensors on ``machine.I2C``: single-shot
measurements (SHT3x ``0x2400``/``0x240B``/``0x2416``, SHT4x ``0xFD``/``0xF6``/``0xE0``), CRC-8
(poly 0x31, init 0xFF) on every word, values in hundredths; :class:`NoDevice` for a missing
sensor, a bad CRC counted and skipped; :class:`ReplayI2C`, a twin bus playing recorded values."""

from typing import Any, Callable

ADDRESS: int
"""0x44, the default address (ADDR low; 0x45 with ADDR high)."""
SHT3X_MEASURE: dict[str, int]
"""Single-shot commands, clock stretching off: high 0x2400, medium 0x240B, low 0x2416."""
SHT3X_WAIT_MS: dict[str, int]
"""Milliseconds to wait for a measurement at each repeatability."""
SHT3X_SOFT_RESET: int
"""0x30A2."""
SHT3X_READ_STATUS: int
"""0xF32D: status register, 2 bytes + CRC."""
SHT4X_MEASURE: dict[str, int]
"""high 0xFD, medium 0xF6, low 0xE0."""
SHT4X_WAIT_MS: dict[str, int]
"""Milliseconds to wait for a measurement at each precision."""
SHT4X_SOFT_RESET: int
"""0x94."""
SHT4X_READ_SERIAL: int
"""0x89: serial number, two words + CRCs."""

class NoDevice(OSError):
    """No sensor answered: "no device at address 0x44 on I2C(...)"."""

def crc8(data: Any, start: int = 0, end: int | None = None) -> int:
    """Sensirion CRC-8 of ``data[start:end]``; ``crc8(b"\\xbe\\xef") == 0x92``."""

def centi_celsius(st: int) -> int:
    """Hundredths of a degree C for a raw temperature word (0..65535): -4500..13000."""

class SHT3x:
    """An SHT3x on an I2C bus; the constructor checks that it answers (:class:`NoDevice`)."""

    COMMAND_BYTES: int
    """2: SHT3x commands are 16 bits."""
    MEASURE: dict[str, int]
    """The measurement commands by repeatability."""
    WAIT_MS: dict[str, int]
    """The conversion times by repeatability."""
    i2c: Any
    """The bus."""
    address: int
    """The sensor's address."""
    sleep_ms: Callable[[int], Any]
    """Waits for the conversion."""
    t_centi: int
    """Last good temperature, 0.01 degrees C."""
    rh_centi: int
    """Last good relative humidity, 0.01 %."""
    measurements: int
    """Good measurements so far."""
    crc_errors: int
    """Measurements skipped for a bad CRC."""

    def __init__(self, i2c: Any, address: int = 0x44, repeatability: str = "high",
                 sleep_ms: Callable[[int], Any] = ...) -> None:
        """``repeatability``: ``"high"``, ``"medium"`` or ``"low"`` (``ValueError`` otherwise);
        :class:`NoDevice` when nothing answers at ``address``."""

    def reset(self) -> None:
        """Soft reset."""

    def measure(self) -> bool:
        """One single-shot measurement; False (counted in ``crc_errors``) on a bad CRC, values
        unchanged. Allocates nothing."""

    def temperature(self) -> float:
        """The last good temperature, degrees C."""

    def humidity(self) -> float:
        """The last good relative humidity, %."""

class SHT4x(SHT3x):
    """An SHT4x: one-byte commands, RH = -6 + 125 * S / 65535 clipped to 0..100 %."""

    COMMAND_BYTES: int
    """1: SHT4x commands are one byte."""
    MEASURE: dict[str, int]
    """The measurement commands by precision."""
    WAIT_MS: dict[str, int]
    """The conversion times by precision."""
    serial: int | None
    """The serial number read by the constructor (None if its CRC was bad)."""
    crc_errors: int
    """Transfers skipped for a bad CRC (the serial number read included)."""

    def reset(self) -> None:
        """Soft reset (0x94)."""

def raw_words(celsius: float, rh: float, sht4x: bool = False) -> tuple[int, int]:
    """The raw words a sensor sends for ``celsius`` and ``rh``."""

class ReplayI2C:
    """A ``machine.I2C`` twin with one SHT3x/SHT4x answering recorded (celsius, rh) values."""

    values: list[tuple[float, float]]
    """The recorded values."""
    address: int
    """The sensor's address."""
    sht4x: bool
    """Plays an SHT4x instead of an SHT3x."""
    corrupt: Any
    """Indices of measurements sent with a bad CRC."""
    position: int
    """Measurements answered so far."""
    finished: bool
    """True once every value has been read."""

    def __init__(self, path: str | None = None, values: list | None = None, address: int = 0x44,
                 sht4x: bool = False, corrupt: Any = ()) -> None:
        """``path``: CSV of ``temperature_c,humidity_pct``; or ``values``."""

    def scan(self) -> list[int]:
        """``[address]``."""

    def writeto(self, addr: int, buf: Any, stop: bool = True) -> int:
        """Take a command; ``OSError(19)`` for another address."""

    def readfrom_into(self, addr: int, buf: Any, stop: bool = True) -> None:
        """Answer the last command."""
