"""Test harness: host tests run under CPython; ``tests/device/test_*.py`` are MicroPython scripts.

Each device test module is executed by the unix-port ``micropython`` twice: once with the device
library's ``.py`` sources on its path (variant ``py``) and once with only the x64 ``.mpy`` build
(variant ``mpy``). Every ``test_*`` function becomes its own pytest item, e.g.
``tests/device/test_trees.py::test_predict[mpy]``, and a failure shows MicroPython's traceback.

A device test module reads host-made files through ``import tsenv``: ``tsenv.FIXTURES`` is a folder
filled by the host builders named in a ``# fixtures: a, b`` line at the top of the module (functions
``build(outdir)`` in ``tests/fixtures/<name>.py``); ``tsenv.VARIANT`` is ``"py"`` or ``"mpy"``.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from tinysense import build as tsbuild
from tinysense import unixport
from tinysense.paths import DEVICE_DIR

TESTS = Path(__file__).parent
DEVICE_TESTS = TESTS / "device"
VARIANTS = ("py", "mpy")


def pytest_runtest_setup(item):
    """Every test starts with numpy's default floating-point error handling: importing
    ``emlearn.bayes`` (done by the emlearn comparison tests) switches it to 'raise' for the whole
    process, which would turn a harmless float32 underflow in an unrelated fixture into an error."""
    import numpy as np

    np.seterr(divide="warn", over="warn", under="ignore", invalid="warn")


def pytest_addoption(parser):
    parser.addoption("--device-variant", choices=VARIANTS, action="append",
                     help="run device tests only against this build (default: both py and mpy)")


def pytest_pycollect_makemodule(module_path, parent):
    path = Path(module_path)
    if path.parent == DEVICE_TESTS and path.name.startswith("test_"):
        return DeviceModule.from_parent(parent, path=path)
    return None


class _Session:
    """Per-process state shared by all device modules: the .mpy build and the fixture folders."""

    def __init__(self, config):
        self.config = config
        self.base = Path(config._tmp_path_factory.mktemp("device"))
        self._libdirs = {}
        self._fixtures = {}

    def libdir(self, variant):
        if variant not in self._libdirs:
            if variant == "py":
                self._libdirs[variant] = DEVICE_DIR
            else:
                out = self.base / "mpy-x64"
                tsbuild.build("x64", out)
                self._libdirs[variant] = out
        return self._libdirs[variant]

    def fixtures(self, names):
        folder = self.base / "fixtures"
        folder.mkdir(exist_ok=True)
        for name in names:
            if name in self._fixtures:
                continue
            spec = importlib.util.spec_from_file_location(f"_fixtures_{name}", TESTS / "fixtures" / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            target = folder / name
            target.mkdir(exist_ok=True)
            try:
                module.build(target)
            except Exception as e:  # fail every test that needs it, without building again
                self._fixtures[name] = e
                raise
            self._fixtures[name] = target
        for name in names:
            if isinstance(self._fixtures[name], Exception):
                raise RuntimeError(f"fixture builder {name!r} failed") from self._fixtures[name]
        return folder


def _session(config) -> _Session:
    if not hasattr(config, "_tinysense_device"):
        config._tinysense_device = _Session(config)
    return config._tinysense_device


class DeviceModule(pytest.File):
    def collect(self):
        source = self.path.read_text()
        tree = ast.parse(source)
        names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        m = re.search(r"^#\s*fixtures:\s*(.+)$", source, re.M)
        self.fixture_names = [f.strip() for f in m.group(1).split(",")] if m else []
        variants = self.config.getoption("--device-variant") or VARIANTS
        self._results = {}
        for variant in variants:
            for name in names:
                yield DeviceItem.from_parent(self, name=f"{name}[{variant}]", func=name, variant=variant)

    def results(self, variant):
        if variant not in self._results:
            self._results[variant] = self._run(variant)
        return self._results[variant]

    def _run(self, variant):
        session = _session(self.config)
        libdir = session.libdir(variant)
        fixtures = session.fixtures(self.fixture_names)
        envdir = session.base / f"env-{variant}"
        envdir.mkdir(exist_ok=True)
        (envdir / "tsenv.py").write_text(f"FIXTURES = {str(fixtures)!r}\nVARIANT = {variant!r}\n")
        proc = unixport.run(
            DEVICE_TESTS / "_runner.py", [self.path.stem],
            libdirs=[libdir, envdir, DEVICE_TESTS], heapsize="16M", timeout=900,
        )
        return _parse(proc)


def _parse(proc):
    results = {}
    current, lines = None, []
    for line in proc.stdout.splitlines():
        if line.startswith("@@START "):
            current, lines = line[8:], []
        elif line.startswith("@@PASS "):
            results[line[7:]] = ("pass", "\n".join(lines))
            current = None
        elif line.startswith("@@FAIL "):
            current = "!" + line[7:]
            lines.append("--- MicroPython traceback ---")
        elif line.startswith("@@END "):
            results[line[6:]] = ("fail", "\n".join(lines))
            current = None
        elif current is not None:
            lines.append(line)
    if current is not None:  # the process died inside a test
        name = current.lstrip("!")
        results[name] = ("fail", "\n".join(lines) + f"\n--- micropython exited with {proc.returncode} ---\n{proc.stderr}")
    results["__process__"] = (proc.returncode, proc.stdout, proc.stderr)
    return results


class DeviceTestFailure(Exception):
    pass


class DeviceItem(pytest.Item):
    def __init__(self, *, func, variant, **kwargs):
        super().__init__(**kwargs)
        self.func = func
        self.variant = variant

    def runtest(self):
        results = self.parent.results(self.variant)
        if self.func not in results:
            code, out, err = results["__process__"]
            raise DeviceTestFailure(
                f"{self.func} did not run (micropython exited with {code})\n--- stdout ---\n{out[-4000:]}"
                f"\n--- stderr ---\n{err[-4000:]}"
            )
        status, text = results[self.func]
        if status != "pass":
            raise DeviceTestFailure(text)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, DeviceTestFailure):
            return f"device test {self.func} ({self.variant} build) failed on MicroPython:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.path.name}::{self.name}"
