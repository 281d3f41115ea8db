"""k-nearest-neighbours classifier over int16 feature vectors, with on-device learning.

    model = knn.KNN(n_features=20, capacity=500, k=3)
    model.add(x, "walk")            # x: array('h') of n_features int16 features
    label = model.predict(x)        # no allocation
    model.save("model.tsm"); model = knn.load("model.tsm", capacity=1000)

Exact squared Euclidean distances for any int16 features (up to 32767 features); neighbours,
distance ties and vote ties as scikit-learn's ``KNeighborsClassifier(algorithm="brute")``
(docs/knn.md). Kind 2 of the tinysense model file.
"""

from array import array
from typing import BinaryIO, Sequence

MAX_FEATURES: int
"""Largest ``n_features``: 32767 (keeps the kernel's 16-bit half-sums below 2**31)."""
MAX_K: int
"""Largest ``k``: 255."""
MAX_CLASSES: int
"""Most distinct labels in one model: 256 (a stored sample's class index is one byte)."""

class KNN:
    """k-NN classifier with storage for ``capacity`` samples, allocated once.

    Parameters: ``n_features`` (1..32767), ``capacity`` (samples, >= k; storage is
    ``(2 * n_features + 1) * capacity`` bytes), ``k`` (neighbours that vote, 1..255), ``classes``
    (optional labels known in advance: all ints or all strs).

    Raises ``ValueError`` for out-of-range numbers, ``MemoryError`` (with the bytes needed)
    when the storage does not fit.
    """

    n_features: int
    """Features per sample: the length of every ``x``."""
    capacity: int
    """Most samples the model can hold; fixed when the model is made (do not assign)."""
    k: int
    """Number of neighbours that vote; fixed when the model is made (do not assign)."""
    classes: tuple[int, ...] | tuple[str, ...]
    """The labels seen so far, sorted; a stored sample's class index points here."""

    def __init__(self, n_features: int, capacity: int, k: int = 3,
                 classes: Sequence[int] | Sequence[str] | None = None) -> None:
        """Allocate the storage; see the class docstring for the parameters."""
    def __len__(self) -> int:
        """Number of stored samples."""
    def clear(self) -> None:
        """Forget every stored sample and the classes learnt since construction."""
    def add(self, x: array[int], label: int | str) -> int:
        """Store ``x`` (``array('h')``, ``n_features`` int16 features) with ``label`` (int32 or
        str); returns its index (``len(model) - 1``). A new label enters the sorted class table.

        Raises: ``ValueError`` when full (``capacity`` samples), for a 257th class or an int
        label outside int32; ``TypeError`` for a label of another type than the model's, or a
        bad ``x`` (as :meth:`predict`).
        """
    def remove(self, i: int) -> None:
        """Remove sample ``i``; later samples move down one index, keeping their order.
        Raises ``ValueError`` if ``i`` is not in 0..len-1."""
    def sample(self, i: int, out: array[int]) -> int | str:
        """Copy sample ``i``'s features into ``out`` (``array('h')``, ``n_features``); return
        its label."""
    def predict(self, x: array[int]) -> int | str:
        """Majority label of the ``k`` stored samples nearest to ``x`` (squared Euclidean
        distance, exact for any int16 values).

        Parameters: ``x``, ``array('h')`` of ``n_features`` int16 features. A new ``x`` object
        is validated once and remembered; allocates nothing.

        Ties as scikit-learn's brute-force ``KNeighborsClassifier``: samples are scanned in
        index order through a max-heap of the k nearest (a sample enters only when strictly
        nearer than the farthest kept); a vote tie goes to the smallest label.

        Raises: ``TypeError`` (not ``array('h')``), ``ValueError`` (wrong length, or fewer than
        ``k`` samples stored).
        """
    def neighbors(self, out: array[int] | list[int]) -> array[int] | list[int]:
        """After :meth:`predict`: the indices of its ``k`` nearest samples into ``out``
        (length ``k``), nearest first, equal distances by index. Allocates a little."""
    def quantize(self, xf: Sequence[float], out: array[int]) -> array[int]:
        """Map float features onto the model's int16 scale: ``round((xf[j] - offset[j]) *
        scale[j])`` (half away from zero, clipped to int16) with the converter's stored scaling,
        or just round and clip without one (+-inf clip too; ``ValueError`` for a NaN). Returns
        ``out`` (``array('h')``, ``n_features``)."""
    def save(self, dest: str | BinaryIO) -> int:
        """Write the model as a kind-2 tinysense model file to a path or binary stream; returns
        the bytes written. ``load`` reads it back identically."""

def load(source: str | BinaryIO | bytes | bytearray, capacity: int | None = None) -> KNN:
    """Load a k-NN model (kind 2) from a path, a binary stream or bytes.

    ``capacity``: room for at least this many samples (default: the capacity saved in the file).

    Raises: ``ValueError`` when the file is not a tinysense model file, holds another kind, or
    is truncated, corrupted (CRC-32) or inconsistent; ``TypeError`` for another kind of source;
    ``OSError`` if the path cannot be opened.
    """
