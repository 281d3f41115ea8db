"""mip packaging: the committed ``device/package.json`` matches the files, and mip really installs it.

A peer library's package.json once listed files that no longer existed, and every user's
install broke. Here the file is generated (``tinysense package``) and these tests check

* that the committed file is exactly what the generator makes from the current sources
  (every listed file exists, every device file is listed, and is tracked by git so GitHub
  serves it);
* that MicroPython's own ``mip`` (frozen into the unix port) installs the package from an HTTP
  server on 127.0.0.1, both the ``.py`` sources and the x64 ``.mpy`` build, and the result
  imports with nothing else on the path;
* that ``mpremote mip install ./device/package.json`` (the command in docs/install.md) installs
  it onto a "board": the unix port behind a pseudo-terminal, which mpremote drives like a
  serial board.

Installing from ``github:tinysense/tinysense/...`` needs the network and is not tested; the
URL mpremote derives from it is.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading

import pytest

from tinysense import build as tsbuild
from tinysense import packaging, unixport
from tinysense.paths import DEVICE_DIR, ROOT

from ptyboard import PtyBoard  # tests/host/ptyboard.py

PACKAGE_JSON = DEVICE_DIR / "package.json"


def module_names(files) -> list[str]:
    """Importable names for ``tinysense/...py`` or ``.mpy`` paths."""
    names = []
    for f in files:
        stem = f.rsplit(".", 1)[0].replace("/", ".")
        names.append(stem[: -len(".__init__")] if stem.endswith(".__init__") else stem)
    return names


# ---------------------------------------------------------------- the committed file
def test_committed_package_json_lists_exactly_the_device_files():
    problems = packaging.check_package_json(PACKAGE_JSON)
    assert not problems, "device/package.json is stale (run `tinysense package`):\n" + "\n".join(problems)
    assert PACKAGE_JSON.read_text() == packaging.dumps(packaging.device_package_json()), (
        "device/package.json differs from the generated one (run `tinysense package`)"
    )


def test_package_version_is_the_device_version():
    assert json.loads(PACKAGE_JSON.read_text())["version"] == packaging.device_version()


def test_listed_files_are_tracked_by_git():
    """mip fetches from the repository: a listed file that was never committed is a 404 for users."""
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "ls-files", "device"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"git ls-files failed: {proc.stderr.strip()}")
    tracked = {line[len("device/"):] for line in proc.stdout.splitlines()}
    listed = [url for _, url in json.loads(PACKAGE_JSON.read_text())["urls"]]
    untracked = [u for u in listed if u not in tracked]
    assert not untracked, f"listed in device/package.json but not committed: {untracked}"


# ---------------------------------------------------------------- the checker itself
@pytest.fixture
def tree(tmp_path):
    (tmp_path / "tinysense" / "sub").mkdir(parents=True)
    for rel in ("__init__.py", "a.py", "sub/__init__.py", "sub/b.py"):
        (tmp_path / "tinysense" / rel).write_text("__version__ = '1.2'\n" if rel == "__init__.py" else "x = 1\n")
    return tmp_path


def test_generator_covers_subpackages(tree):
    package = packaging.device_package_json(tree)
    assert package == {
        "urls": [[f, f] for f in ("tinysense/__init__.py", "tinysense/a.py", "tinysense/sub/__init__.py",
                                  "tinysense/sub/b.py")],
        "version": "1.2",
    }
    path = packaging.write_device_package_json(tree)
    assert json.loads(path.read_text()) == package
    assert packaging.check_package_json(path) == []


@pytest.mark.parametrize("change, message", [
    ("rename", "does not exist"),
    ("add", "not listed"),
    ("duplicate", "more than once"),
    ("retarget", "different path"),
    ("not-json", "not valid JSON"),
    ("no-urls", "no 'urls'"),
])
def test_checker_finds_stale_package_json(tree, change, message):
    path = packaging.write_device_package_json(tree)
    package = json.loads(path.read_text())
    if change == "rename":
        (tree / "tinysense" / "a.py").rename(tree / "tinysense" / "a_new.py")
    elif change == "add":
        (tree / "tinysense" / "c.py").write_text("")
    elif change == "duplicate":
        package["urls"].append(package["urls"][0])
    elif change == "retarget":
        package["urls"][1][0] = "a.py"
    elif change == "no-urls":
        package = {"version": "1"}
    if change == "not-json":
        path.write_text("{'urls': []}")
    elif change not in ("rename", "add"):
        path.write_text(json.dumps(package))
    problems = packaging.check_package_json(path)
    assert any(message in p for p in problems), problems


# ---------------------------------------------------------------- MicroPython's mip
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def http_server(directory):
    """Serve ``directory`` on 127.0.0.1 (a free port) for the duration of the block."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


