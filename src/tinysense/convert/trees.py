"""Pack tree ensembles into tinysense model files (kind 1, layout in ``docs/modelfile.md``).

scikit-learn's split ``x <= t`` (float threshold, float32 features) becomes the integer test
``x <= floor(t)``, which decides every integer input exactly as scikit-learn does. Splits that
no int16 value can take one way are pruned to the branch every input takes.
"""

from __future__ import annotations

import struct
import sys

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
def _varint(v: int) -> bytes:
    if v < 0:
        raise ValueError(f"varint of negative value {v}")
    groups = [v & 0x7F]
    v >>= 7
    while v:
        groups.append(0x80 | (v & 0x7F))
        v >>= 7
    return bytes(reversed(groups))


def _threshold(t: int) -> bytes:
    """A split threshold as 1 to 3 bytes: ``t + 64`` (7 bits) for -64..63, ``t + 8192`` as a
    14-bit varint for -8192..8191, else ``t + 32768`` in 21 bits (last byte taken whole)."""
    if -64 <= t <= 63:
        return bytes([t + 64])
    if -8192 <= t <= 8191:
        u = t + 8192
        return bytes([0x80 | (u >> 7), u & 0x7F])
    if not INT16_MIN <= t <= INT16_MAX:
        raise ValueError(f"threshold {t} outside int16")
    u = t + 32768
    return bytes([0x80 | (u >> 14), 0x80 | ((u >> 7) & 0x7F), u & 0x7F])


def _max_depth(tree: Tree) -> int:
    depth, stack = 0, [(0, 0)]
    while stack:
        i, d = stack.pop()
        if tree.left[i] >= 0:
            depth = max(depth, d + 1)
            stack += [(tree.left[i], d + 1), (tree.right[i], d + 1)]
    return depth


def _quantize_distribution(p: np.ndarray, S: int) -> np.ndarray:
    """Integer weights summing to exactly S, closest to ``p * S`` (largest remainder)."""
    raw = p * S
    w = np.floor(raw).astype(np.int64)
    short = S - int(w.sum())
    if short > 0:
        order = np.argsort(-(raw - w), kind="stable")
        w[order[:short]] += 1
    return w


class _Packer:
    def __init__(self, ens: TreeEnsemble):
        self.ens = ens
        self.nc = ens.n_classes
        self.regression = not ens.is_classifier
        if self.regression:
            vals = np.concatenate([t.value[t.left < 0, 0] for t in ens.trees]) if ens.trees else np.zeros(1)
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
        self.table: list[int] = []  # u16 words
        self.refs: dict = {}

    def leaf_ref(self, value: np.ndarray) -> int:
        if self.regression:
            q = int(np.clip(np.round((float(value[0]) - float(self.value_offset)) / float(self.value_step)), -INT16_MAX, INT16_MAX))
            key = q
            if key not in self.refs:
                self.refs[key] = len(self.table)
                self.table.append(q & 0xFFFF)
            return self.refs[key]
        w = _quantize_distribution(value, self.S)
        top = int(np.argmax(w))
        if w[top] == self.S:
            return top
        key = tuple(w)
        if key not in self.refs:
            self.refs[key] = self.nc + len(self.table)
            for c in np.nonzero(w)[0]:
                if self.wide:
                    self.table += [int(c), int(w[c])]
                else:
                    self.table.append((int(c) << self.W) | int(w[c]))
        return self.refs[key]

    def tree_stream(self, tree: Tree) -> bytes:
        left, right, feature, thr = tree.left, tree.right, tree.feature, tree.threshold

        def resolve(i):  # follow pruned splits that every int16 takes one way
            while left[i] >= 0 and (thr[i] >= INT16_MAX or thr[i] < INT16_MIN):
                i = left[i] if thr[i] >= INT16_MAX else right[i]
            return i

        def node(i):
            lc, rc = resolve(left[i]), resolve(right[i])
            ll, rl = left[lc] < 0, left[rc] < 0
            f = int(feature[i])
            head = (0x80 if ll else 0) | (0x40 if rl else 0) | min(f, 63)
            out = bytearray([head])
            if f >= 63:
                out += _varint(f)
            out += _threshold(int(thr[i]))
            if ll:
                out += _varint(self.leaf_ref(tree.value[lc]))
            if rl:
                out += _varint(self.leaf_ref(tree.value[rc]))
            if not ll and not rl:
                L = node(lc)
                out += _varint(len(L)) + L + node(rc)
            elif not ll:
                out += node(lc)
            elif not rl:
                out += node(rc)
            return bytes(out)

        root = resolve(0)
        if left[root] < 0:  # a single leaf: a split whose both branches reach it
            r = _varint(self.leaf_ref(tree.value[root]))
            return bytes([0xC0]) + _threshold(0) + r + r
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 10000))
        try:
            return node(root)
        finally:
            sys.setrecursionlimit(limit)


def count_nodes(ens: TreeEnsemble) -> int:
    return int(sum(t.n_nodes for t in ens.trees))


def pack(ens: TreeEnsemble) -> tuple[list[int], list[tuple[str, str, np.ndarray]]]:
    """Header fields and sections of the model file for ``ens``."""
    if not ens.trees:
        raise ValueError("the ensemble has no trees")
    if len(ens.trees) > MAX_TREES:
        raise ValueError(f"{len(ens.trees)} trees; at most {MAX_TREES} are supported")
    if not 1 <= ens.n_features <= 65535:
        raise ValueError(f"n_features must be 1..65535, got {ens.n_features}")
    if ens.is_classifier and not 1 <= ens.n_classes <= 65535:
        raise ValueError(f"n_classes must be 1..65535, got {ens.n_classes}")
    for t in ens.trees:
        f = t.feature[t.left >= 0]
        if f.size and (f.min() < 0 or f.max() >= ens.n_features):
            raise ValueError(f"a split uses feature {int(f.max())}, but the model has {ens.n_features} features")
    p = _Packer(ens)
    streams = [p.tree_stream(t) for t in ens.trees]
    n_trees = len(streams)
    flags = (FLAG_REGRESSION if p.regression else 0) | (FLAG_WIDE if p.wide else 0) | (FLAG_SCALING if ens.scaling else 0)
    head_words = 8 + n_trees
    leaf_off = 4 * head_words
    table = np.array(p.table, dtype=np.uint16)
    node_off = leaf_off + 2 * len(table)
    offsets, pos = [], 0
    for s in streams:
        offsets.append(pos)
        pos += len(s)
    end = node_off + pos
    scratch_off = (end + 3) & ~3
    n_acc = max(ens.n_classes, 1)
    blob = bytearray()
    blob += struct.pack(f"<{head_words}I", n_trees, ens.n_classes, flags, p.W, leaf_off, node_off, scratch_off, end, *offsets)
    blob += table.astype("<u2").tobytes()
    for s in streams:
        blob += s
    blob += b"\0" * (scratch_off - end)
    max_depth = max(1, max(_max_depth(t) for t in ens.trees))
    fields = [ens.n_features, ens.n_classes, n_trees, count_nodes(ens), flags, 4 * n_acc, max_depth]
    sections = [("tree", "B", np.frombuffer(bytes(blob), dtype=np.uint8))]
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
