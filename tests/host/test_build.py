"""Every device module compiles for every architecture, none is dropped, and the x64 build runs.

The module list is never written down here: it is whatever ``device/tinysense/**/*.py`` holds
when the tests run, so a new module is covered the moment it exists. A build that quietly
leaves a module out (as happened to a peer library whose ``.py`` half stopped being installed)
fails ``test_every_module_is_built``.

The size table is printed by ``test_size_report`` and also attached to its report as the
``mpy_sizes`` property (JUnit XML); in a plain ``pytest`` run it appears in the terminal summary,
and under ``pytest -n`` with ``-rP``.
"""

from __future__ import annotations

import json

import pytest

from tinysense import build as tsbuild
from tinysense import packaging, unixport
from tinysense.cli import size_table
from tinysense.paths import DEVICE_DIR

# sys.implementation._mpy >> 10 on a board, and bits 2-7 of byte 2 of an .mpy with native code.
ARCH_CODES = {
    "x86": 1, "x64": 2, "armv6": 3, "armv6m": 4, "armv7m": 5, "armv7em": 6, "armv7emsp": 7,
    "armv7emdp": 8, "xtensa": 9, "xtensawin": 10, "rv32imc": 11,
}
MPY_VERSION = 6
NATIVE_MARKERS = ("@micropython.viper", "@micropython.native", "@micropython.asm_")


def sources() -> list[str]:
    return [p.as_posix() for p in tsbuild.device_sources(DEVICE_DIR)]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    return out, tsbuild.build_all(out, tsbuild.ARCHS)


def test_archs_are_known():
    assert set(tsbuild.ARCHS) <= set(ARCH_CODES), "add the new arch's code to ARCH_CODES and docs/install.md"
    assert set(tsbuild.ARCHS) <= set(tsbuild.ARCH_HINTS)


@pytest.mark.parametrize("arch", tsbuild.ARCHS)
def test_every_module_is_built(built, arch):
    out, results = built
    expected = {s[:-3] + ".mpy" for s in sources()}
    on_disk = {p.relative_to(out / arch).as_posix() for p in (out / arch / "tinysense").rglob("*") if p.is_file()}
    reported = {m.path.relative_to(out / arch).as_posix() for m in results[arch]}
    assert on_disk == expected, f"{arch}: built files differ from the sources"
    assert reported == expected
    assert not list((out / arch).rglob("*.py")), "no .py source may sit next to the .mpy files"
    for m in results[arch]:
        assert m.size == m.path.stat().st_size > 0


@pytest.mark.parametrize("arch", tsbuild.ARCHS)
def test_mpy_headers_name_the_arch(built, arch):
    """Byte 2 of an .mpy holds the arch (0 for portable bytecode) and the sub-version."""
    out, _ = built
    for src in sources():
        header = (out / arch / (src[:-3] + ".mpy")).read_bytes()[:4]
        assert header[:2] == b"M" + bytes([MPY_VERSION]), f"{src}: not an mpy v{MPY_VERSION} file"
        code = header[2] >> 2
        native = any(marker in (DEVICE_DIR / src).read_text() for marker in NATIVE_MARKERS)
        if native:
            assert code == ARCH_CODES[arch], f"{src} has native code but its .mpy is for arch {code}"
        else:
            assert code in (0, ARCH_CODES[arch]), f"{src}: .mpy arch {code}"


def test_size_report(built, record_property, request):
    out, results = built
    src_sizes = {str(p.with_suffix("")).replace("/", "."): (DEVICE_DIR / p).stat().st_size
                 for p in tsbuild.device_sources(DEVICE_DIR)}
    table = size_table(results, src_sizes)
    lines = table.splitlines()
    assert lines[-1].startswith("total")
    assert len(lines) == 3 + len(src_sizes)
    record_property("mpy_sizes", table)
    print("\n.mpy sizes in bytes\n" + table)
    _SizeReport.register(request.config, table)


class _SizeReport:
    """Adds the size table to pytest's terminal summary of this run (not shown by xdist workers)."""

    def __init__(self, table):
        self.table = table

    @classmethod
    def register(cls, config, table):
        if not config.pluginmanager.has_plugin("tinysense-mpy-sizes"):
            config.pluginmanager.register(cls(table), "tinysense-mpy-sizes")

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_sep("-", ".mpy sizes in bytes (tests/host/test_build.py)")
        terminalreporter.write_line(self.table)


IMPORT_ALL = """
import sys
names = sys.argv[1:]
for name in names:
    try:
        mod = __import__(name, None, None, ["__name__"])
        print("OK", name, getattr(mod, "__file__", "?"))
    except ImportError as e:
        print("IMPORTERROR", name, e)
mpy = sys.implementation._mpy
print("MPY", mpy & 0xFF, (mpy >> 8) & 3, mpy >> 10)
"""


