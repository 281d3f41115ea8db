"""Where the device library and the bundled applications live, seen from the host package."""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEVICE_DIR = ROOT / "device"
"""Folder that holds the device package ``tinysense/`` (put it on MicroPython's ``sys.path``)."""
DEVICE_PACKAGE = DEVICE_DIR / "tinysense"
APPS_DIR = ROOT / "apps"


def check_device_dir() -> Path:
    """Return the device package folder, or raise ``FileNotFoundError`` saying where it was expected."""
    if not (DEVICE_PACKAGE / "__init__.py").is_file():
        raise FileNotFoundError(
            f"device library not found at {DEVICE_PACKAGE}; tinysense must be installed from its "
            "source tree (pip install -e .)"
        )
    return DEVICE_DIR


def find_command(name: str, package: str) -> str:
    """Path of a command installed by a PyPI package: next to this interpreter (the venv's
    ``bin``), else on ``PATH``; ``FileNotFoundError`` naming the package to install otherwise."""
    here = Path(sys.executable).parent / name
    if here.is_file():
        return str(here)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(f"{name} was not found; install it with `pip install {package}`")
