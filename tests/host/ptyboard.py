"""A "board" for host tests: the unix-port ``micropython`` REPL behind a pseudo-terminal.

``mpremote`` (and ``tinysense deploy``/``run``/``pull``, which use it) drive the unix port
through its raw REPL as if it were a board on a serial port. Two pseudo-terminals are used: the
REPL's own, put in raw mode (otherwise the pty doubles each ``\\r\\n`` and mpremote never sees its
raw-REPL prompt), and a second one whose device path (``board.device``) is what a client opens.
A thread relays bytes between them, and turns a Ctrl-C sent while the REPL runs code into the
SIGINT that stops it (on a board, the UART does this). ``:`` paths are relative to ``workdir``, the board's root.

The unix port has no soft reset: clients must not reset it (``mpremote ... resume ...``).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time

from tinysense import unixport

BOARD_PATH = ":.frozen:lib"
"""``MICROPYPATH`` that gives the unix port a board's ``sys.path``: ``''``, ``.frozen``, ``lib``."""


class PtyBoard:
    """The unix-port ``micropython`` behind a pseudo-terminal, relayed to a second one for mpremote.

    ``micropypath`` sets the REPL's ``sys.path`` (e.g. :data:`BOARD_PATH`); by default the
    port's own. Use as a context manager, or call :meth:`close`: the process is always killed.
    """

    def __init__(self, workdir, micropypath: str | None = None, boot_timeout: float = 20):
        import pty
        import tty

        self.workdir = workdir
        self.repl_master, repl_slave = pty.openpty()
        tty.setraw(repl_slave)
        self.user_master, self.user_slave = pty.openpty()
        tty.setraw(self.user_slave)
        self.device = os.ttyname(self.user_slave)
        env = dict(os.environ)
        if micropypath is not None:
            env["MICROPYPATH"] = micropypath
        self.proc = subprocess.Popen(
            [unixport.micropython_path()], stdin=repl_slave, stdout=repl_slave, stderr=repl_slave,
            cwd=workdir, env=env, start_new_session=True,
        )
        os.close(repl_slave)
        try:
            self._wait_for_prompt(boot_timeout)
        except Exception:
            self.proc.kill()
            self.proc.wait(timeout=10)
            for fd in (self.repl_master, self.user_master, self.user_slave):
                os.close(fd)
            raise
        self.busy = False  # whether the raw REPL runs code (between the client's Ctrl-D and "\x04>")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._thread.start()

    def _wait_for_prompt(self, timeout):
        """Read the REPL's banner up to its first prompt, as a board has booted before a client
        connects. (The port flushes its terminal's input when it starts: bytes a client wrote
        before that would be lost, and mpremote would wait for an answer for ever.)"""
        seen = b""
        deadline = time.monotonic() + timeout
        while not seen.endswith(b">>> "):
            left = deadline - time.monotonic()
            ready = select.select([self.repl_master], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                raise RuntimeError(f"micropython printed no prompt within {timeout} s: {seen[-200:]!r}")
            data = os.read(self.repl_master, 4096)
            if not data:
                raise RuntimeError(f"micropython exited: {seen[-200:]!r}")
            seen += data

    def _relay(self):
        pair = {self.repl_master: self.user_master, self.user_master: self.repl_master}
        tail = b""
        while not self._stop.is_set():
            ready, _, _ = select.select(list(pair), [], [], 0.1)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    return
                if not data:
                    return
                if fd == self.user_master:
                    if b"\x03" in data and self.busy:
                        # A board's UART stops a running program on Ctrl-C; the unix port only
                        # does that on SIGINT, which a raw terminal does not send.
                        os.kill(self.proc.pid, signal.SIGINT)
                        data = data.replace(b"\x03", b"")
                    if b"\x04" in data:  # end of the code sent to the raw REPL: it runs now
                        self.busy = True
                else:
                    tail = (tail + data)[-64:]
                    if b"\x04>" in tail:  # end of the error output, then the raw REPL's prompt
                        self.busy = False
                        tail = b""
                if data:
                    os.write(pair[fd], data)

    def mpremote(self, *args, timeout=120):
        """Run ``mpremote connect DEVICE resume ARGS...``; returns the completed process."""
        cmd = [sys.executable, "-m", "mpremote", "connect", self.device, "resume", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.proc.kill()
        self.proc.wait(timeout=10)
        for fd in (self.repl_master, self.user_master, self.user_slave):
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
