"""``tinysense run image_classifier``: the image classifier's device ``main.py`` on the MicroPython
unix port, replaying image files through its camera twin, checked against LiteRT.

    tinysense run image_classifier [--images DIR] [--model face|digits|FILE.tsm] [--threshold 0.5]
                                   [--raw-size WxH] [--normalize meanstd] [--out-dir out/run]

The device reads each image (binary PGM, or raw grayscale bytes), shrinks it to the model's input
(``tinysense.image``), normalises its brightness, quantizes it, runs the int8 CNN
(``tinysense.cnn``) and prints its decision, its int8 scores and the time each step took. This
module repeats the same integer preprocessing in numpy (:func:`preprocess`, bit for bit the
device's definitions), runs the model's ``.tflite`` with LiteRT's reference kernels on the same
int8 input, and fails (exit status 1) when any score differs. It writes the decisions as CSV
and a PNG of every frame above the model input the device made of it.

The numpy twins of ``device/tinysense/image.py`` are in ``tinysense.image`` (the device tests and
``apps/image_classifier/train.py`` use them too, so the model is trained on exactly the pixels
the device computes).
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "apps" / "image_classifier"
IMAGES = APP_DIR / "images"
MODELS = {"face": APP_DIR / "models" / "face.tsm", "digits": APP_DIR / "models" / "digits.tsm"}

from .image import (  # noqa: F401  (the host definitions, used here and by callers)
    _bilinear_axis,
    _u8,
    crop,
    downscale_area,
    gray_from_rgb565,
    image_files,
    meanstd_params,
    normalize_meanstd,
    normalize_minmax,
    preprocess,
    preprocess_wh,
    quantize_pixels,
    read_image,
    read_pgm,
    resize,
    resize_bilinear,
    resize_nearest,
)


class LiteRT:
    """A ``.tflite`` model on LiteRT's reference kernels (the bit-exact ground truth), giving the
    int8 tensor that feeds the final SOFTMAX (the device's ``scores``) for uint8 images."""

    def __init__(self, tflite):
        """``tflite``: the model's path, or its bytes."""
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        source = {"model_content": bytes(tflite)} if isinstance(tflite, (bytes, bytearray)) else \
            {"model_path": str(tflite)}
        self.it = it = Interpreter(**source, experimental_preserve_all_tensors=True,
                                   experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        it.allocate_tensors()
        self.inp = it.get_input_details()[0]
        out = it.get_output_details()[0]
        self.logits_index = out["index"]
        self.softmax = False
        for op in it._get_ops_details():
            if op["op_name"] == "SOFTMAX" and out["index"] in list(op["outputs"]):
                self.logits_index = int(op["inputs"][0])
                self.softmax = True
        det = {d["index"]: d for d in it.get_tensor_details()}[self.logits_index]
        self.logits_scale, self.logits_zero_point = det["quantization"]
        self.input_shape = tuple(int(v) for v in self.inp["shape"][1:])
        self.input_scale, self.input_zero_point = self.inp["quantization"]

    def logits(self, pixels_u8) -> np.ndarray:
        x = quantize_pixels(pixels_u8, self.input_scale, self.input_zero_point)
        self.it.set_tensor(self.inp["index"], x.reshape((1,) + self.input_shape))
        self.it.invoke()
        return self.it.get_tensor(self.logits_index).reshape(-1).astype(np.int64)

    def probability(self, logits, k: int) -> float:
        z = self.logits_scale * (np.asarray(logits, dtype=np.float64) - np.max(logits))
        e = np.exp(z)
        return float(e[k] / e.sum())


_FRAME = re.compile(r"^frame (\d+) (\S+) (\d+)x(\d+) -> (.+) \(class (\d+)\) p=(\S+)( DETECTED)?  "
                    r"logits \[([-0-9, ]*)\]  prep (\d+) us  infer (\d+) us$")
_END = re.compile(r"^end: (\d+) frames, (\d+) detected; mean prep (\d+) us, inference (\d+) us per frame$")


@dataclass
class Frame:
    n: int
    name: str
    width: int
    height: int
    label: str
    cls: int
    p: float | None
    detected: bool
    logits: list
    prep_us: int
    infer_us: int


@dataclass
class Result:
    frames: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    returncode: int = 0
    stderr: str = ""


def model_paths(model: str) -> tuple[Path, Path]:
    """``(tsm, tflite)`` for ``face``, ``digits`` or a ``.tsm`` path (its ``.tflite`` beside it)."""
    tsm = MODELS[model] if model in MODELS else Path(model)
    if not tsm.is_file():
        raise ValueError(f"model file {str(tsm)!r} does not exist (face, digits or a .tsm file)")
    return tsm, tsm.with_suffix(".tflite")


def replay(images, model, *, threshold=0.5, normalize="meanstd", raw_size=None, count=0, echo=None,
           libdirs=None, timeout=600) -> Result:
    """Run apps/image_classifier/main.py on the unix port over the image folder ``images``."""
    from . import unixport
    from .paths import DEVICE_DIR

    tsm, _ = model_paths(model)
    args = ["--images", str(Path(images).resolve()), "--model", str(tsm.resolve()),
            "--threshold", repr(float(threshold)), "--normalize", normalize, "--period", "1000", "--count", str(count)]
    if raw_size:
        args += ["--raw-size", f"{raw_size[0]}x{raw_size[1]}"]
    res = Result()

    def take(line):
        res.lines.append(line)
        m = _FRAME.match(line)
        if m:
            g = m.groups()
            res.frames.append(Frame(int(g[0]), g[1], int(g[2]), int(g[3]), g[4], int(g[5]),
                                    None if g[6] == "-" else float(g[6]), bool(g[7]),
                                    [int(v) for v in g[8].split(",") if v.strip()], int(g[9]), int(g[10])))
        if echo is not None:
            echo(line)

    res.stderr, res.returncode = unixport.stream(APP_DIR / "main.py", args, on_line=take,
                                                 libdirs=libdirs or [DEVICE_DIR], cwd=str(APP_DIR), timeout=timeout)
    return res


@dataclass
class Check:
    """Device against LiteRT, frame by frame."""

    rows: list = field(default_factory=list)  # (Frame, host logits, host class, host p, equal)
    images: list = field(default_factory=list)  # (camera frame, model input pixels) per row
    mismatches: int = 0


def check(res: Result, images, model, *, normalize="meanstd", raw_size=None) -> Check:
    """Repeat every replayed frame's preprocessing in numpy and run LiteRT on the same int8
    input; a frame matches when its logits are equal (bit-exact) and so its class."""
    _, tflite = model_paths(model)
    if not tflite.is_file():
        raise ValueError(f"{tflite}: the .tflite model is needed for the LiteRT check")
    rt = LiteRT(tflite)
    h, w = rt.input_shape[:2]
    files = {p.name: p for p in image_files(images)}
    out = Check()
    for fr in res.frames:
        img = read_image(files[fr.name], raw_size)
        small = preprocess_wh(img, w, h, normalize)
        logits = rt.logits(small)
        out.images.append((img, small))
        k = int(np.argmax(logits))
        same = list(logits) == fr.logits and k == fr.cls
        out.rows.append((fr, logits, k, rt.probability(logits, k), same))
        out.mismatches += 0 if same else 1
    return out


def table(chk: Check) -> str:
    lines = ["| frame | image | device | p | logits (device) | LiteRT | prep µs | infer µs |",
             "|---:|---|---|---:|---|---|---:|---:|"]
    for fr, logits, _, p, same in chk.rows:
        lines.append(f"| {fr.n} | {fr.name} | {fr.label}{' **detected**' if fr.detected else ''} | "
                     f"{p:.3f} | {fr.logits} | {'equal' if same else f'DIFFERS: {list(map(int, logits))}'} | "
                     f"{fr.prep_us} | {fr.infer_us} |")
    return "\n".join(lines)


def write_csv(path, chk: Check) -> Path:
    """One row per frame: the device's decision, probability, logits and times, and LiteRT's logits."""
    import csv

    path = Path(path)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame", "image", "width", "height", "class", "label", "p", "detected", "device_logits",
                    "litert_logits", "equal", "prep_us", "infer_us"])
        for fr, logits, _, p, same in chk.rows:
            w.writerow([fr.n, fr.name, fr.width, fr.height, fr.cls, fr.label, f"{p:.4f}", int(fr.detected),
                        " ".join(map(str, fr.logits)), " ".join(str(int(v)) for v in logits), int(same),
                        fr.prep_us, fr.infer_us])
    return path