def test_x64_build_imports_on_unix_port(built, tmp_path):
    """Only the x64 build folder is on the path: each module must load from its .mpy."""
    out, _ = built
    script = tmp_path / "import_all.py"
    script.write_text(IMPORT_ALL)
    names = [s[:-3].replace("/", ".").removesuffix(".__init__") for s in sources()]
    proc = unixport.run(script, names, libdirs=[out / "x64"], cwd=tmp_path, timeout=120, check=True)
    lines = proc.stdout.splitlines()
    ok = {line.split()[1]: line.split()[2] for line in lines if line.startswith("OK ")}
    failed = [line for line in lines if line.startswith("IMPORTERROR ")]
    # A hardware driver may need a module the unix port lacks (machine.I2S, ...); its .mpy
    # still loaded far enough to raise that. A missing tinysense module is a build bug.
    bad = [line for line in failed if "tinysense" in line.split(" ", 2)[2] or "no module named" not in line.lower()]
    assert not bad, "\n".join(bad)
    assert "tinysense" in ok
    for name, file in ok.items():
        assert file.endswith(".mpy"), f"{name} was imported from {file}, not from the .mpy build"
    mpy = next(line for line in lines if line.startswith("MPY")).split()[1:]
    assert [int(v) for v in mpy] == [MPY_VERSION, 3, ARCH_CODES["x64"]], "unix port is not mpy v6.3 x64"


def test_x64_build_runs_package_code(built, tmp_path):
    """Beyond importing: the compiled package answers with the same version as the sources."""
    out, _ = built
    script = tmp_path / "version.py"
    script.write_text("import tinysense\nprint(tinysense.__version__)\n")
    proc = unixport.run(script, libdirs=[out / "x64"], cwd=tmp_path, timeout=60, check=True)
    assert proc.stdout.strip() == packaging.device_version()


def test_cli_build_writes_installable_package_json(tmp_path, capsys):
    from tinysense.cli import main

    assert main(["build", "--arch", "x64,armv6m", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "[1/2] x64" in text and "[2/2] armv6m" in text and "total" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["armv6m", "x64"]
    for arch in ("x64", "armv6m"):
        pj = tmp_path / arch / "package.json"
        assert packaging.check_package_json(pj, suffix=".mpy") == []
        urls = [u for _, u in json.loads(pj.read_text())["urls"]]
        assert urls == sorted(s[:-3] + ".mpy" for s in sources())


def test_rebuild_drops_stale_modules(tmp_path):
    """A module deleted from the sources disappears from the next build (no stale .mpy)."""
    src = tmp_path / "src"
    (src / "tinysense").mkdir(parents=True)
    (src / "tinysense" / "__init__.py").write_text("__version__ = '0'\n")
    (src / "tinysense" / "old.py").write_text("x = 1\n")
    tsbuild.build("x64", tmp_path / "out", src)
    (src / "tinysense" / "old.py").unlink()
    built = tsbuild.build("x64", tmp_path / "out", src)
    assert [m.name for m in built] == ["tinysense.__init__"]
    assert not (tmp_path / "out" / "tinysense" / "old.mpy").exists()


def test_install_doc_arch_table_matches_mpy_cross():
    """docs/install.md tells users which ``_mpy >> 10`` code means which ``--arch``; keep it true."""
    import re

    from tinysense.paths import ROOT

    rows = re.findall(r"^\| `([a-z0-9]+)`(?: / `([a-z0-9]+)`)? \| (\d+)(?: / (\d+))? \|", (ROOT / "docs" / "install.md").read_text(), re.M)
    assert rows, "arch table not found in docs/install.md"
    seen = set()
    for a1, a2, c1, c2 in rows:
        for arch, code in ((a1, c1), (a2, c2)):
            if arch:
                assert ARCH_CODES[arch] == int(code), f"docs/install.md: {arch} is code {ARCH_CODES[arch]}, not {code}"
                seen.add(arch)
    assert set(tsbuild.ARCHS) <= seen, f"docs/install.md lacks {set(tsbuild.ARCHS) - seen}"


def test_install_doc_arch_snippet_runs(tmp_path):
    """The "find your board's architecture" snippet in docs/install.md, run on the unix port."""
    import re

    from tinysense.paths import ROOT

    text = (ROOT / "docs" / "install.md").read_text()
    section = text[text.index("### Find your board's architecture"):]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    script = tmp_path / "arch.py"
    script.write_text(snippet)
    proc = unixport.run(script, cwd=tmp_path, timeout=60, check=True)
    assert proc.stdout.strip() == "mpy v6.3, arch x64"


def test_build_refuses_to_overwrite_the_sources(tmp_path):
    src = tmp_path / "src"
    (src / "tinysense").mkdir(parents=True)
    (src / "tinysense" / "__init__.py").write_text("")
    with pytest.raises(ValueError, match="source folder"):
        tsbuild.build("x64", src, src)
    assert (src / "tinysense" / "__init__.py").is_file()
