"""Deployment to a board: ``tinysense deploy``, ``tinysense run APP --port``, ``tinysense pull``.

The decoding of a board's ``.mpy`` format and the mismatch messages are unit-tested. Then a real
MicroPython REPL plays the board: the unix-port ``micropython`` on a pseudo-terminal
(``ptyboard.PtyBoard``), driven through mpremote's serial transport exactly as a board on USB
would be. Nothing of mpremote is mocked.
"""

from __future__ import annotations

import ast
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinysense import board as tsboard
from tinysense import cli
from tinysense import deploy as tsdeploy
from tinysense.board import MpyFormat
from tinysense.paths import APPS_DIR, DEVICE_DIR

from ptyboard import BOARD_PATH, PtyBoard  # tests/host/ptyboard.py

DATA = Path(__file__).parent / "data"
TEST_APP = DATA / "boardapp"


# ---------------------------------------------------------------- .mpy formats
@pytest.mark.parametrize("value, expected", [
    (2822, MpyFormat(6, 3, "x64")),  # the unix port on x64 (FIELD_NOTES)
    (6 | 3 << 8 | 4 << 10, MpyFormat(6, 3, "armv6m")),  # RP2040
    (6 | 2 << 8 | 10 << 10, MpyFormat(6, 2, "xtensawin")),  # an ESP32 on an older firmware
    (6 | 3 << 8, MpyFormat(6, 3, None)),  # no native emitter
    (5 | 7 << 10, MpyFormat(5, 0, "armv7emsp")),
])
def test_decode_sys_mpy(value, expected):
    assert tsboard.decode_sys_mpy(value) == expected


def test_decode_sys_mpy_text_and_unknown_arch():
    assert str(tsboard.decode_sys_mpy(2822)) == "mpy v6.3, arch x64"
    assert tsboard.decode_sys_mpy(6 | 3 << 8 | 40 << 10).arch == "#40"
    assert "bytecode only" in str(tsboard.decode_sys_mpy(6))
    with pytest.raises(ValueError):
        tsboard.decode_sys_mpy(-1)


@pytest.mark.parametrize("arch", ["x64", "armv6m", "xtensawin", "rv32imc"])
def test_decode_header_of_what_mpy_cross_makes(tmp_path, arch):
    src = tmp_path / "k.py"
    src.write_text("import micropython\n@micropython.viper\ndef f(x: int) -> int:\n    return x + 1\n")
    header = tsboard.decode_mpy_header(tsdeploy.compile_mpy(src, arch, tmp_path))
    assert header == MpyFormat(6, 3, arch)  # mpy-cross 1.29 emits v6.3
    plain = tmp_path / "p.py"
    plain.write_text("x = 1\n")
    assert tsboard.decode_mpy_header(tsdeploy.compile_mpy(plain, arch, tmp_path)).arch is None
    with pytest.raises(ValueError, match="not a .mpy"):
        tsboard.decode_mpy_header(b"x = 1\n")


@pytest.mark.parametrize("board_arch, code_arch, ok", [
    ("x64", "x64", True), ("x64", "x86", False), ("armv6m", "armv6m", True),
    ("armv7emsp", "armv6m", True), ("armv7emdp", "armv7m", True), ("armv6m", "armv7emsp", False),
    ("xtensawin", "xtensa", False), ("rv32imc", "rv32imc", True), (None, "x64", False),
    (None, None, True), ("xtensa", None, True),
])
def test_arch_can_load(board_arch, code_arch, ok):
    assert tsboard.arch_can_load(board_arch, code_arch) is ok


def test_compatible_formats_have_no_message():
    assert tsboard.incompatibility(MpyFormat(6, 3, "x64"), MpyFormat(6, 3, "x64")) is None
    assert tsboard.incompatibility(MpyFormat(6, 3, "armv7emsp"), MpyFormat(6, 3, "armv6m")) is None
    # bytecode-only files ignore the sub-version, as MicroPython's loader does
    assert tsboard.incompatibility(MpyFormat(6, 1, "xtensa"), MpyFormat(6, 3, None)) is None


def test_version_mismatch_names_both_and_the_fixes():
    msg = tsboard.incompatibility(MpyFormat(6, 2, "xtensawin"), MpyFormat(6, 3, "xtensawin"),
                                  firmware="MicroPython 1.22.2 on esp32")
    assert "mpy v6.2, arch xtensawin" in msg and "mpy v6.3" in msg and "MicroPython 1.22.2 on esp32" in msg
    assert "--arch py" in msg and "mpy-cross" in msg and "incompatible .mpy file" in msg
    assert "mpy v5.0" in tsboard.incompatibility(MpyFormat(5, 0, "armv6m"), MpyFormat(6, 3, "armv6m"))


