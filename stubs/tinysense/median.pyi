"""Median of a small window, and a causal running median filter for int16 samples.

    median.median(array('h', [215, 216, 850, 214, 215]))   # 215
    f = median.RunningMedian(5)
    f.process(block)          # array('h'), in place; or f.process(block, out)
    t = f.update(reading)     # one sample in, the window's median out

Viper kernels; no allocation per sample or per block.
"""

from array import array
from typing import Sequence

MAX_WINDOW: int
"""Largest running-median window: 32767."""

SORT_MAX: int
"""Longest ``array('h')`` that :func:`median` sorts with its viper kernel (512); longer input is
sorted by ``sorted()``."""

def median(x: Sequence[float] | array[int]) -> int | float:
    """Median as :func:`statistics.median`: the middle value for an odd length, the mean of the
    two middle values (float) for an even length.

    ``array('h')`` input of up to ``SORT_MAX`` samples is sorted by a viper insertion sort in a
    reused work buffer (time grows as length**2); longer arrays and other sequences take a
    plain-Python path. The input is not changed.

    Raises: ``ValueError`` for an empty sequence.
    """

class RunningMedian:
    """Causal running median over the latest ``window`` int16 samples (odd, 1..32767).

    Output ``k`` is the median of inputs ``k - window + 1 .. k``; before ``window`` samples
    have arrived the missing history is the first sample. Blocks of any size give the same
    output.
    """

    window: int
    """The window length (odd)."""

    def __init__(self, window: int) -> None:
        """Raises ``ValueError`` unless ``window`` is an odd int from 1 to 32767."""

    def reset(self) -> None:
        """Forget the history; the next sample starts the filter again."""

    def process(self, x: array[int], out: array[int] | None = None) -> array[int]:
        """Filter ``x`` (``array('h')``, 1..65535 samples) into ``out`` (``array('h')``, same
        length) or in place when ``out`` is None; returns the output array. Allocates nothing.

        Raises: ``TypeError``/``ValueError`` for a bad ``x`` (see :func:`tinysense.rms.check_block`)
        or an ``out`` of another length.
        """

    def update(self, v: int) -> int:
        """Add one sample ``v`` (-32768..32767); return the current median.

        Raises: ``ValueError`` if ``v`` is outside int16.
        """
