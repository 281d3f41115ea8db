"""``tinysense demo`` (what ``make demo`` runs): a random forest from scikit-learn to MicroPython.

1. train a ``RandomForestClassifier`` on the digits data set (scikit-learn, on the host);
2. convert it into a tinysense model file (``tinysense.convert.save``);
3. run ``tinysense.trees`` on the MicroPython unix port over the whole test split and compare the
   device's accuracy with scikit-learn's (they must be equal);
4. run a quick version of ``tinysense bench trees`` and print its table.

Returns 0 when the device reproduces scikit-learn, 1 (with a clear message) when it does not.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from . import bench
from .paths import DEVICE_DIR

QUICK = {"repeats": 5, "min_ms": 100, "rounds": 1}
"""Benchmark settings of the demo: fewer passes than ``tinysense bench trees``, same table."""


def _say(msg: str = "") -> None:
    print(msg, flush=True)


def _indent(msg: str) -> None:
    _say("      " + msg.strip())


def _digit_art(images, titles) -> str:
    """8x8 digit images (0..16) side by side as text, each with a title line."""
    shades = " .:-=+*#%@"
    lines = ["   ".join(t.ljust(16) for t in titles)]
    for r in range(8):
        parts = []
        for img in images:
            row = np.asarray(img).reshape(8, 8)[r]
            parts.append("".join(shades[min(int(v) * len(shades) // 17, len(shades) - 1)] * 2 for v in row))
        lines.append("   ".join(parts))
    return "\n".join(lines)


def add_arguments(parser) -> None:
    """Arguments of ``tinysense demo``."""
    parser.add_argument("-o", "--out-dir", default="out/demo",
                        help="folder for the model file and the benchmark reports (default: out/demo)")
    parser.add_argument("-r", "--repeats", type=int, default=QUICK["repeats"],
                        help=f"timed passes per benchmark row (default: {QUICK['repeats']}; "
                             "`tinysense bench trees` does more)")
    parser.add_argument("--no-bench", action="store_true", help="stop after the accuracy check")


def run(args) -> int:
    """Run the demo; returns 0 on success, 1 when the device does not reproduce scikit-learn."""
    out_dir = Path(getattr(args, "out_dir", "out/demo"))
    repeats = max(1, int(getattr(args, "repeats", QUICK["repeats"])))
    settings = bench.Settings(repeats=repeats, min_ms=QUICK["min_ms"], rounds=QUICK["rounds"])
    t_start = time.perf_counter()

    _say("tinysense demo: a random forest trained with scikit-learn, run by MicroPython")
    _say()
    t0 = time.perf_counter()
    _say(f"[1/4] train    RandomForestClassifier({bench.params_text(settings)}) on sklearn digits")
    prep = bench.prepare(settings, out_dir, progress=lambda m: None)
    n_test = len(prep.y_test)
    sk_correct = int(np.sum(prep.sklearn_predictions == prep.y_test))
    _indent(f"{len(prep.X_train)} training digits (8x8 pixels, values 0..16), {time.perf_counter() - t0:.1f} s")
    _indent(f"scikit-learn accuracy on {n_test} test digits: {prep.sklearn_accuracy:.2%} ({sk_correct}/{n_test})")

    _say(f"[2/4] convert  tinysense.convert.save(forest, {(out_dir / 'digits_rf.tsm').as_posix()!r})")
    bench.convert_model(prep, progress=lambda m: None)
    est = prep.estimator
    n_nodes = sum(t.tree_.node_count for t in est.estimators_)
    _indent(f"{len(est.estimators_)} trees, {n_nodes} nodes -> {prep.model_bytes:,} bytes")

    _say(f"[3/4] predict  tinysense.trees on the MicroPython unix port, all {n_test} test digits")
    t0 = time.perf_counter()
    dev = bench.run_device("tinysense", prep.model_path, prep.testdata_path, 1, [DEVICE_DIR], settings.heapsize)
    pred = np.asarray(dev["predictions"])
    same = int(np.sum(pred == prep.sklearn_predictions))
    _indent(f"done in {time.perf_counter() - t0:.1f} s ({dev['us_per_inference']:.1f} µs per digit on the device)")
    right = [i for i in range(n_test) if pred[i] == prep.y_test[i]][:3]
    wrong = [i for i in range(n_test) if pred[i] != prep.y_test[i]][:1]
    show = right + wrong
    _say()
    art = _digit_art([prep.X_test[i] for i in show],
                     [f"-> {pred[i]} (true {prep.y_test[i]})" + (" x" if i in wrong else "") for i in show])
    _say("\n".join("      " + line for line in art.splitlines()))
    _say()
    _indent(f"device accuracy:       {dev['accuracy']:.2%} ({dev['correct']}/{n_test})")
    _indent(f"scikit-learn accuracy: {prep.sklearn_accuracy:.2%} ({sk_correct}/{n_test})")
    if dev["correct"] != sk_correct:
        _say()
        _say(f"MISMATCH: the device got {dev['correct']} of {n_test} test digits right, scikit-learn "
             f"{sk_correct}; {n_test - same} predictions differ. The converted model does not reproduce "
             f"the scikit-learn forest (model file: {prep.model_path}).")
        return 1
    _indent(f"equal; the device's predictions match scikit-learn's on {same}/{n_test} digits"
            + ("" if same == n_test else " (WARNING: some differ although the accuracy is the same)"))

    if getattr(args, "no_bench", False):
        _say()
        _say(f"demo finished in {time.perf_counter() - t_start:.0f} s")
        return 0

    _say(f"[4/4] bench    tinysense vs everywhereml and m2cgen generated code (quick: >= {repeats} passes per row)")
    results = bench.run_benchmark(settings, out_dir, prep=prep, progress=_indent)
    _say()
    _say(bench.markdown_table(results))
    _say(bench.notes_text(results))
    _say("Targets (from the design notes):")
    _say(bench.targets_text(results))
    _say("Device vs host, per test digit:")
    _say(bench.checks_text(results))
    _say(f"Reports: {(out_dir / 'bench_trees.md').as_posix()}, bench_trees.json, bench_trees.png in the same folder. "
         "More passes: `make bench` (tinysense bench trees).")
    _say(f"demo finished in {time.perf_counter() - t_start:.0f} s")
    return 0


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="tinysense demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
