"""The ``tinysense`` command: build, convert, inspect, package, benchmark and demo.

Every verb is a small function ``cmd_<verb>(args) -> int``. Mistakes a user can make (a missing
file, an unknown architecture, an unsupported model) end with one line on stderr and exit code 2;
no traceback. Verbs implemented in other modules (``bench``, ``demo``) and the converters are
imported only when their verb runs, so the rest of the command works without them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from . import __version__

PROG = "tinysense"

DESCRIPTION = """\
tinysense: sensor DSP and machine learning for MicroPython.

The device library (device/tinysense) runs on the microcontroller; this command prepares what
it needs on your PC: compiled .mpy files for your board's architecture, model files converted
from scikit-learn, and the mip package description."""

EPILOG = """\
examples:
  tinysense build                           compile for every architecture into dist/ARCH/
  tinysense build --arch armv6m             only the Raspberry Pi Pico (RP2040)
  tinysense convert forest.joblib forest.tsm   scikit-learn model -> tinysense model file
  tinysense convert model.csv model.tsm     emlearn CSV trees -> tinysense model file
  tinysense convert model.tflite cnn.tsm    int8 TensorFlow Lite CNN -> tinysense model file
  tinysense train har --data data/har_exercises --out out/har   activity recognition model
  tinysense info forest.tsm                 what a model file contains
  tinysense package                         regenerate device/package.json for mip
  tinysense bench trees                     random-forest speed against the peers
  tinysense demo                            see it work on the MicroPython unix port
  tinysense deploy --port /dev/ttyACM0 temperature_logger   put an application on a board
  tinysense run temperature_logger --port /dev/ttyACM0      ... and run it there
  tinysense run activity_tracker --data out/har             replay held-out recordings on the unix port
  tinysense run image_classifier --images DIR               classify image files with the device's main.py

