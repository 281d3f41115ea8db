"""Analog sources: ``machine.ADC`` on a board (:class:`ADCSource`), :class:`ReplayADC`, its twin
that plays a recording of ``read_u16`` values (CSV, ``.npy``, raw 16-bit words), and
:class:`Linear`, the raw -> degrees C calibration (datasheet constants or two points).
Readings are stored as ``read_u16() - CENTER`` in an ``array('h')``."""

from typing import Any, Callable

from array import array

CENTER: int
"""32768: ``read_u16() - CENTER`` fits in int16; add it back to a median."""
SENSORS: dict[str, tuple[float, float]]
"""Analog temperature sensors: name -> (volts at 0 degrees C, volts per degree C)."""

class Linear:
    """``degrees C = raw * scale + offset`` for ``read_u16`` readings (0..65535)."""

    scale: float
    """Degrees C per raw unit (non-zero)."""
    offset: float
    """Degrees C at raw 0."""

    def __init__(self, scale: float, offset: float) -> None:
        """``ValueError`` for a zero or NaN scale or a NaN offset."""

    @staticmethod
    def for_sensor(name: str, vref: float = 3.3) -> "Linear":
        """The datasheet line of a sensor in :data:`SENSORS` read by an ADC whose full scale is
        ``vref`` volts (0.5..6.0). ``ValueError`` for an unknown name or a bad ``vref``."""

    @staticmethod
    def two_point(raw1: int, t1: float, raw2: int, t2: float) -> "Linear":
        """The line through ``raw1`` read at ``t1`` degrees C and ``raw2`` at ``t2``; the readings
        must differ and be 0..65535 (``ValueError``)."""

    def celsius(self, raw: float) -> float:
        """Degrees C for a reading."""

    def centi(self, raw: float) -> int:
        """Hundredths of a degree C, rounded half away from zero."""

    def raw(self, celsius: float) -> float:
        """The reading that gives ``celsius``."""

class ADCSource:
    """``machine.ADC`` on ``pin`` read with ``read_u16``; ``ImportError`` without ``machine.ADC``."""

    adc: Any
    """The ``machine.ADC`` object."""
    finished: bool
    """Always False: a board does not run out of readings."""

    def __init__(self, pin: Any, atten: int | None = None) -> None:
        """``pin``: a number or ``machine.Pin``; ``atten``: ESP32 attenuation, passed on."""

    def read_u16(self) -> int:
        """One reading, 0..65535."""

    def read_into(self, buf: array, spacing_ms: int = 0, sleep_ms: Callable[[int], Any] = ...) -> int:
        """Fill ``buf`` (``array('h')``) with ``read_u16() - CENTER``, ``spacing_ms`` apart; return
        ``len(buf)``. No allocation after the first call with ``buf``."""

def load(path: str, column: int | str = 0) -> array:
    """All readings of a recording as ``array('H')``. ``ValueError`` naming the file and place of
    a bad value, or for an empty recording; ``OSError`` if it cannot be opened."""

class ReplayADC:
    """The twin of :class:`ADCSource`: the readings of a recording, once each, in order."""

    readings: array
    """The recorded readings, ``array('H')``."""
    n_readings: int
    """How many."""
    position: int
    """Readings taken so far."""
    finished: bool
    """True once every reading has been taken."""

    def __init__(self, path: str | None = None, column: int | str = 0, readings: array | None = None) -> None:
        """Load ``path`` (see :func:`load`; ``column`` by index or CSV header name) or take
        ``readings`` (``array('H')``)."""

    def read_u16(self) -> int:
        """The next reading; ``EOFError`` after the last."""

    def read_into(self, buf: array, spacing_ms: int = 0, sleep_ms: Callable[[int], Any] | None = None) -> int:
        """As :meth:`ADCSource.read_into`; returns fewer than ``len(buf)`` at the end of the
        recording. No allocation after the first call with ``buf``."""
