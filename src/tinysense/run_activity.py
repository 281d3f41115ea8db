"""``tinysense run activity_tracker``: the activity tracker's device ``main.py`` on the
MicroPython unix port, replaying the held-out exercise recordings, checked against the host.

    tinysense run activity_tracker [--data data/har_exercises] [--model-dir out/har]
                                   [--smooth 5] [--recordings N] [--out-dir out/run]

``--model-dir`` is the output of ``tinysense train har`` (trained here with the default settings
when it holds no model). ``apps/activity_tracker/main.py`` runs unchanged over the recordings the
training kept out (``heldout.csv``), each played from an empty window through the IMU's replay twin
(``tinysense.sensors.imu.ReplayIMU``). For every window the device prints its raw and smoothed
activity, and its features; they must EQUAL the host's: the features of
``tinysense.features.extract_all`` and the predictions scikit-learn made with the same forest
(``heldout_predictions.csv``), window for window. Any difference (or a missing window) is
listed and the command exits with 1. The result is also written as a CSV (one row per window)
and a PNG timeline (true activity, device raw and smoothed predictions).
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import har, unixport
from .paths import DEVICE_DIR, ROOT

APP_DIR = ROOT / "apps" / "activity_tracker"
DEFAULT_DATA = ROOT / "data" / "har_exercises"
DEFAULT_MODEL_DIR = Path("out") / "har"
SMOOTH = 5

_WINDOW = re.compile(r"^window (\d+)  t (\d+\.\d\d) s  raw (\S+)  smooth (\S+)$")
_FEATURES = re.compile(r"^features (\d+) (-?\d+(?: -?\d+)*)$")
_RECORDING = re.compile(r"^recording (.+)$")
_END = re.compile(r"^end of (.+): (\d+) windows$")


def add_arguments(parser) -> None:
    """The activity tracker's arguments of ``tinysense run`` (the others are shared)."""
    g = parser.add_argument_group("activity_tracker")
    g.add_argument("--data", metavar="DIR",
                   help="folder of the exercise recordings (recordings/*.npy, labels.csv) "
                        "(default: the repository's data/har_exercises)")
    g.add_argument("--model-dir", metavar="DIR",
                   help=f"output of `tinysense train har`: model.tsm, features.tsm, heldout.csv "
                        f"(default: {DEFAULT_MODEL_DIR}; trained there with the default settings if it has no model)")
    g.add_argument("--smooth", type=int, default=SMOOTH, metavar="N",
                   help=f"activity = majority of the last N windows (default: {SMOOTH})")
    g.add_argument("--recordings", type=int, default=0, metavar="N",
                   help="replay only the first N held-out recordings (default: all)")


@dataclass
class Replayed:
    """What the device printed for one replayed recording."""

    path: str
    windows: list = field(default_factory=list)  # (index, t_s, raw, smooth)
    features: dict = field(default_factory=dict)  # index -> list of int
    ended: int | None = None


@dataclass
class Result:
    """What an activity-tracker replay printed, parsed."""

    replays: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    returncode: int = 0
    stderr: str = ""


