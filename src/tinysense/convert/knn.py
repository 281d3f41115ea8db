"""Write fitted k-NN classifiers as tinysense model files (kind 2, layout in ``docs/knn.md``).

The file holds the training set itself (int16 features, one class index per sample), the
sorted class labels, k, and the capacity the device allocates for further learning. The device
(``tinysense.knn``) computes exact squared Euclidean distances and breaks ties as
scikit-learn's brute-force search does, so its predictions equal scikit-learn's on int16 data
(docs/knn.md states the rule and where scikit-learn itself varies).

>>> convert.save(KNeighborsClassifier(n_neighbors=5).fit(X_int16, y), "knn.tsm")
>>> scaler = UniformInt16Scaler().fit(X_float)            # float features: one common scale
>>> clf = KNeighborsClassifier().fit(scaler.transform(X_float), y)
>>> convert.save(clf, "knn.tsm", scaling=scaler)          # the device quantizes with it
"""

from __future__ import annotations

import numpy as np

from .. import modelfile
from .trees import INT16_MAX, INT16_MIN, Int16Scaler

SUPPORTED = ("KNeighborsClassifier",)
MAX_FEATURES = 32767  # the device kernel's 16-bit half-sums stay below 2**31
MAX_K = 255
MAX_CLASSES = 256  # one byte per stored sample's class index
FLAG_NAMES = 1
FLAG_SCALING = 2


class UniformInt16Scaler(Int16Scaler):
    """Map float features onto int16 with a per-feature offset and ONE scale for all features:
    ``q = round((x - offset) * scale)``.

    A common scale keeps Euclidean distances proportional (a per-feature scale, as
    :class:`Int16Scaler` uses for trees, would change which neighbours are nearest), and the
    offsets do not change distances at all. ``fit(X)`` centres each feature's training range
    and scales the widest one to +-``headroom`` * 32767. Fit the classifier on
    ``transform(X)``: the device then equals it exactly; against the float model the only
    differences come from rounding each feature to 1 / scale.
    """

    def fit(self, X) -> UniformInt16Scaler:
        super().fit(X)
        X = np.asarray(X, dtype=np.float64)
        half = float((X.max(axis=0) - X.min(axis=0)).max()) / 2
        scale = self.headroom * INT16_MAX / half if half > 0 else 1.0
        self.scale_ = np.full(X.shape[1], scale, dtype=np.float32)
        return self


def _label(c):
    if isinstance(c, (str, np.str_)):
        s = str(c)
        if "\n" in s:
            raise ValueError(f"class label {s!r} contains a newline, which the model file uses to separate labels")
        return s
    if isinstance(c, (bool, np.bool_)):
        return int(c)
    if isinstance(c, (int, np.integer)) or (isinstance(c, (float, np.floating)) and float(c) == int(c)):
        v = int(c)
        if not -(2**31) <= v < 2**31:
            raise ValueError(f"class label {v} does not fit int32")
        return v
    raise ValueError(f"class label {c!r} is neither an integer nor a string")


def _check_estimator(est):
    name = type(est).__name__
    if name not in SUPPORTED:
        raise ValueError(f"unsupported estimator {name}; supported kinds: {', '.join(SUPPORTED)}")
    if not hasattr(est, "_fit_X") or not hasattr(est, "classes_"):
        raise ValueError(f"{name} is not fitted; call fit() before converting")
    problems = []
    if est.weights != "uniform":
        problems.append(f"weights={est.weights!r}")
    metric = est.effective_metric_
    params = dict(est.effective_metric_params_ or {})
    if metric == "minkowski" and params.get("p") == 2:
        params.pop("p")
        metric = "euclidean"
    if metric not in ("euclidean", "l2") or params:
        problems.append(f"metric={est.metric!r} (p={est.p!r}, metric_params={est.metric_params!r})")
    if getattr(est, "outputs_2d_", False):
        problems.append("several outputs (y with more than one column)")
    if hasattr(est._fit_X, "toarray"):
        problems.append("sparse training data")
    if problems:
        raise ValueError(
            f"unsupported {name} setting: {'; '.join(problems)}. Supported: weights='uniform' with the "
            "Euclidean distance (metric='euclidean' or 'l2', or 'minkowski' with p=2), one output, dense data; "
            "any algorithm (the neighbours are brute force's)"
        )


