"""Import tree models saved in emlearn's CSV format (the files emlearn-micropython loads).

emlearn writes the file with
``emlearn.convert(estimator, method="loadable").save(name=..., format="csv", file=...)``.
It is one record per line (emlearn separates lines with ``\\r\\n``; any line ending is accepted)::

    f,<n_features>                        number of input features
    c,<n_classes>                         number of classes; 0 for a regressor
    lb,<leaf_bits>                        0: leaves are class indices (hard voting);
                                          32: leaves are float values (regression).
                                          Absent in files from older emlearn versions.
    l,<leaf>                              one leaf: a class index, or a float for regression
    r,<root>                              one tree: index of its root in the node list
    n,<feature>,<threshold>,<left>,<right>   one decision node

Leaves and nodes are numbered by their order in the file, counting each kind separately
from 0; all trees share the one node list and the one leaf list (leaves are de-duplicated,
so many nodes point at the same leaf). A child reference ``c`` in a node is

* ``c >= 1``: the decision node ``c`` places further on (``node index + c``), a relative jump;
* ``c < 0``: leaf number ``-c - 1``.

A node sends a sample to ``left`` when ``x[feature] < threshold``. The threshold in the file
is scikit-learn's float threshold rounded to 6 decimals, but emlearn evaluates with int16
features and int16 thresholds: its C code (and emlearn-micropython's loader, which does
``int(float(t))``) truncates the threshold towards zero first. So for an int16 input ``x``
emlearn goes left exactly when ``x < trunc(t)``.

Mapping onto tinysense's ``x <= T`` (``thresholds=``)
-----------------------------------------------------
``"emlearn"`` (default): ``T = trunc(t) - 1``. For integers ``x < trunc(t)`` is
``x <= trunc(t) - 1``, so every int16 input is decided exactly as emlearn-micropython decides
it from the same file, and as emlearn's own C (``emlearn.convert(...).predict``) decides it,
except in one corner: emlearn's C truncates the unrounded threshold, so a scikit-learn
threshold less than 5e-7 below an integer (which the 6-decimal rounding lifts onto that
integer) differs at that one input. That cannot happen for integer training data.

``"sklearn"``: ``T = floor(t)``. scikit-learn goes left when ``x <= t``; for integers that is
``x <= floor(t)``, so every integer input is decided exactly as the original scikit-learn
tree decides it, again except where the 6-decimal rounding moved ``t`` onto an integer.

The two differ at exactly one input per split, ``x == floor(t)``, and only when ``t >= 0``
or ``t`` is an integer (for negative non-integer ``t``, ``trunc(t) - 1 == floor(t)``).
For integer training data the threshold is usually ``k + 0.5`` between the training values
``k`` and ``k + 1``, so that one input is a value seen in training: scikit-learn sends it
left, emlearn sends it right. That is why emlearn's files lose a little accuracy against the
scikit-learn model; pick ``"sklearn"`` to get the original model back.

Splits that send every int16 value the same way (``T >= 32767`` or ``T < -32768``) are
replaced by the branch every value takes, and a split whose two branches are the same leaf
or node is replaced by it, so each imported tree is exact and all thresholds fit int16.
emlearn itself would wrap such an out-of-range threshold around when storing it as int16;
that only happens for thresholds outside [-32768, 32768), which int16 training data never
produces.

Leaves are class indices (one vote per tree), so each leaf's distribution is one-hot and
summing them gives emlearn's vote counts. Soft-voting files (``lb`` between 2 and 8, leaves
written as ``[  0 255 ...]``) are rejected: emlearn-micropython cannot load them either.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .ensemble import Tree, TreeEnsemble

__all__ = ["load", "loads", "predict_ensemble", "THRESHOLD_MODES"]

INT16_MIN, INT16_MAX = -32768, 32767
THRESHOLD_MODES = ("emlearn", "sklearn")
MAX_TREE_NODES = 1 << 20  # guard against a file whose trees share subtrees exponentially

_LINE_FORMS = {
    "f": "f,<n_features>",
    "c": "c,<n_classes>",
    "lb": "lb,<leaf_bits>",
    "lf": "lf,<leaf_bits>",
    "l": "l,<leaf>",
    "r": "r,<root>",
    "n": "n,<feature>,<threshold>,<left>,<right>",
}


def _show(line: str) -> str:
    return repr(line if len(line) <= 60 else line[:57] + "...")


def _int(text: str, lineno: int, what: str, line: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"line {lineno}: expected an integer {what}, got {text!r} in {_show(line)}") from None


def _float(text: str, lineno: int, what: str, line: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"line {lineno}: expected a number for {what}, got {text!r} in {_show(line)}") from None
    if not math.isfinite(v):
        raise ValueError(f"line {lineno}: {what} must be finite, got {text!r}")
    return v


def _split_threshold(t: float, mode: str) -> int:
    """Integer T such that ``x <= T`` decides int16 ``x`` as the file's split does (see module doc)."""
    if mode == "emlearn":
        return math.trunc(t) - 1
    return math.floor(t)