def replay(files, *, model: Path, layout: Path, list_file: Path, smooth: int = SMOOTH, features: bool = True,
           realtime: bool = False, echo=None, libdirs=None, cwd: Path | None = None, timeout: float = 600) -> Result:
    """Run apps/activity_tracker/main.py on the unix port over the ``.npy`` recordings ``files``
    (each from an empty window, named in ``list_file``, which is written); ``echo`` is called with every
    line it prints."""
    main = APP_DIR / "main.py"
    list_file = Path(list_file)
    # a list file, not one long argument: the unix port aborts on an argument of 256 bytes or more
    list_file.write_text("".join(f"{Path(f).resolve()}\n" for f in files))
    args = ["--replay", str(list_file.resolve()), "--model", str(Path(model).resolve()),
            "--layout", str(Path(layout).resolve()), "--smooth", str(smooth)]
    if features:
        args.append("--features")
    if realtime:
        args.append("--realtime")
    res = Result()

    def take(line):
        res.lines.append(line)
        m = _RECORDING.match(line)
        if m:
            res.replays.append(Replayed(m.group(1)))
        elif res.replays:
            s = res.replays[-1]
            m = _WINDOW.match(line)
            if m:
                s.windows.append((int(m.group(1)), float(m.group(2)), m.group(3), m.group(4)))
            m = _FEATURES.match(line)
            if m:
                s.features[int(m.group(1))] = [int(v) for v in m.group(2).split()]
            m = _END.match(line)
            if m:
                s.ended = int(m.group(2))
        if echo is not None:
            echo(line)

    res.stderr, res.returncode = unixport.stream(main, args, on_line=take, libdirs=libdirs or [DEVICE_DIR],
                                                 cwd=str(cwd or main.parent), timeout=timeout)
    return res


def majority(raw: list[str], n: int) -> list[str]:
    """The device's smoothing, on the host: the majority of the last ``n`` raw predictions, a tie
    going to the class predicted most recently among the tied."""
    out = []
    for i in range(len(raw)):
        last = raw[max(0, i - n + 1):i + 1]
        counts = {c: last.count(c) for c in last}
        top = max(counts.values())
        out.append(next(c for c in reversed(last) if counts[c] == top))
    return out


@dataclass
class Recording:
    """One held-out recording: the host's windows and the device's, side by side."""

    name: str
    label: str
    file: Path
    host_pred: list
    host_features: np.ndarray
    device: Replayed | None = None

    @property
    def n(self) -> int:
        return len(self.host_pred)

    def device_raw(self) -> list:
        return [w[2] for w in self.device.windows] if self.device else []

    def device_smooth(self) -> list:
        return [w[3] for w in self.device.windows] if self.device else []

    def equal_predictions(self) -> int:
        return sum(a == b for a, b in zip(self.device_raw(), self.host_pred))

    def equal_features(self) -> int:
        if not self.device:
            return 0
        return sum(i in self.device.features and self.device.features[i] == self.host_features[i].tolist()
                   for i in range(len(self.host_features)))

    def equal_smooth(self, n: int) -> int:
        return sum(a == b for a, b in zip(self.device_smooth(), majority(self.host_pred, n)))


def replay_file(row: dict, model_dir: Path, data_dir: Path) -> Path:
    """Where the recording of a ``heldout.csv`` row is: the decimated copy the training wrote, or
    the original in the data folder."""
    if row.get("replay"):
        return Path(model_dir) / row["replay"]
    for p in (Path(data_dir) / "recordings" / row["recording"], Path(data_dir) / row["recording"]):
        if p.is_file():
            return p
    raise ValueError(f"held-out recording {row['recording']} is not in {data_dir}/recordings: "
                     f"give the --data folder the model was trained on")


def held_out(model_dir: Path, data_dir: Path, limit: int = 0, names=None) -> list[Recording]:
    """The held-out recordings (the first ``limit``, or those named in ``names``) with the
    host's features and predictions for each window."""
    from . import features

    layout = features.load_layout(Path(model_dir) / har.LAYOUT_FILE)
    preds = har.read_predictions(model_dir)
    rows = har.read_heldout(model_dir)
    trained_path = Path(model_dir) / har.FEATURES_FILE
    trained = np.load(trained_path) if trained_path.is_file() else None
    starts = np.cumsum([0] + [int(r["windows"]) for r in rows])
    keep = [i for i, r in enumerate(rows) if names is None or r["recording"] in set(names)]
    if limit:
        keep = keep[:limit]
    out = []
    for i in keep:
        row = rows[i]
        path = replay_file(row, model_dir, data_dir)
        x = np.load(path) if row.get("replay") else har.read_npy(path)[0]
        F = features.extract_all(x, layout)
        host = [p for _, _, p in preds.get(row["recording"], [])]
        again = f"train again (tinysense train har --out {model_dir})"
        if len(host) != len(F):
            raise ValueError(f"{row['recording']}: {len(F)} windows now, {len(host)} in the training's "
                             f"predictions: {again}")
        if trained is not None and not np.array_equal(trained[starts[i]:starts[i + 1]], F):
            raise ValueError(f"{row['recording']}: the host's features differ from those the model was trained "
                             f"with (tinysense.features changed since): {again}")
        out.append(Recording(row["recording"], row["label"], path, host, F))
    return out