def test_arch_mismatch_names_both_and_the_fixes():
    msg = tsboard.incompatibility(MpyFormat(6, 3, "x64"), MpyFormat(6, 3, "armv6m"))
    assert "arch x64" in msg and "armv6m" in msg and "--arch x64" in msg and "--arch py" in msg
    assert "incompatible .mpy arch" in msg
    msg = tsboard.incompatibility(MpyFormat(6, 3, None), MpyFormat(6, 3, "armv6m"))
    assert "no native code emitter" in msg and "--arch py" in msg


def test_board_without_mpy_support():
    msg = tsboard.incompatibility(None, MpyFormat(6, 3, "x64"), firmware="MicroPython 1.9 on esp8266")
    assert "no sys.implementation._mpy" in msg and "--arch py" in msg and "1.9 on esp8266" in msg


def test_choose_arch():
    info = tsboard.BoardInfo("rp2", tsboard.decode_sys_mpy(6 | 3 << 8 | 4 << 10), "", (1, 29, 0), [], True, "/")
    assert tsdeploy.choose_arch(info, None) == "armv6m"
    assert tsdeploy.choose_arch(info, "py") == "py"
    assert tsdeploy.choose_arch(info, "armv6m") == "armv6m"
    with pytest.raises(ValueError, match="unknown architecture 'arm'"):
        tsdeploy.choose_arch(info, "arm")
    bare = tsboard.BoardInfo("esp8266", None, "", (1, 9, 0), [], False, "/")
    with pytest.raises(ValueError, match="--arch py"):
        tsdeploy.choose_arch(bare, None)
    assert tsdeploy.choose_arch(bare, "py") == "py"


def test_board_info_path():
    info = tsboard.BoardInfo("rp2", None, "", (1, 29, 0), ["", ".frozen", "/lib"], True, "/")
    assert info.on_path("lib") and not info.on_path("libs")
    info = tsboard.BoardInfo("linux", None, "", (1, 29, 0), ["", "~/.micropython/lib"], True, "board")
    assert not info.on_path("lib") and info.is_unix_port


def test_port_shortcuts():
    assert tsboard.resolve_port("a0") == "/dev/ttyACM0"
    assert tsboard.resolve_port("u1") == "/dev/ttyUSB1"
    assert tsboard.resolve_port("c3") == "COM3"
    assert tsboard.resolve_port("port:/dev/x") == "/dev/x"
    assert tsboard.resolve_port("/dev/ttyS0") == "/dev/ttyS0"


# ---------------------------------------------------------------- what an application needs
def test_modules_of_the_noise_monitor():
    names = {p.as_posix() for p in tsdeploy.library_modules([APPS_DIR / "noise_monitor" / "main.py"])}
    expected = {"tinysense/__init__.py", "tinysense/soundlevel.py", "tinysense/rms.py", "tinysense/arrays.py",
                "tinysense/iir.py", "tinysense/modelfile.py", "tinysense/sensors/__init__.py",
                "tinysense/sensors/mic.py"}
    assert expected <= names  # iir is imported inside a function: it counts
    assert not any("trees" in n or "fft" in n for n in names)
    assert all((DEVICE_DIR / n).is_file() for n in names)


def test_relative_and_nested_imports(tmp_path):
    pkg = tmp_path / "tinysense"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from . import b\nfrom .sub import c\n",
        "b.py": "try:\n    from .d import x\nexcept ImportError:\n    from .e import x\n",
        "d.py": "import micropython\n", "e.py": "x = 1\n", "unused.py": "",
        "sub/__init__.py": "from .. import arrays\n", "sub/c.py": "from ..b import x\n", "arrays.py": "",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    main = tmp_path / "main.py"
    main.write_text("import sys\nimport machine\ndef f():\n    import tinysense.a\n")
    found = {p.as_posix() for p in tsdeploy.library_modules([main], base=tmp_path)}
    assert found == {f"tinysense/{n}" for n in files if n != "unused.py"}


