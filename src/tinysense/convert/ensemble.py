"""The converter's neutral description of a tree ensemble, before it is packed for the device.

Every importer (scikit-learn estimators, emlearn CSV) produces a :class:`TreeEnsemble`; the packer
in :mod:`tinysense.convert.trees` turns it into a tinysense model file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Tree:
    """One binary decision tree with integer (int16) split thresholds.

    Node ``i`` is a leaf when ``left[i] == -1``. An internal node sends a sample left when
    ``x[feature[i]] <= threshold[i]`` (``threshold`` is an int16 value on the device's scale).
    ``value[i]`` is, for classifiers, the leaf's class distribution (length ``n_classes``,
    summing to 1) and, for regressors, a length-1 array with the leaf's value.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.left)


@dataclass
class TreeEnsemble:
    """A forest (or a single tree) ready for packing.

    ``classes`` lists the class labels in output order (``None`` for regression). ``scaling``
    is ``None`` for integer features, else ``(offset, scale)`` arrays of length ``n_features``:
    the device turns a float feature ``x`` into ``round((x - offset) * scale)`` clipped to int16.
    """

    n_features: int
    classes: list | None
    trees: list[Tree] = field(default_factory=list)
    scaling: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def is_classifier(self) -> bool:
        return self.classes is not None

    @property
    def n_classes(self) -> int:
        return 0 if self.classes is None else len(self.classes)
