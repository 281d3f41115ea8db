"""Convert trained models into tinysense model files the device loads at run time.

>>> from tinysense import convert
>>> convert.save(random_forest, "model.tsm")          # integer features: exact
>>> scaler = convert.Int16Scaler().fit(X_train)       # float features
>>> convert.save(random_forest, "model.tsm", scaling=scaler)
>>> convert.save(knn_classifier, "knn.tsm")           # k-NN on int16 features (UniformInt16Scaler for floats)
"""

from . import knn as _knn
from .knn import UniformInt16Scaler
from .trees import SUPPORTED as _TREES
from .trees import Int16Scaler, from_sklearn, save_ensemble

SUPPORTED = _TREES + _knn.SUPPORTED


def save(estimator, path, scaling=None) -> int:
    """Write ``estimator`` as a tinysense model file at ``path``; returns the size in bytes.

    Supported: scikit-learn ``DecisionTreeClassifier``, ``DecisionTreeRegressor``,
    ``RandomForestClassifier``, ``RandomForestRegressor``, ``ExtraTreesClassifier``,
    ``ExtraTreesRegressor`` (kind 1) and ``KNeighborsClassifier`` (kind 2,
    :func:`tinysense.convert.knn.save` also takes a ``capacity`` for on-device learning).
    Anything else raises ``ValueError`` naming the supported kinds.
    """
    name = type(estimator).__name__
    if name in _TREES:
        from . import trees

        return trees.save(estimator, path, scaling)
    if name in _knn.SUPPORTED:
        return _knn.save(estimator, path, scaling)
    raise ValueError(f"unsupported model {name}; supported kinds: {', '.join(SUPPORTED)}")


__all__ = ["SUPPORTED", "Int16Scaler", "UniformInt16Scaler", "from_sklearn", "save", "save_ensemble"]