def compare(recs: list[Recording], res: Result, smooth: int) -> tuple[int, int, int, int, list[str]]:
    """Attach what the device printed for each recording to ``recs``; returns ``(windows, equal predictions, equal
    features, equal smoothed, problems)``."""
    problems = []
    by_path = {Path(s.path).resolve(): s for s in res.replays}
    n = same_p = same_f = same_s = 0
    for r in recs:
        r.device = by_path.get(Path(r.file).resolve())
        n += r.n
        if r.device is None:
            problems.append(f"{r.name}: the device did not replay it")
            continue
        got = len(r.device.windows)
        if got != r.n:
            problems.append(f"{r.name}: the device gave {got} windows, the host {r.n}")
        p, f, s = r.equal_predictions(), r.equal_features(), r.equal_smooth(smooth)
        same_p, same_f, same_s = same_p + p, same_f + f, same_s + s
        for i, (a, b) in enumerate(zip(r.device_raw(), r.host_pred)):
            if a != b:
                problems.append(f"{r.name} window {i}: device {a}, host {b}")
        if f != r.n and r.device.features:
            bad = [i for i in range(r.n) if r.device.features.get(i) != r.host_features[i].tolist()]
            problems.append(f"{r.name}: features differ in windows {bad[:10]}")
    return n, same_p, same_f, same_s, problems


def write_csv(path: Path, recs: list[Recording], smooth: int) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["recording", "window", "t_s", "true", "host", "device_raw", "device_smooth", "host_smooth", "equal"])
        for r in recs:
            hs = majority(r.host_pred, smooth)
            dev = r.device.windows if r.device else []
            for i in range(r.n):
                d = dev[i] if i < len(dev) else (i, "", "", "")
                w.writerow([r.name, i, d[1], r.label, r.host_pred[i], d[2], d[3], hs[i], int(d[2] == r.host_pred[i])])
    return path


