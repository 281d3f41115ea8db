"""Host reference for the device sound level meter (``device/tinysense/soundlevel.py``), and
calibrated test signals.

:func:`reference_levels` computes, in float64 with numpy/scipy, exactly what the device meter
defines: per-block Leq, Fast and Slow levels (exponential averaging of the mean square in 4 ms
sub-blocks), and Leq / Lmax / Lmin (of Fast, at sub-block ends) per interval; optionally A-weighted with scipy's float
design of IEC 61672-1's weighting (:func:`a_weighting_sos`, applied at 8x the sample rate so
that it follows the analog weighting up to 6.3 kHz). :func:`tone`, :func:`noise` and
:func:`silence` make int16 signals at a stated level in dB SPL for a microphone of a given
sensitivity (dBFS read at 94 dB SPL; 0 dBFS = a full-scale sine, mean square 2**29).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

REF_MS = 2.0**29  # mean square of a full-scale sine: 0 dBFS
FAST, SLOW = 0.125, 1.0
SUBBLOCK_MS = 4  # the device meter's time-weighting step


def a_weighting_sos(rate: float) -> np.ndarray:
    """IEC 61672-1 A-weighting as float second-order sections for ``rate`` Hz (bilinear
    transform of the analog poles and zeros), normalised to 0 dB at 1 kHz."""
    f1, f2, f3, f4 = 20.598997, 107.65265, 737.86223, 12194.217
    z = [0, 0, 0, 0]
    p = [-2 * np.pi * f1, -2 * np.pi * f1, -2 * np.pi * f4, -2 * np.pi * f4, -2 * np.pi * f2, -2 * np.pi * f3]
    zd, pd, kd = signal.bilinear_zpk(z, p, 1.0, rate)
    sos = signal.zpk2sos(zd, pd, kd)
    _, h = signal.sosfreqz(sos, worN=[1000.0], fs=rate)
    sos[0, :3] /= abs(h[0])
    return sos


def db_to_dbfs(db_spl: float, sensitivity: float = -26.0, ref_spl: float = 94.0) -> float:
    """The dBFS level a microphone of ``sensitivity`` reads for ``db_spl``."""
    return db_spl - ref_spl + sensitivity


def _scale(rms_target: float, x: np.ndarray) -> np.ndarray:
    return x * (rms_target / np.sqrt(np.mean(x**2)))


def tone(freq: float, db_spl: float, seconds: float, rate: int = 16000, sensitivity: float = -26.0,
         phase: float = 0.0) -> np.ndarray:
    """A sine of ``freq`` Hz at ``db_spl`` (unweighted) as int16 samples."""
    amp = np.sqrt(2 * REF_MS) * 10 ** (db_to_dbfs(db_spl, sensitivity) / 20)
    t = np.arange(int(round(seconds * rate))) / rate
    return _to_int16(amp * np.sin(2 * np.pi * freq * t + phase))


def noise(db_spl: float, seconds: float, rate: int = 16000, sensitivity: float = -26.0, seed: int = 0,
          pink: bool = False) -> np.ndarray:
    """White (or pink) Gaussian noise at ``db_spl`` (unweighted) as int16 samples."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    x = rng.standard_normal(n)
    if pink:
        spec = np.fft.rfft(x)
        f = np.arange(len(spec))
        spec[1:] /= np.sqrt(f[1:])
        spec[0] = 0
        x = np.fft.irfft(spec, n)
    rms_target = np.sqrt(REF_MS) * 10 ** (db_to_dbfs(db_spl, sensitivity) / 20)
    return _to_int16(_scale(rms_target, x))


def silence(seconds: float, rate: int = 16000) -> np.ndarray:
    """Digital silence: int16 zeros."""
    return np.zeros(int(round(seconds * rate)), dtype=np.int16)


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


@dataclass
class Levels:
    """Per-block and per-interval levels in dB (``-inf`` for zero energy)."""

    leq_block: np.ndarray
    fast: np.ndarray
    slow: np.ndarray
    intervals: list  # (Leq, Lmax, Lmin, seconds) per completed interval
    block_end: np.ndarray  # time of each block's end, seconds


def _db(e, offset):
    with np.errstate(divide="ignore"):
        return 10 * np.log10(np.asarray(e, dtype=float) / REF_MS) + offset


def reference_levels(x, rate: int = 16000, block: int = 2000, sensitivity: float = -26.0, ref_spl: float = 94.0,
                     weighting: str | np.ndarray | None = None, interval: float = 60.0) -> Levels:
    """What the device meter reports for ``x`` (int16) fed in blocks of ``block`` samples (a
    last shorter block included), computed in float64. ``weighting``: None (Z), ``"A"`` (scipy
    A-weighting, :func:`a_weighting_sos`) or float sections to apply first."""
    x = np.asarray(x, dtype=np.float64)
    over = 1
    if isinstance(weighting, str):
        if weighting.upper() != "A":
            raise ValueError(f"weighting must be 'A', None or sections, not {weighting!r}")
        # Filter at 8x the rate, where the bilinear transform follows the analog weighting within
        # 0.03 dB up to 6.3 kHz (at 16 kHz itself it is 0.5 dB low at 4 kHz). The upsampling
        # filter is flat to 0.49 x the original rate and spans +-64 original samples, so a change
        # in the signal is seen at most 4 ms early.
        over = 8
        h = signal.firwin(over * 128 + 1, 0.49 * rate, fs=over * rate, window=("kaiser", 9.0))
        x = signal.sosfilt(a_weighting_sos(over * rate), signal.resample_poly(x, over, 1, window=h))
    elif weighting is not None:
        x = signal.sosfilt(np.asarray(weighting, dtype=float), x)
    offset = ref_spl - sensitivity
    period = int(interval * rate + 0.5)
    sub = max(2, int(rate * SUBBLOCK_MS / 1000) & ~1)
    blk, fast, slow, ends, intervals = [], [], [], [], []
    ef = es = None
    acc, count, lmax, lmin = 0.0, 0, -np.inf, np.inf
    for start in range(0, len(x) // over, block):
        y = x[over * start:over * (start + block)]
        n = len(y) // over
        e = float(np.sum(y * y)) / over
        for s0 in range(0, n, sub):  # time weighting in sub-blocks, as the device
            z = y[over * s0:over * (s0 + sub)]
            k = len(z) // over
            ms_sub = float(np.sum(z * z)) / over / k
            if ef is None:
                ef = es = ms_sub
            else:
                af, as_ = np.exp(-k / rate / FAST), np.exp(-k / rate / SLOW)
                ef = af * ef + (1 - af) * ms_sub
                es = as_ * es + (1 - as_) * ms_sub
            lf = float(_db(ef, offset))
            lmax, lmin = max(lmax, lf), min(lmin, lf)
        ms = e / n
        blk.append(float(_db(ms, offset)))
        fast.append(lf)
        slow.append(float(_db(es, offset)))
        ends.append((start + n) / rate)
        acc += e
        count += n
        if count >= period:
            intervals.append((float(_db(acc / count, offset)), lmax, lmin, count / rate))
            acc, count, lmax, lmin = 0.0, 0, -np.inf, np.inf
    return Levels(np.array(blk), np.array(fast), np.array(slow), intervals, np.array(ends))
