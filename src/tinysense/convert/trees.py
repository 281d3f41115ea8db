"""Pack tree ensembles into tinysense model files (kind 1, layout in ``docs/modelfile.md``).

scikit-learn's split ``x <= t`` (float threshold, float32 features) becomes the integer test
``x <= floor(t)``, which decides every integer input exactly as scikit-learn does. Splits that
no int16 value can take one way are pruned to the branch every input takes.
"""

from __future__ import annotations

import struct

import numpy as np

from .. import modelfile
from .ensemble import Tree, TreeEnsemble

INT16_MIN, INT16_MAX = -32768, 32767
MAX_TREES = 32768  # votes <= n_trees * S <= 2**30 with S <= 2**15
FLAG_REGRESSION = 1
FLAG_WIDE = 2
FLAG_SCALING = 4

SUPPORTED = (
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
)


# ---------------------------------------------------------------------------- scaling
class Int16Scaler:
    """Per-feature affine map of float features onto int16: ``q = round((x - offset) * scale)``.

    ``fit(X)`` centres each feature's training range and scales it to +-``headroom`` * 32767
    (default 0.5, so values up to twice as far from the centre as seen in training still fit;
    values beyond are clipped). A constant feature gets scale 1. The map is stored in the model
    file and applied on the device by ``model.quantize(x_float, out_int16)``.
    """

    def __init__(self, headroom: float = 0.5):
        if not 0 < headroom <= 1:
            raise ValueError(f"headroom must be in (0, 1], got {headroom}")
        self.headroom = headroom

    def fit(self, X) -> "Int16Scaler":
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"expected a 2-D array of training samples, got shape {X.shape}")
        lo, hi = X.min(axis=0), X.max(axis=0)
        self.offset_ = ((lo + hi) / 2).astype(np.float32)
        half = (hi - lo) / 2
        with np.errstate(divide="ignore"):
            scale = np.where(half > 0, self.headroom * INT16_MAX / np.where(half > 0, half, 1), 1.0)
        self.scale_ = scale.astype(np.float32)
        return self

    def transform(self, X) -> np.ndarray:
        """The device's quantization, bit for bit in float32: round half away from zero, clip."""
        X = np.asarray(X, dtype=np.float32)
        v = (X - self.offset_) * self.scale_
        q = np.where(v >= 0, np.floor(v + np.float32(0.5)), np.ceil(v - np.float32(0.5)))
        return np.clip(q, INT16_MIN, INT16_MAX).astype(np.int16)

    def threshold(self, feature: int, t: float) -> float:
        return (t - float(self.offset_[feature])) * float(self.scale_[feature])


# ---------------------------------------------------------------------------- sklearn import
def from_sklearn(estimator, scaling: Int16Scaler | None = None) -> TreeEnsemble:
    """Describe a fitted scikit-learn tree model as a :class:`TreeEnsemble`.

    Without ``scaling`` the model must have been trained on integer-valued features (every
    threshold an integer or half-integer within int16 range); otherwise pass an
    :class:`Int16Scaler` fitted on the training data.
    """
    name = type(estimator).__name__
    if name not in SUPPORTED:
        raise ValueError(f"unsupported estimator {name}; supported kinds: {', '.join(SUPPORTED)}")
    if not hasattr(estimator, "n_features_in_"):
        raise ValueError(f"{name} is not fitted; call fit() before converting")
    if getattr(estimator, "n_outputs_", 1) != 1:
        raise ValueError(f"{name} has {estimator.n_outputs_} outputs; only single-output models are supported")
    trees = estimator.estimators_ if hasattr(estimator, "estimators_") else [estimator]
    if len(trees) > MAX_TREES:
        raise ValueError(f"{len(trees)} trees; at most {MAX_TREES} are supported")
    classifier = name.endswith("Classifier")
    n_features = int(estimator.n_features_in_)
    if scaling is not None:
        if not hasattr(scaling, "scale_"):
            raise ValueError("scaling must be a fitted Int16Scaler")
        if len(scaling.scale_) != n_features:
            raise ValueError(f"scaling has {len(scaling.scale_)} features, the model {n_features}")
    classes = None
    if classifier:
        classes = [_label(c) for c in estimator.classes_]
    out = TreeEnsemble(n_features, classes, [], None if scaling is None else (scaling.offset_, scaling.scale_))
    for est in trees:
        t = est.tree_
        # The best splitter puts thresholds midway between two training values, so integer
        # training data gives integer or half-integer thresholds; anything else means float
        # features. The random splitter (extra trees) draws thresholds anywhere, so there the
        # caller's word (no scaling: integer features) is all we have.
        midpoints = getattr(est, "splitter", "best") == "best"
        left = t.children_left.astype(np.int64)
        right = t.children_right.astype(np.int64)
        feature = np.where(left >= 0, t.feature, -1).astype(np.int64)
        thr = np.zeros(len(left), dtype=np.int64)
        for i in np.nonzero(left >= 0)[0]:
            ti = float(t.threshold[i])
            if scaling is None:
                if midpoints and ti * 2 != np.floor(ti * 2):
                    raise ValueError(
                        f"split threshold {ti!r} on feature {t.feature[i]} is not an integer or half-integer: "
                        "the model was trained on float features; pass scaling=Int16Scaler().fit(X_train)"
                    )
            else:
                ti = scaling.threshold(int(t.feature[i]), ti)
            thr[i] = int(np.clip(np.floor(ti), INT16_MIN - 1, INT16_MAX))
        if classifier:
            value = t.value[:, 0, :].astype(np.float64)
            sums = value.sum(axis=1, keepdims=True)
            value = value / np.where(sums > 0, sums, 1)
        else:
            value = t.value[:, 0, :1].astype(np.float64)
        out.trees.append(Tree(left, right, feature, thr, value))
    return out