def plot(path, chk: Check, title: str = "") -> Path:
    """PNG: each camera frame above the model input the device computed from it (shrunk and
    normalised), titled with the decision and its probability."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(len(chk.rows), 1)
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n + 0.4, 3.8), squeeze=False)
    for j, ((fr, _, _, p, same), (img, small)) in enumerate(zip(chk.rows, chk.images, strict=True)):
        axes[0, j].imshow(img, cmap="gray", vmin=0, vmax=255)
        axes[0, j].set_title(f"{fr.name}\n{fr.width}x{fr.height}", fontsize=7)
        axes[1, j].imshow(small, cmap="gray", vmin=0, vmax=255)
        colour = "C3" if fr.detected else ("C0" if same else "red")
        axes[1, j].set_xlabel(f"{fr.label}  p={p:.2f}" + ("" if same else "\n≠ LiteRT"), fontsize=8, color=colour)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("camera", fontsize=8)
    axes[1, 0].set_ylabel("model input", fontsize=8)
    fig.suptitle(title or "image classifier replay", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def add_arguments(parser) -> None:
    """The image classifier's arguments of ``tinysense run`` (the others are shared)."""
    g = parser.add_argument_group("image_classifier")
    g.add_argument("--images", metavar="DIR",
                   help="folder of images to replay through the camera twin: binary PGM (P5) or raw 8-bit "
                        "gray (.raw, with --raw-size), in name order (default: the app's images/faces)")
    g.add_argument("--model", default=None, metavar="MODEL",
                   help="face, digits or a .tsm file with its .tflite beside it (default: face; digits "
                        "for a folder named digits)")
    g.add_argument("--threshold", type=float, default=0.5, metavar="P",
                   help="probability of the target class that counts as detected (default: 0.5)")
    g.add_argument("--normalize", choices=("meanstd", "minmax", "none"), default="meanstd",
                   help="brightness normalisation before the model (default: meanstd, as trained)")
    g.add_argument("--raw-size", metavar="WxH", help="size of .raw images, e.g. 96x96")