MIP_INSTALL = """
import sys
import mip
mip.install(sys.argv[1], target=sys.argv[2])
"""

IMPORT_ALL = """
import sys
for name in sys.argv[1:]:
    mod = __import__(name, None, None, ["__name__"])
    print("OK", name, mod.__file__)
"""


def mip_install(url, target, workdir):
    script = workdir / "mip_install.py"
    script.write_text(MIP_INSTALL)
    proc = unixport.run(script, [url, str(target)], cwd=workdir, timeout=120, check=True)
    return proc.stdout


def import_all(libdir, names, workdir):
    """Import ``names`` on the unix port with only ``libdir`` on the path; returns name -> file."""
    script = workdir / "import_all.py"
    script.write_text(IMPORT_ALL)
    proc = unixport.run(script, names, libdirs=[libdir], cwd=workdir, timeout=120, check=True)
    return {line.split()[1]: line.split()[2] for line in proc.stdout.splitlines() if line.startswith("OK ")}


def has_frozen_mip():
    proc = subprocess.run([unixport.micropython_path(), "-c", "import mip, requests"], capture_output=True, timeout=30)
    return proc.returncode == 0


needs_mip = pytest.mark.skipif(not has_frozen_mip(), reason="this MicroPython build has no mip/requests")


@needs_mip
def test_mip_installs_sources_over_http(tmp_path):
    target = tmp_path / "lib"
    with http_server(DEVICE_DIR) as base:
        out = mip_install(f"{base}/package.json", target, tmp_path)
    assert "partially installed" not in out and "Done" in out, out
    listed = [t for t, _ in json.loads(PACKAGE_JSON.read_text())["urls"]]
    for rel in listed:
        assert (target / rel).read_bytes() == (DEVICE_DIR / rel).read_bytes()
    imported = import_all(target, module_names(listed), tmp_path)
    assert sorted(imported) == sorted(module_names(listed))
    assert all(f.endswith(".py") for f in imported.values())


@needs_mip
def test_mip_installs_x64_mpy_build_over_http(tmp_path):
    dist = tmp_path / "dist"
    tsbuild.build("x64", dist / "x64")
    packaging.write_build_package_json(dist / "x64")
    target = tmp_path / "lib"
    with http_server(dist) as base:
        out = mip_install(f"{base}/x64/package.json", target, tmp_path)
    assert "partially installed" not in out and "Done" in out, out
    installed = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert installed == sorted(str(p.with_suffix(".mpy").as_posix()) for p in tsbuild.device_sources())
    imported = import_all(target, module_names(installed), tmp_path)
    assert all(f.endswith(".mpy") for f in imported.values()), imported


@needs_mip
def test_mip_does_not_fail_loudly_on_a_stale_package_json(tmp_path):
    """Why the static check above matters: mip reports a missing file but still returns normally."""
    site = tmp_path / "site"
    (site / "tinysense").mkdir(parents=True)
    (site / "tinysense" / "__init__.py").write_text("")
    (site / "package.json").write_text(json.dumps(
        {"urls": [["tinysense/__init__.py", "tinysense/__init__.py"], ["tinysense/gone.py", "tinysense/gone.py"]],
         "version": "0"}))
    with http_server(site) as base:
        out = mip_install(f"{base}/package.json", tmp_path / "lib", tmp_path)
    assert "partially installed" in out
    assert packaging.check_package_json(site / "package.json")