def test_deploy_list(tmp_path):
    (tmp_path / "main.py").write_text("")
    (tmp_path / "m").mkdir()
    for name in ("model.tsm", "m/a.bin", "m/b.bin"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "deploy.txt").write_text("# data\nmodel.tsm   # the model\n\nm/*.bin\n")
    assert tsdeploy.read_deploy_list(tmp_path) == [Path("model.tsm"), Path("m/a.bin"), Path("m/b.bin")]
    (tmp_path / "deploy.txt").write_text("missing.tsm\n")
    with pytest.raises(ValueError, match=r"deploy.txt:1: no file 'missing.tsm'"):
        tsdeploy.read_deploy_list(tmp_path)
    (tmp_path / "deploy.txt").write_text("../secret\n")
    with pytest.raises(ValueError, match="inside the application's folder"):
        tsdeploy.read_deploy_list(tmp_path)


def test_data_files_named_by_main(tmp_path):
    (tmp_path / "main.py").write_text('FILTER = "aweighting.tsf"\nLOG = "log.bin"\nX = "README.md"\n')
    (tmp_path / "aweighting.tsf").write_bytes(b"f")
    (tmp_path / "README.md").write_text("")
    assert tsdeploy.read_deploy_list(tmp_path) is None
    items = tsdeploy.app_items(tmp_path)
    assert [i.dest for i in items] == ["main.py", "aweighting.tsf"]  # log.bin does not exist; docs are skipped


def test_app_items_of_the_test_app(tmp_path):
    extra = tmp_path / "extra.bin"
    extra.write_bytes(b"123")
    items = tsdeploy.app_items(TEST_APP, [extra])
    assert [i.dest for i in items] == ["main.py", "numbers.csv", "extra.bin"]
    assert items[1].data == (TEST_APP / "numbers.csv").read_bytes()
    with pytest.raises(ValueError, match="no such file"):
        tsdeploy.app_items(TEST_APP, [tmp_path / "nope"])


def test_unknown_app():
    with pytest.raises(ValueError, match="no application 'nope'"):
        tsdeploy.find_app("nope")
    assert tsdeploy.find_app(str(TEST_APP)) == TEST_APP


def test_default_log_is_the_loggers():
    """``tinysense pull`` fetches the file the temperature logger writes (its LOG setting)."""
    main = APPS_DIR / "temperature_logger" / "main.py"
    if not main.is_file():
        pytest.skip("no temperature logger")
    tree = ast.parse(main.read_text())
    logs = [n.value.value for n in tree.body if isinstance(n, ast.Assign)
            and any(getattr(t, "id", None) == "LOG" for t in n.targets)]
    assert logs == [tsdeploy.DEFAULT_LOG]


