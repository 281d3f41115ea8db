"""Convert trained models into tinysense model files the device loads at run time.

>>> from tinysense import convert
>>> convert.save(random_forest, "model.tsm")          # integer features: exact
>>> scaler = convert.Int16Scaler().fit(X_train)       # float features
>>> convert.save(random_forest, "model.tsm", scaling=scaler)
"""

from .trees import SUPPORTED, Int16Scaler, from_sklearn, save_ensemble


def save(estimator, path, scaling=None) -> int:
    """Write ``estimator`` as a tinysense model file at ``path``; returns the size in bytes.

    Supported: scikit-learn ``DecisionTreeClassifier``, ``DecisionTreeRegressor``,
    ``RandomForestClassifier``, ``RandomForestRegressor``, ``ExtraTreesClassifier``,
    ``ExtraTreesRegressor``. Anything else raises ``ValueError`` naming the supported kinds.
    """
    name = type(estimator).__name__
    if name in SUPPORTED:
        from . import trees

        return trees.save(estimator, path, scaling)
    raise ValueError(f"unsupported model {name}; supported kinds: {', '.join(SUPPORTED)}")


__all__ = ["save", "save_ensemble", "from_sklearn", "Int16Scaler", "SUPPORTED"]
