"""The activity tracker (apps/activity_tracker/main.py) on the MicroPython unix port: over held-out
exercise recordings its features and predictions equal the host's window for window (100 and
25 Hz), a changed host prediction is reported as a mismatch, the loop allocates nothing per
window, the collect mode writes .npy files numpy reads, and `tinysense train har` /
`tinysense run activity_tracker` work end to end."""

from __future__ import annotations

import csv
import os
import subprocess

import numpy as np
import pytest

from tinysense import har, unixport
from tinysense import run_activity as ra
from tinysense.cli import main
from tinysense.paths import DEVICE_DIR

DATA = ra.DEFAULT_DATA
QUICK = ["--trees", "5", "--max-leaf-nodes", "16", "--folds", "3"]


def run_app(args, cwd, check=False):
    env = dict(os.environ)
    env["MICROPYPATH"] = unixport.micropython_path_env([DEVICE_DIR])
    proc = subprocess.run([unixport.micropython_path(), str(ra.APP_DIR / "main.py"), *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr + proc.stdout[-2000:]
    return proc


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`tinysense train har` end to end, with quick settings."""
    out = tmp_path_factory.mktemp("har")
    code = main(["train", "har", "--data", str(DATA), "--out", str(out), *QUICK])
    assert code == 0
    return out


def test_train_cli_writes_the_files_and_reports(tmp_path, capsys):
    out = tmp_path / "har"
    code = main(["train", "har", "--data", str(DATA), "--out", str(out), "--rate", "25", "--trees", "3",
                 "--max-leaf-nodes", "8", "--folds", "2", "--heldout", "0.1"])
    text = capsys.readouterr().out
    assert code == 0, text
    for stage in ("[1/5] load", "[2/5] split", "[3/5] windows", "[4/5] validate", "[5/5] train"):
        assert stage in text
    assert "32 samples (1.28 s) every 16 at 25 Hz (decimated by 4 from 100 Hz" in text
    assert "truncated 2000-01-01T000051_jumpingjack.npy: 750 of 1000 rows" in text
    assert "skipped   2000-01-01T000407_squat.npy: empty file" in text
    assert "cross-validated accuracy (grouped by recording): 0." in text and "true \\ predicted" in text
    for f in (har.MODEL_FILE, har.LAYOUT_FILE, har.HELDOUT_FILE, har.PREDICTIONS_FILE, har.CONFUSION_PNG):
        assert (out / f).is_file()
    rows = har.read_heldout(out)
    assert rows and all(r["replay"].startswith("replay25/") and r["rate_hz"] == "25" for r in rows)
    # the decimated copies are what the device replays at 25 Hz; one of them, through the app
    x = np.load(out / rows[0]["replay"])
    assert x.shape == (250, 3) and x.dtype == np.int16
    code, recs, _ = ra.check(out, DATA, tmp_path / "run", limit=1, say=lambda line: None)
    assert code == 0 and recs[0].n == (250 - 32) // 16 + 1 == recs[0].equal_predictions() == recs[0].equal_features()


def test_bad_options_say_what_is_wrong(tmp_path, capsys):
    assert main(["train", "har", "--data", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "har", "--data", str(DATA), "--out", str(tmp_path), "--folds", "1"]) == 2
    assert "at least 2 folds" in capsys.readouterr().err
    assert main(["train", "har", "--data", str(DATA), "--out", str(tmp_path), "--window", "64", "--hop", "80"]) == 2
    assert "hop" in capsys.readouterr().err


def test_device_predictions_equal_the_host(trained, tmp_path):
    said = []
    code, recs, res = ra.check(trained, DATA, tmp_path, limit=3, say=said.append)
    assert code == 0, "\n".join(said) + res.stderr
    assert len(recs) == 3 and [r.device is not None for r in recs] == [True] * 3
    for r in recs:
        assert r.n == 14  # held-out recordings are complete: (1000 - 128) // 64 + 1 windows
        assert r.device_raw() == r.host_pred
        assert [r.device.features[i] for i in range(r.n)] == r.host_features.tolist()
        assert r.device_smooth() == ra.majority(r.host_pred, ra.SMOOTH)
        assert [w[1] for w in r.device.windows] == [(128 + 64 * i) / 100 for i in range(14)]
    assert any("equal the host's on 42/42, features on 42/42, smoothed activity on 42/42" in s for s in said)
    with open(tmp_path / "activity_windows.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 42 and all(r["equal"] == "1" for r in rows)
    assert (tmp_path / "activity_timeline.png").stat().st_size > 10000


def test_the_mpy_build_gives_the_same_windows(trained, tmp_path):
    """On a board the library runs as .mpy files (native code compiled ahead): the same windows."""
    from tinysense import build

    build.build("x64", tmp_path / "mpy")
    said = []
    code, recs, res = ra.check(trained, DATA, tmp_path / "run", limit=2, say=said.append, libdirs=[tmp_path / "mpy"])
    assert code == 0, "\n".join(said) + res.stderr
    assert sum(r.equal_predictions() for r in recs) == sum(r.equal_features() for r in recs) == 28


def test_a_different_host_prediction_is_a_mismatch(trained, tmp_path):
    """The comparison can fail: change one of the host's predictions and the run reports it."""
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for f in trained.iterdir():
        if f.is_file():
            (model_dir / f.name).write_bytes(f.read_bytes())
    path = model_dir / har.PREDICTIONS_FILE
    with open(path) as f:
        rows = list(csv.DictReader(f))
    first = rows[0]["recording"]
    classes = sorted({r["host_prediction"] for r in rows} | {r["label"] for r in rows})
    rows[5]["host_prediction"] = next(c for c in classes if c != rows[5]["host_prediction"])
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    said = []
    code, _, _ = ra.check(model_dir, DATA, tmp_path / "run", names=[first], say=said.append)
    assert code == 1
    assert any(f"MISMATCH {first} window 5: device" in s for s in said), said
    assert any("13/14" in s for s in said)


def test_features_changed_since_training_are_named(trained, tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for f in trained.iterdir():
        if f.is_file():
            (model_dir / f.name).write_bytes(f.read_bytes())
    F = np.load(model_dir / har.FEATURES_FILE)
    F[20, 3] += 1  # a window of the second recording
    np.save(model_dir / har.FEATURES_FILE, F)
    second = har.read_heldout(model_dir)[1]["recording"]
    assert len(ra.held_out(model_dir, DATA, limit=1)) == 1  # the first recording is unchanged
    with pytest.raises(ValueError, match=f"{second}: the host's features differ from those the model was trained"):
        ra.held_out(model_dir, DATA, limit=2)


def test_run_cli(trained, tmp_path, capsys):
    code = main(["run", "activity_tracker", "--data", str(DATA), "--model-dir", str(trained), "--recordings", "2",
                 "--smooth", "3", "--out-dir", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "window 13  t 9.60 s  raw " in text
    assert "2 held-out recordings, 28 windows: the device's predictions equal the host's on 28/28" in text
    assert (tmp_path / "activity_timeline.png").is_file()


def test_no_allocation_per_window(trained, tmp_path):
    """A quiet tracking loop allocates the same for 1,000 frames as for 10,000: nothing per
    window or per FIFO read (the fixed part is the read buffer and the replay's file)."""
    rec = np.load(DATA / "recordings" / "2024-12-01T162620_squat.npy")
    np.save(tmp_path / "short.npy", rec)
    np.save(tmp_path / "long.npy", np.tile(rec, (10, 1)))
    script = tmp_path / "alloc.py"
    script.write_text(f"""import gc, sys
sys.path.insert(0, {str(ra.APP_DIR)!r})
import main
from tinysense import features, trees
from tinysense.sensors import imu
t = main.Tracker(trees.load({str(trained / har.MODEL_FILE)!r}), features.load({str(trained / har.LAYOUT_FILE)!r}), 5,
                 quiet=True)
for name in ("short", "long", "short", "long"):
    r = imu.ReplayIMU({str(tmp_path)!r} + "/" + name + ".npy")
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    n = t.run(r, 64)
    print(name, n, gc.mem_alloc() - a)
    gc.enable()
""")
    proc = unixport.run(script, libdirs=[DEVICE_DIR], check=True)
    got = [line.split() for line in proc.stdout.split("\n") if line.strip()]
    assert [(g[0], int(g[1])) for g in got] == [("short", 14), ("long", 155), ("short", 14), ("long", 155)]
    alloc = [int(g[2]) for g in got]
    assert alloc[1] == alloc[2] == alloc[3], alloc  # the first run also makes the replay's lazy state


def test_collect_mode_writes_npy(tmp_path):
    src = DATA / "recordings" / "2024-12-01T162620_squat.npy"
    proc = run_app(["--collect", "squat", "--seconds", "3", "--countdown", "2", "--count", "2", "--out", "recs",
                    "--replay", src], tmp_path, check=True)
    assert "squat in 2" in proc.stdout and "saved recs/rec002_squat.npy: 300 rows (3.00 s at 100 Hz)" in proc.stdout
    a = np.load(src)
    first, second = np.load(tmp_path / "recs" / "rec001_squat.npy"), np.load(tmp_path / "recs" / "rec002_squat.npy")
    assert first.dtype == np.int16 and first.shape == second.shape == (300, 3)
    assert np.array_equal(first, a[:300]) and np.array_equal(second, a[300:600])
    # the next run numbers on; the trainer reads the files and their label
    run_app(["--collect", "squat", "--seconds", "1", "--countdown", "0", "--count", "1", "--out", "recs",
             "--replay", src], tmp_path, check=True)
    assert (tmp_path / "recs" / "rec003_squat.npy").is_file()
    # the trainer reads every recording as 100 Hz: a 25 Hz one would be decimated again, silently
    proc = run_app(["--collect", "squat", "--rate", "25", "--count", "1", "--out", "recs", "--replay", src], tmp_path)
    assert proc.returncode == 1 and "100 Hz" in proc.stderr and "--rate 25" in proc.stderr
    assert not (tmp_path / "recs" / "rec004_squat.npy").exists()
    ds = har.load(tmp_path / "recs")
    assert [(r.name, r.label, len(r.data)) for r in ds.recordings] == [
        ("rec001_squat.npy", "squat", 300), ("rec002_squat.npy", "squat", 300), ("rec003_squat.npy", "squat", 100)]


def test_app_errors(trained, tmp_path):
    proc = run_app(["--model", trained / har.MODEL_FILE, "--layout", trained / har.LAYOUT_FILE], tmp_path)
    assert proc.returncode == 1 and "no machine.I2C on this port: give --replay" in proc.stderr
    proc = run_app(["--layout", tmp_path / "none.tsm"], tmp_path)
    assert proc.returncode == 1 and "feature layout" in proc.stderr and "tinysense train har" in proc.stderr
    proc = run_app(["--model", trained / har.MODEL_FILE, "--layout", trained / har.LAYOUT_FILE, "--rate", "25",
                    "--replay", "x.npy"], tmp_path)
    assert proc.returncode == 1 and "retrain with --rate 25" in proc.stderr
    proc = run_app(["--fill", "0.9"], tmp_path)
    assert proc.returncode == 1 and "--fill" in proc.stderr
    # an empty recording among others is skipped with a line; the others still play
    empty = DATA / "recordings" / "2000-01-01T000407_squat.npy"
    good = DATA / "recordings" / "2024-12-01T162620_squat.npy"
    proc = run_app(["--model", trained / har.MODEL_FILE, "--layout", trained / har.LAYOUT_FILE, "--quiet",
                    "--replay", f"{empty},{good}"], tmp_path, check=True)
    assert f"skipped {empty}" in proc.stdout and "end: 14 windows" in proc.stdout and "1 recordings skipped" in proc.stdout


def test_majority_ties_go_to_the_latest():
    assert ra.majority(["a", "b", "b", "a"], 4) == ["a", "b", "b", "a"]
    assert ra.majority(["a", "a", "b", "b", "b", "c"], 3) == ["a", "a", "a", "b", "b", "b"]
    assert ra.majority(["a", "b", "c"], 1) == ["a", "b", "c"]


FAKE_MACHINE = '''"""A board for the activity tracker's hardware path on the unix port: machine.Pin, and a
machine.I2C with an MPU6886 on it that samples a recording into its FIFO (8-byte frames: x, y,
z big-endian and the temperature) at the rate its registers set. Its clock moves only in
machine.lightsleep(ms); once every frame has been sampled, the next sleep is a Ctrl-C."""
import sys

RECORDING = %r
pins = []


class Pin:
    IN, OUT, PULL_UP = 1, 3, 2

    def __init__(self, pin, mode=None, pull=None, value=None):
        pins.append((pin, mode, pull, value))

    def value(self, v=None):
        return 1


class _Chip:
    def __init__(self):
        with open(RECORDING, "rb") as f:
            raw = f.read()
        hl = raw[8] | raw[9] << 8
        self.data = raw[10 + hl:]
        self.n = len(self.data) // 6
        self.regs = bytearray(128)
        self.regs[0x75] = 0x19
        self.fifo = bytearray()
        self.pos = 0
        self.t_ms = 0
        self.due = 0.0

    def tick(self, ms):
        on = self.regs[0x6A] & 0x40 and self.regs[0x23] & 0x08
        rate = 1000 // (1 + self.regs[0x19])
        self.t_ms += ms
        if not on:
            return
        self.due += ms * rate / 1000
        while self.due >= 1 and self.pos < self.n:
            self.due -= 1
            if len(self.fifo) + 8 > 1024:  # FIFO_MODE=1: a full FIFO keeps its frames
                self.regs[0x3A] |= 0x10
            else:
                d = self.data[6 * self.pos:6 * self.pos + 6]
                self.fifo += bytes([d[1], d[0], d[3], d[2], d[5], d[4], 0x0B, 0x7E])
            self.pos += 1


chip = None


class I2C:
    def __init__(self, bus, scl=None, sda=None, freq=None):
        global chip
        self.args = (bus, scl, sda, freq)
        chip = _Chip()

    def readfrom_mem_into(self, addr, reg, buf):
        if addr != 0x68:
            raise OSError(19)
        if reg == 0x74:
            n = len(buf)
            buf[:] = chip.fifo[:n]
            chip.fifo = chip.fifo[n:]
            return
        for i in range(len(buf)):
            r = reg + i
            buf[i] = (len(chip.fifo) >> 8 if r == 0x72 else len(chip.fifo) & 0xFF if r == 0x73
                      else chip.regs[r])
            if r == 0x3A:
                chip.regs[0x3A] = 0

    def writeto_mem(self, addr, reg, buf):
        if addr != 0x68:
            raise OSError(19)
        for i in range(len(buf)):
            v = buf[i]
            if reg + i == 0x6A and v & 0x04:
                chip.fifo = bytearray()
                v &= ~0x04
            chip.regs[reg + i] = v if reg + i != 0x75 else 0x19


def lightsleep(ms):
    if chip.pos >= chip.n:
        raise KeyboardInterrupt
    chip.tick(ms)
'''


def test_hardware_path_with_a_simulated_mpu6886(trained, tmp_path):
    """main.py without --replay drives machine.I2C through sensors.imu.MPU6886, here a simulated
    chip that plays a held-out recording: the same windows as the host, then Ctrl-C stops it."""
    row = har.read_heldout(trained)[0]
    rec = DATA / "recordings" / row["recording"]
    (tmp_path / "machine.py").write_text(FAKE_MACHINE % str(rec))
    env = dict(os.environ)
    env["MICROPYPATH"] = unixport.micropython_path_env([tmp_path, DEVICE_DIR])
    proc = subprocess.run([unixport.micropython_path(), str(ra.APP_DIR / "main.py"), "--light-sleep",
                           "--model", str(trained / har.MODEL_FILE), "--layout", str(trained / har.LAYOUT_FILE)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr + proc.stdout[-1500:]
    assert "MPU6886 at 0x68 on I2C(0, scl=22, sda=21)" in proc.stdout
    assert "stopped after 14 windows" in proc.stdout
    got = [line.split()[6] for line in proc.stdout.split("\n") if line.startswith("window ")]
    host = [p for _, _, p in har.read_predictions(trained)[row["recording"]]]
    assert got == host


def test_another_imu_on_the_bus_is_named(trained, tmp_path):
    """An MPU6050 (WHO_AM_I 0x68) where the app expects an MPU6886: one clear line naming the chip
    and the class to use, exit status 1, no traceback."""
    rec = DATA / "recordings" / har.read_heldout(trained)[0]["recording"]
    board = FAKE_MACHINE.replace("self.regs[0x75] = 0x19", "self.regs[0x75] = 0x68")
    board = board.replace("if reg + i != 0x75 else 0x19", "if reg + i != 0x75 else 0x68")
    (tmp_path / "machine.py").write_text(board % str(rec))
    env = dict(os.environ)
    env["MICROPYPATH"] = unixport.micropython_path_env([tmp_path, DEVICE_DIR])
    proc = subprocess.run([unixport.micropython_path(), str(ra.APP_DIR / "main.py"),
                           "--model", str(trained / har.MODEL_FILE), "--layout", str(trained / har.LAYOUT_FILE)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "MPU6050" in out and "Traceback" not in out, out


def test_demo_step(tmp_path):
    """run_activity.demo, the step `tinysense demo` runs: trains, replays three held-out
    recordings of different activities, all windows equal."""
    said = []
    assert ra.demo(tmp_path, say=said.append) == 0, "\n".join(said)
    text = "\n".join(said)
    assert "cross-validated accuracy (5 folds grouped by recording): 0." in text
    assert "device == host on 42/42 windows (features 42/42)" in text
    assert (tmp_path / "activity_timeline.png").is_file() and (tmp_path / "har" / har.MODEL_FILE).is_file()