def plot(path: Path, recs: list[Recording], classes: list[str], title: str = "") -> Path:
    """PNG timeline: the true activity, the device's raw and smoothed predictions per window,
    recordings one after the other."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ypos = {c: i for i, c in enumerate(classes)}
    fig, ax = plt.subplots(figsize=(min(16, max(8, 0.06 * sum(r.n for r in recs) + 3)), 3.6))
    x0 = 0
    for k, r in enumerate(recs):
        xs = np.arange(x0, x0 + r.n)
        ax.plot([x0 - 0.5, x0 + r.n - 0.5], [ypos[r.label]] * 2, color="0.75", lw=8, solid_capstyle="butt",
                label="true activity" if k == 0 else None)
        raw = [ypos.get(v, -1) for v in r.device_raw()]
        sm = [ypos.get(v, -1) for v in r.device_smooth()]
        if raw:
            ax.plot(xs[:len(sm)], sm, color="C3", lw=1.5, drawstyle="steps-mid",
                    label="device, smoothed" if k == 0 else None)
            ax.plot(xs[:len(raw)], raw, "o", ms=3.5, color="C0", label="device, raw" if k == 0 else None)
            bad = [i for i, (a, b) in enumerate(zip(r.device_raw(), r.host_pred)) if a != b]
            if bad:
                ax.plot(xs[bad], [raw[i] for i in bad], "x", ms=9, color="k",
                        label="device != host" if not any("!=" in (t.get_label() or "") for t in ax.lines) else None)
        if k:
            ax.axvline(x0 - 0.5, color="0.5", lw=0.6, ls=":")
        x0 += r.n
    ax.set_yticks(range(len(classes)), classes)
    ax.set_ylim(-0.7, len(classes) - 0.3)
    ax.set_xlim(-1, max(x0, 1))
    ax.set_xlabel("window (recordings one after another, dotted lines between them)")
    ax.set_title(title or "activity tracker replay", fontsize=10)
    ax.legend(loc="upper left", fontsize=8, ncol=4, bbox_to_anchor=(0, -0.22))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def ensure_model(model_dir: Path, data_dir: Path, say=print, **train_options) -> None:
    """Train into ``model_dir`` (default settings unless given) when it holds no model yet."""
    needed = (har.MODEL_FILE, har.LAYOUT_FILE, har.HELDOUT_FILE, har.PREDICTIONS_FILE)
    if all((Path(model_dir) / f).is_file() for f in needed):
        return
    say(f"no trained model in {model_dir}: training one (tinysense train har --data {data_dir} --out {model_dir})")
    har.train(data_dir, model_dir, progress=say, **train_options)


def check(model_dir: Path, data_dir: Path, out_dir: Path, *, smooth: int = SMOOTH, limit: int = 0, names=None,
          realtime: bool = False, echo=None, say=print, libdirs=None) -> tuple[int, list[Recording], Result]:
    """Replay the held-out recordings (see :func:`held_out`) and compare; writes the CSV and the
    PNG into ``out_dir``. ``libdirs``: where the device library is (default: its sources).
    Returns ``(exit code, recordings, device result)``."""
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recs = held_out(model_dir, data_dir, limit, names)
    if not recs:
        raise ValueError(f"{model_dir / har.HELDOUT_FILE} lists no recordings: train with --heldout > 0")
    res = replay([r.file for r in recs], model=model_dir / har.MODEL_FILE, layout=model_dir / har.LAYOUT_FILE,
                 list_file=out_dir / "activity_replay.txt", smooth=smooth, realtime=realtime, echo=echo,
                 libdirs=libdirs)
    if res.returncode != 0:
        say(res.stderr.strip() or "\n".join(res.lines[-20:]))
        say(f"the device program exited with {res.returncode}")
        return 1, recs, res
    n, same_p, same_f, same_s, problems = compare(recs, res, smooth)
    classes = sorted({c for r in recs for c in r.host_pred} | {r.label for r in recs})  # as scikit-learn orders them
    true = sum(r.device_raw()[i] == r.label for r in recs for i in range(min(r.n, len(r.device_raw()))))
    true_s = sum(r.device_smooth()[i] == r.label for r in recs for i in range(min(r.n, len(r.device_smooth()))))
    say(f"{len(recs)} held-out recordings, {n} windows: the device's predictions equal the host's on {same_p}/{n}, "
        f"features on {same_f}/{n}, smoothed activity on {same_s}/{n}")
    say(f"accuracy against the true activity: raw {true / max(n, 1):.3f}, smoothed over {smooth} windows "
        f"{true_s / max(n, 1):.3f}")
    for p in problems[:20]:
        say(f"  MISMATCH {p}")
    if len(problems) > 20:
        say(f"  ... and {len(problems) - 20} more")
    csv_path = write_csv(out_dir / "activity_windows.csv", recs, smooth)
    png = plot(out_dir / "activity_timeline.png", recs, classes,
               title=f"activity tracker on the MicroPython unix port: {len(recs)} held-out recordings, "
                     f"{same_p}/{n} windows equal to the host")
    say(f"windows:  {csv_path}")
    say(f"timeline: {png}")
    ok = not problems and same_p == n and same_f == n and same_s == n and n > 0
    return (0 if ok else 1), recs, res


def run(args) -> int:
    """``tinysense run activity_tracker``: 0, or 1 when the device program fails or disagrees
    with the host on any window."""
    data_dir = Path(args.data) if getattr(args, "data", None) else DEFAULT_DATA
    model_dir = Path(args.model_dir) if getattr(args, "model_dir", None) else DEFAULT_MODEL_DIR
    if not data_dir.is_dir():
        raise ValueError(f"data folder {str(data_dir)!r} does not exist")
    if not 1 <= args.smooth <= 255:
        raise ValueError(f"--smooth must be 1..255 windows, not {args.smooth}")
    if args.recordings < 0:
        raise ValueError(f"--recordings must be >= 0, not {args.recordings}")
    quiet = getattr(args, "quiet", False)
    ensure_model(model_dir, data_dir, say=(lambda line: None) if quiet else print)
    echo = None if quiet else (lambda line: print(line) if not line.startswith("features ") else None)
    code, _, _ = check(model_dir, data_dir, Path(args.out_dir), smooth=args.smooth, limit=args.recordings,
                       realtime=getattr(args, "realtime", False), echo=echo,
                       say=lambda line: print(line, file=sys.stderr if line.startswith("the device") else sys.stdout))
    return code


def demo(out_dir: Path, say=print, recordings: int = 3) -> int:
    """The activity-tracker part of ``tinysense demo``: train on data/har_exercises (10 trees,
    5-fold grouped cross-validation), then replay ``recordings`` held-out recordings of
    different activities through apps/activity_tracker/main.py on the unix port and compare
    every window with the host. 0, or 1 on a mismatch."""
    import time

    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    model_dir = out_dir / "har"
    lines = []
    res = har.train(DEFAULT_DATA, model_dir, progress=lines.append)
    ds = res.dataset
    n_trunc = sum(r.truncated for r in ds.recordings)
    say(f"      {len(ds.recordings)} recordings ({n_trunc} truncated: their complete rows), {len(ds.skipped)} "
        f"skipped (mixed, empty, shorter than a window); {len(res.heldout_idx)} held out for the replay")
    say(f"      {len(res.layout.names)} int16 features of {res.layout.length}-sample windows every {res.layout.hop} "
        f"at {res.layout.rate} Hz; random forest {res.params.trees} trees, <= {res.params.max_leaf_nodes} leaves "
        f"({res.model_bytes} bytes)")
    say(f"      cross-validated accuracy (5 folds grouped by recording): {res.cv.accuracy:.3f}; "
        f"held-out: {res.heldout_accuracy:.3f}")
    for line in har.confusion_text(res.cv.confusion, res.classes).split("\n"):
        say("        " + line)
    # one recording of each of a few different activities
    rows = har.read_heldout(model_dir)
    picked, seen = [], set()
    for i, row in enumerate(rows):
        if row["label"] not in seen:
            picked.append(i)
            seen.add(row["label"])
    picked = (picked + [i for i in range(len(rows)) if i not in picked])[:recordings]
    keep = [rows[i]["recording"] for i in sorted(picked)]
    code, recs, _ = check(model_dir, DEFAULT_DATA, out_dir, names=keep, say=lambda line: None)
    n = sum(r.n for r in recs)
    same = sum(r.equal_predictions() for r in recs)
    same_f = sum(r.equal_features() for r in recs)
    say("      per window (J jumpingjack, L lunge, S squat, . other):")
    for r in recs:
        raw = r.device_raw()
        say(f"      {r.name} ({r.label}): device {' '.join(_short(v) for v in raw)}")
    say(f"      device == host on {same}/{n} windows (features {same_f}/{n}); timeline: "
        f"{(out_dir / 'activity_timeline.png').as_posix()}; {time.perf_counter() - t0:.1f} s")
    if code:
        say(f"MISMATCH: the activity tracker on the unix port differs from the host ({same}/{n} predictions equal)")
    return code


def _short(label: str) -> str:
    return {"jumpingjack": "J", "lunge": "L", "squat": "S", "other": "."}.get(label, label[:1])

