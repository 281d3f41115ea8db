"""Importing emlearn's CSV tree models: same predictions as emlearn, or as scikit-learn, on integers."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from tinysense.convert import emlearn_csv
from tinysense.convert.emlearn_csv import load, loads, predict_ensemble

emlearn = pytest.importorskip("emlearn")


# ---------------------------------------------------------------------------- helpers
def save_csv(estimator, tmp_path, name="model"):
    """Write ``estimator`` with emlearn's own CSV writer; returns (emlearn model, path)."""
    conv = emlearn.convert(estimator, method="loadable")
    path = tmp_path / f"{name}.csv"
    conv.save(name=name, format="csv", file=str(path))
    return conv, path


def emlearn_predict(conv, X, tmp_path, monkeypatch):
    """emlearn's host-side prediction: its C code (eml_trees.h), compiled and run on X."""
    monkeypatch.chdir(tmp_path)  # emlearn builds its test program in ./tmp
    return np.asarray(conv.predict(np.asarray(X, dtype=np.float64)))


def sklearn_hard_vote(estimator, X):
    """One vote per tree for its leaf's majority class, first maximum wins: what the CSV stores."""
    trees = getattr(estimator, "estimators_", [estimator])
    votes = np.zeros((len(X), len(estimator.classes_)))
    for t in trees:
        votes[np.arange(len(X)), np.argmax(t.predict_proba(X), axis=1)] += 1
    return estimator.classes_[np.argmax(votes, axis=1)]


def integer_grid(X, n, seed, margin=3):
    """Random integer inputs covering each feature's range and a little beyond, values unseen included."""
    rng = np.random.default_rng(seed)
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    return rng.integers(lo, hi + 1, size=(n, X.shape[1]))


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X.astype(np.int64), y, test_size=0.25, random_state=1)


def iris_int(scale, offset):
    X, y = load_iris(return_X_y=True)
    return np.round(X * scale).astype(np.int64) + offset, y


# ---------------------------------------------------------------------------- real emlearn files
def test_digits_forest_matches_emlearn(digits, tmp_path, monkeypatch):
    Xtr, Xte, ytr, yte = digits
    rf = RandomForestClassifier(n_estimators=10, max_leaf_nodes=100, random_state=0).fit(Xtr, ytr)
    conv, path = save_csv(rf, tmp_path)
    ens = load(path)
    assert ens.n_features == 64 and ens.classes == list(range(10)) and len(ens.trees) == 10
    for t in ens.trees:
        leaves = t.left == -1
        assert np.allclose(t.value[leaves].sum(axis=1), 1) and set(np.unique(t.value[leaves])) <= {0.0, 1.0}
        assert t.threshold.min() >= -32768 and t.threshold.max() <= 32767
    X = np.vstack([Xte, integer_grid(Xtr, 1000, seed=2)])
    assert np.array_equal(predict_ensemble(ens, X), emlearn_predict(conv, X, tmp_path, monkeypatch))


def test_digits_forest_sklearn_thresholds(digits, tmp_path):
    Xtr, Xte, ytr, yte = digits
    rf = RandomForestClassifier(n_estimators=10, max_leaf_nodes=100, random_state=0).fit(Xtr, ytr)
    _, path = save_csv(rf, tmp_path)
    ens = load(path, thresholds="sklearn")
    X = np.vstack([Xte, integer_grid(Xtr, 1000, seed=3)])
    # Every integer input takes the scikit-learn trees' paths, so the votes are sklearn's hard vote.
    assert np.array_equal(predict_ensemble(ens, X), sklearn_hard_vote(rf, X))
    # RandomForestClassifier.predict averages probabilities (soft voting); the CSV keeps one vote per tree.
    agree = np.mean(predict_ensemble(ens, Xte) == rf.predict(Xte))
    assert agree >= 0.95, agree
    # emlearn's truncated thresholds send the training value x == k of a split at k + 0.5 right,
    # scikit-learn sends it left: the emlearn reading is the less accurate one here.
    acc_sklearn = np.mean(predict_ensemble(ens, Xte) == yte)
    acc_emlearn = np.mean(predict_ensemble(load(path), Xte) == yte)
    assert acc_sklearn >= acc_emlearn


def test_digits_tree_both_readings(digits, tmp_path, monkeypatch):
    Xtr, Xte, ytr, yte = digits
    dt = DecisionTreeClassifier(max_depth=8, random_state=0).fit(Xtr, ytr)
    conv, path = save_csv(dt, tmp_path)
    X = np.vstack([Xte, integer_grid(Xtr, 1000, seed=4)])
    assert np.array_equal(predict_ensemble(load(path, thresholds="sklearn"), X), dt.predict(X))
    assert np.array_equal(predict_ensemble(load(path), X), emlearn_predict(conv, X, tmp_path, monkeypatch))


