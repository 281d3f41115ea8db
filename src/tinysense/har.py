"""Activity recognition from wrist accelerometer recordings: load, window, train, validate.

The training half of the activity tracker (``apps/activity_tracker``); ``tinysense train har``
drives it (:mod:`tinysense.train`).

Data (``data/har_exercises``): ``recordings/*.npy``, int16 ``(n, 3)`` accelerometer counts at
100 Hz (16384 = 1 g), the activity at the end of the file name (``..._squat.npy``), and
``labels.csv``, a reviewed label per recording that overrides the file name (``mixed``: more
than one activity in the recording, left out). Truncated files (the recorder stopped while
writing) are read up to their last complete row and used when at least one window fits; each
is reported in one line.

Pipeline:

1. :func:`load`: recordings, labels, one note per file that is overridden, truncated or skipped.
2. :func:`split_heldout`: a few complete recordings per class are put aside, never trained on:
   the device replays them (``tinysense run activity_tracker``).
3. :func:`make_windows`: every recording cut into windows exactly as the device's
   ``window.Window`` does, each window reduced to int16 features by
   ``tinysense.features.extract_all`` (the same numbers the device's ``features.compute`` gives).
4. :func:`cross_validate`: group-wise k-fold by recording (``StratifiedGroupKFold``): all the
   windows of one recording fall in the same fold, so no fold is tested on a recording it
   was trained on (overlapping windows of one recording are nearly the same sample).
   :func:`leaky_accuracy` shows what the same folds over shuffled windows would claim.
5. :func:`train`: a ``RandomForestClassifier`` on all training recordings, written with
   ``tinysense.convert.save`` (exact for integer features), with the feature layout
   (``tinysense.features.save_layout``), the held-out list and the host's per-window
   predictions for the held-out recordings (:func:`write_outputs`).

At 25 Hz (``rate=25``) the 100 Hz recordings are decimated by 4: each output sample is the
mean of 4 consecutive input samples, rounded half up (``(a+b+c+d+2) >> 2``): a boxcar
low-pass (3 dB at 11.3 Hz) before the down-sampling, close to the ~10 Hz low-pass the IMU
driver sets on the chip at 25 Hz, so fast jitter does not fold into the band. The held-out recordings are written
decimated (``replay25/``) for the device to replay at 25 Hz.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RATE = 100
"""Sample rate of the recordings (Hz)."""
RATES = (25, 100)
CHANNELS = 3
SKIP_LABEL = "mixed"
MODEL_FILE = "model.tsm"
LAYOUT_FILE = "features.tsm"
HELDOUT_FILE = "heldout.csv"
PREDICTIONS_FILE = "heldout_predictions.csv"
FEATURES_FILE = "heldout_features.npy"
REPORT_FILE = "report.txt"
METRICS_FILE = "metrics.json"
CONFUSION_PNG = "confusion.png"
REPLAY25_DIR = "replay25"

_PREFIX = re.compile(r"^[0-9a-fA-F]{8}-(.+)$")


# ---------------------------------------------------------------------------- loading
@dataclass
class Recording:
    """One accelerometer recording."""

    name: str
    """File name, e.g. ``2024-12-01T162620_squat.npy``."""
    path: Path
    label: str
    file_label: str | None
    """The activity in the file name (None when it has none)."""
    data: np.ndarray
    """int16 ``(rows, 3)`` at :data:`RATE` Hz: the complete rows of the file."""
    expected_rows: int
    """Rows the file's header announces (``len(data)`` unless truncated)."""

    @property
    def truncated(self) -> bool:
        return len(self.data) < self.expected_rows


@dataclass
class Dataset:
    recordings: list[Recording]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """``(file name, reason)`` of every recording left out."""
    notes: list[str] = field(default_factory=list)
    """One line per file that is overridden by labels.csv, truncated or skipped."""

    @property
    def classes(self) -> list[str]:
        return sorted({r.label for r in self.recordings})

    def counts(self) -> dict[str, int]:
        out = {c: 0 for c in self.classes}
        for r in self.recordings:
            out[r.label] += 1
        return out


