"""Plain-Python twin of ``tinysense.trees_viper`` for ports without the native emitters (same results, slower).

Called by ``TreeModel``; use them directly only with a buffer that ``trees.load`` validated.
"""

from array import array

def run(m: bytearray, x: array[int]) -> int:
    """Walk every tree of the packed model ``m`` for ``x`` (``array('h')``, int16 features).

    Returns the predicted class index, or for a regressor the sum of the trees' int16 leaf
    codes. Class votes are left in ``m``'s scratch area for :func:`proba`. Allocates nothing.
    """

def proba(m: bytearray, out: array[float]) -> None:
    """Write the last :func:`run`'s votes as probabilities into ``out`` (``array('f')``, one per
    class), as float32 bit patterns computed with integers only."""
