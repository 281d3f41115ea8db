"""The ``tinysense`` command: help, exit codes, one-line errors, and each verb end to end."""

from __future__ import annotations

import subprocess
import sys
import types

import joblib
import numpy as np
import pytest

from tinysense import modelfile
from tinysense.build import ARCHS
from tinysense.cli import main


@pytest.fixture(scope="module")
def digits_forest(tmp_path_factory):
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_digits(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=3, max_depth=5, random_state=0).fit(X, y)
    path = tmp_path_factory.mktemp("models") / "forest.joblib"
    joblib.dump(forest, path)
    return forest, path, X


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines and lines[-1].startswith("tinysense"), err
    return lines[-1]


# ---------------------------------------------------------------- help and usage errors
def test_help_lists_verbs_and_examples(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for verb in ("build", "convert", "info", "package", "bench", "demo"):
        assert f"\n    {verb} " in out
    assert "examples:" in out and "tinysense convert forest.joblib" in out


@pytest.mark.parametrize("verb", ["build", "convert", "info", "package", "bench", "demo"])
def test_every_verb_has_help(verb, capsys):
    assert main([verb, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: tinysense {verb}")


def test_build_help_names_the_boards(capsys):
    main(["build", "--help"])
    out = capsys.readouterr().out
    for arch in ARCHS:
        assert arch in out
    assert "RP2040" in out and "ESP32" in out


def test_no_verb_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "required" in capsys.readouterr().err


def test_unknown_verb(capsys):
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("tinysense ")


def test_python_dash_m_and_entry_point():
    proc = subprocess.run([sys.executable, "-m", "tinysense", "build", "--arch", "z80"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert "unknown architecture 'z80'" in line and all(a in line for a in ARCHS)


# ---------------------------------------------------------------- build
def test_build_unknown_arch_lists_valid_ones(capsys, tmp_path):
    assert main(["build", "--arch", "x64", "--arch", "armv8", "--out", str(tmp_path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "armv8" in line and "xtensawin" in line
    assert not any(tmp_path.iterdir()), "nothing is built when an arch is wrong"


def test_build_one_arch(capsys, tmp_path):
    assert main(["build", "--arch", "xtensawin", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "[1/1] xtensawin" in out
    assert (tmp_path / "d" / "xtensawin" / "tinysense" / "__init__.mpy").is_file()
    assert (tmp_path / "d" / "xtensawin" / "package.json").is_file()
    table = out[out.index("\nmodule ") + 1:].split("\n\n")[0].splitlines()
    assert table[0].split() == ["module", "py", "xtensawin"]
    total = next(line for line in table if line.startswith("total")).split()
    sizes = [int(line.split()[2]) for line in table[2:] if line and not line.startswith(("total", "-"))]
    assert int(total[2]) == sum(sizes)


# ---------------------------------------------------------------- convert / info
def test_convert_joblib_and_info(digits_forest, tmp_path, capsys):
    forest, path, _ = digits_forest
    out = tmp_path / "forest.tsm"
    assert main(["convert", str(path), str(out)]) == 0
    text = capsys.readouterr().out
    assert "tree ensemble" in text and "3 trees" in text and f"{out.stat().st_size} bytes" in text
    mf = modelfile.load(out)
    assert mf.kind == modelfile.KIND_TREES
    assert mf.fields[:3] == [64, 10, 3]
    nodes = sum(est.tree_.node_count for est in forest.estimators_)
    assert f"{mf.fields[3]} nodes" in text and mf.fields[3] <= nodes

    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    for expected in ("kind     1 (tree ensemble)", "version  1", "n_trees       3", "tree  'B'", "crc32", " ok"):
        assert expected in info, info


def test_convert_with_float_scaling(digits_forest, tmp_path, capsys):
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    model = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, X[:, 0] * 2.5)
    joblib.dump(model, tmp_path / "reg.joblib")
    np.save(tmp_path / "X.npy", X)
    out = tmp_path / "reg.tsm"
    assert main(["convert", str(tmp_path / "reg.joblib"), str(out), "--scale-from", str(tmp_path / "X.npy")]) == 0
    assert "regression" in capsys.readouterr().out
    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "feature scaling" in info and "scal" in info


def test_convert_emlearn_csv(digits_forest, tmp_path, capsys):
    pytest.importorskip("tinysense.convert.emlearn_csv")
    emlearn = pytest.importorskip("emlearn")
    forest, _, _ = digits_forest
    csv = tmp_path / "forest.csv"
    emlearn.convert(forest, method="loadable").save(name="forest", format="csv", file=str(csv))
    out = tmp_path / "forest.tsm"
    assert main(["convert", str(csv), str(out)]) == 0
    assert "3 trees" in capsys.readouterr().out
    assert modelfile.load(out).fields[2] == 3
    assert main(["convert", str(csv), str(out), "--thresholds", "sklearn"]) == 0


def test_convert_unsupported_estimator(tmp_path, capsys):
    from sklearn.linear_model import LinearRegression

    joblib.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), tmp_path / "lin.joblib")
    assert main(["convert", str(tmp_path / "lin.joblib"), str(tmp_path / "x.tsm")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "LinearRegression" in line and "RandomForestClassifier" in line
    assert not (tmp_path / "x.tsm").exists()


@pytest.mark.parametrize("case", ["missing", "garbage", "already-converted", "folder-out", "scale-csv"])
def test_convert_user_mistakes(case, digits_forest, tmp_path, capsys):
    _, forest_path, _ = digits_forest
    tsm = tmp_path / "m.tsm"
    if case == "missing":
        argv = ["convert", str(tmp_path / "nope.joblib"), str(tsm)]
    elif case == "garbage":
        (tmp_path / "g.pkl").write_bytes(b"not a pickle at all")
        argv = ["convert", str(tmp_path / "g.pkl"), str(tsm)]
    elif case == "already-converted":
        main(["convert", str(forest_path), str(tsm)])
        argv = ["convert", str(tsm), str(tmp_path / "again.tsm")]
    elif case == "folder-out":
        argv = ["convert", str(forest_path), str(tmp_path)]
    else:
        (tmp_path / "t.csv").write_text("f,2\n")
        argv = ["convert", str(tmp_path / "t.csv"), str(tsm), "--scale-from", "X.npy"]
    capsys.readouterr()
    assert main(argv) == 2
    one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("damage", ["missing", "foreign", "truncated", "bitflip"])
def test_info_rejects_bad_files(damage, digits_forest, tmp_path, capsys):
    _, forest_path, _ = digits_forest
    good = tmp_path / "good.tsm"
    assert main(["convert", str(forest_path), str(good)]) == 0
    data = bytearray(good.read_bytes())
    bad = tmp_path / "bad.tsm"
    if damage == "foreign":
        bad.write_bytes(b"PK\x03\x04" + bytes(40))
    elif damage == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "bitflip":
        data[len(data) - 10] ^= 0x10  # inside the last section's data: only the CRC can tell
        bad.write_bytes(data)
    capsys.readouterr()
    assert main(["info", str(bad)]) == 2
    line = one_error_line(capsys.readouterr().err)
    expected = {"missing": "does not exist", "foreign": "not a tinysense model file",
                "truncated": "truncated", "bitflip": "CRC"}[damage]
    assert expected in line


# ---------------------------------------------------------------- package
def test_package_verb_delegates(monkeypatch):
    import tinysense.packaging

    seen = []
    monkeypatch.setattr(tinysense.packaging, "main", lambda argv: seen.append(argv) or 0)
    assert main(["package", "--check"]) == 0
    assert main(["package"]) == 0
    assert seen == [["--check"], []]


# ---------------------------------------------------------------- bench / demo delegation
@pytest.fixture
def fake_plugin(monkeypatch):
    calls = []

    def make(name):
        module = types.ModuleType(f"tinysense.{name}")

        def add_arguments(parser):
            parser.add_argument("--repeat", type=int, default=1)

        def run(args):
            calls.append((name, args.repeat))
            return 0

        module.add_arguments, module.run = add_arguments, run
        monkeypatch.setitem(sys.modules, f"tinysense.{name}", module)

    return make, calls


def test_bench_trees_delegates(fake_plugin):
    make, calls = fake_plugin
    make("bench")
    assert main(["bench", "trees", "--repeat", "7"]) == 0
    assert calls == [("bench", 7)]


def test_demo_delegates(fake_plugin):
    make, calls = fake_plugin
    make("demo")
    assert main(["demo", "--repeat", "2"]) == 0
    assert calls == [("demo", 2)]


def test_plugin_value_error_is_one_line(fake_plugin, monkeypatch, capsys):
    make, _ = fake_plugin
    make("demo")

    def run(args):
        raise ValueError("--repeat must be at least 1, got 0")

    monkeypatch.setattr(sys.modules["tinysense.demo"], "run", run)
    assert main(["demo", "--repeat", "0"]) == 2
    assert "--repeat must be at least 1" in one_error_line(capsys.readouterr().err)


def test_plugin_options_are_validated(fake_plugin, capsys):
    make, calls = fake_plugin
    make("demo")
    assert main(["demo", "--no-such-option"]) == 2
    assert calls == []


@pytest.mark.parametrize("argv", [["bench", "trees"], ["demo"], ["demo", "--fast"]])
def test_missing_plugin_says_so(argv, monkeypatch, capsys):
    name = argv[0]
    monkeypatch.setitem(sys.modules, f"tinysense.{name}", None)  # import fails as if absent
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1
    assert "not available" in one_error_line(err) or "not installed" in err


def test_other_verbs_do_not_import_plugins(monkeypatch, tmp_path):
    """A broken bench or demo module must not break build, convert or info."""
    for name in ("bench", "demo"):
        broken = types.ModuleType(f"tinysense.{name}")

        def explode(*a, **k):
            raise AssertionError("plugin touched")

        broken.add_arguments = broken.run = explode
        monkeypatch.setitem(sys.modules, f"tinysense.{name}", broken)
    assert main(["build", "--arch", "x64", "--out", str(tmp_path)]) == 0
