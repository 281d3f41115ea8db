"""``tinysense run APP``: run an application's device ``main.py`` on the MicroPython unix port,
fed from recorded data through the sensor's replay twin.

    tinysense run noise_monitor --wav street.wav [--realtime] [--interval 10] [--out-dir out/run]

For the noise monitor: the WAV file is converted if needed (any PCM/float WAV -> 16-bit PCM mono
at 16 kHz), the A-weighting filter is designed for the device (``tinysense design aweighting``),
and ``apps/noise_monitor/main.py`` runs unchanged, its replay microphone driving the same I2S
callback as on a board. The levels it prints are shown, written to a CSV file (one row per
125 ms block) and plotted (LAF and LAeq over time) as a PNG.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import unixport
from .paths import DEVICE_DIR

ROOT = Path(__file__).resolve().parents[2]
APPS_DIR = ROOT / "apps"
APPS = {"noise_monitor": "A-weighted sound level meter replaying a WAV file through the I2S callback",
        "temperature_logger": "median of ADC readings -> degrees C, BTHome, crash-safe log; replays an ADC trace",
        "activity_tracker": "IMU FIFO -> windows -> features -> random forest; replays .npy recordings",
        "image_classifier": "camera frame -> downscale -> int8 CNN -> decision; replays image files"}
# applications whose replay lives in a module of its own: add_arguments(parser) and run(args)
APP_MODULES = {"temperature_logger": "run_temperature", "activity_tracker": "run_activity",
               "image_classifier": "run_image"}
RATE = 16000
BLOCK = 2000

_BLOCK = re.compile(r"^([0-9.]+) s  Leq (\S+)  LF (\S+)  LS (\S+) (dB\(.\))$")
_INTERVAL = re.compile(r"^interval ([0-9.]+) s  Leq (\S+)  Lmax (\S+)  Lmin (\S+) (dB\(.\))  \(([0-9.]+) s\)$")


def add_arguments(parser) -> None:
    """Arguments of ``tinysense run``."""
    parser.add_argument("app", metavar="APP",
                        help="application to run: " + ", ".join(f"{k} ({v})" for k, v in APPS.items())
                        + "; with --port, also any folder with a main.py")
    parser.add_argument("--wav", metavar="FILE",
                        help="noise_monitor (required): recording to replay (WAV; converted to 16-bit PCM mono "
                             "at 16 kHz if needed)")
    parser.add_argument("--realtime", action="store_true", help="replay at the recording's pace (default: full speed)")
    parser.add_argument("--interval", type=float, default=10.0, metavar="S",
                        help="seconds per Leq/Lmax/Lmin line (default: 10)")
    parser.add_argument("--sensitivity", type=float, default=-26.0, metavar="DBFS",
                        help="microphone sensitivity, dBFS at 94 dB SPL (default: -26)")
    parser.add_argument("--unweighted", action="store_true", help="no A-weighting filter (Z-weighted levels)")
    parser.add_argument("-o", "--out-dir", default="out/run", metavar="DIR",
                        help="folder for the CSV, the plot and the filter file (default: out/run)")
    parser.add_argument("--no-plot", action="store_true", help="do not write the PNG plot")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the interval lines and the files")
    import importlib

    for module_name in APP_MODULES.values():
        try:
            module = importlib.import_module(f"{__package__}.{module_name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__package__}.{module_name}":
                raise
            continue
        module.add_arguments(parser)
    from . import deploy

    deploy.add_board_arguments(parser)


@dataclass
class Result:
    """What a noise-monitor replay printed, parsed."""

    unit: str = "dB(Z)"
    blocks: list = field(default_factory=list)  # (t, leq, fast, slow)
    intervals: list = field(default_factory=list)  # (t, leq, lmax, lmin, seconds)
    lines: list = field(default_factory=list)
    returncode: int = 0
    stderr: str = ""


def make_filter(path: Path, rate: int = RATE) -> str | None:
    """Design the A-weighting filter file for the device at ``path`` with ``tinysense design``;
    returns None, or the reason it could not be made."""
    from . import cli

    if "design" not in getattr(cli, "PLUGINS", {}):
        return "this version of tinysense has no `tinysense design`"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["design", "aweighting", "--rate", str(rate), str(path)])
    if code != 0 or not path.is_file():
        return f"`tinysense design aweighting` failed: {(err.getvalue() or out.getvalue()).strip()[-300:]}"
    return None


def _float(s: str) -> float:
    return float(s)  # "-inf" included


def replay(wav: Path, *, filter_path: Path | None, interval: float, sensitivity: float = -26.0,
           realtime: bool = False, echo=None, libdirs=None, cwd: Path | None = None) -> Result:
    """Run apps/noise_monitor/main.py on the unix port over ``wav`` (16-bit PCM mono, 16 kHz);
    ``echo`` is called with every line it prints, as it prints it."""
    main = APPS_DIR / "noise_monitor" / "main.py"
    args = ["--wav", str(Path(wav).resolve()), "--verbose", "--interval", repr(float(interval)),
            "--sensitivity", repr(float(sensitivity)), "--filter", str(filter_path.resolve()) if filter_path else "none"]
    if realtime:
        args.append("--realtime")
    res = Result()

    def take(line):
        res.lines.append(line)
        m = _BLOCK.match(line)
        if m:
            res.blocks.append(tuple(_float(v) for v in m.groups()[:4]))
            res.unit = m.group(5)
        m = _INTERVAL.match(line)
        if m:
            g = m.groups()
            res.intervals.append((_float(g[0]), _float(g[1]), _float(g[2]), _float(g[3]), _float(g[5])))
            res.unit = g[4]
        if echo is not None:
            echo(line)

    res.stderr, res.returncode = unixport.stream(main, args, on_line=take, libdirs=libdirs or [DEVICE_DIR],
                                                 cwd=str(cwd or main.parent))
    return res


def write_csv(path: Path, res: Result) -> Path:
    """One row per block: time, block Leq, Fast, Slow; plus interval rows."""
    w = "A" if res.unit == "dB(A)" else "Z"
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["kind", "t_s", f"L{w}eq_dB", f"L{w}F_dB", f"L{w}S_dB", f"L{w}Fmax_dB", f"L{w}Fmin_dB", "duration_s"])
        for t, leq, fast, slow in res.blocks:
            out.writerow(["block", f"{t:.3f}", f"{leq:.2f}", f"{fast:.2f}", f"{slow:.2f}", "", "", "0.125"])
        for t, leq, lmax, lmin, d in res.intervals:
            out.writerow(["interval", f"{t:.3f}", f"{leq:.2f}", "", "", f"{lmax:.2f}", f"{lmin:.2f}", f"{d:.3f}"])
    return path


def plot(path: Path, res: Result, title: str = "") -> Path:
    """PNG of the Fast level and the per-block Leq over time, with the interval Leq as steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    w = "A" if res.unit == "dB(A)" else "Z"
    b = np.array(res.blocks, dtype=float).reshape(-1, 4)
    finite = b[:, 1:3][np.isfinite(b[:, 1:3])]
    floor = (finite.min() - 10) if finite.size else 0.0
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(b[:, 0], np.maximum(b[:, 1], floor), lw=0.8, color="0.6", label=f"L{w}eq per 125 ms block")
    ax.plot(b[:, 0], np.maximum(b[:, 2], floor), lw=1.4, color="C0", label=f"L{w}F (Fast)")
    if res.intervals:
        iv = np.array(res.intervals, dtype=float)
        ts = np.concatenate([[iv[0, 0] - iv[0, 4]], iv[:, 0]])
        ls = np.maximum(np.concatenate([iv[:1, 1], iv[:, 1]]), floor)
        ax.step(ts, ls, where="pre", color="C3", lw=2,
                label=f"L{w}eq per {iv[0, 4]:g} s interval")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"level ({res.unit} SPL)")
    ax.set_title(title or "noise monitor replay")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run(args) -> int:
    """``tinysense run``: returns 0, or 1 when the device program fails."""
    from . import wav as wavmod

    if args.port:  # on a board: tinysense.deploy
        from . import deploy

        return deploy.run_from_args(args)
    if args.app not in APPS:
        raise ValueError(f"unknown application {args.app!r} for the unix port; choose from {', '.join(sorted(APPS))}")
    if args.app in APP_MODULES:
        import importlib

        return importlib.import_module(f"{__package__}.{APP_MODULES[args.app]}").run(args)
    if args.wav is None:
        raise ValueError("noise_monitor needs --wav FILE (the recording to replay)")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not args.interval > 0:
        raise ValueError(f"--interval must be > 0 seconds, not {args.interval}")
    src = Path(args.wav)
    wav, note = wavmod.prepare(src, out_dir, RATE)
    _, samples = wavmod.read(wav)
    if len(samples) < BLOCK:
        raise ValueError(f"{src}: the recording is {len(samples)} samples at {RATE} Hz; the noise monitor "
                         f"needs at least one {BLOCK}-sample (125 ms) block")
    say = (lambda m: None) if args.quiet else print
    if note:
        say(f"{src}: {note} -> {wav}")
    filter_path = None
    if not args.unweighted:
        filter_path = out_dir / "aweighting.tsf"
        why = make_filter(filter_path)
        if why:
            print(f"note: levels are unweighted (Z): {why}")
            filter_path = None
    echo = print if not args.quiet else (lambda line: print(line) if line.startswith("interval") else None)
    res = replay(wav, filter_path=filter_path, interval=args.interval, sensitivity=args.sensitivity,
                 realtime=args.realtime, echo=echo)
    if res.returncode != 0:
        print(res.stderr.strip() or "\n".join(res.lines[-20:]), file=sys.stderr)
        print(f"tinysense run: the device program exited with {res.returncode}", file=sys.stderr)
        return 1
    stem = src.stem
    csv_path = write_csv(out_dir / f"{stem}_levels.csv", res)
    print(f"levels: {csv_path} ({len(res.blocks)} blocks, {len(res.intervals)} intervals)")
    if not args.no_plot:
        png = plot(out_dir / f"{stem}_levels.png", res, title=f"{src.name}: noise monitor on the MicroPython unix port")
        print(f"plot:   {png}")
    return 0
