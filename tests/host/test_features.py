"""tinysense.features (host reference): its integer definitions against float numpy, the
mirrored fixed-point FFT against numpy.fft, layouts and their kind-5 files. That the device
computes the same integers is tests/device/test_features.py."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from tinysense import build, modelfile, unixport
from tinysense import features as F
from tinysense.paths import DEVICE_DIR


def windows(rng, n, count=40):
    t = np.arange(n)
    w = [rng.integers(-32768, 32768, (n, 3)), np.round(rng.normal(0, 30, (n, 3))) + 1000,
         np.round(8000 * np.sin(2 * np.pi * 3 * t / 100))[:, None] * np.ones((1, 3)),
         np.full((n, 3), 32767), np.full((n, 3), -32768),
         np.where((t % 2 == 0)[:, None], 32767, -32768) * np.ones((1, 3))]
    w += [np.round(rng.normal(0, rng.uniform(1, 12000), (n, 3))) + rng.integers(-16000, 16000) for _ in range(count)]
    return np.clip(np.array(w), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("n", [64, 128, 256, 1024])
def test_fixed_fft_is_close_to_numpy(n):
    # the mirror of device fft.RFFT; its accuracy bound is the device's (tests/device/test_fft.py):
    # below -70 dB of max|x| * N/2 in every bin
    rng = np.random.default_rng(n)
    x = np.concatenate([rng.integers(-32768, 32768, (4, n)), np.round(rng.normal(0, 3, (4, n)))]).astype(np.int64)
    re, im, e = F.rfft_fixed(x)
    got = (re + 1j * im) * 2.0 ** e[:, None]
    ref = np.fft.rfft(x)
    scale = np.maximum(np.abs(x).max(axis=1), 1) * n / 2
    err = np.abs(got - ref).max(axis=1) / scale
    assert (20 * np.log10(np.maximum(err, 1e-12)) < -70).all(), err


def test_statistics_against_float_definitions():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 25, 100, 128, 1024):
        layout = F.default_layout(rate=100, length=n, hop=n)
        w = windows(rng, n)
        X = np.array([F.extract(x, layout) for x in w]).astype(float)
        got = {name: X[:, i] for i, name in enumerate(layout.names)}
        for c, sig in enumerate("xyz"):
            x = w[:, :, c].astype(float)
            assert np.abs(got[f"{sig}_mean"] - x.mean(axis=1)).max() <= 0.5  # rounded half up
            assert (got[f"{sig}_min"] == x.min(axis=1)).all() and (got[f"{sig}_max"] == x.max(axis=1)).all()
            for q, name in ((50, "median"), (25, "q25"), (75, "q75")):
                # numpy's linear interpolation, rounded to the nearest integer
                assert np.abs(got[f"{sig}_{name}"] - np.percentile(x, q, axis=1)).max() <= 0.5, (n, name)
            iqr = np.minimum(got[f"{sig}_q75"] - got[f"{sig}_q25"], 32767)
            assert (got[f"{sig}_iqr"] == iqr).all()
            # std and rms: rounding to 2**k before squaring (k keeps the sum within int32) and
            # the floored root; k <= log2(2 * max|d| / isqrt(2**31 / n)), so the error is below
            # 2 * max|d| / 2**31 * sqrt(2**31 / n) ~ 0.0014 max|d| at n = 1024, plus one count
            d = np.abs(x - x.mean(axis=1, keepdims=True)).max(axis=1)
            tol = 2 * d / math.isqrt((2**31 - 1) // n) + 1.5
            std = np.minimum(x.std(axis=1), 32767)
            assert (np.abs(got[f"{sig}_std"] - std) <= tol).all(), (n, np.abs(got[f"{sig}_std"] - std).max())
            rms = np.minimum(np.sqrt((x * x).mean(axis=1)), 32767)
            tol = 2 * np.abs(x).max(axis=1) / math.isqrt((2**31 - 1) // n) + 1.5
            assert (np.abs(got[f"{sig}_rms"] - rms) <= tol).all(), n
            m = got[f"{sig}_mean"][:, None]
            above = x >= m
            cross = (above[:, 1:] != above[:, :-1]).sum(axis=1)
            want = np.round(cross * 1000 / (n - 1)) if n > 1 else np.zeros(len(x))
            assert np.abs(got[f"{sig}_mcr"] - want).max() <= 0.5
        mag = np.floor(np.sqrt((w.astype(float) ** 2).sum(axis=2)) / 2)
        assert (got["mag_min"] == mag.min(axis=1)).all() and (got["mag_max"] == mag.max(axis=1)).all()
        assert np.abs(got["mag_mean"] - mag.mean(axis=1)).max() <= 0.5


def test_band_energies_against_float():
    # 16 * log2 of the band's energy of (x - mean) >> 1: the 1/16-octave log is piecewise linear
    # and floored (from 0 to 2.38 steps below 16 log2), and the fixed-point FFT's errors
    # (< -70 dB of the largest bin) matter only for bands far below it: compare bands within
    # 40 dB of the strongest one
    rng = np.random.default_rng(1)
    for n, rate in ((128, 100), (25, 25), (100, 100), (1024, 100)):
        layout = F.default_layout(rate=rate, length=n, hop=n)
        w = windows(rng, n)[6:]
        nfft = F.fft_size(n)
        X = np.array([F.extract(x, layout) for x in w]).astype(float)
        for c, sig in enumerate("xyz"):
            x = w[:, :, c].astype(np.int64)
            m = X[:, layout.names.index(f"{sig}_mean")].astype(np.int64)
            d = (x - m[:, None]) >> 1
            spec = np.abs(np.fft.rfft(d, n=nfft)) ** 2
            for lo, hi in F.DEFAULT_BANDS:
                a, b = F.band_bins(lo, hi, rate, nfft)
                E = spec[:, a:b].sum(axis=1)
                ok = E > spec[:, 1:].max(axis=1) * 1e-4
                ref = 16 * np.log2(np.maximum(E, 1))
                got = X[:, layout.names.index(f"{sig}_e{lo}_{hi}")]
                diff = (got - ref)[ok]
                assert diff.size and diff.min() >= -2.6 and diff.max() <= 0.2, (n, lo, hi, diff.min(), diff.max())


def test_lg16_and_isqrt_are_exact():
    v = np.concatenate([np.arange(1, 5000), 2 ** np.arange(0, 50), 2 ** np.arange(1, 50) - 1]).astype(np.int64)
    for x, got in zip(v, F.lg16(v)):
        b = int(x).bit_length() - 1
        assert got == 16 * b + ((int(x) << 4) >> b) - 16
    assert F.lg16(np.array([0, -5])).tolist() == [0, 0]
    r = np.concatenate([np.arange(0, 100000), 2 ** np.arange(0, 62) - 1, 2 ** np.arange(0, 62)]).astype(np.int64)
    assert (F.isqrt(r) == np.array([math.isqrt(int(a)) for a in r])).all()


def test_squares_stay_within_int32():
    # the bound the device kernels rely on: n squares of values rounded to 2**k stay < 2**31
    for n in (1, 2, 3, 25, 100, 127, 128, 1000, 1024):
        a = np.arange(0, 65536, dtype=np.int64)
        k = F._shift_for(a, n)
        h = np.where(k > 0, 1 << np.maximum(k - 1, 0), 0)
        for r in ((a + h) >> k, (h - a) >> k):  # the rounded value of +a and of -a
            assert (np.abs(r) <= (a >> k) + 1).all()
            assert (n * r * r <= 2**31 - 1).all(), n
        assert (n * ((a >> k) + 1) ** 2 <= 2**31 - 1).all()


def test_extract_all_uses_the_device_windows():
    rng = np.random.default_rng(2)
    rec = rng.integers(-2000, 2000, (1000, 3)).astype(np.int16)
    layout = F.default_layout(length=128, hop=50)
    X = F.extract_all(rec, layout)
    assert X.shape == (18, 56) and X.dtype == np.int16
    assert list(F.window_starts(1000, layout)) == list(range(0, 873, 50))
    assert (X[3] == F.extract(rec[150:278], layout)).all()
    assert F.extract_all(rec[:127], layout).shape == (0, 56)


def test_layout_names_and_defaults():
    layout = F.default_layout()
    assert (layout.channels, layout.length, layout.hop, layout.rate, layout.n_features) == (3, 128, 64, 100, 56)
    assert layout.names[:3] == ["x_mean", "x_std", "x_min"] and layout.names[-1] == "mag_e6_12"
    assert F.default_layout(channels=2).n_features == 28
    assert F.band_bins(0, 1, 100, 128) == (1, 2)  # bin 0 (DC) is never in a band
    assert F.band_bins(6, 12, 25, 64) == (16, 31)
    first, last = F.band_bins(20, 30, 25, 64)  # above Nyquist: empty, energy 0
    assert first == last


@pytest.mark.parametrize("kwargs, words", [
    (dict(channels=0), "channels"), (dict(channels=7), "channels"), (dict(length=0), "length"),
    (dict(length=1025), "length"), (dict(hop=0), "hop"), (dict(rate=0), "rate"),
    (dict(names=["x_mean", "x_mean"]), "unique"), (dict(names=["x_kurtosis"]), "kurtosis"),
    (dict(names=["q_mean"]), "unknown signal"), (dict(names=["x_e5_2"]), "e<lo>_<hi>"),
    (dict(channels=2, names=["mag_std"]), "mag"),
    (dict(names=["x_e\u0663_5"]), "e<lo>_<hi>"),  # an Arabic-Indic 3: Python's int() takes it, the device does not
])
def test_layout_errors(kwargs, words):
    args = dict(channels=3, length=128, hop=64, rate=100, names=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=words.replace("<", ".").replace(">", ".")):
        F.Layout(**args)
    with pytest.raises(TypeError, match="length"):
        F.Layout(3, 128.0, 64, 100)


def test_extract_errors():
    layout = F.default_layout()
    with pytest.raises(ValueError, match=r"\(128, 3\)"):
        F.extract(np.zeros((100, 3), np.int16), layout)
    with pytest.raises(TypeError, match="int16"):
        F.extract(np.zeros((128, 3)), layout)
    with pytest.raises(ValueError, match="outside int16"):
        F.extract(np.full((128, 3), 40000), layout)
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        F.extract_all(np.zeros((500, 2), np.int16), layout)


def test_layout_file_round_trip(tmp_path):
    layout = F.Layout(3, 50, 25, 50, ["mag_std", "x_e1_3", "z_q25"])
    size = F.save_layout(layout, tmp_path / "l.tsm")
    assert size == (tmp_path / "l.tsm").stat().st_size
    mf = modelfile.load(tmp_path / "l.tsm")
    assert mf.kind == modelfile.KIND_FEATURES and mf.fields == [3, 50, 25, 50, 3, 1]
    assert F.load_layout(tmp_path / "l.tsm") == layout
    modelfile.save(tmp_path / "v2.tsm", modelfile.KIND_FEATURES, [3, 50, 25, 50, 1, 2],
                   [("name", "B", np.frombuffer(b"x_std", np.uint8))])
    with pytest.raises(ValueError, match="version 2"):
        F.load_layout(tmp_path / "v2.tsm")
    modelfile.save(tmp_path / "k1.tsm", modelfile.KIND_TREES, [1], [])
    with pytest.raises(ValueError, match="kind"):
        F.load_layout(tmp_path / "k1.tsm")


def test_motion_modules_on_kernels_they_cannot_load(tmp_path):
    """A viper module that does not load (here a .mpy for armv7m on the x64 unix port, which
    raises ValueError; a port without native emitters raises SyntaxError) leaves window, knn and
    the IMU on their plain-Python twins, and features with an ImportError saying why."""
    lib = tmp_path / "lib"
    shutil.copytree(DEVICE_DIR, lib)
    for name in ("window_viper", "knn_viper", "features_viper", "sensors/imu_viper"):
        src = lib / "tinysense" / f"{name}.py"
        build.compile_file(src, src.with_suffix(".mpy"), "armv7m")
        src.unlink()
    script = tmp_path / "fallback.py"
    script.write_text("""import array
from tinysense import window, knn, features
from tinysense.sensors import imu
print(window._copy_in is window._copy_in_py, knn._nearest is knn._nearest_py, imu.KERNEL)
w = window.Window(1, 2, 1)
out = array.array("h", [0, 0])
w.push(array.array("h", [5, -7]), 2)
print(w.pop(out), list(out))
m = knn.KNN(2, 3, 1)
m.add(array.array("h", [0, 0]), "a")
m.add(array.array("h", [-32768, 32767]), "b")
print(m.predict(array.array("h", [-30000, 30000])))
try:
    features.Extractor(3, 32, 25)
except ImportError as e:
    print("ImportError", e)
""")
    proc = unixport.run(script, libdirs=[lib], check=True)
    lines = proc.stdout.split("\n")
    assert lines[0] == "True True python"
    assert lines[1] == "True [5, -7]" and lines[2] == "b"
    assert lines[3].startswith("ImportError") and "another architecture" in lines[3]
