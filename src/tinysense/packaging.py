"""mip packaging: the ``package.json`` files that let ``mip`` / ``mpremote mip install`` fetch tinysense.

Two flavours are written:

* ``device/package.json`` (committed) lists every ``.py`` file of the device library. Its URLs are
  relative, so mip resolves them against wherever the ``package.json`` itself was fetched from
  (``github:tinysense/tinysense/device/package.json``, an HTTP server, or a local path with
  ``mpremote``).
* ``dist/ARCH/package.json`` (written by ``tinysense build``) lists the compiled ``.mpy`` files of
  one architecture's build.

The lists are generated from the files that exist, never kept by hand: a package.json naming a
file that was renamed away breaks every user's install. ``python -m tinysense.packaging`` rewrites
``device/package.json``; ``python -m tinysense.packaging --check`` fails if it is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .paths import DEVICE_DIR, check_device_dir

PACKAGE = "tinysense"
PACKAGE_JSON = "package.json"


def device_version(src_dir: Path | None = None) -> str:
    """The ``__version__`` string of the device package (read from its ``__init__.py`` as text)."""
    base = Path(src_dir) if src_dir else check_device_dir()
    text = (base / PACKAGE / "__init__.py").read_text()
    m = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", text, re.M)
    if not m:
        raise ValueError(f"no __version__ = '...' line in {base / PACKAGE / '__init__.py'}")
    return m.group(1)


def package_files(base: Path, suffix: str) -> list[str]:
    """Files ``tinysense/**/*<suffix>`` under ``base``, as sorted POSIX paths relative to ``base``."""
    base = Path(base)
    return sorted(p.relative_to(base).as_posix() for p in (base / PACKAGE).rglob(f"*{suffix}") if p.is_file())


def make_package_json(files, version: str) -> dict:
    """A mip package description installing each relative path in ``files`` to the same path."""
    return {"urls": [[f, f] for f in files], "version": version}


def device_package_json(src_dir: Path | None = None) -> dict:
    """The package description of the device sources (what ``device/package.json`` must contain)."""
    base = Path(src_dir) if src_dir else check_device_dir()
    return make_package_json(package_files(base, ".py"), device_version(base))


def dumps(package: dict) -> str:
    """Serialise a package description the way it is committed: one URL pair per line."""
    lines = ",\n".join("    " + json.dumps(pair) for pair in package["urls"])
    return '{\n  "urls": [\n' + lines + '\n  ],\n  "version": ' + json.dumps(package["version"]) + "\n}\n"


def write_device_package_json(src_dir: Path | None = None) -> Path:
    """Regenerate ``package.json`` next to the device package; returns its path."""
    base = Path(src_dir) if src_dir else check_device_dir()
    path = base / PACKAGE_JSON
    path.write_text(dumps(device_package_json(base)))
    return path


def write_build_package_json(arch_dir: Path, version: str | None = None) -> Path:
    """Write ``package.json`` for one architecture's build folder (``ARCH/tinysense/*.mpy``)."""
    arch_dir = Path(arch_dir)
    files = package_files(arch_dir, ".mpy")
    if not files:
        raise FileNotFoundError(f"no {PACKAGE}/*.mpy files in {arch_dir}; build them first (tinysense build)")
    path = arch_dir / PACKAGE_JSON
    path.write_text(dumps(make_package_json(files, version or device_version())))
    return path


def check_package_json(path: Path, base: Path | None = None, suffix: str = ".py") -> list[str]:
    """Compare a package.json with the files beside it; returns a list of problems (empty if fine).

    Checks that every URL names an existing file, that every ``tinysense`` file of ``suffix`` is
    listed, that each file installs to the same relative path it is fetched from, and that no
    target is listed twice.
    """
    path = Path(path)
    base = Path(base) if base else path.parent
    try:
        package = json.loads(path.read_text())
    except FileNotFoundError:
        return [f"{path} does not exist"]
    except ValueError as e:
        return [f"{path} is not valid JSON: {e}"]
    problems = []
    urls = package.get("urls")
    if not isinstance(urls, list) or not urls:
        return [f"{path} has no 'urls' list"]
    if not isinstance(package.get("version"), str):
        problems.append(f"{path} has no 'version' string")
    targets = []
    for entry in urls:
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(s, str) for s in entry)):
            problems.append(f"malformed entry {entry!r}: expected [target, url]")
            continue
        target, url = entry
        targets.append(target)
        if target != url:
            problems.append(f"{target!r} is fetched from a different path {url!r}")
        if not (base / url).is_file():
            problems.append(f"listed file {url!r} does not exist in {base}")
    dupes = sorted({t for t in targets if targets.count(t) > 1})
    if dupes:
        problems.append(f"listed more than once: {', '.join(dupes)}")
    missing = sorted(set(package_files(base, suffix)) - set(targets))
    if missing:
        problems.append(f"not listed (mip would not install them): {', '.join(missing)}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tinysense.packaging",
        description="Regenerate device/package.json (the mip package description) from the device sources.",
    )
    parser.add_argument("--check", action="store_true", help="only check that the committed file is up to date")
    args = parser.parse_args(argv)
    path = DEVICE_DIR / PACKAGE_JSON
    if args.check:
        problems = check_package_json(path)
        expected = dumps(device_package_json())
        if not problems and path.read_text() != expected:
            problems.append("contents differ from the generated file (version or order changed)")
        for p in problems:
            print(f"{path.name}: {p}", file=sys.stderr)
        if problems:
            print("run `tinysense package` to regenerate it", file=sys.stderr)
            return 1
        print(f"{path} is up to date ({len(json.loads(expected)['urls'])} files)")
        return 0
    path = write_device_package_json()
    print(f"wrote {path} ({len(json.loads(path.read_text())['urls'])} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