def loads(text: str, *, thresholds: str = "emlearn", classes=None) -> TreeEnsemble:
    """Parse the text of an emlearn CSV tree model into a :class:`TreeEnsemble`.

    Parameters
    ----------
    text : str
        The file's contents.
    thresholds : {"emlearn", "sklearn"}
        How the file's float thresholds become integer ones: ``"emlearn"`` decides every int16
        input as emlearn(-micropython) does, ``"sklearn"`` as the original scikit-learn model
        does. See the module documentation.
    classes : sequence, optional
        Class labels in output order (the file only stores their number); default
        ``list(range(n_classes))``.

    Returns
    -------
    TreeEnsemble
        One :class:`Tree` per ``r`` line, in file order. Classifier leaves hold one-hot class
        distributions; regressor leaves a length-1 array with the leaf value.

    Raises
    ------
    ValueError
        For any malformed input, naming the line and what was expected there.
    """
    if thresholds not in THRESHOLD_MODES:
        raise ValueError(f"thresholds must be one of {THRESHOLD_MODES}, got {thresholds!r}")
    if not isinstance(text, str):
        raise TypeError(f"expected the file's text as str, got {type(text).__name__}")

    meta: dict[str, tuple[int, int]] = {}  # kind -> (value, line)
    leaves: list[tuple[str, int]] = []  # (text, line)
    roots: list[tuple[int, int]] = []  # (node index, line)
    nodes: list[tuple[int, float, int, int, int]] = []  # (feature, threshold, left, right, line)

    lines = text.splitlines()
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        tok = [t.strip() for t in line.split(",")]
        kind = tok[0]
        form = _LINE_FORMS.get(kind)
        if form is None:
            raise ValueError(
                f"line {lineno}: unknown line type {kind!r} in {_show(line)}; "
                "expected one of f, c, lb, l, r, n"
            )
        want = form.count(",") + 1
        if len(tok) != want:
            raise ValueError(
                f"line {lineno}: a {kind!r} line has {want} fields ({form}), got {len(tok)} in {_show(line)}"
            )
        if kind in ("f", "c", "lb", "lf"):
            key = "lb" if kind == "lf" else kind
            if key in meta:
                raise ValueError(
                    f"line {lineno}: duplicate {form} line (first given on line {meta[key][1]})"
                )
            meta[key] = (_int(tok[1], lineno, form.split(",")[1], line), lineno)
            if key == "lb" and 2 <= meta[key][0] <= 8:  # before its multi-number leaves confuse the parse
                raise ValueError(
                    f"line {lineno}: {line} marks soft-voting leaves (class proportions), which are not "
                    "supported; expected lb,0 (class-index leaves): re-export with leaf_bits=0"
                )
        elif kind == "l":
            leaves.append((tok[1], lineno))
        elif kind == "r":
            roots.append((_int(tok[1], lineno, "<root>", line), lineno))
        else:
            nodes.append((
                _int(tok[1], lineno, "<feature>", line),
                _float(tok[2], lineno, "<threshold>", line),
                _int(tok[3], lineno, "<left>", line),
                _int(tok[4], lineno, "<right>", line),
                lineno,
            ))

    end = f"line {len(lines) + 1} (end of file)"
    if not any(line.strip() for line in lines):
        raise ValueError(
            "empty emlearn CSV model: expected lines f,<n_features>, c,<n_classes>, "
            "l,<leaf>..., r,<root>..., n,<feature>,<threshold>,<left>,<right>..."
        )
    for key in ("f", "c"):
        if key not in meta:
            raise ValueError(f"{end}: no {_LINE_FORMS[key]} line in the file")
    n_features, f_line = meta["f"]
    n_classes, c_line = meta["c"]
    if n_features < 1:
        raise ValueError(f"line {f_line}: expected n_features >= 1, got {n_features}")
    if n_classes < 0:
        raise ValueError(f"line {c_line}: expected n_classes >= 0 (0 for a regressor), got {n_classes}")
    regression = n_classes == 0
    leaf_bits, lb_line = meta.get("lb", (None, None))
    if regression:
        if leaf_bits not in (None, 32):
            raise ValueError(
                f"line {lb_line}: a regressor (c,0) has float leaves, lb,32; got lb,{leaf_bits}"
            )
    elif leaf_bits not in (None, 0, 1):
        raise ValueError(
            f"line {lb_line}: expected lb,0 (leaves are class indices, hard voting), got lb,{leaf_bits}; "
            + ("soft-voting leaves (class proportions) are not supported: re-export with leaf_bits=0"
               if 2 <= leaf_bits <= 8 else "float leaves (lb,32) need c,0 (a regressor)")
        )

    if classes is None:
        classes = None if regression else list(range(n_classes))
    else:
        if regression:
            raise ValueError("classes given, but the file is a regressor (c,0)")
        classes = list(classes)
        if len(classes) != n_classes:
            raise ValueError(f"classes has {len(classes)} labels, the file (line {c_line}) c,{n_classes}")

    # leaf values
    leaf_values = []
    for text_value, lineno in leaves:
        if regression:
            leaf_values.append(np.array([_float(text_value, lineno, "<leaf> (a regression value)", text_value)]))
        else:
            k = _int(text_value, lineno, "<leaf> (a class index)", "l," + text_value)
            if not 0 <= k < n_classes:
                raise ValueError(
                    f"line {lineno}: leaf class index {k} out of range; expected 0..{n_classes - 1} (c,{n_classes})"
                )
            v = np.zeros(n_classes)
            v[k] = 1.0
            leaf_values.append(v)

    # node references: resolve to ("n", index) or ("l", index), checking ranges
    n_nodes, n_leaves = len(nodes), len(leaves)
    children = []
    for i, (feature, _t, left, right, lineno) in enumerate(nodes):
        if not 0 <= feature < n_features:
            raise ValueError(
                f"line {lineno} (node {i}): feature {feature} out of range; expected 0..{n_features - 1} (f,{n_features})"
            )
        refs = []
        for side, c in (("left", left), ("right", right)):
            if c < 0:
                leaf = -c - 1
                if leaf >= n_leaves:
                    raise ValueError(
                        f"line {lineno} (node {i}): {side} child {c} is leaf {leaf}, "
                        f"but the file has {n_leaves} leaves (expected -1..{-n_leaves})"
                    )
                refs.append(("l", leaf))
            elif c == 0:
                raise ValueError(
                    f"line {lineno} (node {i}): {side} child 0 jumps to the node itself, a cycle; "
                    "expected a positive offset to a later node or a negative leaf reference"
                )
            else:
                target = i + c
                if target >= n_nodes:
                    raise ValueError(
                        f"line {lineno} (node {i}): {side} child offset {c} points to node {target}, "
                        f"but the file has {n_nodes} nodes (expected 1..{n_nodes - 1 - i})"
                    )
                refs.append(("n", target))
        children.append(tuple(refs))
    # Child offsets are positive, so every jump goes to a later node and no other cycle exists.

    if not roots:
        raise ValueError(f"{end}: no r,<root> line; expected one per tree")
    for root, lineno in roots:
        if not 0 <= root < n_nodes:
            raise ValueError(
                f"line {lineno}: root {root} out of range; the file has {n_nodes} nodes (expected 0..{n_nodes - 1})"
                if n_nodes else f"line {lineno}: root {root}, but the file has no n,... node lines"
            )

    split_T = [_split_threshold(t, thresholds) for (_f, t, _l, _r, _ln) in nodes]

    def settle(ref):
        """Follow splits that every int16 input takes one way, or whose branches coincide."""
        while ref[0] == "n":
            i = ref[1]
            left, right = children[i]
            if split_T[i] >= INT16_MAX or left == right:
                ref = left
            elif split_T[i] < INT16_MIN:
                ref = right
            else:
                break
        return ref

    trees = []
    width = 1 if regression else n_classes
    for tree_no, (root, root_line) in enumerate(roots):
        left_a, right_a, feat_a, thr_a, val_a = [], [], [], [], []
        stack = [(settle(("n", root)), -1, 0)]  # (ref, parent, 0 = left / 1 = right)
        while stack:
            ref, parent, side = stack.pop()
            idx = len(left_a)
            if idx >= MAX_TREE_NODES:
                raise ValueError(
                    f"line {root_line}: tree {tree_no} expands to more than {MAX_TREE_NODES} nodes "
                    "(its nodes are shared by many parents); expected a tree"
                )
            if parent >= 0:
                (left_a if side == 0 else right_a)[parent] = idx
            if ref[0] == "l":
                left_a.append(-1)
                right_a.append(-1)
                feat_a.append(-1)
                thr_a.append(0)
                val_a.append(leaf_values[ref[1]])
            else:
                i = ref[1]
                left_a.append(-2)
                right_a.append(-2)
                feat_a.append(nodes[i][0])
                thr_a.append(split_T[i])
                val_a.append(np.zeros(width))
                lref, rref = children[i]
                stack.append((settle(rref), idx, 1))
                stack.append((settle(lref), idx, 0))  # popped first: pre-order, left child = idx + 1
        trees.append(Tree(
            left=np.array(left_a, dtype=np.int64),
            right=np.array(right_a, dtype=np.int64),
            feature=np.array(feat_a, dtype=np.int64),
            threshold=np.array(thr_a, dtype=np.int64),
            value=np.array(val_a, dtype=np.float64).reshape(len(val_a), width),
        ))
    return TreeEnsemble(n_features=n_features, classes=classes, trees=trees)