Run `tinysense VERB --help` for the options of one verb.
Install on a board: docs/install.md (mpremote mip install github:tinysense/tinysense/device/package.json)."""


class UsageError(Exception):
    """A mistake on the command line or in an input file: reported in one line, exit code 2."""


def _fail(message: str, code: int = 2) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _human(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} kB"


# --------------------------------------------------------------------------- build
def _parse_archs(values) -> list[str]:
    from .build import ARCHS

    if not values:
        return list(ARCHS)
    archs = []
    for value in values:
        for arch in filter(None, (a.strip() for a in value.split(","))):
            if arch not in ARCHS:
                raise UsageError(
                    f"unknown architecture {arch!r}; valid: {', '.join(ARCHS)} (`{PROG} build --help` says which boards use which)"
                )
            if arch not in archs:
                archs.append(arch)
    return archs


def size_table(results: dict, sources: dict[str, int] | None = None) -> str:
    """A text table of ``.mpy`` sizes: one row per module, one column per arch, a total row."""
    archs = list(results)
    modules = []
    for built in results.values():
        for m in built:
            if m.name not in modules:
                modules.append(m.name)
    sizes = {arch: {m.name: m.size for m in built} for arch, built in results.items()}
    label = {m: (m[len("tinysense."):] if m.startswith("tinysense.") else m) for m in modules}
    cols = (["py"] if sources is not None else []) + archs
    w0 = max([len("module"), len("total")] + [len(v) for v in label.values()])
    widths = [max(len(c), 6) for c in cols]

    def row(name, cells):
        return "  ".join([name.ljust(w0)] + [str(c).rjust(w) for c, w in zip(cells, widths)])

    lines = [row("module", cols), row("-" * w0, ["-" * w for w in widths])]
    for m in modules:
        cells = ([sources.get(m, "")] if sources is not None else []) + [sizes[a].get(m, "-") for a in archs]
        lines.append(row(label[m], cells))
    totals = ([sum(sources.get(m, 0) for m in modules)] if sources is not None else []) + [
        sum(sizes[a].values()) for a in archs
    ]
    lines.append(row("total", totals))
    return "\n".join(lines)


def cmd_build(args) -> int:
    from . import build as tsbuild
    from . import packaging

    archs = _parse_archs(args.arch)
    out = Path(args.out)
    base = tsbuild.check_device_dir()
    sources = {
        str(rel.with_suffix("")).replace("/", "."): (base / rel).stat().st_size
        for rel in tsbuild.device_sources(base)
    }
    print(f"compiling {len(sources)} device modules for {len(archs)} architecture(s) into {out}/")
    counter = iter(range(1, len(archs) + 1))

    def progress(arch):
        print(f"  [{next(counter)}/{len(archs)}] {arch:<10} {tsbuild.ARCH_HINTS.get(arch, '')}", flush=True)

    results = tsbuild.build_all(out, archs, progress=progress)
    version = packaging.device_version(base)
    for arch in archs:
        packaging.write_build_package_json(out / arch, version)
    print()
    print(".mpy sizes in bytes (py = source):")
    print(size_table(results, sources))
    print()
    first = archs[0]
    print(f"each {out}/ARCH/ holds tinysense/*.mpy and a package.json; copy one to a board with")
    print(f"  mpremote mip install {out.as_posix()}/{first}/package.json   or   mpremote cp -r {out.as_posix()}/{first}/tinysense :")
    return 0


# --------------------------------------------------------------------------- convert
def cmd_convert(args) -> int:
    model, out = Path(args.model), Path(args.out)
    if not model.is_file():
        raise UsageError(f"model file {str(model)!r} does not exist")
    if out.is_dir():
        raise UsageError(f"output {str(out)!r} is a folder; give a file name such as model.tsm")
    try:
        if model.suffix.lower() == ".tflite":
            if args.scale_from or args.thresholds:
                raise UsageError("--scale-from and --thresholds apply to tree models, not .tflite files")
            from .convert import tflite

            ir = tflite.load(model)
            out.write_bytes(tflite.dumps(ir))
            print(f"wrote {out}")
            print(f"  CNN, input {'x'.join(map(str, ir.input_shape))} int8, {len(ir.layers)} layers, "
                  f"{ir.n_out} outputs{' (before SOFTMAX)' if ir.softmax else ''}, {out.stat().st_size} bytes")
            print(tflite.describe(ir))
            return 0
        if model.suffix.lower() == ".csv":
            if args.scale_from:
                raise UsageError("--scale-from applies to scikit-learn models, not emlearn CSV files")
            from .convert import emlearn_csv, trees

            options = {"thresholds": args.thresholds} if args.thresholds else {}
            ensemble = emlearn_csv.load(model, **options)
            trees.save_ensemble(ensemble, out)
        else:
            if args.thresholds:
                raise UsageError("--thresholds applies to emlearn CSV files only")
            import joblib

            with open(model, "rb") as f:
                if f.read(4) == b"TSMF":
                    raise UsageError(f"{str(model)!r} is already a tinysense model file (see `{PROG} info`)")
            try:
                estimator = joblib.load(model)
            except Exception as e:  # pickle/joblib raise many kinds for a file that is not theirs
                raise UsageError(
                    f"cannot load {str(model)!r}: not a model saved with joblib.dump or pickle ({type(e).__name__})"
                ) from None
            from . import convert

            if args.scale_from:
                convert.save(estimator, out, scaling=_fit_scaler(Path(args.scale_from), estimator))
            else:
                convert.save(estimator, out)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(f"wrote {out}")
    _print_summary(out)
    return 0


def _fit_scaler(path: Path, estimator=None):
    """The int16 scaling for float features: per feature for trees, one common scale for k-NN
    (a per-feature scale would change which neighbours are nearest)."""
    import numpy as np

    from .convert import Int16Scaler

    if type(estimator).__name__ == "KNeighborsClassifier":
        from .convert.knn import UniformInt16Scaler as Int16Scaler

    if not path.is_file():
        raise UsageError(f"training-data file {str(path)!r} does not exist")
    try:
        X = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise UsageError(f"cannot read {str(path)!r} as a .npy array: {e}") from None
    return Int16Scaler().fit(X)


TREE_FIELDS = ("n_features", "n_classes", "n_trees", "n_nodes", "flags", "scratch_bytes")
CNN_FIELDS = ("n_layers", "input_h", "input_w", "input_c", "n_out", "buf0_bytes", "buf1_bytes", "n_weights",
              "n_bias", "n_quant", "n_thresholds", "input_zp", "scores_zp", "cnn_flags", "max_acc_bound",
              "n_classes")
KNN_FIELDS = ("n_features", "n_samples", "k", "n_classes", "capacity", "knn_flags")
SOS_FIELDS = ("n_sections", "frac_bits", "fs")
LAYOUT_FIELDS = ("channels", "length", "hop", "rate", "n_features", "definitions")
FIELD_NAMES = {1: TREE_FIELDS, 2: KNN_FIELDS, 3: CNN_FIELDS, 4: SOS_FIELDS, 5: LAYOUT_FIELDS}


def _summary_parts(kind: int, f: dict) -> list[str]:
    """A few words on what a model file holds, from its header fields."""
    if kind == 1:
        return ["regression" if f.get("flags", 0) & 1 else f"{f.get('n_classes')} classes",
                f"{f.get('n_trees')} trees", f"{f.get('n_nodes')} nodes", f"{f.get('n_features')} features"]
    if kind == 2:
        return [f"k={f.get('k')}", f"{f.get('n_samples')} of {f.get('capacity')} samples stored",
                f"{f.get('n_features')} features", f"{f.get('n_classes')} classes"]
    if kind == 3:
        return [f"{f.get('n_layers')} layers", f"input {f.get('input_h')}x{f.get('input_w')}x{f.get('input_c')} int8",
                f"{f.get('n_out')} scores", f"{f.get('n_weights')} weights",
                f"arena {f.get('buf0_bytes', 0) + f.get('buf1_bytes', 0)} bytes"]
    if kind == 4:
        return [f"{f.get('n_sections')} second-order sections", f"designed for {f.get('fs')} Hz"]
    if kind == 5:
        return [f"{f.get('channels')} channels", f"window {f.get('length')} hop {f.get('hop')} at {f.get('rate')} Hz",
                f"{f.get('n_features')} features"]
    return []


def _load_model(path: Path):
    from . import modelfile

    if not path.is_file():
        raise UsageError(f"model file {str(path)!r} does not exist")
    try:
        return modelfile.load(path)
    except ValueError as e:
        raise UsageError(f"{path}: {e}") from None


def _print_summary(path: Path) -> None:
    from . import modelfile

    mf = _load_model(path)
    kind = modelfile.KINDS.get(mf.kind, f"kind {mf.kind}")
    parts = [kind]
    names = FIELD_NAMES.get(mf.kind)
    if names:
        parts += _summary_parts(mf.kind, dict(zip(names, mf.fields)))
    parts.append(f"{path.stat().st_size} bytes")
    print("  " + ", ".join(str(p) for p in parts))


# --------------------------------------------------------------------------- info
def _flags_text(flags: int) -> str:
    names = [n for bit, n in ((1, "regression"), (2, "wide distributions"), (4, "feature scaling")) if flags & bit]
    return ", ".join(names) or "classification"


def cmd_info(args) -> int:
    import struct

    from . import modelfile

    path = Path(args.modelfile)
    mf = _load_model(path)
    raw = path.read_bytes()
    (version,) = struct.unpack_from("<H", raw, 4)
    (crc,) = struct.unpack_from("<I", raw, len(raw) - 4)
    print(f"{path}: tinysense model file, {len(raw)} bytes")
    print(f"  kind     {mf.kind} ({modelfile.KINDS.get(mf.kind, 'unknown')})")
    print(f"  version  {version}")
    names = FIELD_NAMES.get(mf.kind, ())
    print(f"  header   {len(mf.fields)} field(s)")
    for i, value in enumerate(mf.fields):
        name = names[i] if i < len(names) else f"field[{i}]"
        extra = f"  ({_flags_text(value)})" if name == "flags" else ""
        print(f"    {name:<14}{value}{extra}")
    print(f"  sections {len(mf.sections)}")
    for tag, (typecode, data) in mf.sections.items():
        print(f"    {tag}  '{typecode}' x {data.size:<8} {data.nbytes:>8} bytes{_section_note(tag, data)}")
    print(f"  crc32    {crc:08x} ok")
    return 0


def _section_note(tag: str, data) -> str:
    if tag == "name":
        text = bytes(data).decode("utf-8", "replace").split("\n")
        return "  classes: " + ", ".join(text[:10]) + (" ..." if len(text) > 10 else "")
    if tag == "labl":
        values = [int(v) for v in data[:10]]
        return "  labels: " + ", ".join(map(str, values)) + (" ..." if data.size > 10 else "")
    return ""


# --------------------------------------------------------------------------- package
def cmd_package(args) -> int:
    from . import packaging

    return packaging.main(["--check"] if args.check else [])


# --------------------------------------------------------------------------- bench / demo
PLUGINS = {
    "bench": ("tinysense.bench", "measure speed and size against the peers (emlearn, everywhereml, m2cgen)"),
    "bench trees": ("tinysense.bench", "random-forest inference on the MicroPython unix port: tinysense against "
                    "the code everywhereml and m2cgen generate (speed, RAM, file sizes)"),
    "demo": ("tinysense.demo", "run a demonstration on the MicroPython unix port"),
    "run": ("tinysense.run", "run an application's device main.py on the MicroPython unix port with recorded "
            "data (e.g. noise_monitor --wav FILE: levels, CSV, plot)"),
    "design": ("tinysense.design.cli", "design A-/C-weighting filters for the device iir kernel (tinysense file + plot)"),
    "deploy": ("tinysense.deploy", "copy an application and the library modules it imports onto a board "
               "(mpremote; .mpy for the board's architecture; only what changed)"),
    "train": ("tinysense.train", "train a model from recordings and write the tinysense files the device loads"),
    "train har": ("tinysense.train", "activity recognition from accelerometer recordings (.npy): windows, "
                  "features, random forest, group-wise cross-validation, confusion matrix"),
    "pull": ("tinysense.deploy", "copy the temperature logger's log from a board into a CSV file"),
}


def _import_plugin(verb: str):
    """Import the module behind ``verb``; returns ``(module, None)`` or ``(None, reason)``."""
    module_name = PLUGINS[verb][0]
    try:
        return importlib.import_module(module_name), None
    except ImportError as e:
        if getattr(e, "name", None) == module_name:
            return None, f"`{PROG} {verb}` is not available in this version ({module_name} is missing)"
        return None, f"`{PROG} {verb}` needs a package that is not installed: {e} (try `pip install -e '.[bench,test]'`)"


def _add_plugin(subparsers, verb: str, load: bool, sub_verb: str | None = None):
    module_name, help_text = PLUGINS[verb]
    parser = subparsers.add_parser(verb, help=help_text, description=help_text)
    target = parser
    if sub_verb:
        inner = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
        sub_help = PLUGINS.get(f"{verb} {sub_verb}", (None, help_text))[1]
        target = inner.add_parser(sub_verb, help=sub_help, description=sub_help)
    target.set_defaults(func=_run_plugin, verb=verb, plugin=None, plugin_error=None)
    if not load:
        return
    module, reason = _import_plugin(verb)
    if module is None or not hasattr(module, "add_arguments"):
        target.set_defaults(plugin_error=reason or f"{module_name} has no add_arguments()")
        return
    module.add_arguments(target)
    target.set_defaults(plugin=module)


def _run_plugin(args) -> int:
    if args.plugin is None:
        return _fail(args.plugin_error or f"`{PROG} {args.verb}` is not available", 1)
    try:
        result = args.plugin.run(args)
    except ValueError as e:  # the plugins' convention for a bad option value
        raise UsageError(str(e)) from None
    return int(result or 0)


# --------------------------------------------------------------------------- parser
def build_parser(argv=None) -> argparse.ArgumentParser:
    """The argument parser. ``bench``/``demo`` load their modules only when ``argv`` names them."""
    from .build import ARCH_HINTS, ARCHS

    argv = list(argv or [])
    verb = next((a for a in argv if not a.startswith("-")), None)

    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    arch_list = "\n".join(f"  {a:<10} {ARCH_HINTS.get(a, '')}" for a in ARCHS)
    p = sub.add_parser(
        "build",
        help="compile the device library to .mpy files for one or more architectures",
        description="Compile device/tinysense with mpy-cross into OUT/ARCH/tinysense/*.mpy, write "
        "OUT/ARCH/package.json (for mip) and print the size of every module.",
        epilog=f"architectures (default: all):\n{arch_list}\n\nA board's architecture: run "
        "`import sys; print(sys.implementation._mpy >> 10)` on it and see docs/install.md.\n\n"
        "examples:\n  tinysense build\n  tinysense build --arch xtensawin --arch armv6m --out build/mpy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--arch", action="append", metavar="ARCH",
                   help="architecture to build for (repeat, or separate with commas); default: all")
    p.add_argument("--out", default="dist", metavar="DIR", help="output folder (default: dist)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "convert",
        help="convert a trained model into a tinysense model file",
        description="Convert a trained model into a tinysense model file for the device: a scikit-learn "
        "tree ensemble or KNeighborsClassifier saved with joblib/pickle, an emlearn CSV tree file (by its "
        ".csv extension), or an int8-quantized TensorFlow Lite model (by its .tflite extension; see "
        "docs/cnn.md). Loading a pickle runs code from it: convert only files you trust.",
        epilog="examples:\n  tinysense convert forest.joblib forest.tsm\n"
        "  tinysense convert forest.joblib forest.tsm --scale-from X_train.npy   (float features)\n"
        "  tinysense convert knn.joblib knn.tsm                                   (k-NN, int16 data)\n"
        "  tinysense convert trees.csv trees.tsm\n"
        "  tinysense convert model.tflite model.tsm                               (int8 CNN)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL",
                   help="joblib/pickle file of a fitted estimator, an emlearn .csv, or an int8 .tflite")
    p.add_argument("out", metavar="OUT", help="tinysense model file to write (e.g. model.tsm)")
    p.add_argument("--scale-from", metavar="X.npy",
                   help="training features (.npy, 2-D float): store an int16 scaling fitted on them, for "
                   "models trained on float features (per feature for trees, one common scale for k-NN)")
    p.add_argument("--thresholds", choices=("emlearn", "sklearn"),
                   help="emlearn CSV only: decide int16 inputs as emlearn does (default) or as the "
                   "original scikit-learn model did")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser(
        "info",
        help="show what a tinysense model file contains",
        description="Check a tinysense model file (magic, version, CRC-32) and list its header fields and sections.",
        epilog="example:\n  tinysense info forest.tsm",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("modelfile", metavar="MODELFILE", help="tinysense model file")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "package",
        help="regenerate device/package.json (the mip package description)",
        description="Write device/package.json listing every device module, so that "
        "`mip`/`mpremote mip install` installs exactly the files that exist.",
    )
    p.add_argument("--check", action="store_true", help="only check that the committed file is up to date (exit 1 if not)")
    p.set_defaults(func=cmd_package)

    _add_plugin(sub, "bench", load=verb == "bench", sub_verb="trees")
    _add_plugin(sub, "demo", load=verb == "demo")
    _add_plugin(sub, "run", load=verb == "run")
    _add_plugin(sub, "design", load=verb == "design")
    _add_plugin(sub, "deploy", load=verb == "deploy")
    _add_plugin(sub, "pull", load=verb == "pull")
    _add_plugin(sub, "train", load=verb == "train", sub_verb="har")
    return parser


def main(argv=None) -> int:
    """Run the ``tinysense`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "plugin_error", None):  # an unavailable plugin says why instead
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as e:  # --help, --version, or argparse's own usage error (code 2)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        return _fail(str(e))
    except FileNotFoundError as e:  # e.g. mpy-cross or the device sources are missing
        return _fail(str(e))
    except RuntimeError as e:  # e.g. mpy-cross rejected a module
        return _fail(str(e), 1)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