def _raw_size(text):
    if not text:
        return None
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise ValueError(f"--raw-size must be WIDTHxHEIGHT, e.g. 96x96, not {text!r}") from None


def run(args) -> int:
    """``tinysense run image_classifier``: 0, or 1 when the device fails or any frame's scores
    differ from LiteRT's."""
    images = Path(args.images) if getattr(args, "images", None) else IMAGES / "faces"
    if not images.is_dir():
        raise ValueError(f"--images {str(images)!r} is not a folder")
    if not image_files(images):
        raise ValueError(f"{images}: no .pgm or .raw images")
    model = getattr(args, "model", None) or ("digits" if images.name == "digits" else "face")
    raw_size = _raw_size(getattr(args, "raw_size", None))
    normalize = getattr(args, "normalize", "meanstd")
    quiet = getattr(args, "quiet", False)
    res = replay(images, model, threshold=args.threshold, normalize=normalize, raw_size=raw_size,
                 echo=None if quiet else print)
    if res.returncode != 0:
        print(res.stderr.strip() or "\n".join(res.lines[-20:]), file=sys.stderr)
        print(f"tinysense run: the device program exited with {res.returncode}", file=sys.stderr)
        return 1
    chk = check(res, images, model, normalize=normalize, raw_size=raw_size)
    print()
    print(table(chk))
    n = len(chk.rows)
    print(f"\n{n} frames; the device's int8 scores equal LiteRT's (reference kernels) on {n - chk.mismatches}/{n}")
    out_dir = Path(getattr(args, "out_dir", None) or "out/run")
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"decisions: {write_csv(out_dir / f'{images.name}_decisions.csv', chk)}")
    if not getattr(args, "no_plot", False):
        png = plot(out_dir / f"{images.name}_decisions.png", chk,
                   title=f"{images.name}: image classifier ({model}) on the MicroPython unix port")
        print(f"plot:      {png}")
    return 0 if n and not chk.mismatches else 1


def demo(out_dir, say=print) -> int:
    """The image-classifier part of ``tinysense demo``: replay the app's sample images through
    apps/image_classifier/main.py on the unix port with both models, print each decision and
    its timing, and check every score against LiteRT. 0, or 1 on a mismatch."""
    t0 = time.perf_counter()
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    code = 0
    for model, folder in (("face", IMAGES / "faces"), ("digits", IMAGES / "digits")):
        res = replay(folder, model)
        if res.returncode != 0:
            say(f"MISMATCH: the image classifier failed on the unix port:\n{res.stderr.strip()}")
            return 1
        chk = check(res, folder, model)
        say(f"      {model} model ({MODELS[model].name}), {len(res.frames)} images from "
            f"{folder.relative_to(ROOT).as_posix()}:")
        for fr, logits, _, p, same in chk.rows:
            say(f"        {fr.name:14s} -> {fr.label:8s} p={p:.3f}{' DETECTED' if fr.detected else '         '}"
                f"  prep {fr.prep_us / 1000:5.2f} ms  infer {fr.infer_us / 1000:6.2f} ms"
                f"  {'= LiteRT' if same else 'DIFFERS from LiteRT ' + str(list(map(int, logits)))}")
        n = len(chk.rows)
        png = plot(Path(out_dir) / f"{model}_decisions.png", chk,
                   title=f"tinysense image classifier ({model} model), replayed on the unix port")
        say(f"      device scores equal LiteRT's on {n - chk.mismatches}/{n} images; plot: {png.as_posix()}")
        if chk.mismatches or not n:
            code = 1
    say(f"      {time.perf_counter() - t0:.1f} s")
    if code:
        say("MISMATCH: the device's int8 scores differ from LiteRT's")
    return code
