"""A- and C-frequency-weighting filters (IEC 61672-1) as second-order sections, 8 to 48 kHz.

Method. The analog weightings are

    A(s) = k_A s^4 / ((s + w1)^2 (s + w2)(s + w3)(s + w4)^2)
    C(s) = k_C s^2 / ((s + w1)^2 (s + w4)^2)

with the pole frequencies f1 = 20.598997, f2 = 107.65265, f3 = 737.86223 and f4 = 12194.217 Hz
of IEC 61672-1 (Annex E), normalized to 0 dB at 1 kHz. The low-frequency part — the zeros at DC
and the poles f1 (twice), f2, f3 — goes through the bilinear transform: it maps s = 0 exactly to
z = 1 (so the numerators are exactly 1, -2, 1) and warps these frequencies by less than 0.1 %.
The f4 pole pair lies near or above Nyquist, where the bilinear transform squeezes the response
towards zero at fs/2: plain bilinear A-weighting at 16 kHz is already about -2 dB off at
0.35 fs. So the last section is a general biquad *fitted* (scipy ``least_squares``, on dB error,
poles kept inside radius 0.95) so that the whole cascade follows the analog magnitude from 10 Hz
up to 0.45 fs, with full weight up to 0.35 fs. It also carries the overall gain, so the
low-frequency sections keep exact integer numerators in the fixed-point kernel.

The result follows IEC 61672-1 within 0.1 dB from 20 Hz to 0.35 fs for every rate from 8 to
48 kHz (checked by ``tests/host/test_design.py``); :func:`deviation` and :func:`plot` show the
deviation up to fs/2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import optimize, signal

F1, F2, F3, F4 = 20.598997, 107.65265, 737.86223, 12194.217
KINDS = ("A", "C")
RATE_MIN, RATE_MAX = 8000, 48000
BAND_TOP = 0.35  # the design follows IEC 61672-1 from 20 Hz to BAND_TOP * fs
TOLERANCE_DB = 0.5


def _check(kind: str, fs: float) -> str:
    k = str(kind).upper().replace("-WEIGHTING", "").replace("WEIGHTING", "")
    if k not in KINDS:
        raise ValueError(f"unknown weighting {kind!r}; expected 'A' or 'C'")
    if not RATE_MIN <= fs <= RATE_MAX:
        raise ValueError(f"sample rate {fs:g} Hz is outside {RATE_MIN}..{RATE_MAX} Hz")
    return k


def analog_db(kind: str, f) -> np.ndarray:
    """The IEC 61672-1 weighting in dB at frequencies ``f`` (Hz): the analog formula (Annex E),
    0 dB at 1 kHz."""
    k = _check(kind, RATE_MIN)
    f = np.asarray(f, dtype=float)

    def raw(f2):
        if k == "A":
            return F4**2 * f2**2 / ((f2 + F1**2) * np.sqrt(f2 + F2**2) * np.sqrt(f2 + F3**2) * (f2 + F4**2))
        return F4**2 * f2 / ((f2 + F1**2) * (f2 + F4**2))

    with np.errstate(divide="ignore"):
        return 20 * np.log10(raw(f * f) / raw(1e6))


def _pole(f: float, fs: float) -> float:
    w = np.pi * f / fs  # bilinear image of s = -2 pi f
    return (1 - w) / (1 + w)


def _fit_grid(fs: float):
    f = np.r_[np.geomspace(10, 1000, 60), np.linspace(1000, 0.45 * fs, 240)[1:]]
    weight = np.where(f <= BAND_TOP * fs, 1.0, 0.2)
    return f, weight


@np.errstate(under="ignore")  # whatever the caller's numpy error settings
def design(kind: str, fs: float) -> np.ndarray:
    """Second-order sections (scipy layout, shape (n, 6)) of the A (3 sections) or C (2 sections)
    weighting at sample rate ``fs`` (8000..48000 Hz). Low-frequency sections first."""
    k = _check(kind, fs)
    p1 = _pole(F1, fs)
    low = [[1.0, -2.0, 1.0, 1.0, -2 * p1, p1 * p1]]
    if k == "A":
        p2, p3 = _pole(F2, fs), _pole(F3, fs)
        low.append([1.0, -2.0, 1.0, 1.0, -(p2 + p3), p2 * p3])
    low = np.array(low)
    f, weight = _fit_grid(fs)
    w = 2 * np.pi * f / fs
    target = analog_db(k, f)
    _, h_low = signal.sosfreqz(low, worN=w)
    low_db = 20 * np.log10(np.abs(h_low))

    def response_db(p):
        _, h = signal.sosfreqz(np.r_[p[:3], 1.0, p[3:]][None, :], worN=w)
        return low_db + 20 * np.log10(np.abs(h) + 1e-300)

    p4 = _pole(F4, fs)
    x0 = np.array([1.0, 2.0, 1.0, 2 * p4, p4 * p4])
    i1k = np.argmin(np.abs(f - 1000))
    x0[:3] *= 10 ** ((target[i1k] - response_db(x0)[i1k]) / 20)

    def residuals(p):
        radius = np.abs(np.roots([1.0, p[3], p[4]])).max()
        return np.r_[(response_db(p) - target) * weight, 1e3 * max(radius - 0.95, 0.0)]

    p = optimize.least_squares(residuals, x0, x_scale="jac").x
    return np.vstack([low, np.r_[p[:3], 1.0, p[3:]]])


@np.errstate(under="ignore")
def deviation(sos, kind: str, fs: float, f=None):
    """``(f, dev_db)``: the response of ``sos`` minus the IEC 61672-1 weighting, default from
    20 Hz to fs/2 (excluded)."""
    if f is None:
        f = np.r_[np.geomspace(20, 1000, 200), np.linspace(1000, fs / 2, 800)[1:-1]]
    f = np.asarray(f, dtype=float)
    _, h = signal.sosfreqz(np.asarray(sos, dtype=float), worN=2 * np.pi * f / fs)
    with np.errstate(divide="ignore"):
        return f, 20 * np.log10(np.abs(h)) - analog_db(kind, f)


def max_deviation(sos, kind: str, fs: float) -> float:
    """Largest |deviation| in dB from 20 Hz to 0.35 fs."""
    f = np.r_[np.geomspace(20, 1000, 300), np.linspace(1000, BAND_TOP * fs, 600)[1:]]
    return float(np.abs(deviation(sos, kind, fs, f)[1]).max())


def plot(path, curves, kind: str, fs: float) -> None:
    """Save a PNG of the deviation from IEC 61672-1 up to fs/2. ``curves``: ``{label: sos}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True)
    f = np.geomspace(10, fs / 2 * 0.999, 1200)
    ax1.semilogx(f, analog_db(kind, f), "k--", lw=1, label="IEC 61672-1 (analog)")
    for label, sos in curves.items():
        _, d = deviation(sos, kind, fs, f)
        ax1.semilogx(f, analog_db(kind, f) + d, lw=1.2, label=label)
        ax2.semilogx(f, d, lw=1.2, label=label)
    for ax in (ax1, ax2):
        ax.axvline(BAND_TOP * fs, color="grey", lw=0.8, ls=":")
        ax.grid(True, which="both", alpha=0.3)
    ax1.set_ylim(-80, 10)
    ax1.set_ylabel("gain (dB)")
    ax1.legend(fontsize=8)
    ax2.axhspan(-TOLERANCE_DB, TOLERANCE_DB, color="tab:green", alpha=0.12, label="±0.5 dB")
    ax2.set_ylim(-3, 3)
    ax2.set_ylabel("deviation (dB)")
    ax2.set_xlabel(f"frequency (Hz); dotted line: 0.35 fs = {BAND_TOP * fs:g} Hz")
    ax1.set_title(f"{kind}-weighting at {fs:g} Hz")
    fig.tight_layout()
    fig.savefig(Path(path), dpi=110)
    plt.close(fig)


def bilinear(kind: str, fs: float) -> np.ndarray:
    """Plain bilinear-transform sections (no correction), for comparison in plots and tests."""
    k = _check(kind, fs)
    z, p, g = [0.0] * (4 if k == "A" else 2), [-2 * np.pi * F1] * 2 + [-2 * np.pi * F4] * 2, 1.0
    if k == "A":
        p += [-2 * np.pi * F2, -2 * np.pi * F3]
    zd, pd, gd = signal.bilinear_zpk(z, p, g, fs)
    sos = signal.zpk2sos(zd, pd, gd)
    _, h = signal.sosfreqz(sos, worN=[2 * np.pi * 1000 / fs])
    sos[0, :3] /= np.abs(h[0])
    return sos
