"""Host side of the tree converter: what it accepts, what it refuses, and the integer-threshold rule."""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from tinysense import convert, modelfile
from tinysense.convert import trees as ctrees
from tinysense.convert.ensemble import Tree, TreeEnsemble


def iris_int():
    X, y = load_iris(return_X_y=True)
    return np.round(X * 10).astype(np.int16), y


def test_unsupported_estimators_are_named(tmp_path):
    X, y = iris_int()
    for est in (LogisticRegression(max_iter=500).fit(X, y), GradientBoostingClassifier(n_estimators=2).fit(X, y)):
        with pytest.raises(ValueError, match="supported kinds: DecisionTreeClassifier"):
            convert.save(est, tmp_path / "m.tsm")


def test_unfitted_estimator(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        convert.save(RandomForestClassifier(), tmp_path / "m.tsm")


def test_float_features_need_scaling(tmp_path):
    X, y = load_iris(return_X_y=True)
    est = DecisionTreeClassifier(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="Int16Scaler"):
        convert.save(est, tmp_path / "m.tsm")
    convert.save(est, tmp_path / "m.tsm", scaling=convert.Int16Scaler().fit(X))


def test_multi_output_is_refused(tmp_path):
    X, y = iris_int()
    est = DecisionTreeRegressor().fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match="outputs"):
        convert.save(est, tmp_path / "m.tsm")


@pytest.mark.parametrize("t", [-40000.0, -32768.5, -32767.5, -100.5, -64.5, -1.5, -0.5, 0.5, 2.5, 63.5, 64.5,
                               8191.5, 8192.5, 32766.5, 32767.5, 40000.0])
def test_integer_threshold_decides_every_int16_like_sklearn(t):
    # x <= t (sklearn, float) and x <= floor(t) (device, int) agree for every integer x
    T = int(np.floor(t))
    x = np.arange(-32768, 32768)
    assert np.array_equal(x <= t, x <= T)


def test_splits_no_int16_can_take_are_pruned():
    # root splits at 40000 (every int16 goes left): the packed tree is just its left leaf
    tree = Tree(left=np.array([1, -1, -1]), right=np.array([2, -1, -1]), feature=np.array([0, -1, -1]),
                threshold=np.array([40000, 0, 0]), value=np.array([[0, 0], [1, 0], [0, 1.0]]))
    fields, sections = ctrees.pack(TreeEnsemble(1, [0, 1], [tree]))
    blob = bytes(sections[0][2])
    a, b = int.from_bytes(blob[32:36], "little"), int.from_bytes(blob[36:40], "little")
    assert a == b  # no decision node
    assert list(np.frombuffer(blob[b:b + 4], "<u2")) == [0xFFFF, 0]  # one leaf record: class 0


def test_nodes_hold_biased_thresholds_and_forward_jumps():
    X, y = load_iris(return_X_y=True)
    est = DecisionTreeClassifier(random_state=0).fit(np.round(X * 10) - 30, y)
    fields, sections = ctrees.pack(ctrees.from_sklearn(est))
    blob = bytes(sections[0][2])
    a, b = int.from_bytes(blob[32:36], "little"), int.from_bytes(blob[36:40], "little")
    nodes = np.frombuffer(blob[a:b], "<u2").reshape(-1, 4)
    t = est.tree_
    internal = np.nonzero(t.children_left >= 0)[0]
    assert len(nodes) == len(internal)
    assert sorted(nodes[:, 1].astype(int) - 32768) == sorted(np.floor(t.threshold[internal]).astype(int))
    for k, (_, _, left, right) in enumerate(nodes):
        for jump in (int(left), int(right)):  # forward, onto a node or a leaf record
            target = a + 8 * k + jump
            assert jump > 0 and ((target - a) % 8 == 0 and target < b or blob[target:target + 2] == b"\xff\xff")


def test_distribution_quantization_sums_to_S():
    for p in ([1 / 3, 2 / 3], [0.1] * 10, [0.5, 0.25, 0.25], [1e-9, 1 - 1e-9]):
        w = ctrees._quantize_distribution(np.array(p), 4096)
        assert w.sum() == 4096 and np.all(np.abs(w - np.array(p) * 4096) < 1)


def test_file_is_checked_on_the_host(tmp_path):
    X, y = iris_int()
    est = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    path = tmp_path / "m.tsm"
    size = convert.save(est, path)
    data = path.read_bytes()
    assert len(data) == size
    mf = modelfile.loads(data, modelfile.KIND_TREES)
    assert mf.fields[:3] == [4, 3, 3]
    assert list(mf.section("labl")) == [0, 1, 2]
    with pytest.raises(ValueError, match="CRC"):
        modelfile.loads(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ValueError, match="truncated"):
        modelfile.loads(data[:40])
    with pytest.raises(ValueError, match="magic"):
        modelfile.loads(b"XXXX" + data[4:])
    with pytest.raises(ValueError, match="kind"):
        modelfile.loads(data, expect_kind=7)


def test_scaler_maps_training_range_into_int16():
    X, _ = load_iris(return_X_y=True)
    s = convert.Int16Scaler().fit(X)
    q = s.transform(X)
    assert q.dtype == np.int16 and np.abs(q).max() <= 16384
    far = s.transform(X * 100)
    assert far.max() == 32767  # clipped, not wrapped
