"""``tinysense demo`` (what ``make demo`` runs): a random forest from scikit-learn to MicroPython.

1. train a ``RandomForestClassifier`` on the digits data set (scikit-learn, on the host);
2. convert it into a tinysense model file (``tinysense.convert.save``);
3. run ``tinysense.trees`` on the MicroPython unix port over the whole test split and compare the
   device's accuracy with scikit-learn's (they must be equal);
4. run a quick version of ``tinysense bench trees`` and print its table;
5. replay a generated, calibrated recording through the noise monitor (apps/noise_monitor/main.py,
   A-weighted sound level meter) on the unix port and compare its levels with a float64 reference;
6. replay a generated TMP36 trace through the temperature logger (apps/temperature_logger/main.py:
   median of 9 readings, degrees C, BTHome payload, crash-safe log) and compare with numpy;
7. train the activity recognizer on the exercise recordings (windows, features, random forest,
   cross-validated by recording) and replay held-out recordings through
   apps/activity_tracker/main.py: the device's per-window predictions must equal the host's;
8. classify a few images with the image classifier (apps/image_classifier/main.py: downscale,
   normalise, int8 CNN): the device's scores must equal LiteRT's.

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
    _say(f"[1/8] train    RandomForestClassifier({bench.params_text(settings)}) on sklearn digits")
    prep = bench.prepare(settings, out_dir, progress=lambda m: None)
    n_test = len(prep.y_test)
    sk_correct = int(np.sum(prep.sklearn_predictions == prep.y_test))
    _indent(f"{len(prep.X_train)} training digits (8x8 pixels, values 0..16), {time.perf_counter() - t0:.1f} s")
    _indent(f"scikit-learn accuracy on {n_test} test digits: {prep.sklearn_accuracy:.2%} ({sk_correct}/{n_test})")

    _say(f"[2/8] convert  tinysense.convert.save(forest, {(out_dir / 'digits_rf.tsm').as_posix()!r})")
    bench.convert_model(prep, progress=lambda m: None)
    est = prep.estimator
    n_nodes = sum(t.tree_.node_count for t in est.estimators_)
    _indent(f"{len(est.estimators_)} trees, {n_nodes} nodes -> {prep.model_bytes:,} bytes")

    _say(f"[3/8] predict  tinysense.trees on the MicroPython unix port, all {n_test} test digits")
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
        code = _applications(out_dir)
        _say()
        _say(f"demo finished in {time.perf_counter() - t_start:.0f} s")
        return code

    _say(f"[4/8] bench    tinysense vs everywhereml and m2cgen generated code (quick: >= {repeats} passes per row)")
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
    code = _applications(out_dir)
    _say()
    _say(f"demo finished in {time.perf_counter() - t_start:.0f} s")
    return code


SCENE = (  # (seconds, description, maker(rate) -> int16) for a -26 dBFS microphone
    (3.0, "quiet room, pink noise 45 dB", lambda: _sl().noise(45, 3.0, seed=11, pink=True)),
    (2.0, "calibrator: 1 kHz tone at 94 dB", lambda: _sl().tone(1000, 94, 2.0)),
    (4.0, "street, pink noise 68 dB", lambda: _sl().noise(68, 4.0, seed=12, pink=True)),
    (1.0, "a horn: 400 Hz tone at 95 dB", lambda: _sl().tone(400, 95, 1.0)),
    (4.0, "street, pink noise 68 dB", lambda: _sl().noise(68, 4.0, seed=13, pink=True)),
    (2.0, "silence (microphone muted)", lambda: _sl().silence(2.0)),
)


def _sl():
    from . import soundlevel

    return soundlevel


def noise_monitor(out_dir: Path) -> int:
    """The noise monitor part: replay a generated, calibrated recording through
    apps/noise_monitor/main.py on the unix port (A-weighted), compare each interval's LAeq with
    the float64 reference meter, write the CSV and the plot. Returns 0, or 1 on a mismatch."""
    from . import run as tsrun
    from . import soundlevel, wav

    out_dir.mkdir(parents=True, exist_ok=True)
    total = sum(seg[0] for seg in SCENE)
    _say()
    _say(f"[5/8] sound    the noise monitor (apps/noise_monitor/main.py) replaying a {total:.0f} s recording")
    t0 = time.perf_counter()
    x = np.concatenate([make() for _, _, make in SCENE])
    path = wav.write(out_dir / "scene.wav", x, tsrun.RATE)
    t = 0.0
    for sec, what, _ in SCENE:
        _indent(f"{t:4.0f}-{t + sec:2.0f} s  {what}")
        t += sec
    filt = out_dir / "aweighting.tsf"
    why = tsrun.make_filter(filt)
    if why:
        _indent(f"unweighted levels: {why}")
        filt = None
    else:
        _indent(f"A-weighting: tinysense design aweighting --rate {tsrun.RATE} {filt.as_posix()}")
    res = tsrun.replay(path, filter_path=filt, interval=1.0)
    if res.returncode != 0:
        _say(f"MISMATCH: the noise monitor failed on the unix port:\n{res.stderr.strip()}")
        return 1
    want = soundlevel.reference_levels(x, interval=1.0, weighting="A" if filt else None)
    unit = res.unit
    _indent(f"device: one 125 ms block per I2S callback, {len(res.blocks)} blocks; one line per second:")
    worst, compared = 0.0, 0
    edges = np.cumsum([0] + [seg[0] for seg in SCENE])
    for (tt, leq, lmax, lmin, _), w in zip(res.intervals, want.intervals):
        ref_leq = w[0] if w[0] > -100 else -np.inf  # float rounding left in the reference's silence
        # compared: seconds in which no scene starts (those hold filter transients) and with sound
        steady = not any(tt - 1.0 <= e < tt for e in edges[1:-1]) and ref_leq > 20
        if steady:
            worst = max(worst, abs(leq - ref_leq))
            compared += 1
        shown = "   -inf" if not np.isfinite(leq) else f"{leq:7.2f}"
        ref_shown = "   -inf" if not np.isfinite(ref_leq) else f"{ref_leq:7.2f}"
        _indent(f"t={tt:4.0f} s  L{unit[3]}eq {shown}  max {lmax:6.1f}  min {lmin:6.1f} {unit}"
                f"   reference {ref_shown}")
    csv_path = tsrun.write_csv(out_dir / "scene_levels.csv", res)
    png = tsrun.plot(out_dir / "scene_levels.png", res, title="tinysense noise monitor, replayed on the unix port")
    _indent(f"{compared} steady seconds: device LAeq within {worst:.3f} dB of the float64 reference meter "
            f"(scipy A-weighting); {time.perf_counter() - t0:.1f} s")
    _indent(f"levels: {csv_path.as_posix()}, plot: {png.as_posix()}")
    _indent("on a board the same main.py reads an I2S microphone; `tinysense run noise_monitor --wav FILE` "
            "replays your own recording")
    if worst > 0.2:
        _say(f"MISMATCH: the device's levels differ from the reference by {worst:.2f} dB (more than 0.2 dB)")
        return 1
    return 0


def _applications(out_dir: Path) -> int:
    """Steps 5-8: the four applications on recorded data. Returns 0, or 1 if any mismatched."""
    return max(noise_monitor(out_dir / "noise_monitor"), temperature_logger(out_dir / "temperature_logger"),
               activity_tracker(out_dir / "activity_tracker"), image_classifier(out_dir / "image_classifier"))


def activity_tracker(out_dir: Path) -> int:
    """The activity tracker part (tinysense.run_activity.demo). Returns 0, or 1 on a mismatch."""
    from . import run_activity

    _say()
    _say("[7/8] motion   the activity tracker (apps/activity_tracker/main.py): train on data/har_exercises, "
         "replay 3 held-out recordings")
    return run_activity.demo(out_dir, say=_say)


def image_classifier(out_dir: Path) -> int:
    """The image classifier part (tinysense.run_image.demo). Returns 0, or 1 on a mismatch."""
    from . import run_image

    _say()
    _say("[8/8] vision   the image classifier (apps/image_classifier/main.py): camera frames replayed from "
         "image files, int8 CNN")
    return run_image.demo(out_dir, say=_say)


def temperature_logger(out_dir: Path) -> int:
    """The temperature logger part (tinysense.run_temperature.demo). Returns 0, or 1 on a mismatch."""
    from . import run_temperature

    _say()
    _say("[6/8] sensor   the temperature logger (apps/temperature_logger/main.py) replaying two hours of ADC readings")
    return run_temperature.demo(out_dir, say=_say)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="tinysense demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