def label_from_name(name: str) -> str | None:
    """``2024-12-01T162620_squat.npy`` -> ``squat``; None for a name without ``_label``."""
    stem = name[:-4] if name.endswith(".npy") else name
    if "_" not in stem:
        return None
    label = stem.rsplit("_", 1)[1]
    return label or None


def read_labels(path: Path) -> tuple[dict[str, str], list[str]]:
    """Reviewed labels from a Label Studio CSV export: ``({file name: label}, notes)``.

    The recording is the last part of ``timeseriesUrl`` without its upload prefix (8 hex digits
    and ``-``) and without the ``.csv`` the upload added; the label is ``trend_forecast``. When a
    recording was reviewed more than once, the latest review (``updated_at``) counts; a
    disagreement between reviews is noted.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows and not {"timeseriesUrl", "trend_forecast"} <= set(rows[0]):
        raise ValueError(f"{path}: expected columns timeseriesUrl and trend_forecast, found {', '.join(rows[0])}")
    latest: dict[str, tuple[str, str]] = {}
    notes = []
    for n, row in enumerate(rows, 2):
        url = (row.get("timeseriesUrl") or "").strip()
        label = (row.get("trend_forecast") or "").strip()
        if not url or not label:
            notes.append(f"{path.name} line {n}: no recording or no label; ignored")
            continue
        if len(label.split()) > 1:  # the device prints one word per label
            notes.append(f"{path.name} line {n}: label {label!r} written as {'-'.join(label.split())!r}")
            label = "-".join(label.split())
        base = url.replace("\\", "/").rsplit("/", 1)[-1]
        m = _PREFIX.match(base)
        name = m.group(1) if m else base
        if name.endswith(".csv"):
            name = name[:-4]
        stamp = row.get("updated_at") or row.get("created_at") or ""
        if name in latest:
            old_stamp, old_label = latest[name]
            if old_label != label:
                notes.append(f"{path.name}: {name} reviewed as {old_label!r} and as {label!r}; "
                             f"the later review counts")
            if stamp < old_stamp:
                continue
        latest[name] = (stamp, label)
    return {k: v[1] for k, v in latest.items()}, notes


def read_npy(path: Path) -> tuple[np.ndarray, int]:
    """``(complete rows, rows announced)`` of a 2-D int16 ``.npy`` file.

    A file cut short while it was being written keeps its complete rows (a partial last row is
    dropped). Raises ``ValueError`` for an empty file, a bad or short header, a dtype other
    than int16 or Fortran order.
    """
    path = Path(path)
    raw = path.read_bytes()
    if not raw:
        raise ValueError("empty file (0 bytes)")
    if len(raw) < 10 or raw[:6] != b"\x93NUMPY":
        raise ValueError(f"not a .npy file (starts with {raw[:6]!r})")
    major = raw[6]
    if major == 1:
        hlen, start = int.from_bytes(raw[8:10], "little"), 10
    elif major in (2, 3):
        if len(raw) < 12:
            raise ValueError("header cut short")
        hlen, start = int.from_bytes(raw[8:12], "little"), 12
    else:
        raise ValueError(f"unsupported .npy format version {major}")
    if len(raw) < start + hlen:
        raise ValueError(f"header cut short ({len(raw)} bytes, the header needs {start + hlen})")
    try:
        header = ast.literal_eval(raw[start:start + hlen].decode("latin1"))
        descr, fortran, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError) as e:
        raise ValueError(f"unreadable .npy header ({e})") from None
    if np.dtype(descr) != np.dtype("<i2"):
        raise ValueError(f"dtype {descr!r}; expected int16 ('<i2') accelerometer counts")
    if fortran:
        raise ValueError("Fortran-ordered array; expected C order")
    if len(shape) != 2 or shape[1] != CHANNELS:
        raise ValueError(f"shape {shape}; expected (rows, {CHANNELS})")
    body = raw[start + hlen:]
    rows = min(len(body) // (2 * CHANNELS), shape[0])
    data = np.frombuffer(body[:rows * 2 * CHANNELS], dtype="<i2").reshape(rows, CHANNELS).astype(np.int16)
    return data, int(shape[0])


def load(data_dir: Path, *, min_rows: int = 1, skip_truncated: bool = False, say=None) -> Dataset:
    """Read ``data_dir/recordings/*.npy`` (or ``data_dir/*.npy``) with ``data_dir/labels.csv``.

    Labels: labels.csv where it names the recording, else the file name. Left out, each with a
    note: recordings labelled ``mixed``, without a label, unreadable (empty, bad header), or with
    fewer than ``min_rows`` complete rows. A truncated file with at least ``min_rows`` complete
    rows is used up to its last complete row (noted), or left out with ``skip_truncated``.
    ``say`` is called with every note as it is made.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ValueError(f"data folder {str(data_dir)!r} does not exist")
    folder = data_dir / "recordings" if (data_dir / "recordings").is_dir() else data_dir
    files = sorted(folder.glob("*.npy"))
    if not files:
        raise ValueError(f"no .npy recordings in {folder}")
    ds = Dataset([])

    def note(line):
        ds.notes.append(line)
        if say is not None:
            say(line)

    labels_path = data_dir / "labels.csv"
    labels: dict[str, str] = {}
    if labels_path.is_file():
        labels, label_notes = read_labels(labels_path)
        for line in label_notes:
            note(line)
        known = {f.name for f in files}
        unknown = sorted(set(labels) - known)
        if unknown:
            note(f"labels.csv: {len(unknown)} reviewed recording(s) not in {folder.name}/: {', '.join(unknown)}")

    def skip(name, reason):
        ds.skipped.append((name, reason))
        note(f"skipped   {name}: {reason}")

    for path in files:
        name = path.name
        file_label = label_from_name(name)
        label = labels.get(name, file_label)
        if name in labels and labels[name] != file_label:
            if labels[name] == SKIP_LABEL:
                skip(name, f"labels.csv: {SKIP_LABEL} (more than one activity; file name says {file_label})")
                continue
            note(f"relabeled {name}: {file_label} -> {label} (labels.csv)")
        if label is None:
            skip(name, "no label (not in labels.csv, no _label at the end of the file name)")
            continue
        if label == SKIP_LABEL:
            skip(name, f"labelled {SKIP_LABEL}")
            continue
        try:
            data, expected = read_npy(path)
        except (ValueError, OSError) as e:
            skip(name, str(e))
            continue
        if len(data) < min_rows:
            what = (f"truncated: {len(data)} of {expected} rows" if len(data) < expected
                    else f"{len(data)} rows")
            skip(name, f"{what}, fewer than the {min_rows} one window needs")
            continue
        rec = Recording(name, path, label, file_label, data, expected)
        if rec.truncated and skip_truncated:
            skip(name, f"truncated: {len(data)} of {expected} rows (--skip-truncated)")
            continue
        if rec.truncated:
            note(f"truncated {name}: {len(data)} of {expected} rows (recording stopped while writing); "
                 f"using the {len(data)} complete rows ({len(data) / RATE:.1f} s)")
        ds.recordings.append(rec)
    if not ds.recordings:
        raise ValueError(f"no usable recordings in {folder} ({len(ds.skipped)} skipped)")
    return ds


def decimate(x: np.ndarray, factor: int) -> np.ndarray:
    """Down-sample int16 ``(rows, channels)`` by ``factor``: the mean of each ``factor``
    consecutive rows, rounded half up (a boxcar anti-alias filter). A last incomplete group is
    dropped. ``factor=4``: 100 Hz -> 25 Hz."""
    x = np.asarray(x)
    if factor == 1:
        return x.astype(np.int16)
    n = len(x) // factor
    s = x[:n * factor].astype(np.int64).reshape(n, factor, -1).sum(axis=1)
    return np.floor_divide(s + factor // 2, factor).astype(np.int16)


def at_rate(rec: Recording, rate: int) -> np.ndarray:
    """The recording's samples at ``rate`` Hz (100: as recorded; 25: :func:`decimate` by 4)."""
    if rate not in RATES:
        raise ValueError(f"rate must be one of {', '.join(map(str, RATES))} Hz, not {rate}")
    return decimate(rec.data, RATE // rate)


# ---------------------------------------------------------------------------- held-out split
def split_heldout(ds: Dataset, fraction: float = 0.2, seed: int = 0, min_rows: int = 0) -> tuple[list[int], list[int]]:
    """``(training indices, held-out indices)`` into ``ds.recordings``.

    Per class, ``round(fraction * n)`` recordings are held out (at least one when the class has
    three or more), drawn at random (``seed``) among the complete recordings with at least
    ``min_rows`` rows, so that the device replays whole recordings.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"the held-out fraction must be in [0, 1), not {fraction}")
    rng = np.random.default_rng(seed)
    held = []
    for c in ds.classes:
        idx = [i for i, r in enumerate(ds.recordings) if r.label == c]
        whole = [i for i in idx if not ds.recordings[i].truncated and len(ds.recordings[i].data) >= min_rows]
        k = int(round(fraction * len(idx)))
        if fraction > 0 and k == 0 and len(idx) >= 3:
            k = 1
        k = min(k, len(whole), max(len(idx) - 2, 0))
        if k:
            held += [int(i) for i in rng.choice(whole, size=k, replace=False)]
    held.sort()
    train = [i for i in range(len(ds.recordings)) if i not in set(held)]
    return train, held


# ---------------------------------------------------------------------------- windows
@dataclass
class Windows:
    """Feature rows of every window, with where they come from."""

    X: np.ndarray
    """int16 ``(n_windows, n_features)``."""
    y: np.ndarray
    """labels (str)."""
    groups: np.ndarray
    """index of the recording each window comes from."""
    start: np.ndarray
    """first sample of each window in its recording (at the layout's rate)."""

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, recordings) -> "Windows":
        m = np.isin(self.groups, list(recordings))
        return Windows(self.X[m], self.y[m], self.groups[m], self.start[m])


def layout_for(rate: int = RATE, window: int | None = None, hop: int | None = None, names=None):
    """The feature layout: ``window`` samples (default 1.28 s: 128 at 100 Hz, 32 at 25 Hz),
    advancing by ``hop`` (default half a window), at ``rate`` Hz."""
    from . import features

    if rate not in RATES:
        raise ValueError(f"rate must be one of {', '.join(map(str, RATES))} Hz, not {rate}")
    window = window if window is not None else 128 * rate // RATE
    hop = hop if hop is not None else max(window // 2, 1)
    if window < 2:
        raise ValueError(f"a window needs at least 2 samples, not {window}")
    if not 1 <= hop <= window:
        raise ValueError(f"hop must be 1..window ({window}) samples, not {hop}")
    layout = features.default_layout(rate=rate, length=window, hop=hop)
    if names is not None:
        layout = features.Layout(channels=layout.channels, length=window, hop=hop, rate=rate, names=list(names))
    return layout


def recording_windows(rec: Recording, layout) -> tuple[np.ndarray, np.ndarray]:
    """``(features (n, n_features) int16, start sample of each window)`` of one recording."""
    from . import features

    x = at_rate(rec, int(layout.rate))
    X = np.asarray(features.extract_all(x, layout))
    if X.ndim != 2:
        X = X.reshape(0, -1)
    return X.astype(np.int16), np.arange(len(X)) * int(layout.hop)


def make_windows(ds: Dataset, layout, indices=None) -> Windows:
    """Windows of the recordings ``indices`` (default: all) of ``ds``."""
    indices = range(len(ds.recordings)) if indices is None else indices
    Xs, ys, gs, ss = [], [], [], []
    for i in indices:
        rec = ds.recordings[i]
        X, start = recording_windows(rec, layout)
        Xs.append(X)
        ys += [rec.label] * len(X)
        gs.append(np.full(len(X), i))
        ss.append(start)
    n_feat = len(layout.names)
    X = np.concatenate(Xs) if Xs else np.zeros((0, n_feat), np.int16)
    return Windows(X.astype(np.int16), np.array(ys, dtype=object),
                   np.concatenate(gs) if gs else np.zeros(0, int), np.concatenate(ss) if ss else np.zeros(0, int))


# ---------------------------------------------------------------------------- training
@dataclass
class Params:
    trees: int = 10
    max_leaf_nodes: int | None = 32
    folds: int = 5
    seed: int = 0

    def check(self) -> "Params":
        """ValueError for a setting that cannot work."""
        if self.trees < 1:
            raise ValueError(f"the forest needs at least 1 tree, not {self.trees}")
        if self.max_leaf_nodes is not None and self.max_leaf_nodes < 2:
            raise ValueError(f"max_leaf_nodes must be at least 2, not {self.max_leaf_nodes}")
        if self.folds < 2:
            raise ValueError(f"cross-validation needs at least 2 folds, not {self.folds}")
        return self

    def forest(self):
        from sklearn.ensemble import RandomForestClassifier

        self.check()
        return RandomForestClassifier(n_estimators=self.trees, max_leaf_nodes=self.max_leaf_nodes,
                                      random_state=self.seed, n_jobs=1)


def group_folds(W: Windows, folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` window indices of each fold, grouped by recording (stratified by label
    where possible). Raises ``RuntimeError`` if any recording had windows on both sides."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(np.unique(W.groups))
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, not {folds}")
    if folds > n_groups:
        raise ValueError(f"{folds} folds need at least {folds} recordings; there are {n_groups}")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    out = []
    for train, test in splitter.split(W.X, W.y, W.groups):
        shared = np.intersect1d(W.groups[train], W.groups[test])
        if shared.size:
            raise RuntimeError(f"recordings {shared.tolist()} have windows in both the training and the test fold")
        out.append((train, test))
    return out


@dataclass
class CVResult:
    classes: list[str]
    fold_accuracy: list[float]
    y_true: np.ndarray
    y_pred: np.ndarray
    fold_recordings: list[int]
    """test recordings per fold."""

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.y_true == self.y_pred)) if len(self.y_true) else float("nan")

    @property
    def confusion(self) -> np.ndarray:
        return confusion(self.y_true, self.y_pred, self.classes)


def confusion(y_true, y_pred, classes) -> np.ndarray:
    """Rows: true class, columns: predicted class (``classes`` order)."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, y_pred, labels=list(classes))


def cross_validate(W: Windows, params: Params, classes=None, progress=None) -> CVResult:
    """Out-of-fold predictions of every window, grouped by recording (:func:`group_folds`)."""
    classes = list(classes) if classes is not None else sorted(set(W.y))
    y_pred = np.empty(len(W), dtype=object)
    accs, recs = [], []
    splits = group_folds(W, params.folds, params.seed)
    for k, (train, test) in enumerate(splits, 1):
        model = params.forest().fit(W.X[train], W.y[train])
        y_pred[test] = model.predict(W.X[test])
        accs.append(float(np.mean(y_pred[test] == W.y[test])))
        recs.append(len(np.unique(W.groups[test])))
        if progress is not None:
            progress(f"fold {k}/{len(splits)}: trained on {len(train)} windows of "
                     f"{len(np.unique(W.groups[train]))} recordings, tested on {len(test)} windows of "
                     f"{recs[-1]} other recordings: accuracy {accs[-1]:.3f}")
    return CVResult(classes, accs, W.y.copy(), y_pred, recs)


def leaky_accuracy(W: Windows, params: Params) -> float:
    """What k-fold cross-validation over shuffled windows would claim: windows of one recording
    (overlapping by half, recorded seconds apart) land on both sides of a split, so the score is
    too optimistic. Reported next to the grouped score to show the difference, never used."""
    from sklearn.model_selection import KFold

    hits = 0
    for train, test in KFold(params.folds, shuffle=True, random_state=params.seed).split(W.X):
        model = params.forest().fit(W.X[train], W.y[train])
        hits += int(np.sum(model.predict(W.X[test]) == W.y[test]))
    return hits / len(W)


def confusion_text(cm: np.ndarray, classes) -> str:
    """A confusion matrix as text: rows true, columns predicted, with per-class recall."""
    w0 = max(len("true \\ predicted"), *(len(c) for c in classes))
    w = max(6, *(len(c) for c in classes))
    lines = ["true \\ predicted".ljust(w0) + "".join(c.rjust(w + 1) for c in classes) + "  recall"]
    for c, row in zip(classes, cm):
        total = row.sum()
        recall = f"{row[list(classes).index(c)] / total:.2f}" if total else "-"
        lines.append(c.ljust(w0) + "".join(str(v).rjust(w + 1) for v in row) + recall.rjust(8))
    return "\n".join(lines)


def plot_confusion(path: Path, matrices: list[tuple[str, np.ndarray]], classes) -> Path:
    """PNG of one or more confusion matrices side by side (counts, shaded by row fraction)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(matrices), figsize=(4.6 * len(matrices), 4.2), squeeze=False)
    for ax, (title, cm) in zip(axes[0], matrices):
        frac = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                        color="white" if frac[i, j] > 0.6 else "black", fontsize=10)
        ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


@dataclass
class Result:
    """What :func:`train` did: the files it wrote and the numbers it measured."""

    out_dir: Path
    layout: object
    params: Params
    classes: list[str]
    dataset: Dataset
    train_idx: list[int]
    heldout_idx: list[int]
    n_train_windows: int
    cv: CVResult
    heldout_true: np.ndarray
    heldout_pred: np.ndarray
    model_bytes: int
    leaky_accuracy: float = float("nan")
    """:func:`leaky_accuracy`: the score a window-wise split would claim."""
    files: dict = field(default_factory=dict)

    @property
    def heldout_accuracy(self) -> float:
        if not len(self.heldout_true):
            return float("nan")
        return float(np.mean(self.heldout_true == self.heldout_pred))


def train(data_dir: Path, out_dir: Path, *, rate: int = RATE, window: int | None = None, hop: int | None = None,
          params: Params | None = None, heldout: float = 0.2, skip_truncated: bool = False, progress=None) -> Result:
    """The whole pipeline (see the module's docstring); writes into ``out_dir``:

    ``model.tsm`` (the forest), ``features.tsm`` (the feature layout), ``heldout.csv`` (the
    recordings kept for replay), ``heldout_predictions.csv`` (the host's prediction for each of
    their windows), ``heldout_features.npy`` (the features of those windows), ``report.txt`` and
    ``metrics.json`` (accuracy, confusion matrices), ``confusion.png``; at 25 Hz, the decimated
    held-out recordings in ``replay25/``.
    """
    from . import convert, features

    say = progress or (lambda line: None)
    params = (params or Params()).check()
    if not 0 <= heldout < 1:
        raise ValueError(f"the held-out fraction must be in [0, 1), not {heldout}")
    out_dir = Path(out_dir)
    layout = layout_for(rate, window, hop)
    factor = RATE // rate
    min_rows = int(layout.length) * factor
    say(f"[1/5] load     {data_dir}")
    ds = load(data_dir, min_rows=min_rows, skip_truncated=skip_truncated, say=lambda line: say("      " + line))
    counts = ds.counts()
    n_trunc = sum(r.truncated for r in ds.recordings)
    say(f"      {len(ds.recordings)} recordings used ({n_trunc} of them truncated, their complete rows), "
        f"{len(ds.skipped)} skipped; per class: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    train_idx, held_idx = split_heldout(ds, heldout, params.seed, min_rows=min_rows)
    say(f"[2/5] split    {len(held_idx)} recordings held out for the device replay "
        f"({', '.join(f'{c} {sum(ds.recordings[i].label == c for i in held_idx)}' for c in ds.classes)}), "
        f"{len(train_idx)} for training and cross-validation")
    how = "as recorded" if rate == RATE else f"decimated by {factor} from {RATE} Hz (mean of {factor} samples)"
    say(f"[3/5] windows  {layout.length} samples ({layout.length / rate:.2f} s) every {layout.hop} at {rate} Hz "
        f"({how}); {len(layout.names)} features each")
    W = make_windows(ds, layout)
    Wtrain = W.subset(train_idx)
    Wheld = W.subset(held_idx)
    say(f"      {len(Wtrain)} training windows, {len(Wheld)} held-out windows")
    classes = ds.classes
    say(f"[4/5] validate {params.folds}-fold cross-validation grouped by recording "
        f"(RandomForest {params.trees} trees, max {params.max_leaf_nodes} leaves)")
    cv = cross_validate(Wtrain, params, classes, progress=lambda line: say("      " + line))
    say(f"      cross-validated accuracy {cv.accuracy:.3f} over {len(Wtrain)} windows "
        f"(folds {min(cv.fold_accuracy):.3f}..{max(cv.fold_accuracy):.3f})")
    trunc = np.array([ds.recordings[g].truncated for g in Wtrain.groups], dtype=bool)
    if trunc.any():
        ok = cv.y_true == cv.y_pred
        say(f"      on the windows of complete recordings {ok[~trunc].mean():.3f}, of truncated ones "
            f"{ok[trunc].mean():.3f} ({int(trunc.sum())} windows)")
    leaky = leaky_accuracy(Wtrain, params)
    say(f"      (the same folds over shuffled windows, recordings split between training and test, "
        f"would claim {leaky:.3f})")
    say(f"[5/5] train    on all {len(Wtrain)} training windows; write {out_dir}")
    model = params.forest().fit(Wtrain.X, Wtrain.y)
    held_pred = model.predict(Wheld.X) if len(Wheld) else np.zeros(0, dtype=object)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = Result(out_dir, layout, params, classes, ds, train_idx, held_idx, len(Wtrain), cv,
                 Wheld.y, held_pred, 0, leaky)
    res.model_bytes = convert.save(model, out_dir / MODEL_FILE)
    res.files["model"] = out_dir / MODEL_FILE
    features.save_layout(layout, out_dir / LAYOUT_FILE)
    res.files["layout"] = out_dir / LAYOUT_FILE
    write_outputs(res, Wheld, model)
    if len(Wheld):
        say(f"      held-out accuracy {res.heldout_accuracy:.3f} over {len(Wheld)} windows of "
            f"{len(held_idx)} recordings never trained on")
    return res


def write_outputs(res: Result, Wheld: Windows, model) -> None:
    """The held-out list and predictions, the report, the metrics and the confusion plot."""
    out = res.out_dir
    ds, layout = res.dataset, res.layout
    rate = int(layout.rate)
    replay_dir = None
    if rate != RATE:
        replay_dir = out / REPLAY25_DIR
        replay_dir.mkdir(exist_ok=True)
    with open(out / HELDOUT_FILE, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["recording", "label", "rows", "rate_hz", "windows", "replay"])
        for i in res.heldout_idx:
            rec = ds.recordings[i]
            x = at_rate(rec, rate)
            replay = ""
            if replay_dir is not None:
                np.save(replay_dir / rec.name, x)
                replay = f"{REPLAY25_DIR}/{rec.name}"
            w.writerow([rec.name, rec.label, len(x), rate, int(np.sum(Wheld.groups == i)), replay])
    res.files["heldout"] = out / HELDOUT_FILE
    with open(out / PREDICTIONS_FILE, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["recording", "window", "start", "label", "host_prediction"])
        for g, s, t, p in zip(Wheld.groups, Wheld.start, Wheld.y, res.heldout_pred):
            starts = Wheld.start[Wheld.groups == g]
            w.writerow([ds.recordings[g].name, int(np.searchsorted(starts, s)), int(s), t, p])
    res.files["predictions"] = out / PREDICTIONS_FILE
    np.save(out / FEATURES_FILE, Wheld.X)  # the features the predictions were made from, in heldout.csv order
    res.files["features"] = out / FEATURES_FILE
    cm_cv = res.cv.confusion
    cm_held = confusion(res.heldout_true, res.heldout_pred, res.classes)
    lines = [
        "tinysense train har",
        f"recordings: {len(ds.recordings)} used, {len(ds.skipped)} skipped; "
        f"{len(res.train_idx)} for training, {len(res.heldout_idx)} held out",
        *("  " + n for n in ds.notes),
        f"windows: {layout.length} samples every {layout.hop} at {rate} Hz; features: {', '.join(layout.names)}",
        f"forest: {res.params.trees} trees, max_leaf_nodes {res.params.max_leaf_nodes}, seed {res.params.seed}; "
        f"{MODEL_FILE} {res.model_bytes} bytes",
        "",
        f"{res.params.folds}-fold cross-validation grouped by recording ({res.n_train_windows} windows): "
        f"accuracy {res.cv.accuracy:.3f} (folds: {', '.join(f'{a:.3f}' for a in res.cv.fold_accuracy)})",
        confusion_text(cm_cv, res.classes),
        (f"(the same folds over shuffled windows, each recording split between training and test, "
         f"would claim {res.leaky_accuracy:.3f})"),
        "",
        f"held-out recordings ({len(res.heldout_true)} windows): accuracy {res.heldout_accuracy:.3f}",
        confusion_text(cm_held, res.classes),
    ]
    (out / REPORT_FILE).write_text("\n".join(lines) + "\n")
    res.files["report"] = out / REPORT_FILE
    metrics = {
        "rate_hz": rate, "window": int(layout.length), "hop": int(layout.hop), "features": list(layout.names),
        "trees": res.params.trees, "max_leaf_nodes": res.params.max_leaf_nodes, "folds": res.params.folds,
        "seed": res.params.seed, "classes": res.classes,
        "recordings_used": len(ds.recordings), "recordings_skipped": [list(s) for s in ds.skipped],
        "truncated_used": [r.name for r in ds.recordings if r.truncated],
        "training_recordings": len(res.train_idx), "heldout_recordings": [ds.recordings[i].name for i in res.heldout_idx],
        "cv_accuracy": res.cv.accuracy, "cv_fold_accuracy": res.cv.fold_accuracy,
        "leaky_window_cv_accuracy": res.leaky_accuracy,
        "cv_confusion": cm_cv.tolist(), "heldout_accuracy": res.heldout_accuracy,
        "heldout_confusion": cm_held.tolist(), "model_bytes": res.model_bytes,
    }
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=1) + "\n")
    res.files["metrics"] = out / METRICS_FILE
    mats = [(f"cross-validation, grouped by recording\naccuracy {res.cv.accuracy:.3f}", cm_cv)]
    if len(res.heldout_true):
        mats.append((f"held-out recordings\naccuracy {res.heldout_accuracy:.3f}", cm_held))
    res.files["confusion"] = plot_confusion(out / CONFUSION_PNG, mats, res.classes)


def read_heldout(out_dir: Path) -> list[dict]:
    """The rows of ``heldout.csv`` written by :func:`train`."""
    path = Path(out_dir) / HELDOUT_FILE
    if not path.is_file():
        raise ValueError(f"{path} does not exist: train first (tinysense train har --out {out_dir})")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_predictions(out_dir: Path) -> dict[str, list[tuple[int, str, str]]]:
    """``{recording: [(start, label, host prediction), ...]}`` from ``heldout_predictions.csv``."""
    path = Path(out_dir) / PREDICTIONS_FILE
    if not path.is_file():
        raise ValueError(f"{path} does not exist: train first (tinysense train har --out {out_dir})")
    out: dict[str, list] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["recording"], []).append((int(row["start"]), row["label"], row["host_prediction"]))
    return out