def _label(c):
    if isinstance(c, (str, np.str_)):
        return str(c)
    if isinstance(c, (bool, np.bool_)):
        return int(c)
    if float(c) == int(c):
        return int(c)
    raise ValueError(f"class label {c!r} is neither an integer nor a string")


# ---------------------------------------------------------------------------- packing
MAX_JUMP = 65535
LEAF = 0xFFFF


def _quantize_distribution(p: np.ndarray, S: int) -> np.ndarray:
    """Integer weights summing to exactly S, each within 1 of ``p * S`` (largest remainder)."""
    raw = p * S
    w = np.floor(raw).astype(np.int64)
    short = S - int(w.sum())
    if short > 0:
        order = np.argsort(-(raw - w), kind="stable")
        w[order[:short]] += 1
    return w


class _Packer:
    """Packs one tree at a time: 8-byte decision nodes, then the tree's leaf records."""

    def __init__(self, ens: TreeEnsemble):
        self.ens = ens
        self.nc = ens.n_classes
        self.regression = not ens.is_classifier
        if self.regression:
            vals = np.concatenate([t.value[t.left < 0, 0] for t in ens.trees])
            lo, hi = float(vals.min()), float(vals.max())
            self.value_offset = np.float32((lo + hi) / 2)
            step = (hi - lo) / (2 * INT16_MAX - 2)
            self.value_step = np.float32(step if step > 0 else max(abs(lo), 1.0) * 2.0**-20)
            self.wide = False
            self.W = 0
        else:
            cbits = max(1, int(np.ceil(np.log2(max(self.nc, 2)))))
            self.wide = cbits > 5
            self.W = 15 if self.wide else 16 - cbits
        self.S = 1 << self.W

    def leaf_record(self, value: np.ndarray) -> tuple:
        """u16 words of one leaf record: 0xFFFF, then the class (pure leaf), the int16 code
        (regression), or n_classes followed by the distribution entries."""
        if self.regression:
            q = int(np.clip(np.round((float(value[0]) - float(self.value_offset)) / float(self.value_step)),
                            -INT16_MAX, INT16_MAX))
            return (LEAF, q & 0xFFFF)
        w = _quantize_distribution(value, self.S)
        top = int(np.argmax(w))
        if w[top] == self.S:
            return (LEAF, top)
        words = [LEAF, self.nc]
        for c in np.nonzero(w)[0]:
            words += [int(c), int(w[c])] if self.wide else [(int(c) << self.W) | int(w[c])]
        return tuple(words)

    def tree(self, tree: Tree) -> tuple[bytes, int]:
        """(bytes, size of the node area) of one tree, laid out as in docs/modelfile.md."""
        left, right, feature, thr = tree.left, tree.right, tree.feature, tree.threshold

        def resolve(i):  # follow pruned splits that every int16 takes one way
            while left[i] >= 0 and (thr[i] >= INT16_MAX or thr[i] < INT16_MIN):
                i = left[i] if thr[i] >= INT16_MAX else right[i]
            return i

        order, index, stack = [], {}, [resolve(0)]
        while stack:  # pre-order: a node's left child follows it
            i = stack.pop()
            if left[i] < 0:
                continue
            index[i] = len(order)
            order.append(i)
            stack += [resolve(right[i]), resolve(left[i])]
        records, where, leaf_bytes = [], {}, 0
        leaves = [resolve(0)] if not order else [resolve(c) for i in order for c in (left[i], right[i])]
        for c in leaves:
            if left[c] < 0:
                rec = self.leaf_record(tree.value[c])
                if rec not in where:
                    where[rec] = 8 * len(order) + leaf_bytes
                    records.append(rec)
                    leaf_bytes += 2 * len(rec)
        out = bytearray()
        for k, i in enumerate(order):
            jumps = []
            for c in (resolve(left[i]), resolve(right[i])):
                target = 8 * index[c] if left[c] >= 0 else where[self.leaf_record(tree.value[c])]
                jump = target - 8 * k
                if not 0 < jump <= MAX_JUMP:
                    raise ValueError(f"a tree is too large for the model format (a jump of {jump} bytes, at most "
                                     f"{MAX_JUMP}); limit its size with max_leaf_nodes or max_depth")
                jumps.append(jump)
            out += struct.pack("<4H", int(feature[i]), int(thr[i]) + 32768, *jumps)
        node_bytes = len(out)
        for rec in records:
            out += struct.pack(f"<{len(rec)}H", *rec)
        out += b"\0" * (-len(out) % 4)
        return bytes(out), node_bytes


