"""Time-domain and band-energy features of int16 sensor windows: the host reference.

Every feature is defined in integers (``docs/features.md``) so that the device
(``device/tinysense/features.py``, viper kernels) and this numpy code compute the same numbers;
this module mirrors the device's fixed-point FFT bit for bit for the band energies.

    layout = default_layout(rate=100, length=128, hop=64)
    f = extract(window, layout)            # window: int16 (length, channels) -> int16 (n_features,)
    F = extract_all(recording, layout)     # every window Window(channels, length, hop) yields
    save_layout(layout, "features.tsm")   # kind-5 file for features.load() on the device
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import modelfile

#: Version of the feature definitions stored in a layout file (header field 5).
DEFINITIONS = 1
CHANNEL_NAMES = "xyzuvw"
MAG = "mag"
STATS = ("mean", "std", "min", "max", "median", "q25", "q75", "iqr", "rms", "mcr")
DEFAULT_BANDS = ((0, 1), (1, 3), (3, 6), (6, 12))
MAX_LENGTH = 1024
MAX_CHANNELS = 6


def signal_names(channels: int) -> list[str]:
    """Signals features can be computed on: one per channel, plus ``mag`` when there are >= 3."""
    names = list(CHANNEL_NAMES[:channels])
    if channels >= 3:
        names.append(MAG)
    return names


def fft_size(length: int) -> int:
    """FFT length for a window: the next power of two >= length, at least 64 (zero-padded)."""
    n = 64
    while n < length:
        n *= 2
    return n


def parse_name(name: str, channels: int):
    """``(signal index, stat)`` or ``(signal index, (lo_hz, hi_hz))`` for a feature name such as
    ``x_mean``, ``mag_iqr`` or ``z_e1_3`` (energy in the band 1 Hz <= f < 3 Hz)."""
    sigs = signal_names(channels)
    if not isinstance(name, str) or "_" not in name:
        raise ValueError(f"feature name {name!r} is not <signal>_<feature>; signals are {sigs}")
    sig, _, feat = name.partition("_")
    if sig not in sigs:
        raise ValueError(f"feature {name!r}: unknown signal {sig!r}; with {channels} channels the signals are {sigs}")
    if feat in STATS:
        return sigs.index(sig), feat
    if feat.startswith("e") and feat.count("_") == 1:
        lo, _, hi = feat[1:].partition("_")
        # ASCII digits only, as on the device (str.isdigit alone takes other scripts' digits)
        if lo.isascii() and hi.isascii() and lo.isdigit() and hi.isdigit() and int(lo) < int(hi) <= 32767:
            return sigs.index(sig), (int(lo), int(hi))
    raise ValueError(f"feature {name!r}: unknown feature {feat!r}; expected one of {STATS} "
                     "or e<lo>_<hi> (band energy, integer Hz, lo < hi)")


@dataclass
class Layout:
    """What the device computes for a window: ``channels`` int16 channels, windows of ``length``
    samples every ``hop`` samples at ``rate`` Hz, and the feature ``names`` in output order."""

    channels: int = 3
    length: int = 128
    hop: int = 64
    rate: int = 100
    names: list[str] = field(default_factory=list)

    def __post_init__(self):
        for what in ("channels", "length", "hop", "rate"):
            v = getattr(self, what)
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{what} must be an int, not {type(v).__name__}")
            setattr(self, what, int(v))
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise ValueError(f"channels must be 1..{MAX_CHANNELS}, not {self.channels}")
        if not 1 <= self.length <= MAX_LENGTH:
            raise ValueError(f"length must be 1..{MAX_LENGTH} samples, not {self.length}")
        if not 1 <= self.hop <= self.length:
            raise ValueError(f"hop must be 1..length ({self.length}), not {self.hop}")
        if not 1 <= self.rate <= 32767:
            raise ValueError(f"rate must be 1..32767 Hz, not {self.rate}")
        if not self.names:
            self.names = default_names(self.channels)
        self.names = [str(n) for n in self.names]
        if len(set(self.names)) != len(self.names):
            raise ValueError("feature names must be unique")
        self.parsed = [parse_name(n, self.channels) for n in self.names]

    @property
    def n_features(self) -> int:
        return len(self.names)

    @property
    def nfft(self) -> int:
        return fft_size(self.length)

    def __eq__(self, other):
        return (isinstance(other, Layout) and (self.channels, self.length, self.hop, self.rate, self.names)
                == (other.channels, other.length, other.hop, other.rate, other.names))


def default_names(channels: int = 3, bands=DEFAULT_BANDS) -> list[str]:
    """Every statistic and band energy for every signal, signal by signal."""
    out = []
    for sig in signal_names(channels):
        out += [f"{sig}_{s}" for s in STATS]
        out += [f"{sig}_e{lo}_{hi}" for lo, hi in bands]
    return out


def default_layout(rate: int = 100, length: int = 128, hop: int = 64, channels: int = 3) -> Layout:
    return Layout(channels, length, hop, rate, default_names(channels))


def band_bins(lo: int, hi: int, rate: int, nfft: int) -> tuple[int, int]:
    """First and one-past-last FFT bin k (1 <= k <= nfft/2) with lo <= k * rate / nfft < hi."""
    first = max(1, -(-lo * nfft // rate))
    last = min(nfft // 2 + 1, -(-hi * nfft // rate))
    return first, max(first, last)


# ---------------------------------------------------------------- integer building blocks


def isqrt(v: np.ndarray) -> np.ndarray:
    """floor(sqrt(v)) for int64 v >= 0, exactly."""
    v = np.asarray(v, dtype=np.int64)
    r = np.floor(np.sqrt(v.astype(np.float64))).astype(np.int64)
    r -= (r * r > v)
    r += ((r + 1) * (r + 1) <= v)
    return r


def lg16(v: np.ndarray) -> np.ndarray:
    """16 * log2(v) in 1/16 steps (piecewise linear between powers of two) for int64 v >= 1:
    16 * b + the 4 bits after the leading one, b = floor(log2 v); 0 for v < 1."""
    v = np.asarray(v, dtype=np.int64)
    out = np.zeros(v.shape, dtype=np.int64)
    pos = v >= 1
    vp = v[pos]
    b = np.floor(np.log2(vp.astype(np.float64))).astype(np.int64)
    b -= (np.left_shift(np.int64(1), b) > vp)
    b += (np.left_shift(np.int64(1), b + 1) <= vp)
    mant = np.where(b >= 4, np.right_shift(vp, np.maximum(b - 4, 0)), np.left_shift(vp, np.maximum(4 - b, 0))) & 15
    out[pos] = 16 * b + mant
    return out


def _shift_for(amax: np.ndarray, n: int) -> np.ndarray:
    """Smallest k >= 0 with (amax >> k) + 1 <= isqrt((2**31 - 1) // n): then n squares of values
    rounded to amax / 2**k sum below 2**31."""
    lim = math.isqrt((2**31 - 1) // n)
    k = np.zeros(amax.shape, dtype=np.int64)
    for _ in range(17):
        k += ((amax >> k) + 1 > lim)
    return k


def _round_shift(v: np.ndarray, k: np.ndarray) -> np.ndarray:
    """round(v / 2**k), halves up: (v + 2**(k-1)) >> k, and v for k = 0."""
    half = np.where(k > 0, np.left_shift(np.int64(1), np.maximum(k - 1, 0)), 0)
    return (v + half) >> k


def _root(ssq: np.ndarray, n: int, k: np.ndarray) -> np.ndarray:
    """sqrt(ssq * 4**k / n), floored, in the device's steps: q = ssq // n, rem = ssq % n, the
    largest j <= k with q * 4**j <= 2**30, then isqrt(q * 4**j + (rem * 4**j) // n) << (k - j)."""
    q, rem = ssq // n, ssq % n
    j = np.zeros(q.shape, dtype=np.int64)
    for _ in range(17):
        j += (j < k) & (q <= (np.int64(1 << 28) >> (2 * j)))
    v = (q << (2 * j)) + ((rem << (2 * j)) // n)
    return isqrt(v) << (k - j)


def _sat(v):
    return np.clip(v, -32768, 32767)


# ---------------------------------------------------------------- the device FFT, bit for bit


def _sin_table() -> np.ndarray:
    i = np.arange(257)
    return np.round(32768 * np.sin(2 * np.pi * i / 1024)).astype(np.int64)


_SINQ = _sin_table()


def _cos_sin(u: int) -> tuple[int, int]:
    if u <= 256:
        return int(_SINQ[256 - u]), int(_SINQ[u])
    return -int(_SINQ[u - 256]), int(_SINQ[512 - u])


_TABLES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _tables(nfft: int):
    """Bit-reversed offsets and twiddles (cos * 32768 in [-32768, 32768], sin * 32768 in
    [0, 32768]) exactly as device fft.RFFT makes them."""
    if nfft not in _TABLES:
        h = nfft // 2
        bits = h.bit_length() - 1
        rev = np.array([2 * int(format(j, f"0{bits}b")[::-1], 2) for j in range(h)], dtype=np.int64)
        step = 1024 // nfft
        cs = np.array([_cos_sin(k * step) for k in range(h)], dtype=np.int64)
        # the device stores cos - 1 in int16 and reads it back + 1: the same integer
        _TABLES[nfft] = (rev, cs)
    return _TABLES[nfft]


def _ones(v):
    return np.where(v < 0, -v - 1, v)


def _pass_max(*vals):
    m = np.zeros(vals[0].shape[0], dtype=np.int64)
    for v in vals:
        m = np.maximum(m, _ones(v).reshape(v.shape[0], -1).max(axis=1))
    return m


def rfft_fixed(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The device's fixed-point real FFT (device/tinysense/fft.py, ``RFFT.forward``) on a batch:
    ``x`` int (B, N), N a power of two 64..1024, values int16. Returns ``(re, im, e)``: int64
    (B, N/2 + 1) each and the exponents (B,), with numpy.fft.rfft(x) ~= (re + 1j im) * 2**e."""
    x = np.asarray(x, dtype=np.int64)
    B, N = x.shape
    n = N // 2  # complex points
    rev, cs = _tables(N)
    C, S = cs[:, 0], cs[:, 1]
    m = _ones(x).max(axis=1)
    s = np.where(m >= 0x4000, 2, np.where(m >= 0x2000, 1, 0))
    up = np.zeros(B, dtype=np.int64)
    b = m + 1
    for _ in range(14):
        grow = (s == 0) & (b <= 0x1000)
        b = np.where(grow, b * 2, b)
        up += grow
    e = s - up
    r = (np.left_shift(1, s) >> 2)[:, None]
    sc, upc = s[:, None], up[:, None]
    # complex working array zr, zi of n values
    q = rev.reshape(-1, 4)
    x0r, x0i = x[:, q[:, 0]], x[:, q[:, 0] + 1]
    x1r, x1i = x[:, q[:, 1]], x[:, q[:, 1] + 1]
    x2r, x2i = x[:, q[:, 2]], x[:, q[:, 2] + 1]
    x3r, x3i = x[:, q[:, 3]], x[:, q[:, 3] + 1]
    a0r, a0i, a1r, a1i = x0r + x1r, x0i + x1i, x0r - x1r, x0i - x1i
    a2r, a2i, a3r, a3i = x2r + x3r, x2i + x3i, x2r - x3r, x2i - x3i

    def st(v):
        return ((v << upc) + r) >> sc

    zr = np.empty((B, n), dtype=np.int64)
    zi = np.empty((B, n), dtype=np.int64)
    zr[:, 0::4], zi[:, 0::4] = st(a0r + a2r), st(a0i + a2i)
    zr[:, 1::4], zi[:, 1::4] = st(a1r + a3i), st(a1i - a3r)
    zr[:, 2::4], zi[:, 2::4] = st(a0r - a2r), st(a0i - a2i)
    zr[:, 3::4], zi[:, 3::4] = st(a1r - a3i), st(a1i + a3r)
    m = _pass_max(zr, zi)
    hh = 4  # complex values between the two inputs of a butterfly
    odd = (n.bit_length() - 1) & 1
    if odd:
        s = np.where(m >= 27136, 2, np.where(m >= 13568, 1, 0))
        sc = s[:, None]
        r = (np.left_shift(1, s) >> 1)[:, None]
        e = e + s
        cols = np.arange(hh)
        w = cols * (n // 4)  # twiddle index per column
        a = (cols[:, None] + 2 * hh * np.arange(n // (2 * hh))[None, :]).ravel()
        c = np.repeat(C[w], n // (2 * hh))
        sn = np.repeat(S[w], n // (2 * hh))
        bidx = a + hh
        br, bi = zr[:, bidx], zi[:, bidx]
        tr = (c * br + sn * bi + 0x4000) >> 15
        ti = (c * bi - sn * br + 0x4000) >> 15
        ar, ai = zr[:, a], zi[:, a]
        zr[:, a], zi[:, a] = (ar + tr + r) >> sc, (ai + ti + r) >> sc
        zr[:, bidx], zi[:, bidx] = (ar - tr + r) >> sc, (ai - ti + r) >> sc
        m = _pass_max(zr, zi)
        hh *= 2
    tj = n // 16 if odd else n // 8  # twiddle index step per column
    while hh < n:
        s = np.where(m >= 24960, 3, np.where(m >= 12480, 2, np.where(m >= 6240, 1, 0)))
        sc = s[:, None]
        r = (np.left_shift(1, s) >> 1)[:, None]
        e = e + s
        cols = np.arange(hh)
        w = cols * tj
        reps = n // (4 * hh)
        a = (cols[:, None] + 4 * hh * np.arange(reps)[None, :]).ravel()
        c1, s1 = np.repeat(C[w], reps), np.repeat(S[w], reps)
        c2, s2 = np.repeat(C[2 * w], reps), np.repeat(S[2 * w], reps)
        k3 = 3 * w
        wrap = k3 >= n
        k3 = np.where(wrap, k3 - n, k3)
        c3 = np.repeat(np.where(wrap, -C[k3], C[k3]), reps)
        s3 = np.repeat(np.where(wrap, -S[k3], S[k3]), reps)
        i1, i2, i3 = a + hh, a + 2 * hh, a + 3 * hh
        x0r, x0i = zr[:, a], zi[:, a]
        v, u = zr[:, i1], zi[:, i1]
        b1r, b1i = (c2 * v + s2 * u + 0x4000) >> 15, (c2 * u - s2 * v + 0x4000) >> 15
        v, u = zr[:, i2], zi[:, i2]
        b2r, b2i = (c1 * v + s1 * u + 0x4000) >> 15, (c1 * u - s1 * v + 0x4000) >> 15
        v, u = zr[:, i3], zi[:, i3]
        b3r, b3i = (c3 * v + s3 * u + 0x4000) >> 15, (c3 * u - s3 * v + 0x4000) >> 15
        t0r, t0i = x0r + b1r + r, x0i + b1i + r
        t1r, t1i = x0r - b1r + r, x0i - b1i + r
        t2r, t2i = b2r + b3r, b2i + b3i
        t3r, t3i = b2r - b3r, b2i - b3i
        zr[:, a], zi[:, a] = (t0r + t2r) >> sc, (t0i + t2i) >> sc
        zr[:, i2], zi[:, i2] = (t0r - t2r) >> sc, (t0i - t2i) >> sc
        zr[:, i1], zi[:, i1] = (t1r + t3i) >> sc, (t1i - t3r) >> sc
        zr[:, i3], zi[:, i3] = (t1r - t3i) >> sc, (t1i + t3r) >> sc
        m = _pass_max(zr, zi)
        hh *= 4
        tj //= 4
    s = np.where(m >= 32752, 2, np.where(m >= 16376, 1, 0))
    e = e + s
    sc = s[:, None]
    d = sc + 1
    r = np.left_shift(1, sc)
    r2 = np.left_shift(1, sc) >> 1
    outr = np.zeros((B, n + 1), dtype=np.int64)
    outi = np.zeros((B, n + 1), dtype=np.int64)
    ar, ai = zr[:, :1], zi[:, :1]
    outr[:, :1] = ((ar + ai) * 2 + r) >> d
    outr[:, n:] = ((ar - ai) * 2 + r) >> d
    h = n // 2
    ar, ai = zr[:, h:h + 1], zi[:, h:h + 1]
    outr[:, h:h + 1] = (ar * 2 + r) >> d
    outi[:, h:h + 1] = (r - ai * 2) >> d
    k = np.arange(1, h)
    ar, ai, br, bi = zr[:, k], zi[:, k], zr[:, n - k], zi[:, n - k]
    fr, fi = ar + br, ai - bi
    gr, gi = (ar - br + r2) >> sc, (ai + bi + r2) >> sc
    c, sn = C[k], S[k]
    tr = ((sn * gr - c * gi + 0x4000) >> 15) << sc
    ti = ((sn * gi + c * gr + 0x4000) >> 15) << sc
    outr[:, k], outi[:, k] = (fr - tr + r) >> d, (fi - ti + r) >> d
    outr[:, n - k], outi[:, n - k] = (fr + tr + r) >> d, (r - fi - ti) >> d
    return outr, outi, e


def power_fixed(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``RFFT.power`` on a batch: int64 (B, N/2 + 1) powers (< 2**30) and exponents p (B,),
    abs(rfft(x))**2 ~= pw * 2**p."""
    re, im, e = rfft_fixed(x)
    return re * re + im * im, 2 * e


# ---------------------------------------------------------------- features


def magnitude(w: np.ndarray) -> np.ndarray:
    """floor(sqrt(x**2 + y**2 + z**2) / 2) of the first three channels: int (n,), <= 28378."""
    w = np.asarray(w, dtype=np.int64)
    return isqrt((w[..., 0] ** 2 + w[..., 1] ** 2 + w[..., 2] ** 2) >> 2)


def _signal_features(sig: np.ndarray, want_stats: set, bands, rate: int) -> dict:
    """All features of a batch of signals ``sig`` int64 (B, n) as int64 arrays (B,) keyed by
    stat name or (lo, hi) band."""
    B, n = sig.shape
    out = {}
    ssum = sig.sum(axis=1)
    mean = (2 * (ssum + 32768 * n) + n) // (2 * n) - 32768
    mn, mx = sig.min(axis=1), sig.max(axis=1)
    out["mean"], out["min"], out["max"] = mean, mn, mx
    if "rms" in want_stats:
        a = np.maximum(-mn, mx)
        k = _shift_for(a, n)[:, None]
        rr = _round_shift(sig, k)
        out["rms"] = _sat(_root((rr * rr).sum(axis=1), n, k[:, 0]))
    d = sig - mean[:, None]
    if "std" in want_stats:
        a = np.maximum(mean - mn, mx - mean)
        k = _shift_for(a, n)[:, None]
        rr = _round_shift(d, k)
        out["std"] = _sat(_root((rr * rr).sum(axis=1), n, k[:, 0]))
    if "mcr" in want_stats:
        above = d >= 0
        cross = (above[:, 1:] != above[:, :-1]).sum(axis=1)
        out["mcr"] = (cross * 1000 + (n - 1) // 2) // (n - 1) if n > 1 else np.zeros(B, dtype=np.int64)
    if want_stats & {"median", "q25", "q75", "iqr"}:
        srt = np.sort(sig, axis=1)

        def quantile(num, den):
            pos = (n - 1) * num
            i, f = pos // den, pos % den
            lo = srt[:, i]
            hi = srt[:, min(i + 1, n - 1)]
            return lo + (((hi - lo) * f + den // 2) // den)

        out["median"] = quantile(1, 2)
        out["q25"] = quantile(1, 4)
        out["q75"] = quantile(3, 4)
        out["iqr"] = _sat(out["q75"] - out["q25"])
    if bands:
        nfft = fft_size(n)
        dev = np.zeros((B, nfft), dtype=np.int64)
        dev[:, :n] = d >> 1
        pw, p = power_fixed(dev)
        for lo, hi in bands:
            first, last = band_bins(lo, hi, rate, nfft)
            tot = pw[:, first:last].sum(axis=1)
            v = lg16(tot) + 16 * p
            out[(lo, hi)] = np.where(tot > 0, np.clip(v, 0, 32767), 0)
    return out


def _extract_batch(windows: np.ndarray, layout: Layout) -> np.ndarray:
    """windows int (B, length, channels) -> int16 (B, n_features)."""
    windows = np.asarray(windows, dtype=np.int64)
    B = windows.shape[0]
    nsig = len(signal_names(layout.channels))
    need: list[tuple[set, list]] = [(set(), []) for _ in range(nsig)]
    for si, what in layout.parsed:
        if isinstance(what, tuple):
            need[si][1].append(what)
        else:
            need[si][0].add(what)
    vals = []
    for si in range(nsig):
        if not need[si][0] and not need[si][1]:
            vals.append({})
            continue
        sig = magnitude(windows) if si == layout.channels else windows[:, :, si]
        vals.append(_signal_features(sig, need[si][0], need[si][1], layout.rate))
    out = np.empty((B, layout.n_features), dtype=np.int16)
    for j, (si, what) in enumerate(layout.parsed):
        out[:, j] = _sat(vals[si][what])
    return out


def _check_int16(a, what):
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{what} must be an integer (int16) array, not {a.dtype}")
    if a.size and (a.min() < -32768 or a.max() > 32767):
        raise ValueError(f"{what} has values outside int16")
    return a


def extract(window: np.ndarray, layout: Layout) -> np.ndarray:
    """Features of one window, int16 (length, channels) -> int16 (n_features,), exactly as the
    device's ``Extractor.compute`` makes them."""
    w = _check_int16(window, "window")
    if w.shape != (layout.length, layout.channels):
        raise ValueError(f"window has shape {w.shape}; expected ({layout.length}, {layout.channels})")
    return _extract_batch(w[None], layout)[0]


def window_starts(n_samples: int, layout: Layout) -> np.ndarray:
    """Start indices of the windows a device Window(channels, length, hop) yields from
    ``n_samples`` samples: 0, hop, 2 hop, ... while a whole window fits."""
    if n_samples < layout.length:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - layout.length + 1, layout.hop)


def extract_all(recording: np.ndarray, layout: Layout, batch: int = 256) -> np.ndarray:
    """Features of every window of ``recording`` int16 (n, channels): (n_windows, n_features)
    int16, windows as the device's Window yields them (:func:`window_starts`)."""
    rec = _check_int16(recording, "recording")
    if rec.ndim != 2 or rec.shape[1] != layout.channels:
        raise ValueError(f"recording has shape {rec.shape}; expected (n, {layout.channels})")
    starts = window_starts(len(rec), layout)
    out = np.empty((len(starts), layout.n_features), dtype=np.int16)
    idx = np.arange(layout.length)
    for i in range(0, len(starts), batch):
        st = starts[i:i + batch]
        out[i:i + batch] = _extract_batch(rec[st[:, None] + idx[None, :]], layout)
    return out


# ---------------------------------------------------------------- kind-5 layout files


def save_layout(layout: Layout, path) -> int:
    """Write ``layout`` as a kind-5 tinysense file (docs/features.md); returns its size."""
    names = "\n".join(layout.names).encode("utf-8")
    fields = [layout.channels, layout.length, layout.hop, layout.rate, layout.n_features, DEFINITIONS]
    return modelfile.save(path, modelfile.KIND_FEATURES, fields,
                          [("name", "B", np.frombuffer(names, dtype=np.uint8))])


def load_layout(path) -> Layout:
    """Read a kind-5 layout file; ValueError when it is not one or disagrees with itself."""
    mf = modelfile.load(path, modelfile.KIND_FEATURES)
    if len(mf.fields) < 6:
        raise ValueError(f"feature layout has {len(mf.fields)} header fields; expected 6")
    channels, length, hop, rate, n_features, version = mf.fields[:6]
    if version != DEFINITIONS:
        raise ValueError(f"feature definitions version {version}; this reader knows {DEFINITIONS}")
    if "name" not in mf.sections:
        raise ValueError("feature layout has no 'name' section")
    names = bytes(mf.section("name")).decode("utf-8").split("\n")
    if len(names) != n_features:
        raise ValueError(f"feature layout names {len(names)} features but its header says {n_features}")
    return Layout(channels, length, hop, rate, names)
