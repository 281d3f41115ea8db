"""``tinysense deploy``, ``tinysense pull`` and ``tinysense run APP --port``: an application on a board.

``deploy`` copies what an application needs onto a board, with mpremote as the transport:

* the device-library modules its ``main.py`` imports, followed through ``device/tinysense``
  (``from . import arrays`` inside ``tinysense/fft.py`` counts), with their packages'
  ``__init__``; compiled with mpy-cross for the board's architecture (read from
  ``sys.implementation._mpy`` on the board, or ``--arch``), or as ``.py`` with ``--arch py``;
  they go to ``lib/tinysense/`` on the board;
* ``main.py`` (the board runs it at every start) and the application's own modules it imports;
* the application's data files (models, filters, recordings): the files listed in
  ``apps/APP/deploy.txt`` (one path or glob per line, relative to the application's folder;
  ``#`` starts a comment), or, without a ``deploy.txt``, every file of the folder that
  ``main.py`` names in a string (``FILTER = "aweighting.tsf"``); plus ``--add FILE``.
  They keep their path relative to the application's folder, from the board's root.

Only files that differ from the board's copy are written: same size and same SHA-256 (computed
on the board with ``hashlib``; where a board has none, the same size) means unchanged. A module
deployed as ``.mpy`` replaces a ``.py`` of the same name on the board, which would otherwise be
imported first.

``pull`` copies the temperature logger's crash-safe log from a board and writes it as CSV.

``run APP --port PORT`` deploys what changed, then runs the board's ``main.py`` and streams its
output until it ends (or ``--timeout``, or Ctrl-C, which stop it on the board).
"""

from __future__ import annotations

import ast
import glob
import hashlib
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import board as tsboard
from .paths import APPS_DIR, check_device_dir

PACKAGE = "tinysense"
DEPLOY_LIST = "deploy.txt"
DEFAULT_LOG = "temperature.tslog"
"""The log file of ``apps/temperature_logger`` (its ``LOG`` setting)."""

_SKIP_DATA = {".py", ".md", ".txt", ".pyc"}


# --------------------------------------------------------------------------- what an app needs
def find_app(app: str) -> Path:
    """The folder of application ``app``: ``apps/APP``, or a folder (path) that has a ``main.py``."""
    for folder in (APPS_DIR / app, Path(app)):
        if (folder / "main.py").is_file():
            return folder
    known = sorted(p.parent.name for p in APPS_DIR.glob("*/main.py"))
    raise ValueError(f"no application {app!r}: expected apps/{app}/main.py or a folder with a main.py "
                     f"(applications: {', '.join(known) or 'none'})")


def _imported_names(path: Path, package: str | None) -> set[str]:
    """Every module name ``path`` may import (``from a import b`` gives ``a`` and ``a.b``), with
    relative imports resolved against ``package``; imports inside functions and ``try`` count."""
    try:
        tree = ast.parse(path.read_text(), str(path))
    except SyntaxError as e:
        raise ValueError(f"{path}: cannot be parsed ({e.msg}, line {e.lineno})") from None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if not package:
                    continue
                parts = package.split(".")
                if node.level - 1 > len(parts) - 1:
                    continue
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module
            names.add(mod)
            names.update(f"{mod}.{a.name}" for a in node.names if a.name != "*")
    return names


def _module_source(name: str, base: Path) -> Path | None:
    rel = Path(*name.split("."))
    for candidate in (rel.with_suffix(".py"), rel / "__init__.py"):
        if (base / candidate).is_file():
            return candidate
    return None


def library_modules(scripts, base: Path | None = None) -> list[Path]:
    """The device-library files (relative to ``device/``) that ``scripts`` import, transitively,
    with the ``__init__.py`` of every package on the way."""
    base = Path(base) if base else check_device_dir()
    found: set[Path] = set()
    todo = [(Path(s), None) for s in scripts]
    seen = set()
    while todo:
        path, package = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imported_names(path, package):
            if name != PACKAGE and not name.startswith(PACKAGE + "."):
                continue
            rel = _module_source(name, base)
            if rel is None or rel in found:
                continue
            parts = name.split(".")
            for i in range(1, len(parts)):  # parent packages
                init = Path(*parts[:i], "__init__.py")
                if (base / init).is_file() and init not in found:
                    found.add(init)
                    todo.append((base / init, ".".join(parts[:i])))
            found.add(rel)
            pkg = name if rel.name == "__init__.py" else ".".join(parts[:-1])
            todo.append((base / rel, pkg))
    return sorted(found)