@pytest.mark.parametrize("scale, offset", [(10, -40), (20, -80)], ids=["half-integer-splits", "integer-splits"])
@pytest.mark.parametrize("kind", ["forest", "tree"])
def test_iris_integers(scale, offset, kind, tmp_path, monkeypatch):
    """Negative and positive features; (20, -80) has only even values, so splits sit on odd integers."""
    X, y = iris_int(scale, offset)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    if kind == "forest":
        est = RandomForestClassifier(n_estimators=7, random_state=0).fit(Xtr, ytr)
    else:
        est = DecisionTreeClassifier(random_state=0).fit(Xtr, ytr)
    conv, path = save_csv(est, tmp_path, name=f"iris_{kind}")
    thr = np.concatenate([t.tree_.threshold[t.tree_.children_left >= 0] for t in getattr(est, "estimators_", [est])])
    assert thr.min() < 0 < thr.max()
    if scale == 20:
        assert np.all(thr == np.round(thr))
    X = np.vstack([Xte, integer_grid(Xtr, 2000, seed=5)])
    assert np.array_equal(predict_ensemble(load(path), X), emlearn_predict(conv, X, tmp_path, monkeypatch))
    assert np.array_equal(predict_ensemble(load(path, thresholds="sklearn"), X), sklearn_hard_vote(est, X))
    if kind == "tree":
        assert np.array_equal(predict_ensemble(load(path, thresholds="sklearn"), X), est.predict(X))