def count_nodes(ens: TreeEnsemble) -> int:
    return int(sum(t.n_nodes for t in ens.trees))


def pack(ens: TreeEnsemble) -> tuple[list[int], list[tuple[str, str, np.ndarray]]]:
    """Header fields and sections of the model file for ``ens`` (layout: docs/modelfile.md)."""
    if not ens.trees:
        raise ValueError("the ensemble has no trees")
    if len(ens.trees) > MAX_TREES:
        raise ValueError(f"{len(ens.trees)} trees; at most {MAX_TREES} are supported")
    if not 1 <= ens.n_features <= 65535:
        raise ValueError(f"n_features must be 1..65535, got {ens.n_features}")
    if ens.is_classifier and not 1 <= ens.n_classes <= 32767:
        raise ValueError(f"n_classes must be 1..32767, got {ens.n_classes}")
    for t in ens.trees:
        f = t.feature[t.left >= 0]
        if f.size and (f.min() < 0 or f.max() >= ens.n_features):
            raise ValueError(f"a split uses feature {int(f.max())}, but the model has {ens.n_features} features")
    p = _Packer(ens)
    parts = [p.tree(t) for t in ens.trees]
    n_trees = len(parts)
    flags = (FLAG_REGRESSION if p.regression else 0) | (FLAG_WIDE if p.wide else 0) | (FLAG_SCALING if ens.scaling else 0)
    pos = 4 * (8 + 2 * n_trees)
    offsets, body = [], bytearray()
    for data, node_bytes in parts:
        offsets += [pos, pos + node_bytes]
        body += data
        pos += len(data)
    scratch = pos
    blob = struct.pack(f"<{8 + 2 * n_trees}I", n_trees, ens.n_classes, flags, p.W, ens.n_features, 0, scratch, 0,
                       *offsets) + bytes(body)
    fields = [ens.n_features, ens.n_classes, n_trees, count_nodes(ens), flags, 4 * max(ens.n_classes, 1)]
    sections = [("tree", "B", np.frombuffer(blob, dtype=np.uint8))]
    if ens.is_classifier:
        if all(isinstance(c, int) for c in ens.classes):
            sections.append(("labl", "i", np.array(ens.classes, dtype=np.int64)))
        else:
            names = "\n".join(str(c) for c in ens.classes).encode("utf-8")
            sections.append(("name", "B", np.frombuffer(names, dtype=np.uint8)))
    else:
        sections.append(("rval", "f", np.array([p.value_offset, p.value_step], dtype=np.float32)))
    if ens.scaling is not None:
        off, sc = ens.scaling
        sections.append(("scal", "f", np.concatenate([np.asarray(off, np.float32), np.asarray(sc, np.float32)])))
    return fields, sections


def save_ensemble(ens: TreeEnsemble, path) -> int:
    """Write ``ens`` as a tinysense model file; returns the file size in bytes."""
    fields, sections = pack(ens)
    return modelfile.save(path, modelfile.KIND_TREES, fields, sections)


def save(estimator, path, scaling: Int16Scaler | None = None) -> int:
    """Convert a fitted scikit-learn tree model (see ``SUPPORTED``) into a tinysense model file."""
    return save_ensemble(from_sklearn(estimator, scaling), path)
