"""Decision trees and tree ensembles (random forest, extra trees) from tinysense model files.

    model = trees.load("model.tsm")
    x = array.array("h", features)    # int16, length model.n_features
    label = model.predict(x)
    model.predict_proba(x, out)       # out: array('f'), length model.n_classes

Features are int16 on the model's scale (the converter's; :meth:`TreeModel.quantize` maps
float features onto it). One viper call walks all trees; classification allocates nothing.
Limits: n_trees <= 32768, n_features and n_classes < 65536.
"""

from array import array
from typing import BinaryIO, Sequence

class TreeModel:
    """A loaded tree ensemble: classifier or regressor. Make one with :func:`load`."""

    n_features: int
    """Number of input features, 1 to 65535: the length of ``x``."""
    n_classes: int
    """Number of classes (0 to 65535); 0 for a regressor. The length of ``out`` in
    :meth:`predict_proba`."""
    n_trees: int
    """Number of trees, 1 to 32768."""
    n_nodes: int
    """Number of nodes (decision nodes and leaves) over all trees, as in the model file."""
    classes: tuple[int, ...] | tuple[str, ...] | None
    """Class labels in class-index order: ints, or str names if the model was trained on
    strings; None for a regressor."""

    def __init__(
        self,
        f: array[int],
        blob: bytearray,
        classes: tuple[int, ...] | tuple[str, ...] | None,
        rval: array[float] | None,
        scaling: array[float] | None,
    ) -> None:
        """Internal: use :func:`load`."""

    def predict(self, x: array[int]) -> int | str | float:
        """Predict one sample.

        Parameters: ``x``, ``array('h')`` (int16, -32768..32767) of exactly ``n_features``
        features on the model's scale.

        Returns: for a classifier, the class label (an element of ``classes``: int or str);
        the class scikit-learn predicts unless its top two mean probabilities differ by less
        than 2/S (S = 2**W, see docs/modelfile.md). For a regressor, the predicted value
        (float).

        A new ``x`` object is validated once and then remembered, so calling again with the
        same preallocated buffer skips the checks. Allocates nothing for a classifier.

        Raises: ``TypeError`` if ``x`` is not an ``array.array`` or not typecode ``'h'``;
        ``ValueError`` if ``len(x) != n_features``.
        """

    def predict_proba(self, x: array[int], out: array[float]) -> int:
        """Class probabilities of one sample, written into ``out``.

        Parameters: ``x``, ``array('h')`` of ``n_features`` int16 features (as for
        :meth:`predict`); ``out``, ``array('f')`` (float32) of length ``n_classes``.

        Returns: the predicted class index (0 to n_classes - 1; the label is
        ``classes[index]``). ``out[c]`` is in [0, 1]: the mean of the trees' leaf
        distributions, within 2**-11 of scikit-learn's ``predict_proba``.

        Raises: ``ValueError`` for a regressor; ``TypeError`` / ``ValueError`` for a bad ``x``
        as :meth:`predict`; ``ValueError`` if ``out`` is not an ``array.array`` of length
        ``n_classes``. ``out``'s typecode is not checked: it must be ``'f'``.
        """

    def quantize(self, xf: Sequence[float], out: array[int]) -> array[int]:
        """Map float features onto the model's int16 scale.

        Parameters: ``xf``, ``n_features`` floats in the training data's units (a list or
        ``array('f')``); ``out``, ``array('h')`` of length ``n_features``.

        Writes ``round((xf[j] - offset[j]) * scale[j])`` (half away from zero, clipped to
        -32768..32767) with the converter's stored per-feature offset and scale; without
        stored scaling, just rounds and clips ``xf``. Returns ``out``. Runs in plain Python:
        call it once per sample, not in an inner loop.

        Raises: ``ValueError`` if ``len(xf)`` or ``len(out)`` is not ``n_features``.
        """

def load(source: str | BinaryIO | bytes | bytearray) -> TreeModel:
    """Load a tree model from a tinysense model file (kind 1, docs/modelfile.md).

    Parameters: ``source``, a path (str), a binary stream with ``readinto`` (an open file,
    ``io.BytesIO``; read from its current position and not closed), or the file's bytes.
    Anything else raises ``TypeError``.

    Raises: ``ValueError`` when the file is not a tinysense model file, holds another kind,
    or is truncated, corrupted (CRC-32) or inconsistent (every tree is checked once here, so
    prediction can trust it); ``OSError`` if the path cannot be opened.
    """
