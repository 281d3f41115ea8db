"""The activity-recognition training pipeline (tinysense.har): loading the exercise recordings
(labels.csv overrides, mixed left out, truncated and empty files), decimation, group-wise
cross-validation that never tests on a training recording, and a small training run."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tinysense import features, har
from tinysense.paths import ROOT

DATA = ROOT / "data" / "har_exercises"


def write_npy(path, a):
    np.save(path, np.asarray(a, dtype=np.int16))
    return path


def make_dataset(tmp_path, n_per_class=6, rows=400, seed=1):
    """A folder like data/har_exercises: recordings/*.npy of three synthetic activities (a
    sine at 1, 2 or 3 Hz on one axis) and a labels.csv."""
    rng = np.random.default_rng(seed)
    rec = tmp_path / "recordings"
    rec.mkdir(parents=True)
    t = np.arange(rows) / 100
    for k, label in enumerate(("walk", "jump", "other")):
        for i in range(n_per_class):
            x = np.zeros((rows, 3))
            x[:, k] = 6000 * np.sin(2 * np.pi * (k + 1) * t + rng.uniform(0, 6))
            x[:, 2] += 16384
            x += rng.normal(0, 300, x.shape)
            write_npy(rec / f"2000-01-01T00{k}{i:03d}_{label}.npy", np.round(x))
    return tmp_path


def write_labels(folder, rows):
    with open(folder / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["annotation_id", "annotator", "created_at", "id", "lead_time", "timeseriesUrl",
                    "trend_forecast", "updated_at"])
        for k, (name, label, stamp) in enumerate(rows):
            w.writerow([k, "1", stamp, k, 1.0, f"/data/upload/3/{k:08x}-{name}.csv", label, stamp])


def test_labels_override_mixed_truncated_empty(tmp_path):
    d = make_dataset(tmp_path, n_per_class=3)
    rec = d / "recordings"
    names = sorted(p.name for p in rec.glob("*.npy"))
    walk = [n for n in names if n.endswith("_walk.npy")]
    jump = [n for n in names if n.endswith("_jump.npy")]
    # a truncated file: the recorder stopped in the middle of row 250 (complete rows kept)
    full = rec / walk[0]
    raw = full.read_bytes()
    header = len(raw) - 400 * 6
    full.write_bytes(raw[:header + 250 * 6 + 4])
    # one cut inside the header, one empty, one too short for a window
    (rec / "2000-01-01T009000_jump.npy").write_bytes(raw[:40])
    (rec / "2000-01-01T009001_walk.npy").write_bytes(b"")
    write_npy(rec / "2000-01-01T009002_other.npy", np.zeros((50, 3)))
    (rec / "nolabel.npy").write_bytes(raw)
    write_labels(d, [(walk[1], "other", "2024-01-01T10:00:00Z"),      # relabelled
                     (jump[0], "mixed", "2024-01-01T10:00:00Z"),      # left out
                     (jump[1], "jump", "2024-01-01T10:00:00Z"),
                     (jump[1], "walk", "2024-01-01T11:00:00Z"),       # reviewed again: the later counts
                     ("2099-01-01T000000_walk.npy", "walk", "2024-01-01T10:00:00Z"),  # not in the folder
                     (walk[2], "slow  walk", "2024-01-01T10:00:00Z")])  # one word on the device
    seen = []
    ds = har.load(d, min_rows=128, say=seen.append)
    by = {r.name: r for r in ds.recordings}
    skipped = dict(ds.skipped)
    assert by[walk[1]].label == "other" and by[walk[1]].file_label == "walk"
    assert jump[0] not in by and "mixed" in skipped[jump[0]]
    assert by[jump[1]].label == "walk"
    assert by[walk[2]].label == "slow-walk" and any("'slow  walk' written as 'slow-walk'" in n for n in seen)
    assert any("reviewed as 'jump' and as 'walk'" in n for n in seen)
    assert any("2099-01-01T000000_walk.npy" in n and "not in recordings/" in n for n in seen)
    # truncated: the 250 complete rows, equal to the start of the original, and one line saying so
    t = by[walk[0]]
    assert t.truncated and t.expected_rows == 400 and len(t.data) == 250
    assert np.array_equal(t.data, np.frombuffer(raw[header:header + 250 * 6], "<i2").reshape(250, 3))
    line = [n for n in seen if walk[0] in n]
    assert len(line) == 1 and "truncated" in line[0] and "250 of 400 rows" in line[0] and "using" in line[0]
    assert "header cut short" in skipped["2000-01-01T009000_jump.npy"]
    assert "empty file" in skipped["2000-01-01T009001_walk.npy"]
    assert "fewer than the 128" in skipped["2000-01-01T009002_other.npy"]
    assert "no label" in skipped["nolabel.npy"]
    assert ds.notes == seen
    assert ds.classes == ["jump", "other", "slow-walk", "walk"]
    strict = har.load(d, min_rows=128, skip_truncated=True)
    assert walk[0] not in {r.name for r in strict.recordings}
    assert "truncated: 250 of 400 rows" in dict(strict.skipped)[walk[0]]
    assert sum(ds.counts().values()) == len(ds.recordings) == 8  # 9 whole files, one mixed


def test_the_real_recordings_load_with_a_line_per_damaged_file():
    seen = []
    ds = har.load(DATA, min_rows=128, say=seen.append)
    assert len(ds.recordings) + len(ds.skipped) == 134
    assert set(ds.classes) == {"jumpingjack", "lunge", "other", "squat"}
    assert not any(r.label == "mixed" for r in ds.recordings)
    # 14 truncated files: each used (complete rows) or skipped, and each named in its own line
    trunc = [r for r in ds.recordings if r.truncated]
    short = [n for n, why in ds.skipped if "truncated" in why or "empty" in why]
    mixed_trunc = [n for n, why in ds.skipped if "mixed" in why and har.read_npy(DATA / "recordings" / n)[0].shape[0] < 1000]
    assert len(trunc) + len(short) + len(mixed_trunc) == 14
    for r in trunc:
        assert sum(r.name in n for n in seen) == 1
        assert len(r.data) >= 128
    # labels.csv overrides the file name
    relabelled = [r for r in ds.recordings if r.label != r.file_label]
    assert relabelled and all(r.label == "other" for r in relabelled)


def test_read_npy_errors(tmp_path):
    p = tmp_path / "f.npy"
    np.save(p, np.zeros((10, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="int16"):
        har.read_npy(p)
    np.save(p, np.zeros((10, 2), dtype=np.int16))
    with pytest.raises(ValueError, match=r"expected \(rows, 3\)"):
        har.read_npy(p)
    p.write_bytes(b"not numpy at all")
    with pytest.raises(ValueError, match="not a .npy"):
        har.read_npy(p)


def test_decimate_is_the_rounded_mean_of_four():
    x = np.array([[0, 1, -1], [1, 1, -2], [2, 1, -2], [3, 2, -2], [9, 9, 9]], dtype=np.int16)
    d = har.decimate(x, 4)
    assert d.dtype == np.int16 and d.shape == (1, 3)  # the incomplete last group is dropped
    assert d.tolist() == [[2, 1, -2]]  # 6/4 = 1.5 -> 2 (half up); 5/4 -> 1; -7/4 = -1.75 -> -2
    big = np.full((8, 3), 32767, dtype=np.int16)
    assert har.decimate(big, 4).tolist() == [[32767] * 3] * 2
    assert har.decimate(-big - 1, 4).tolist() == [[-32768] * 3] * 2


def windows_of(tmp_path):
    ds = har.load(make_dataset(tmp_path), min_rows=128)
    return ds, har.make_windows(ds, har.layout_for(100))


def test_cross_validation_never_splits_a_recording(tmp_path):
    ds, W = windows_of(tmp_path)
    assert len(np.unique(W.groups)) == len(ds.recordings) == 18
    for seed in range(3):
        splits = har.group_folds(W, 3, seed)
        tested = np.concatenate([test for _, test in splits])
        assert sorted(tested.tolist()) == list(range(len(W)))  # every window tested exactly once
        for train, test in splits:
            assert not set(W.groups[train]) & set(W.groups[test])
            assert set(W.groups[train]) | set(W.groups[test]) == set(W.groups)


def test_a_leaking_splitter_is_caught(tmp_path, monkeypatch):
    """The check is real: splitting windows without their groups would put windows of one
    recording on both sides, and group_folds refuses."""
    from sklearn import model_selection

    _, W = windows_of(tmp_path)

    class WindowKFold(model_selection.KFold):
        def __init__(self, n_splits, shuffle, random_state):
            super().__init__(n_splits, shuffle=shuffle, random_state=random_state)

        def split(self, X, y=None, groups=None):
            return super().split(X, y)

    monkeypatch.setattr(model_selection, "StratifiedGroupKFold", WindowKFold)
    with pytest.raises(RuntimeError, match="both the training and the test fold"):
        har.group_folds(W, 3)


def test_windows_equal_the_feature_reference(tmp_path):
    ds, W = windows_of(tmp_path)
    layout = har.layout_for(100)
    r = ds.recordings[4]
    X = W.X[W.groups == 4]
    assert len(X) == (400 - 128) // 64 + 1 == 5
    for i, start in enumerate(W.start[W.groups == 4]):
        assert np.array_equal(X[i], features.extract(r.data[start:start + 128], layout))
    lay25 = har.layout_for(25)
    assert (lay25.rate, lay25.length, lay25.hop) == (25, 32, 16)
    X25, s25 = har.recording_windows(r, lay25)
    assert len(X25) == (100 - 32) // 16 + 1 and np.array_equal(X25[1], features.extract(har.decimate(r.data, 4)[16:48], lay25))
    with pytest.raises(ValueError, match="rate must be one of 25, 100"):
        har.layout_for(50)
    with pytest.raises(ValueError, match="hop"):
        har.layout_for(100, 64, 65)


def test_training_writes_the_device_files(tmp_path):
    d = make_dataset(tmp_path / "data")
    out = tmp_path / "out"
    lines = []
    res = har.train(d, out, params=har.Params(trees=4, max_leaf_nodes=16, folds=3), heldout=0.2, progress=lines.append)
    assert [ln[:5] for ln in lines if ln.startswith("[")] == ["[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"]
    assert res.cv.accuracy > 0.9, res.cv.fold_accuracy  # three sine frequencies are easy
    assert len(res.heldout_idx) == 3 and res.heldout_accuracy > 0.9
    held = {ds_r.name for ds_r in (res.dataset.recordings[i] for i in res.heldout_idx)}
    trained = {res.dataset.recordings[i].name for i in res.train_idx}
    assert not held & trained
    for f in (har.MODEL_FILE, har.LAYOUT_FILE, har.HELDOUT_FILE, har.PREDICTIONS_FILE, har.REPORT_FILE,
              har.METRICS_FILE, har.CONFUSION_PNG, har.FEATURES_FILE):
        assert (out / f).is_file(), f
    assert features.load_layout(out / har.LAYOUT_FILE) == res.layout
    rows = har.read_heldout(out)
    assert {r["recording"] for r in rows} == held
    preds = har.read_predictions(out)
    assert sum(len(v) for v in preds.values()) == len(res.heldout_true) == 3 * 5
    assert [p[2] for v in preds.values() for p in v] == list(res.heldout_pred)
    assert np.load(out / har.FEATURES_FILE).shape == (3 * 5, len(res.layout.names))
    assert "true \\ predicted" in (out / har.REPORT_FILE).read_text()
    cm = res.cv.confusion
    assert cm.sum() == res.n_train_windows and cm.shape == (3, 3)


def test_confusion_text():
    cm = np.array([[5, 1], [0, 4]])
    text = har.confusion_text(cm, ["a", "b"])
    assert text.split("\n")[1].split() == ["a", "5", "1", "0.83"]
    assert text.split("\n")[2].split() == ["b", "0", "4", "1.00"]
