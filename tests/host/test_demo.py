"""``tinysense demo`` (what ``make demo`` runs) finishes, and says so when the device disagrees."""

from __future__ import annotations

import numpy as np

from tinysense import bench
from tinysense.cli import main


def test_demo_runs(tmp_path, capsys):
    assert main(["demo", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "device accuracy" in out and "scikit-learn accuracy" in out
    assert "MISMATCH" not in out
    assert "| tinysense (x64 .mpy) |" in out
    assert (tmp_path / "digits_rf.tsm").is_file()
    assert (tmp_path / "bench_trees.md").is_file()
    for step in ("[5/8] sound", "[6/8] sensor", "[7/8] motion", "[8/8] vision"):  # the four applications
        assert step in out, step
    assert "device == host on" in out  # activity tracker: every replayed window equal to the host's
    assert "device scores equal LiteRT's on 7/7 images" in out and "10/10 images" in out


def test_demo_reports_a_mismatch(tmp_path, capsys, monkeypatch):
    real = bench.run_device

    def wrong(*args, **kwargs):  # the device gets one more digit wrong than it should
        result = real(*args, **kwargs)
        result["predictions"][0] = (result["predictions"][0] + 1) % 10
        result["correct"] = int(np.sum(np.array(result["predictions"]) == np.array(labels)))
        result["accuracy"] = result["correct"] / result["n_rows"]
        return result

    X_train, X_test, y_train, labels = bench.load_data(bench.Settings())
    monkeypatch.setattr(bench, "run_device", wrong)
    assert main(["demo", "--out-dir", str(tmp_path), "--no-bench"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out
