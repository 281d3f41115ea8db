"""Mean square and RMS of int16 blocks, exact on 32-bit microcontrollers.

    rms.rms(x)                 # float; x: array('h') of 1..65535 samples
    rms.mean_square(x)         # float
    acc = array('i', (0, 0, 0))
    rms.sumsq(x, acc)          # acc += sum of x[i]**2, exact, allocation-free
    rms.value(acc)             # the accumulated sum as an int

No intermediate leaves int32 (squares split into 15-bit parts, accumulator in three 15-bit
limbs), so a full-scale 65535-sample block is exact on a Cortex-M as on a PC.
"""

from array import array

MAX_BLOCK: int
"""Longest block: 65535 samples."""

def check_block(x: array[int], name: str = "x") -> int:
    """Check that ``x`` is ``array('h')`` of 1..65535 samples; return its length.

    Raises: ``TypeError`` for another type or typecode; ``ValueError`` if empty or too long.
    """

def check_acc(acc: array[int]) -> None:
    """Check that ``acc`` is ``array('i')`` of at least 3 items.

    Raises: ``ValueError`` if too short or not an array; ``TypeError`` for another typecode.
    """

def sumsq(x: array[int], acc: array[int]) -> None:
    """Add the sum of squares of ``x`` (``array('h')``, 1..65535 samples) into ``acc``.

    ``acc`` is ``array('i')`` of three 15-bit limbs (``acc[0] + acc[1] << 15 + acc[2] << 30``),
    kept normalised. Exact; allocates nothing once ``x`` and ``acc`` have been checked (on
    first use). Clear ``acc`` before 2**31 full-scale samples have been added.

    Raises: as :func:`check_block` and :func:`check_acc`.
    """

def value(acc: array[int]) -> int:
    """The sum held in the accumulator ``acc`` as an int."""

def sum_squares(x: array[int]) -> int:
    """Exact sum of ``x[i]**2`` over an ``array('h')`` block (1..65535 samples)."""

def mean_square(x: array[int]) -> float:
    """Mean of ``x[i]**2`` of an ``array('h')`` block: the exact sum divided once (within float
    rounding of numpy). Raises as :func:`check_block`."""

def rms(x: array[int]) -> float:
    """Root mean square of an ``array('h')`` block of 1..65535 samples (float)."""
