"""``tinysense bench trees`` end to end on a small forest, and the pieces it is made of."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tinysense import bench
from tinysense.cli import main

ROWS = ["tinysense-py", "tinysense-mpy", "everywhereml-py", "everywhereml-mpy", "m2cgen-py", "m2cgen-mpy"]


def test_bench_trees_end_to_end(tmp_path):
    """One quick run through the CLI (a 3-tree forest, few passes, one round), then every check.

    A single test, so that parallel workers do not each run the benchmark.
    """
    code = main(["bench", "trees", "--out-dir", str(tmp_path), "--n-estimators", "3", "--max-leaf-nodes", "30",
                 "--repeats", "2", "--min-ms", "0", "--rounds", "1"])
    assert code == 0
    run = (tmp_path, json.loads((tmp_path / "bench_trees.json").read_text()))
    check_reports(run)
    check_rows(run)
    check_tinysense_reproduces_sklearn(run)
    check_peers_reproduce_their_host_models(run)
    check_targets(run)
    check_markdown_table(run)


def check_reports(run):
    out, results = run
    for name in ("bench_trees.md", "bench_trees.json", "bench_trees.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "bench_trees.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (out / "bench_trees.md").read_text()
    assert bench.markdown_table(results) in text


def check_rows(run):
    _, results = run
    rows = {r["key"]: r for r in results["rows"]}
    assert list(rows) == ROWS
    n_test = results["dataset"]["n_test"]
    assert n_test == 450
    for r in rows.values():
        assert r["n_test"] == n_test
        assert 0 < r["us_per_inference"] < 10_000 and math.isfinite(r["us_per_inference"])
        assert r["us_per_inference_min"] <= r["us_per_inference"]
        assert r["passes"] >= 2
        assert 0.5 < r["accuracy"] <= 1
        assert 0 < r["ram"] < 1_000_000
        assert 0 < r["flash"] < 1_000_000
        assert r["loaded_from"].endswith("." + r["key"].rsplit("-", 1)[1])
    for key in ("tinysense-py", "tinysense-mpy"):
        r = rows[key]
        assert 0 < r["flash_model"] < r["flash"]
        assert any(name.startswith("tinysense/trees.") for name in r["code_files"])
        assert 0 < r["ram_model"] < r["ram"]
    for peer in ("everywhereml", "m2cgen"):
        py, mpy = rows[f"{peer}-py"], rows[f"{peer}-mpy"]
        assert py["flash"] == py["flash_py"] > mpy["flash"] == mpy["flash_mpy"]


def check_tinysense_reproduces_sklearn(run):
    _, results = run
    sk = results["sklearn"]
    for key in ("tinysense-py", "tinysense-mpy"):
        r = next(r for r in results["rows"] if r["key"] == key)
        assert r["correct"] == sk["correct"]
        assert r["agree_with_host"] == r["n_test"]


def check_peers_reproduce_their_host_models(run):
    _, results = run
    rows = {r["key"]: r for r in results["rows"]}
    for key in ROWS[2:]:
        r = rows[key]
        assert r["identical_training"]
        assert r["agree_with_host"] == r["n_test"], f"{key}: device differs from its code run by CPython"
        assert r["accuracy"] == pytest.approx(r["host_accuracy"])
    # m2cgen encodes the forest faithfully: same accuracy as scikit-learn
    for key in ("m2cgen-py", "m2cgen-mpy"):
        assert rows[key]["accuracy"] == pytest.approx(results["sklearn"]["accuracy"])
        assert rows[key]["peer_sklearn_accuracy"] == pytest.approx(results["sklearn"]["accuracy"])


def check_targets(run):
    _, results = run
    names = [t["name"] for t in results["targets"]]
    assert names == ["speed vs everywhereml", "speed vs m2cgen", "flash vs everywhereml .mpy", "RAM vs everywhereml"]
    text = bench.targets_text(results)
    assert text.count("PASS") + text.count("MISS") == 4


def check_markdown_table(run):
    _, results = run
    table = bench.markdown_table(results)
    lines = table.strip().splitlines()
    assert len(lines) == 2 + len(ROWS) + 1  # header, rule, rows, scikit-learn line
    assert all(line.startswith("|") and line.endswith("|") for line in lines)
    assert "| tinysense (x64 .mpy) |" in table and "1.0x" in table
    assert "scikit-learn" in lines[-1]


def test_fix_everywhereml_source():
    src = "class RandomForestClassifier:\n    pass\n\nRandomForestClassifier clf"
    fixed = bench.fix_everywhereml_source(src)
    ns = {}
    exec(fixed, ns)
    assert type(ns["clf"]).__name__ == "RandomForestClassifier"
    # already valid code is left working (an instance is added when missing)
    ns = {}
    exec(bench.fix_everywhereml_source("class RandomForestClassifier:\n    pass\n"), ns)
    assert "clf" in ns


def test_testdata_file(tmp_path):
    X = np.array([[0, 16, -3], [5, 32767, -32768]])
    y = np.array([1, 9])
    path = tmp_path / "t.bin"
    assert bench.write_testdata(path, X, y) == 2 * (2 + 6 + 2)
    raw = np.fromfile(path, "<i2")
    assert raw[:2].tolist() == [2, 3]
    assert raw[2:8].reshape(2, 3).tolist() == X.tolist()
    assert raw[8:].tolist() == [1, 9]
    with pytest.raises(ValueError, match="int16"):
        bench.write_testdata(path, X + 0.5, y)
    with pytest.raises(ValueError, match="int16"):
        bench.write_testdata(path, X * 2, y)
    with pytest.raises(ValueError, match="shape"):
        bench.write_testdata(path, X, y[:1])


def test_arguments():
    import argparse

    # given the `bench` parser, `trees` is a positional choice
    parser = argparse.ArgumentParser(prog="tinysense bench")
    bench.add_arguments(parser)
    args = parser.parse_args(["trees", "--repeats", "3", "--peers", "m2cgen"])
    assert args.benchmark == "trees"
    s = bench.settings_from_args(args)
    assert s.repeats == 3 and s.peers == ("m2cgen",)
    with pytest.raises(SystemExit):
        parser.parse_args(["nonsense"])
    # given a `bench trees` sub-command parser, no extra positional is needed
    parser = argparse.ArgumentParser(prog="tinysense bench trees")
    bench.add_arguments(parser)
    args = parser.parse_args(["--peers", "none", "--no-plot"])
    s = bench.settings_from_args(args)
    assert s.peers == () and not s.plot
    args.peers = "tensorflow"
    with pytest.raises(ValueError, match="unknown peer"):
        bench.settings_from_args(args)


def test_missing_peer_is_skipped(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "m2cgen" else real(name, *a))
    settings = bench.Settings(n_estimators=2, max_leaf_nodes=10, repeats=1, min_ms=0, rounds=1,
                              peers=("m2cgen",), plot=False)
    results = bench.run_benchmark(settings, tmp_path, progress=lambda m: None)
    assert [r["key"] for r in results["rows"]] == ["tinysense-py", "tinysense-mpy"]
    assert results["targets"] == []
    assert "not measured: m2cgen" in bench.targets_text(results)
    assert "| tinysense (x64 .mpy) |" in (tmp_path / "bench_trees.md").read_text()
    assert not (tmp_path / "bench_trees.png").exists()


def test_readme_table_is_replaced_between_markers(tmp_path, monkeypatch):
    from tinysense.bench import write_readme_table

    monkeypatch.setattr(bench, "markdown_table", lambda results: "| tinysense (x64 .mpy) | 1.0 |\n")
    results = {}
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench-trees:begin -->\nold table\n<!-- bench-trees:end -->\noutro\n")
    write_readme_table(readme, results)
    text = readme.read_text()
    assert "old table" not in text and text.startswith("intro\n") and text.endswith("outro\n")
    assert "| tinysense (x64 .mpy) |" in text
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        write_readme_table(readme, results)
