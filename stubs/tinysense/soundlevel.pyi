"""Sound level meter: per-block Leq, Fast and Slow time-weighted levels, and Leq, Lmax, Lmin
over an interval, in dB SPL from int16 microphone blocks.

    meter = soundlevel.Meter(16000, sensitivity=-26.0, weighting=iir.load("aweighting.tsf"))
    meter.process(block)          # array('h'); allocation-free
    meter.leq_block(), meter.fast(), meter.slow()
    meter.interval()              # None or (Leq, Lmax, Lmin, seconds)

Calibration: ``sensitivity`` is the dBFS reading of a ``ref_spl`` dB SPL tone (0 dBFS = a
full-scale sine). Time weighting is IEC 61672-1's exponential average of the mean square, in
4 ms sub-blocks (a = exp(-T/tau), tau 0.125 s Fast, 1 s Slow); the first sub-block starts both
at its own level. Levels are integers inside (Q16 log2 of energy, 4.6e-5 dB steps); reading one
makes a float.
"""

from array import array
from typing import Any

SUBBLOCK_MS: int
"""The time-weighting step in milliseconds (4): Fast and Slow advance once per sub-block of
``rate * 4 / 1000`` samples (rounded down to even), Lmax and Lmin are sampled as often."""

class Meter:
    """A sound level meter fed with int16 blocks."""

    rate: float
    """Samples per second."""
    sensitivity: float
    """dBFS read for a ``ref_spl`` tone (e.g. -26.0)."""
    ref_spl: float
    """The calibration tone's level, dB SPL (94.0 = 1 Pa)."""
    weighting: Any
    """Filter applied in place before the levels (``process(x, None)``), or None (Z)."""

    def __init__(self, rate: float, sensitivity: float = -26.0, ref_spl: float = 94.0,
                 weighting: Any = None, interval: float = 60.0) -> None:
        """Parameters: ``rate`` in Hz; ``sensitivity`` in dBFS at ``ref_spl`` dB SPL;
        ``weighting`` an object whose ``process(x, None)`` filters an ``array('h')`` in place
        (e.g. ``iir.load(path)`` of an A-weighting file) or None; ``interval`` in seconds for
        :meth:`interval` (whole blocks: the block that completes it ends it).

        Raises: ``ValueError`` for a rate or interval <= 0, or an interval over 2**30 samples.
        """

    def reset(self) -> None:
        """Forget the time-weighted levels and the current interval."""

    def process(self, x: array[int]) -> None:
        """Weight ``x`` (``array('h')``, 1..65535 samples; overwritten by the weighted signal
        when ``weighting`` is set) and update every level. Allocates nothing once the block
        object and its length have been seen.

        Raises: ``TypeError``/``ValueError`` for a bad block (wrong type or typecode, empty).
        """

    def leq_block(self) -> float:
        """Equivalent level of the last block, dB (LAeq when A-weighted); -inf for silence."""

    def fast(self) -> float:
        """Fast (125 ms) time-weighted level, dB (LAF)."""

    def slow(self) -> float:
        """Slow (1 s) time-weighted level, dB (LAS)."""

    def interval(self) -> tuple[float, float, float, float] | None:
        """``(Leq, Lmax, Lmin, seconds)`` of the interval completed since the last call, or
        None. Lmax and Lmin are extremes of the Fast level, sampled every 4 ms."""
