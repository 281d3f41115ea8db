"""IIR filters as cascades of second-order sections, for int16 streams (e.g. A-weighting).

    f = iir.load("aweight16k.tsm")       # made by `tinysense design aweighting --rate 16000`
    f.process(block)                      # array('h'), filtered in place; state kept between blocks
    f.process(block, out)                 # into out: array('h') (int16) or array('i') (Q.8)
    f.reset()                             # back to silence

Fixed point: int32 signals with 8 fractional bits, coefficients split into an integer part and a
residual of up to 30 fractional bits, error feedback; the host checks that every intermediate
fits int32 (docs/modelfile.md, kind 4). One viper call per block; no allocation per call.
"""

from array import array
from typing import BinaryIO, Sequence

class SOSFilter:
    """A cascade of second-order sections in tinysense's fixed-point form. Make one with
    :func:`load`."""

    n_sections: int
    """Number of second-order sections, 1 to 64."""
    fs: int
    """Sample rate in Hz the filter was designed for (0 if unknown)."""
    sos: array[float] | None
    """The float sections as designed (``array('f')``, 6 per section: b0 b1 b2 a0 a1 a2), or None."""
    name: str
    """What the filter is, e.g. "A-weighting" ("" if not given)."""

    def __init__(self, coef: Sequence[int], sos: array[float] | None = None, fs: int = 0, name: str = "") -> None:
        """Make a filter from the integer ``coef`` table of a kind-4 file (11 ints per section:
        integer parts nb0 nb1 nb2 na1 na2, residuals rb0 rb1 rb2 ra1 ra2, fractional bits F).
        Raises ``ValueError`` for a malformed table."""
    def reset(self) -> None:
        """Forget the past: the next block starts from silence."""
    def process(self, x: array[int], out: array[int] | None = None) -> array[int]:
        """Filter ``x`` (``array('h')``, one block of a stream, at least one sample) and return
        the output: ``x`` itself (in place) when ``out`` is None, else ``out``: ``array('h')``
        (rounded, saturated int16) or ``array('i')`` (int32 with 8 fractional bits, not
        saturated) of ``len(x)``. Blocks of any sizes give the same output as one block.
        Raises ``TypeError`` for another typecode, ``ValueError`` for an empty block or a
        length mismatch."""

def load(source: str | BinaryIO) -> SOSFilter:
    """Load a filter from a kind-4 tinysense file (path or binary stream), as written by
    ``tinysense design``. Raises ``ValueError`` when the file is not an IIR filter, or is
    truncated or corrupted."""
