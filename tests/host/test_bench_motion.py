"""benchmarks/bench_motion.py runs end to end: it checks every plain-Python and native reference
against tinysense on the device before timing it (a mismatch ends the run with an error), and
prints its tables; the README's table is replaced only between its markers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_motion.py"


def load():
    spec = importlib.util.spec_from_file_location("bench_motion", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_motion_runs_and_fills_the_readme(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- bench_motion -->\nold table\n<!-- /bench_motion -->\nafter\n")
    assert load().host_main(["--rounds", "1", "--readme", str(readme)]) == 0
    out = capsys.readouterr().out
    for window in ("| 25 at 25 Hz (1 s) |", "| 100 at 100 Hz (1 s) |", "| 128 at 100 Hz (1.28 s) |"):
        assert window in out, window
    assert "k-NN predict" in out and "| 128 | 1000 |" in out
    text = readme.read_text()
    assert text.startswith("before\n<!-- bench_motion -->\n") and text.endswith("<!-- /bench_motion -->\nafter\n")
    assert "old table" not in text and "| 25 at 25 Hz (1 s) |" in text
