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

from tinysense import unixport

BOARD_PATH = ":.frozen:lib"
"""``MICROPYPATH`` that gives the unix port a board's ``sys.path``: ``''``, ``.frozen``, ``lib``."""


class PtyBoard:
    """The unix-port ``micropython`` behind a pseudo-terminal, relayed to a second one for mpremote.

    ``micropypath`` sets the REPL's ``sys.path`` (e.g. :data:`BOARD_PATH`); by default the
    port's own. Use as a context manager, or call :meth:`close`: the process is always killed.
    """

    def __init__(self, workdir, micropypath: str | None = None):
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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._thread.start()

    def _relay(self):
        pair = {self.repl_master: self.user_master, self.user_master: self.repl_master}
        while not self._stop.is_set():
            ready, _, _ = select.select(list(pair), [], [], 0.1)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    return
                if not data:
                    return
                if fd == self.user_master and b"\x03" in data and self._running():
                    # A board's UART stops a running program on Ctrl-C; the unix port only
                    # does that on SIGINT, which a raw terminal does not send.
                    os.kill(self.proc.pid, signal.SIGINT)
                    data = data.replace(b"\x03", b"")
                if data:
                    os.write(pair[fd], data)

    def _running(self) -> bool:
        """Whether the REPL is running code: it catches SIGINT only then (Linux /proc)."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("SigCgt:"):
                        return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
        except OSError:
            pass
        return False

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