@pytest.mark.parametrize("kind", ["forest", "tree"])
def test_regression(kind, tmp_path, monkeypatch):
    X, _ = iris_int(10, -40)
    y = load_iris().data[:, 3] * 1.7 + 0.25  # petal width, from the other three features
    X = X[:, :3]
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    if kind == "forest":
        est = RandomForestRegressor(n_estimators=5, max_depth=6, random_state=0).fit(Xtr, ytr)
    else:
        est = DecisionTreeRegressor(max_depth=6, random_state=0).fit(Xtr, ytr)
    conv, path = save_csv(est, tmp_path, name=f"reg_{kind}")
    ens = load(path)
    assert ens.classes is None and not ens.is_classifier
    assert all(t.value.shape == (t.n_nodes, 1) for t in ens.trees)
    X = np.vstack([Xte, integer_grid(Xtr, 500, seed=6)])
    got = predict_ensemble(ens, X)
    assert np.allclose(got, emlearn_predict(conv, X, tmp_path, monkeypatch), atol=1e-5)
    assert np.allclose(predict_ensemble(load(path, thresholds="sklearn"), X), est.predict(X), rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------- the format, by hand
XOR = "f,2\r\nc,2\r\nl,0\r\nl,1\r\nr,0\r\nn,0,0.5,1,2\r\nn,1,0.5,-1,-2\r\nn,1,0.5,-2,-1"


def test_handwritten_file_without_leaf_bits_line():
    """Older emlearn files have no lb line; children are relative jumps (>0) or leaves (-k-1)."""
    ens = loads(XOR)
    t = ens.trees[0]
    assert t.n_nodes == 7 and t.left[0] == 1  # pre-order, left child right after its parent
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    assert predict_ensemble(ens, X).tolist() == [0, 0, 0, 0]  # emlearn: x < trunc(0.5) = 0 never holds
    assert predict_ensemble(loads(XOR, thresholds="sklearn"), X).tolist() == [0, 1, 1, 0]


def test_shared_leaves_roots_and_classes():
    text = "\n".join([
        "f,3", "c,3", "lb,0", "l,2", "l,0", "l,1", "r,0", "r,2",
        "n,0,10.5,1,-1",   # tree 0: x0 < 10 -> node 1 else leaf 0 (class 2)
        "n,1,-3.5,-2,-3",  # x1 < -3 -> class 0 else class 1
        "n,2,0.0,-3,-1",   # tree 1: x2 < 0 -> class 1 else class 2
        "",
    ])
    ens = loads(text, classes=["a", "b", "c"])
    assert len(ens.trees) == 2 and ens.classes == ["a", "b", "c"]
    X = np.array([[0, -4, -1], [0, -4, 0], [11, 0, 0], [10, -3, -1]])
    # votes: [a+b, a+c, c+c, b+b]; ties go to the first class
    assert predict_ensemble(ens, X).tolist() == ["a", "a", "c", "b"]


def test_single_leaf_tree():
    """emlearn stores a one-leaf tree as a split whose both branches are that leaf."""
    ens = loads("f,1\nc,2\nlb,0\nl,1\nr,0\nn,0,0,-1,-1")
    t = ens.trees[0]
    assert t.n_nodes == 1 and t.left[0] == -1 and t.value[0].tolist() == [0.0, 1.0]
    assert predict_ensemble(ens, np.array([[-32768], [0], [32767]])).tolist() == [1, 1, 1]


def test_shared_decision_node_is_expanded():
    """Two parents may jump to the same later node (emlearn never writes this, its C accepts it)."""
    text = "f,2\nlf,0\nc,2\nl,0\nl,1\nr,0\nn,0,5,1,2\nn,1,5,1,1\nn,1,7,-1,-2"
    ens = loads(text)
    t = ens.trees[0]
    assert t.n_nodes == 7  # node 2 appears twice (node 1's two branches coincide and collapse)
    X = np.array([[0, 0], [0, 9], [9, 0], [9, 9]])
    assert predict_ensemble(ens, X).tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize("t", [2.5, 3.0, 0.0, 0.4, -0.5, -2.5, -3.0, 7.999999, -7.999999, 1e-06])
def test_threshold_mapping_is_exact_on_integers(t):
    text = f"f,1\nc,2\nl,0\nl,1\nr,0\nn,0,{t},-1,-2"
    x = np.arange(-12, 13)[:, None]
    emlearn_left = x[:, 0] < math.trunc(t)  # eml_trees.h: int16 value < (int16)threshold
    sklearn_left = x[:, 0] <= t
    assert np.array_equal(predict_ensemble(loads(text), x) == 0, emlearn_left)
    assert np.array_equal(predict_ensemble(loads(text, thresholds="sklearn"), x) == 0, sklearn_left)
    differ = np.nonzero(emlearn_left != sklearn_left)[0]
    if t >= 0 or t == int(t):
        assert x[differ, 0].tolist() == [math.floor(t)]
    else:
        assert differ.size == 0


@pytest.mark.parametrize("t, mode, expect", [
    (40000.0, "emlearn", "left"), (-40000.0, "emlearn", "right"),
    (-32768.0, "emlearn", "right"),    # x < -32768: no int16 value goes left
    (-32767.0, "emlearn", "split"),    # x <= -32768
    (32767.5, "emlearn", "split"),     # x < 32767
    (32767.5, "sklearn", "left"),      # x <= 32767: every int16 value
    (-32768.5, "sklearn", "right"),
    (32768.0, "emlearn", "left"),      # emlearn would wrap this int16; we keep what it stands for
])
def test_out_of_range_splits_are_pruned(t, mode, expect):
    ens = loads(f"f,1\nc,2\nl,0\nl,1\nr,0\nn,0,{t},-1,-2", thresholds=mode)
    tree = ens.trees[0]
    assert tree.threshold.min() >= -32768 and tree.threshold.max() <= 32767
    x = np.array([[-32768], [-32767], [0], [32766], [32767]])
    left = x[:, 0] < math.trunc(t) if mode == "emlearn" else x[:, 0] <= t
    assert np.array_equal(predict_ensemble(ens, x) == 0, left)
    assert (tree.n_nodes == 1) == (expect != "split")


def test_load_sources(tmp_path):
    path = tmp_path / "xor.csv"
    path.write_text(XOR, newline="")
    ref = predict_ensemble(loads(XOR), np.array([[0, 1]]))
    for source in (path, str(path), io.StringIO(XOR), io.BytesIO(XOR.encode())):
        assert np.array_equal(predict_ensemble(load(source), np.array([[0, 1]])), ref)
    with open(path) as f:
        assert load(f, thresholds="sklearn").n_features == 2
    with pytest.raises(TypeError):
        load(42)


# ---------------------------------------------------------------------------- malformed files
HEAD = "f,2\nc,2\nlb,0\nl,0\nl,1\nr,0\n"


@pytest.mark.parametrize("text, match", [
    ("", r"empty emlearn CSV"),
    ("\r\n\n  \n", r"empty emlearn CSV"),
    (HEAD + "x,1\n", r"line 7: unknown line type 'x'.*expected one of f, c, lb, l, r, n"),
    (HEAD + "n,0,0.5,-1\n", r"line 7: a 'n' line has 5 fields \(n,<feature>,<threshold>,<left>,<right>\), got 4"),
    (HEAD + "n,0,0.5,-1,-2,7\n", r"line 7: .* has 5 fields .* got 6"),
    ("f\nc,2\n", r"line 1: a 'f' line has 2 fields"),
    ("f,2\nc,2\nl,0\nl\nr,0\nn,0,1,-1,-1", r"line 4: a 'l' line has 2 fields"),
    ("f,two\nc,2\n", r"line 1: expected an integer <n_features>, got 'two'"),
    (HEAD + "n,0,abc,-1,-2\n", r"line 7: expected a number for <threshold>, got 'abc'"),
    (HEAD + "n,0,nan,-1,-2\n", r"line 7: <threshold> must be finite"),
    (HEAD + "n,0.5,1,-1,-2\n", r"line 7: expected an integer <feature>, got '0.5'"),
    (HEAD + "n,2,0.5,-1,-2\n", r"line 7 \(node 0\): feature 2 out of range; expected 0..1 \(f,2\)"),
    (HEAD + "n,-1,0.5,-1,-2\n", r"line 7 \(node 0\): feature -1 out of range"),
    (HEAD + "n,0,0.5,-1,-3\n", r"line 7 \(node 0\): right child -3 is leaf 2, but the file has 2 leaves"),
    (HEAD + "n,0,0.5,2,-1\nn,1,0.5,-1,-2\n", r"line 7 \(node 0\): left child offset 2 points to node 2, but the file has 2 nodes"),
    (HEAD + "n,0,0.5,0,-1\n", r"line 7 \(node 0\): left child 0 jumps to the node itself, a cycle"),
    ("f,2\nc,2\nl,0\nl,1\nn,0,0.5,-1,-2\n", r"line 6 \(end of file\): no r,<root> line"),
    (HEAD + "r,1\nn,0,0.5,-1,-2\n", r"line 7: root 1 out of range; the file has 1 nodes"),
    ("f,2\nc,2\nl,0\nr,0\n", r"line 4: root 0, but the file has no n,\.\.\. node lines"),
    ("c,2\nl,0\nl,1\nr,0\nn,0,0.5,-1,-2\n", r"line 6 \(end of file\): no f,<n_features> line"),
    ("f,2\nl,0\nl,1\nr,0\nn,0,0.5,-1,-2\n", r"no c,<n_classes> line"),
    ("f,2\nf,3\nc,2\n", r"line 2: duplicate f,<n_features> line \(first given on line 1\)"),
    ("f,0\nc,2\nl,0\nr,0\nn,0,1,-1,-1", r"line 1: expected n_features >= 1, got 0"),
    ("f,1\nc,-1\nl,0\nr,0\nn,0,1,-1,-1", r"line 2: expected n_classes >= 0"),
    ("f,2\nc,2\nl,0\nl,2\nr,0\nn,0,0.5,-1,-2", r"line 4: leaf class index 2 out of range; expected 0..1"),
    ("f,2\nc,2\nl,0\nl,0.7\nr,0\nn,0,0.5,-1,-2", r"line 4: expected an integer <leaf> \(a class index\), got '0.7'"),
    ("f,2\nc,0\nlb,32\nl,0.5\nl,x\nr,0\nn,0,0.5,-1,-2", r"line 5: expected a number for <leaf> \(a regression value\)"),
    ("f,2\nc,3\nlb,8\nl,[  0 255   0]\nl,[ 12 243   0]", r"line 3: lb,8 marks soft-voting leaves .* not supported"),
    ("f,2\nc,3\nlb,32\nl,0\nr,0\nn,0,0.5,-1,-1", r"line 3: expected lb,0 .* got lb,32"),
    ("f,2\nc,0\nlb,0\nl,0\nr,0\nn,0,0.5,-1,-1", r"line 3: a regressor \(c,0\) has float leaves, lb,32; got lb,0"),
])
def test_malformed_input_names_the_line(text, match):
    with pytest.raises(ValueError, match=match):
        loads(text)


def test_bad_arguments():
    with pytest.raises(ValueError, match="thresholds must be one of"):
        loads(XOR, thresholds="round")
    with pytest.raises(ValueError, match="classes has 3 labels"):
        loads(XOR, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not ASCII"):
        load(io.BytesIO(b"f,2\n\xff"))
    ens = loads(XOR)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        predict_ensemble(ens, np.zeros((3, 3), dtype=int))
    with pytest.raises(ValueError, match="integer features"):
        predict_ensemble(ens, np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match="must be int16"):
        predict_ensemble(ens, np.array([[40000, 0]]))
    assert emlearn_csv.THRESHOLD_MODES == ("emlearn", "sklearn")
