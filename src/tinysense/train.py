"""``tinysense train har``: train the activity tracker's model from accelerometer recordings.

    tinysense train har [--data data/har_exercises] [--out out/har] [--rate 100|25]
                        [--window N] [--hop N] [--trees 10] [--max-leaf-nodes 32] [--folds 5]
                        [--heldout 0.2] [--seed 0]

The work is :func:`tinysense.har.train`; this module is the command around it: options,
one progress line per stage, and the summary (accuracy, confusion matrix, files written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import har
from .paths import ROOT

DEFAULT_DATA = ROOT / "data" / "har_exercises"
DEFAULT_OUT = Path("out") / "har"

EPILOG = """\
what it does:
  1. reads DATA/recordings/*.npy (int16 x, y, z at 100 Hz, 16384 = 1 g) and DATA/labels.csv
     (reviewed labels override the file name's; `mixed` recordings are left out; truncated
     files are used up to their last complete row when one window fits, else skipped, or all
     skipped with --skip-truncated; each such file is reported in one line)
  2. puts about --heldout of each class's complete recordings aside for the device replay
  3. cuts every recording into windows (--window samples every --hop) and computes the int16
     features the device computes (tinysense.features)
  4. cross-validates a random forest with --folds folds grouped by recording: the windows of
     one recording are never split between training and test
  5. trains on all training recordings and writes into --out:
       model.tsm                  the forest (tinysense.trees on the device)
       features.tsm               the feature layout (tinysense.features on the device)
       heldout.csv                the recordings kept for the replay
       heldout_predictions.csv    the host's prediction for each of their windows
       heldout_features.npy       ... and the features it was made from
       report.txt, metrics.json   accuracies and confusion matrices
       confusion.png              the confusion matrices as a picture
       replay25/                  (--rate 25) the held-out recordings decimated to 25 Hz

--rate 25: the recordings are decimated by 4: each sample is the mean of 4 consecutive 100 Hz
samples, rounded (a boxcar anti-alias filter, 3 dB at 11.3 Hz, close to the ~10 Hz low-pass
the IMU driver sets on the chip at 25 Hz).
Default windows are 1.28 s: 128 samples every 64 at 100 Hz, 32 every 16 at 25 Hz.

examples:
  tinysense train har
  tinysense train har --rate 25 --out out/har25
  tinysense train har --trees 20 --max-leaf-nodes 64 --folds 10
then replay the held-out recordings on the MicroPython unix port:
  tinysense run activity_tracker --model-dir out/har"""


def add_arguments(parser) -> None:
    """The options of ``tinysense train har``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("--data", default=str(DEFAULT_DATA), metavar="DIR",
                        help="folder with recordings/*.npy and labels.csv (default: the repository's "
                             "data/har_exercises)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), metavar="DIR",
                        help=f"folder for the model, the layout and the reports (default: {DEFAULT_OUT})")
    parser.add_argument("--rate", type=int, default=100, choices=har.RATES,
                        help="sample rate of the device's IMU in Hz; 25: the 100 Hz recordings decimated "
                             "by 4 (mean of 4 samples) (default: 100)")
    parser.add_argument("--window", type=int, metavar="N",
                        help="samples per window (default: 1.28 s: 128 at 100 Hz, 32 at 25 Hz)")
    parser.add_argument("--hop", type=int, metavar="N", help="samples from one window to the next (default: half a window)")
    parser.add_argument("--trees", type=int, default=10, metavar="N", help="trees in the forest (default: 10)")
    parser.add_argument("--max-leaf-nodes", type=int, default=32, metavar="N",
                        help="leaves per tree at most; 0: unlimited (default: 32)")
    parser.add_argument("--folds", type=int, default=5, metavar="K",
                        help="cross-validation folds, grouped by recording (default: 5)")
    parser.add_argument("--heldout", type=float, default=0.2, metavar="F",
                        help="fraction of each class's recordings kept out of training for the device "
                             "replay (default: 0.2)")
    parser.add_argument("--skip-truncated", action="store_true",
                        help="leave truncated recordings out (default: use their complete rows when a "
                             "window fits)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the folds and the forest (default: 0)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary")


def params_from(args) -> har.Params:
    leaves = args.max_leaf_nodes or None
    return har.Params(trees=args.trees, max_leaf_nodes=leaves, folds=args.folds, seed=args.seed)


def summary(res: har.Result, say=print) -> None:
    """Accuracy, the confusion matrices and the files written."""
    say("")
    say(f"cross-validated accuracy (grouped by recording): {res.cv.accuracy:.3f} "
        f"over {res.n_train_windows} windows of {len(res.train_idx)} recordings")
    say(har.confusion_text(res.cv.confusion, res.classes))
    say(f"(shuffled windows instead, each recording split between training and test, would claim "
        f"{res.leaky_accuracy:.3f}: grouping by recording is the honest number)")
    if len(res.heldout_true):
        say("")
        say(f"held-out accuracy: {res.heldout_accuracy:.3f} over {len(res.heldout_true)} windows of "
            f"{len(res.heldout_idx)} recordings")
        say(har.confusion_text(har.confusion(res.heldout_true, res.heldout_pred, res.classes), res.classes))
    say("")
    say(f"model:       {res.files['model']} ({res.model_bytes} bytes)")
    for key, what in (("layout", "layout:     "), ("heldout", "held out:   "), ("predictions", "predictions:"),
                      ("report", "report:     "), ("confusion", "plot:       ")):
        say(f"{what} {res.files[key]}")
    say(f"replay on the unix port: tinysense run activity_tracker --model-dir {res.out_dir.as_posix()}")


def run(args) -> int:
    """``tinysense train har``: 0, or raises ValueError for a bad option or unusable data."""
    if getattr(args, "target", "har") != "har":
        raise ValueError(f"unknown training target {args.target!r}; available: har")
    data = Path(args.data)
    if not data.is_dir():
        raise ValueError(f"data folder {str(data)!r} does not exist")
    say = (lambda line: None) if args.quiet else (lambda line: print(line, flush=True))
    res = har.train(data, Path(args.out), rate=args.rate, window=args.window, hop=args.hop, params=params_from(args),
                    heldout=args.heldout, skip_truncated=args.skip_truncated, progress=say)
    summary(res)
    sys.stdout.flush()
    return 0