# ---------------------------------------------------------------- mpremote against the unix port
@pytest.fixture
def board(tmp_path):
    if os.name != "posix":
        pytest.skip("pseudo-terminals need a POSIX system")
    pytest.importorskip("mpremote")
    workdir = tmp_path / "board"
    workdir.mkdir()
    b = PtyBoard(workdir)
    yield b
    b.close()


def test_mpremote_mip_installs_from_a_local_checkout(board, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)  # the documented command is run from the checkout
    proc = board.mpremote("mip", "install", "--target", "lib", "./device/package.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = [t for t, _ in json.loads(PACKAGE_JSON.read_text())["urls"]]
    lib = board.workdir / "lib"
    assert sorted(p.relative_to(lib).as_posix() for p in lib.rglob("*") if p.is_file()) == sorted(listed)
    assert sorted(import_all(lib, module_names(listed), tmp_path)) == sorted(module_names(listed))


def test_mpremote_installs_an_mpy_build(board, tmp_path):
    dist = tmp_path / "dist"
    tsbuild.build("x64", dist / "x64")
    packaging.write_build_package_json(dist / "x64")
    proc = board.mpremote("mip", "install", "--target", "lib", str(dist / "x64" / "package.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = module_names(p.as_posix() for p in tsbuild.device_sources())
    assert all(f.endswith(".mpy") for f in import_all(board.workdir / "lib", names, tmp_path).values())


def test_mpremote_cp_recursive_into_existing_lib(board, tmp_path):
    """``mpremote cp -r dist/ARCH/tinysense :lib`` as docs/install.md says: ``:lib`` must exist.

    mpremote 1.29 copies a folder without subfolders to a destination that does not exist as if
    it were one file and fails with "-r not specified" (micropython/micropython#17267).
    """
    dist = tmp_path / "dist"
    tsbuild.build("x64", dist / "x64")
    proc = board.mpremote("mkdir", ":lib", "+", "cp", "-r", str(dist / "x64" / "tinysense"), ":lib")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = module_names(p.as_posix() for p in tsbuild.device_sources())
    assert all(f.endswith(".mpy") for f in import_all(board.workdir / "lib", names, tmp_path).values())


def test_github_url_resolution():
    """``mpremote mip install github:tinysense/tinysense/device/package.json`` fetches the raw files."""
    mip = pytest.importorskip("mpremote.mip")
    rewrite = getattr(mip, "_rewrite_url", None)
    if rewrite is None:
        pytest.skip("this mpremote has no _rewrite_url")
    url = "github:tinysense/tinysense/device/package.json"
    assert rewrite(url) == "https://raw.githubusercontent.com/tinysense/tinysense/HEAD/device/package.json"
    base = url.rpartition("/")[0]
    first = json.loads(PACKAGE_JSON.read_text())["urls"][0][1]
    assert rewrite(f"{base}/{first}", "v0.1.0") == (
        f"https://raw.githubusercontent.com/tinysense/tinysense/v0.1.0/device/{first}"
    )


def test_firmware_manifest_freezes_the_package():
    """``device/manifest.py`` (for freezing into firmware) names the package and the current version."""
    calls = {}
    namespace = {
        "metadata": lambda **kw: calls.setdefault("metadata", kw),
        "package": lambda path, **kw: calls.setdefault("package", []).append(path),
    }
    exec(compile((DEVICE_DIR / "manifest.py").read_text(), "manifest.py", "exec"), namespace)
    assert calls["package"] == ["tinysense"]
    assert calls["metadata"]["version"] == packaging.device_version()