def from_sklearn(est, scaling: Int16Scaler | None = None, capacity: int | None = None):
    """``(fields, sections)`` of the kind-2 model file for a fitted ``KNeighborsClassifier``.

    Without ``scaling`` the training data must be integers in int16 range; with it, a fitted
    :class:`UniformInt16Scaler` (or any :class:`Int16Scaler` whose scale is the same for every
    feature) that the classifier's training data were transformed with is stored for the
    device's ``quantize``. ``capacity``: samples the device allocates (default: the training set).
    """
    _check_estimator(est)
    X = np.asarray(est._fit_X, dtype=np.float64)
    n_samples, n_features = X.shape
    if not 1 <= n_features <= MAX_FEATURES:
        raise ValueError(f"{n_features} features; the device supports 1 to {MAX_FEATURES}")
    k = int(est.n_neighbors)
    if not 1 <= k <= MAX_K:
        raise ValueError(f"n_neighbors={k}; the device supports 1 to {MAX_K}")
    if k > n_samples:
        raise ValueError(f"n_neighbors={k} is more than the {n_samples} training samples")
    classes = [_label(c) for c in est.classes_]
    if len(classes) > MAX_CLASSES:
        raise ValueError(f"{len(classes)} classes; the device supports at most {MAX_CLASSES}")
    if len({type(c) for c in classes}) > 1:
        raise ValueError("class labels mix integers and strings")
    if classes != sorted(classes):  # the device's vote tie rule (smallest label) needs this order
        raise ValueError("class labels are not in sorted order")
    if not np.all(np.isfinite(X)) or np.any(X != np.round(X)) or X.min() < INT16_MIN or X.max() > INT16_MAX:
        raise ValueError(
            "the training data are not int16 values (integers in -32768..32767); the device compares int16 "
            "features exactly. Scale float features with scaler = UniformInt16Scaler().fit(X_train), fit the "
            "classifier on scaler.transform(X_train) and pass scaling=scaler"
        )
    if scaling is not None:
        if not hasattr(scaling, "scale_"):
            raise ValueError("scaling must be a fitted UniformInt16Scaler")
        sc = np.asarray(scaling.scale_, dtype=np.float32)
        if sc.shape != (n_features,):
            raise ValueError(f"scaling has {sc.size} features, the model {n_features}")
        if np.any(sc != sc[0]):
            raise ValueError(
                "scaling has a different scale per feature, which changes Euclidean distances; k-NN needs one "
                "scale for all features: use UniformInt16Scaler"
            )
    cap = n_samples if capacity is None else int(capacity)
    if cap < n_samples:
        raise ValueError(f"capacity {cap} is less than the {n_samples} training samples")
    if cap * n_features > 0x3FFFFFFF:
        raise ValueError(f"capacity {cap} x {n_features} features is beyond the device's 2**30 stored values")
    names = isinstance(classes[0], str)
    flags = (FLAG_NAMES if names else 0) | (FLAG_SCALING if scaling is not None else 0)
    y = np.asarray(est._y).reshape(-1)
    sections = [("data", "h", X.astype(np.int16).reshape(-1)), ("cidx", "B", y.astype(np.uint8))]
    if names:
        sections.append(("name", "B", np.frombuffer("\n".join(classes).encode("utf-8"), dtype=np.uint8)))
    else:
        sections.append(("labl", "i", np.array(classes, dtype=np.int64)))
    if scaling is not None:
        sections.append(("scal", "f", np.concatenate([np.asarray(scaling.offset_, np.float32), sc])))
    fields = [n_features, n_samples, k, len(classes), cap, flags]
    return fields, sections


def save(est, path, scaling: Int16Scaler | None = None, capacity: int | None = None) -> int:
    """Write a fitted ``KNeighborsClassifier`` as a kind-2 tinysense model file; returns its size."""
    fields, sections = from_sklearn(est, scaling, capacity)
    return modelfile.save(path, modelfile.KIND_KNN, fields, sections)


# ---------------------------------------------------------------------------- the device's rule
def kneighbors(X_train, x, k: int) -> np.ndarray:
    """Indices of the ``k`` rows of ``X_train`` (int16 values) nearest to ``x``, chosen as the
    device does: exact integer squared distances, rows pushed in index order into a max-heap of
    size k that a row enters only when strictly nearer than its largest (scikit-learn's
    ``heap_push``). Returned nearest first, equal distances by index."""
    d = ((np.asarray(X_train, dtype=np.int64) - np.asarray(x, dtype=np.int64)) ** 2).sum(axis=1)
    if k >= len(d):
        return np.lexsort((np.arange(len(d)), d))[:k]
    kth = np.partition(d, k - 1)[k - 1]
    if np.count_nonzero(d <= kth) == k:  # no tie at the k-th place: the heap keeps exactly these
        chosen = np.nonzero(d <= kth)[0]
    else:
        vals, idx = [np.inf] * k, [-1] * k
        for j, v in enumerate(d.tolist()):  # every row: farther ones shape the heap before they leave it
            if v >= vals[0]:
                continue
            c = 0
            while True:
                m = 2 * c + 1
                if m >= k:
                    break
                if m + 1 < k and vals[m + 1] > vals[m]:
                    m += 1
                if v < vals[m]:
                    vals[c], idx[c] = vals[m], idx[m]
                    c = m
                else:
                    break
            vals[c], idx[c] = v, j
        chosen = np.array(idx)
    return chosen[np.lexsort((chosen, d[chosen]))]


def predict_index(X_train, y_index, k: int, X) -> np.ndarray:
    """Class indices the device predicts for the rows of ``X``: the majority class index among
    :func:`kneighbors`, ties to the smallest index."""
    y_index = np.asarray(y_index)
    n = int(y_index.max()) + 1 if len(y_index) else 1
    return np.array([np.argmax(np.bincount(y_index[kneighbors(X_train, x, k)], minlength=n)) for x in np.asarray(X)],
                    dtype=np.int64)


def predict(path, X) -> np.ndarray:
    """Labels the device predicts for the int16 rows of ``X`` with the model file at ``path``."""
    mf = modelfile.load(path, modelfile.KIND_KNN)
    n_features, n_samples, k = mf.fields[0], mf.fields[1], mf.fields[2]
    data = mf.section("data").reshape(n_samples, n_features)
    if "name" in mf.sections:
        classes = np.array(bytes(mf.section("name")).decode("utf-8").split("\n"), dtype=object)
    else:
        classes = mf.section("labl")
    return classes[predict_index(data, mf.section("cidx"), k, X)]