def read_deploy_list(app_dir: Path) -> list[Path] | None:
    """The files named in ``app_dir/deploy.txt`` (relative to ``app_dir``), or None without one."""
    listing = app_dir / DEPLOY_LIST
    if not listing.is_file():
        return None
    files = []
    for n, line in enumerate(listing.read_text().splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if Path(entry).is_absolute() or ".." in Path(entry).parts:
            raise ValueError(f"{listing}:{n}: {entry!r} must be a path inside the application's folder")
        matches = sorted(Path(p) for p in glob.glob(str(app_dir / entry), recursive=True))
        matches = [m for m in matches if m.is_file()]
        if not matches:
            raise ValueError(f"{listing}:{n}: no file {entry!r} in {app_dir} (make it first, or remove the line)")
        files += [m.relative_to(app_dir) for m in matches if m.relative_to(app_dir) not in files]
    return files


def named_data_files(main: Path) -> list[Path]:
    """Files of ``main``'s folder (not code or docs) whose name ``main`` has as a string constant."""
    folder = main.parent
    tree = ast.parse(main.read_text(), str(main))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and 0 < len(node.value) < 200:
            rel = Path(node.value)
            if rel.is_absolute() or ".." in rel.parts or rel.suffix in _SKIP_DATA:
                continue
            if (folder / rel).is_file() and rel not in out:
                out.append(rel)
    return sorted(out)


@dataclass
class Item:
    """One file to put on the board."""

    dest: str  # path on the board, relative to its working directory
    source: Path  # the file on the PC it comes from
    data: bytes = b""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def app_items(app_dir: Path, extra=()) -> list[Item]:
    """``main.py``, the application's own modules it imports, and its data files."""
    main = app_dir / "main.py"
    items = [Item("main.py", main)]
    todo, seen = [main], set()
    while todo:  # the application's own modules (e.g. config.py next to main.py)
        path = todo.pop()
        for name in sorted(_imported_names(path, None)):
            local = app_dir / f"{name.split('.')[0]}.py"
            if local.is_file() and local.name != "main.py" and local not in seen:
                seen.add(local)
                items.append(Item(local.name, local))
                todo.append(local)
    listed = read_deploy_list(app_dir)
    for rel in listed if listed is not None else named_data_files(main):
        if rel.as_posix() not in {i.dest for i in items}:
            items.append(Item(rel.as_posix(), app_dir / rel))
    for f in extra:
        f = Path(f)
        if not f.is_file():
            raise ValueError(f"--add {f}: no such file")
        if f.name in {i.dest for i in items}:
            raise ValueError(f"--add {f}: the application already has a file {f.name}")
        items.append(Item(f.name, f))
    for item in items:
        item.data = item.source.read_bytes()
    return items


def compile_mpy(source: Path, arch: str, outdir: Path) -> bytes:
    """``source`` compiled by mpy-cross for ``arch``, as bytes."""
    from .build import mpy_cross_path

    target = outdir / (source.stem + ".mpy")
    cmd = [mpy_cross_path(), f"-march={arch}", "-O2", "-o", str(target), "-s", source.name, str(source)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mpy-cross failed for {source} ({arch}):\n{proc.stderr.strip()}")
    return target.read_bytes()


def library_items(modules, arch: str, lib: str, base: Path | None = None) -> list[Item]:
    """The library modules as files for the board: ``.py`` (``arch == "py"``) or compiled ``.mpy``."""
    base = Path(base) if base else check_device_dir()
    items = []
    with tempfile.TemporaryDirectory(prefix="tinysense-deploy-") as tmp:
        for rel in modules:
            source = base / rel
            if arch == "py":
                items.append(Item(f"{lib}/{rel.as_posix()}", source, source.read_bytes()))
            else:
                data = compile_mpy(source, arch, Path(tmp))
                items.append(Item(f"{lib}/{rel.with_suffix('.mpy').as_posix()}", source, data))
    return items


# --------------------------------------------------------------------------- progress
def _human(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} kB"


class Progress:
    """A text progress bar over bytes: redrawn in place on a terminal, one line per file otherwise."""

    def __init__(self, total_bytes: int, n_files: int, out=None, width: int = 24):
        self.total, self.n, self.width = max(total_bytes, 1), n_files, width
        self.out = out or sys.stdout
        self.tty = hasattr(self.out, "isatty") and self.out.isatty()
        self.done = 0
        self.i = 0

    def _line(self, extra: int, label: str) -> str:
        frac = min((self.done + extra) / self.total, 1.0)
        full = int(frac * self.width)
        bar = "#" * full + "-" * (self.width - full)
        return f"  [{bar}] {frac * 100:3.0f}%  {self.i}/{self.n}  {label}"

    def file(self, label: str, size: int):
        """Start a file; returns the callback ``(written, total)`` for its chunks."""
        self.i += 1

        def step(written, total):
            if self.tty:
                self.out.write("\r" + self._line(written, label)[:150].ljust(80))
                self.out.flush()

        def finish():
            self.done += size
            line = self._line(0, f"{label} ({_human(size)})")
            self.out.write(("\r" + line.ljust(80) if self.tty else line) + "\n")
            self.out.flush()

        step.finish = finish
        return step


# --------------------------------------------------------------------------- deploy
@dataclass
class DeployResult:
    copied: list
    unchanged: list
    removed: list
    arch: str
    seconds: float


def choose_arch(info: tsboard.BoardInfo, arch: str | None) -> str:
    """The arch to build for: ``arch`` if given (``py`` for sources), else the board's own; a
    ``ValueError`` when the board cannot load the ``.mpy`` files (the message says why and what
    to use instead)."""
    if arch == "py":
        return "py"
    if arch is None:
        if info.mpy is None or info.mpy.arch is None:  # no .mpy at all, or no native code
            raise ValueError(tsboard.incompatibility(info.mpy, tsboard.MpyFormat(6, 0, "x64"), firmware=info.firmware)
                             if info.mpy is None else
                             f"the board runs {info.mpy} ({info.firmware}): its firmware has no native code "
                             "emitter, which the tinysense kernels use; deploy the .py sources with --arch py")
        arch = info.mpy.arch
    if arch not in tsboard.ARCH_NAMES[1:]:
        raise ValueError(f"unknown architecture {arch!r}; valid: py, {', '.join(tsboard.ARCH_NAMES[1:])}")
    return arch


def check_loadable(info: tsboard.BoardInfo, mpy_bytes: bytes) -> None:
    """``ValueError`` with :func:`tinysense.board.incompatibility`'s message if the board would
    refuse a ``.mpy`` file with this header."""
    why = tsboard.incompatibility(info.mpy, tsboard.decode_mpy_header(mpy_bytes), firmware=info.firmware)
    if why:
        raise ValueError(why)


def deploy_to(b: tsboard.Board, app_dir: Path, *, arch: str | None = None, lib: str = "lib", extra=(),
              force: bool = False, dry_run: bool = False, out=None) -> DeployResult:
    """Copy application ``app_dir`` and the library modules it imports onto board ``b``."""
    out = out or sys.stdout
    start = time.monotonic()
    lib = lib.strip("/") or "lib"
    info = b.info()
    arch = choose_arch(info, arch)
    items = app_items(app_dir, extra)
    modules = library_modules([i.source for i in items if i.source.suffix == ".py"])
    libs = library_items(modules, arch, lib)
    if arch != "py":
        for i in libs:  # only files with native code carry the arch
            check_loadable(info, i.data)
    items = libs + items
    other = {".mpy": ".py", ".py": ".mpy"}
    stale = [i.dest[: -len(Path(i.dest).suffix)] + other[Path(i.dest).suffix] for i in libs]
    want = {i.dest: len(i.data) for i in items}
    want.update({s: -2 for s in stale})
    there = b.files(want)
    for i in items:
        if there.get(i.dest, (0,))[0] == -1:
            raise ValueError(f"{i.dest} is a folder on the board; remove it first (mpremote rm -r :{i.dest})")
    todo, same = [], []
    for i in items:
        size, digest = there.get(i.dest, (None, None))
        unchanged = size == len(i.data) and (digest == i.sha256 or (digest is None and not info.has_sha256))
        (same if unchanged and not force else todo).append(i)
    removals = [s for s in stale if s in there]
    kind = "sources (.py)" if arch == "py" else f".mpy for {arch}"
    print(f"{app_dir.name}: {len(items)} files ({len(libs)} library modules as {kind}) for "
          f"{info.firmware} on {b.device}", file=out)
    if dry_run:
        for i in todo:
            print(f"  would copy {i.dest} ({_human(len(i.data))})", file=out)
        for s in removals:
            print(f"  would remove {s}", file=out)
        return DeployResult(todo, same, removals, arch, time.monotonic() - start)
    if todo:
        b.makedirs(sorted({str(Path(i.dest).parent) for i in todo if "/" in i.dest}))
        bar = Progress(sum(len(i.data) for i in todo), len(todo), out)
        for i in todo:
            step = bar.file(i.dest, len(i.data))
            b.write(i.dest, i.data, progress=step)
            step.finish()
    for s in removals:
        b.remove(s)
        print(f"  removed {s} (it would be imported instead of the new file)", file=out)
    took = time.monotonic() - start
    if todo:
        print(f"copied {len(todo)} file(s), {_human(sum(len(i.data) for i in todo))}; {len(same)} unchanged "
              f"({took:.1f} s)", file=out)
    else:
        print(f"nothing to copy: all {len(items)} files on the board are up to date ({took:.1f} s)", file=out)
    if libs and not info.on_path(lib):
        print(f"note: {lib} is not on the board's sys.path {info.path}: the application will not find "
              f"tinysense there (add it in boot.py: import sys; sys.path.append({lib!r}))", file=out)
    return DeployResult(todo, same, removals, arch, took)


def deploy(app: str, port: str | None = None, **options) -> DeployResult:
    """Connect to the board on ``port`` and deploy ``app`` (see :func:`deploy_to`)."""
    app_dir = find_app(app)
    with tsboard.Board(port) as b:
        return deploy_to(b, app_dir, **options)


# --------------------------------------------------------------------------- run on a board
RUN_MAIN = """\
import sys
try:
    sys.argv[:] = %r
except Exception:
    pass
if %r:
    for _m in list(sys.modules):
        del sys.modules[_m]
    import gc
    gc.collect()
exec(open('main.py').read())
"""
"""Runs the board's main.py as ``__main__``. The unix port has no soft reset, so it forgets the
modules imported before instead, and imports the files deployed since."""


def _echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def run_on_board(app: str, port: str | None, *, arch: str | None = None, deploy_first: bool = True,
                 argv=(), timeout: float | None = None, lib: str = "lib", extra=(), echo=_echo) -> int:
    """Deploy ``app`` (unless ``deploy_first`` is false), run the board's ``main.py`` with
    ``sys.argv = ['main.py', *argv]`` and stream its output; returns 0, 1 if it raised, 130 on
    Ctrl-C. A board is soft-reset first (a clean heap); the unix port is not (it has no soft reset)."""
    app_dir = find_app(app)
    with tsboard.Board(port) as b:
        if deploy_first:
            deploy_to(b, app_dir, arch=arch, lib=lib, extra=extra, out=sys.stderr)
        info = b.info()
        print(f"running {app_dir.name}/main.py on {b.device} ({info.firmware})"
              + (f" for {timeout:g} s" if timeout else "") + "; Ctrl-C stops it", file=sys.stderr)
        status, error = b.run(RUN_MAIN % (["main.py", *argv], info.is_unix_port), echo=echo,
                              soft_reset=not info.is_unix_port,
                              timeout=timeout)
    if status == 2:
        print(f"stopped after {timeout:g} s", file=sys.stderr)
        return 0
    if status == 130:
        print("stopped (Ctrl-C)", file=sys.stderr)
        return 130
    if status:
        print(error.rstrip(), file=sys.stderr)
        if "ImportError" in error and PACKAGE in error:
            print(f"hint: deploy the application first: tinysense deploy --port {b.device} {app}", file=sys.stderr)
        elif "OSError" in error and "main.py" in error:
            print(f"hint: no main.py on the board: tinysense deploy --port {b.device} {app}", file=sys.stderr)
        return 1
    return 0


def add_board_arguments(parser) -> None:
    """The options of ``tinysense run`` for running on a board."""
    g = parser.add_argument_group("on a board (with --port)")
    g.add_argument("--port", metavar="PORT",
                   help="run on the board at PORT (e.g. /dev/ttyACM0, COM3, a0 = /dev/ttyACM0): deploy what "
                        "changed, run its main.py and stream the output; without --port, run on the unix port")
    g.add_argument("--arch", metavar="ARCH",
                   help="with --port: build the library for ARCH, or `py` for sources (default: the board's)")
    g.add_argument("--no-deploy", action="store_true", help="with --port: run what is on the board as it is")
    g.add_argument("--board-args", default="", metavar="ARGS",
                   help="with --port: arguments for main.py on the board (its sys.argv[1:]), e.g. "
                        "\"--trace trace.csv --count 10\"")
    g.add_argument("--timeout", type=float, metavar="S", help="with --port: stop the program after S seconds")


def run_from_args(args) -> int:
    """``tinysense run APP --port PORT``."""
    if args.timeout is not None and not args.timeout > 0:
        raise ValueError(f"--timeout must be > 0 seconds, not {args.timeout}")
    return _board_errors(run_on_board, args.app, args.port, arch=args.arch, deploy_first=not args.no_deploy,
                         argv=shlex.split(args.board_args), timeout=args.timeout,
                         extra=[] if args.no_deploy else _trained_files(args))


def _trained_files(args) -> list[Path]:
    """Files an application needs that training makes outside its folder: the activity
    tracker's model and feature layout from ``tinysense train har`` (``--model-dir``)."""
    if args.app != "activity_tracker":
        return []
    from . import har
    from .run_activity import DEFAULT_MODEL_DIR

    model_dir = Path(getattr(args, "model_dir", None) or DEFAULT_MODEL_DIR)
    files = [model_dir / har.MODEL_FILE, model_dir / har.LAYOUT_FILE]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise ValueError(f"the activity tracker needs {', '.join(f.as_posix() for f in missing)} on the board: "
                         f"run `tinysense train har --out {model_dir.as_posix()}` first (or give --model-dir)")
    return files


# --------------------------------------------------------------------------- pull
def pull(port: str | None, remote: str, out: Path, raw: bool = False, stream=None) -> int:
    """Copy ``remote`` from the board to ``out``: CSV (through ``tinysense.logstore.to_csv``) when
    ``out`` ends in ``.csv`` and ``raw`` is false, else the bytes as they are. Returns the number
    of records (CSV) or bytes (raw)."""
    stream = stream or sys.stdout
    with tsboard.Board(port) as b:
        try:
            data = b.read(remote)
        except FileNotFoundError:
            # A rotation cut short before its rename leaves only the complete copy in LOG.tmp.
            try:
                data = b.read(remote + ".tmp")
            except FileNotFoundError:
                raise ValueError(f"no file {remote} on the board on {b.device} "
                                 "(give the log's name with --file)") from None
            print(f"note: {remote} is missing; read {remote}.tmp, left by a rotation cut short", file=stream)
        device = b.device
    out.parent.mkdir(parents=True, exist_ok=True)
    if raw or out.suffix.lower() != ".csv":
        out.write_bytes(data)
        print(f"pulled {remote} from {device}: {_human(len(data))} -> {out}", file=stream)
        return len(data)
    try:
        from . import logstore
    except ImportError:
        raise RuntimeError("this version of tinysense has no log reader (tinysense.logstore); "
                           "use --raw to save the file as it is") from None
    try:
        n = logstore.to_csv(data, out)
    except ValueError as e:
        raise ValueError(f"{remote} from the board is not a tinysense log: {e} (--raw saves it as it is)") from None
    print(f"pulled {remote} from {device}: {_human(len(data))}, {n} records -> {out}", file=stream)
    return n


# --------------------------------------------------------------------------- the verbs
def add_arguments(parser) -> None:
    """Arguments of ``tinysense deploy`` or ``tinysense pull`` (this module serves both)."""
    if parser.prog.split()[-1] == "pull":
        parser.add_argument("out", metavar="OUT",
                            help="file to write: OUT.csv is converted to CSV (seq, time, values), any other "
                                 "name gets the log's bytes")
        parser.add_argument("--port", metavar="PORT", help="the board's serial port (default: the first USB one)")
        parser.add_argument("--file", default=DEFAULT_LOG, metavar="LOG",
                            help=f"the log file on the board (default: {DEFAULT_LOG})")
        parser.add_argument("--raw", action="store_true", help="save the bytes as they are, even to a .csv name")
        return
    parser.add_argument("app", metavar="APP", help="application: a name under apps/ (e.g. temperature_logger) "
                        "or a folder with a main.py")
    parser.add_argument("--port", metavar="PORT",
                        help="the board's serial port, e.g. /dev/ttyACM0, COM3, a0 (default: the first USB one)")
    parser.add_argument("--arch", metavar="ARCH",
                        help="build the library for ARCH (e.g. armv6m, xtensawin), or `py` to copy the .py "
                             "sources (default: the board's own, from sys.implementation._mpy)")
    parser.add_argument("--lib", default="lib", metavar="DIR", help="library folder on the board (default: lib)")
    parser.add_argument("--add", action="append", default=[], metavar="FILE",
                        help="also copy FILE to the board's root folder (repeat for more)")
    parser.add_argument("--force", action="store_true", help="copy every file, changed or not")
    parser.add_argument("--dry-run", action="store_true", help="only say what would be copied")


def _board_errors(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except tsboard.BoardError as e:
        raise RuntimeError(str(e)) from None


def run(args) -> int:
    if args.verb == "pull":
        _board_errors(pull, args.port, args.file, Path(args.out), raw=args.raw)
        return 0
    _board_errors(deploy, args.app, args.port, arch=args.arch, lib=args.lib, extra=args.add,
                  force=args.force, dry_run=args.dry_run)
    return 0