def test_progress_without_a_terminal(capsys):
    bar = tsdeploy.Progress(300, 2, sys.stdout, width=10)
    for label, size in (("a.mpy", 100), ("b.mpy", 200)):
        step = bar.file(label, size)
        step(size // 2, size)
        step.finish()
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["  [###-------]  33%  1/2  a.mpy (100 B)", "  [##########] 100%  2/2  b.mpy (200 B)"]


# ---------------------------------------------------------------- a real MicroPython REPL as the board
@pytest.fixture
def board(tmp_path):
    if os.name != "posix" or not sys.platform.startswith("linux"):
        pytest.skip("the pty board needs Linux")
    pytest.importorskip("mpremote")
    workdir = tmp_path / "board"
    workdir.mkdir()
    with PtyBoard(workdir, BOARD_PATH) as b:
        yield b


def tinysense(capsys, *argv):
    argv = [str(a) for a in argv]
    if argv[0] == "run" and "--timeout" not in argv:
        argv += ["--timeout", "20"]  # a program that hangs fails the test instead of blocking it
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def board_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def app(tmp_path):
    """A copy of the test application that a test may change."""
    return Path(shutil.copytree(TEST_APP, tmp_path / "boardapp"))


def test_deploy_run_and_redeploy(board, app, capsys):
    code, out, err = tinysense(capsys, "deploy", "--port", board.device, app)
    assert code == 0, out + err
    assert "for x64" in out and "copied 6 file(s)" in out and "100%" in out
    expected = {"main.py", "numbers.csv"} | {f"lib/tinysense/{m}.mpy" for m in (
        "__init__", "arrays", "median", "rms")}
    assert expected <= board_files(board.workdir)
    assert not any(f.endswith(".py") and f != "main.py" for f in board_files(board.workdir))

    # mpremote itself sees the same files
    proc = board.mpremote("fs", "ls", ":lib/tinysense")
    assert proc.returncode == 0 and "median.mpy" in proc.stdout, proc.stdout + proc.stderr

    code, out, err = tinysense(capsys, "run", app, "--port", board.device, "--board-args", "one two")
    assert code == 0, out + err
    assert out.splitlines() == ["args one two", "median 3", "mean square 45.6",
                                "module lib/tinysense/median.mpy", "done"]
    assert "nothing to copy" in err  # run deploys first; everything was there

    code, out, err = tinysense(capsys, "deploy", "--port", board.device, app)
    assert code == 0 and "nothing to copy: all" in out and "[" not in out, out + err

    (app / "numbers.csv").write_text("1\n2\n100\n")  # same board, one changed data file
    code, out, err = tinysense(capsys, "deploy", "--port", board.device, app)
    assert code == 0 and "copied 1 file(s)" in out and "numbers.csv" in out, out + err
    code, out, err = tinysense(capsys, "run", app, "--port", board.device, "--no-deploy")
    assert code == 0 and "median 2" in out, out + err


def test_sources_then_mpy_replace_each_other(board, app, capsys):
    code, out, err = tinysense(capsys, "deploy", "--port", board.device, "--arch", "py", app)
    assert code == 0 and "sources (.py)" in out, out + err
    assert "lib/tinysense/median.py" in board_files(board.workdir)
    code, out, err = tinysense(capsys, "run", app, "--port", board.device, "--no-deploy")
    assert "module lib/tinysense/median.py" in out, out + err

    code, out, err = tinysense(capsys, "deploy", "--port", board.device, app)
    assert code == 0 and "removed lib/tinysense/median.py" in out, out + err
    files = board_files(board.workdir)
    assert "lib/tinysense/median.mpy" in files and "lib/tinysense/median.py" not in files
    code, out, err = tinysense(capsys, "run", app, "--port", board.device, "--no-deploy")
    assert "module lib/tinysense/median.mpy" in out, out + err


def test_incompatible_arch_is_refused_before_copying(board, app, capsys):
    code, out, err = tinysense(capsys, "deploy", "--port", board.device, "--arch", "armv6m", app)
    assert code == 2
    assert "arch x64" in err and "armv6m" in err and "--arch x64" in err and "--arch py" in err
    assert "Traceback" not in err
    assert board_files(board.workdir) == set()


def test_dry_run_and_force(board, app, capsys):
    code, out, err = tinysense(capsys, "deploy", "--port", board.device, "--dry-run", app)
    assert code == 0 and "would copy main.py" in out and board_files(board.workdir) == set()
    assert tinysense(capsys, "deploy", "--port", board.device, app)[0] == 0
    code, out, err = tinysense(capsys, "deploy", "--port", board.device, "--force", app)
    assert code == 0 and "copied 6 file(s)" in out, out + err


def test_run_reports_errors_and_stops_on_timeout(board, tmp_path, capsys):
    failing = tmp_path / "failing"
    failing.mkdir()
    (failing / "main.py").write_text("print('starting')\nimport tinysense.nothing\n")
    code, out, err = tinysense(capsys, "run", failing, "--port", board.device)
    assert code == 1 and out == "starting\n"
    assert "ImportError" in err and "tinysense deploy" in err

    forever = tmp_path / "forever"
    forever.mkdir()
    (forever / "main.py").write_text("import time\nprint('up')\nwhile True:\n    time.sleep_ms(10)\n")
    code, out, err = tinysense(capsys, "run", forever, "--port", board.device, "--timeout", "0.5")
    assert code == 0 and out == "up\n" and "stopped after 0.5 s" in err, out + err
    # the board is usable afterwards
    code, out, err = tinysense(capsys, "run", failing, "--port", board.device, "--timeout", "20")
    assert code == 1 and out == "starting\n"


def test_no_board_on_the_port(tmp_path, capsys):
    code, out, err = tinysense(capsys, "deploy", "--port", tmp_path / "no-such-port", TEST_APP)
    assert code == 1 and "cannot open" in err


def test_the_command_line_program(board, app):
    """The installed ``tinysense`` command, in its own process."""
    proc = subprocess.run([sys.executable, "-m", "tinysense", "deploy", "--port", board.device, str(app)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "copied 6 file(s)" in proc.stdout, proc.stdout + proc.stderr


# ---------------------------------------------------------------- the temperature logger and its log
needs_logger = pytest.mark.skipif(not (APPS_DIR / "temperature_logger" / "main.py").is_file(),
                                  reason="no temperature logger")


@needs_logger
def test_temperature_logger_on_the_board_and_pull(board, tmp_path, capsys):
    trace = APPS_DIR / "temperature_logger" / "trace_tmp36.csv"
    if not trace.is_file():
        pytest.skip("the temperature logger has no trace_tmp36.csv")
    code, out, err = tinysense(capsys, "deploy", "--port", board.device, "--add", trace, "temperature_logger")
    assert code == 0, out + err
    for module in ("median", "logstore", "bthome", "sensors/adc"):
        assert f"lib/tinysense/{module}.mpy" in board_files(board.workdir), module

    code, out, err = tinysense(capsys, "run", "temperature_logger", "--port", board.device, "--no-deploy",
                               "--board-args", "--trace trace_tmp36.csv --count 5", "--timeout", "60")
    assert code == 0, out + err
    measured = [line for line in out.splitlines() if line.startswith("measurement ")]
    assert len(measured) == 5 and measured[0].startswith("measurement 1 "), out
    assert "stopped" not in err

    csv_path = tmp_path / "pulled" / "log.csv"
    code, out, err = tinysense(capsys, "pull", "--port", board.device, csv_path)
    assert code == 0 and "5 records" in out, out + err
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["seq", "time", "timestamp"] and [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5"]
    temps = [line.split()[-2] for line in measured]  # "... raw 13507  18.01 C"
    assert [r[-1] for r in rows[1:]] == temps

    raw = tmp_path / "pulled" / "log.bin"
    code, out, err = tinysense(capsys, "pull", "--port", board.device, "--raw", raw)
    assert code == 0 and raw.read_bytes() == (board.workdir / tsdeploy.DEFAULT_LOG).read_bytes()


def test_pull_errors(board, tmp_path, capsys):
    code, out, err = tinysense(capsys, "pull", "--port", board.device, "--file", "none.tslog", tmp_path / "x.csv")
    assert code == 2 and "no file none.tslog on the board" in err and not (tmp_path / "x.csv").exists()
    (board.workdir / "junk.tslog").write_bytes(b"not a log at all")
    code, out, err = tinysense(capsys, "pull", "--port", board.device, "--file", "junk.tslog", tmp_path / "x.csv")
    assert code == 2 and "not a tinysense log" in err and "--raw" in err
    # a rotation cut short before its rename leaves only LOG.tmp
    (board.workdir / "only.tslog.tmp").write_bytes(b"bytes")
    code, out, err = tinysense(capsys, "pull", "--port", board.device, "--file", "only.tslog", tmp_path / "o.bin")
    assert code == 0 and (tmp_path / "o.bin").read_bytes() == b"bytes" and "only.tslog.tmp" in out


def test_board_without_hashlib_compares_sizes(board, app, capsys):
    """Where the board has no ``hashlib.sha256``, an equal size counts as unchanged."""
    with tsboard.Board(board.device) as b:
        b.exec("import sys\nsys.modules['hashlib'] = None")  # this board now has no hashlib
        result = tsdeploy.deploy_to(b, app)
        assert len(result.copied) == 6
        (app / "numbers.csv").write_text((app / "numbers.csv").read_text().replace("12", "13"))  # same size
        result = tsdeploy.deploy_to(b, app)
        assert result.copied == [] and len(result.unchanged) == 6
        (app / "numbers.csv").write_text("1\n")  # another size
        assert [i.dest for i in tsdeploy.deploy_to(b, app).copied] == ["numbers.csv"]
        assert len(tsdeploy.deploy_to(b, app, force=True).copied) == 6
    capsys.readouterr()


def test_activity_tracker_takes_its_trained_files_to_the_board(board, tmp_path, capsys):
    """`tinysense run activity_tracker --port` copies model.tsm and features.tsm from --model-dir
    (training writes them outside the app's folder); without them it says how to make them."""
    models = tmp_path / "har"
    code, out, err = tinysense(capsys, "run", "activity_tracker", "--port", board.device, "--model-dir", models)
    assert code == 2 and "tinysense train har" in err and "model.tsm" in err, out + err
    models.mkdir()
    (models / "model.tsm").write_bytes(b"model")  # copied, not read, on the way to the board
    (models / "features.tsm").write_bytes(b"layout")
    code, out, err = tinysense(capsys, "run", "activity_tracker", "--port", board.device, "--model-dir", models)
    assert {"main.py", "model.tsm", "features.tsm"} <= board_files(board.workdir), out + err
    assert (board.workdir / "model.tsm").read_bytes() == b"model"
    # main.py on the board read the copied layout and refused it with its own clear message
    assert "feature layout features.tsm: model file truncated" in out + err, out + err