def load(path_or_file, *, thresholds: str = "emlearn", classes=None) -> TreeEnsemble:
    """Read an emlearn CSV tree model from a path or an open file (text or binary).

    See :func:`loads` for the parameters and the result.
    """
    if isinstance(path_or_file, (str, os.PathLike)):
        data = Path(path_or_file).read_bytes()
    elif hasattr(path_or_file, "read"):
        data = path_or_file.read()
    else:
        raise TypeError(f"expected a path or a file object, got {type(path_or_file).__name__}")
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("ascii")
        except UnicodeDecodeError as e:
            raise ValueError(f"not an emlearn CSV model: byte {e.start} is not ASCII") from None
    return loads(data, thresholds=thresholds, classes=classes)


def predict_ensemble(ens: TreeEnsemble, X) -> np.ndarray:
    """Reference evaluation of a :class:`TreeEnsemble` with numpy, as the device computes it.

    ``X`` is an (n_samples, n_features) array of integer features (int16 range), or of floats
    when ``ens.scaling`` is set (they are then mapped with ``round((x - offset) * scale)``,
    ties away from zero, and clipped to int16). Every tree goes left when
    ``x[feature] <= threshold``. A classifier sums the trees' leaf distributions and returns
    the label of the largest sum (the first one on ties); a regressor returns the mean of the
    trees' leaf values.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != ens.n_features:
        raise ValueError(f"expected X of shape (n_samples, {ens.n_features}), got {X.shape}")
    if ens.scaling is not None:
        off, sc = (np.asarray(a, dtype=np.float32) for a in ens.scaling)
        v = (X.astype(np.float32) - off) * sc
        v = np.where(v >= 0, np.floor(v + np.float32(0.5)), np.ceil(v - np.float32(0.5)))
        X = np.clip(v, INT16_MIN, INT16_MAX).astype(np.int64)
    else:
        if not np.issubdtype(X.dtype, np.integer):
            if not np.all(np.isfinite(X)) or np.any(X != np.round(X)):
                raise ValueError("X must hold integer features (the ensemble has no scaling)")
        X = X.astype(np.int64)
        if X.size and (X.min() < INT16_MIN or X.max() > INT16_MAX):
            raise ValueError(f"features must be int16, got values in [{X.min()}, {X.max()}]")
    if not ens.trees:
        raise ValueError("the ensemble has no trees")
    n = X.shape[0]
    rows = np.arange(n)
    width = ens.trees[0].value.shape[1]
    total = np.zeros((n, width))
    for t in ens.trees:
        node = np.zeros(n, dtype=np.int64)
        active = t.left[node] >= 0
        while active.any():
            i = node[active]
            go_left = X[rows[active], t.feature[i]] <= t.threshold[i]
            node[active] = np.where(go_left, t.left[i], t.right[i])
            active = t.left[node] >= 0
        total += t.value[node]
    if ens.is_classifier:
        idx = np.argmax(total, axis=1)
        return np.array([ens.classes[k] for k in idx]) if n else np.array([], dtype=np.int64)
    return total[:, 0] / len(ens.trees)
