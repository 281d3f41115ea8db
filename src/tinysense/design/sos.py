"""Quantize second-order sections for the device ``iir`` kernel and write them as a kind-4 file.

The device kernel (``device/tinysense/iir.py``, format in docs/modelfile.md) runs a cascade of
direct-form-I sections on int32 signals with ``S = 8`` fractional bits (int16 input << 8). Each
coefficient ``c`` is stored as an integer part ``n = round(c)`` (applied to whole signals) and a
residual ``r = round((c - n) * 2**F)`` (applied through two partial products on the signal's
12-bit halves), with ``F`` chosen per section as large as the int32 bounds allow. The truncation
of each section's sum to 8 fractional bits is fed back through the integer parts of the
denominator (error feedback), so poles near z = 1 do not amplify it.

:func:`quantize` picks ``F`` from worst-case signal bounds (L1 norms of the impulse responses to
every node) and refuses a filter whose intermediates could leave int32; :func:`simulate` is a
bit-exact model of the device kernel for host-side checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from .. import modelfile

FRAC = 8  # fractional bits of the kernel's signals (int16 input << 8)
SPLIT = 12  # signals are split into (v >> 12, v & 4095) for the residual products
STRIDE = 20  # int32 words per section in the packed table (see device/tinysense/iir.py)
HEADER = 4  # int32 words before the first section
LIMIT = 2**31 - 1
F_MAX = 30


@dataclass
class Quantized:
    """Integer sections for the device kernel and their checked worst-case bounds."""

    sos: np.ndarray  # float sections (n, 6), as designed
    table: np.ndarray  # (n, 11) int: nb0 nb1 nb2 na1 na2 rb0 rb1 rb2 ra1 ra2 F
    node_bounds: list  # worst |signal| at the input and after each section, in Q.8 units
    worst: int  # largest intermediate magnitude over the whole kernel (< 2**31)

    def sos_quantized(self) -> np.ndarray:
        """The float sections the integer table implements exactly."""
        t = self.table.astype(float)
        s = 2.0 ** t[:, 10:11]
        b = t[:, 0:3] + t[:, 5:8] / s
        a = t[:, 3:5] + t[:, 8:10] / s
        return np.hstack([b, np.ones((len(t), 1)), a])


def _impulse_l1(sos: np.ndarray, n: int = 1 << 16) -> float:
    x = np.zeros(n)
    x[0] = 1.0
    h = signal.sosfilt(sos, x)
    tail = np.abs(h[-(n // 8):]).max()
    if not np.isfinite(h).all() or tail > 1e-9 * max(np.abs(h).max(), 1e-300):
        raise ValueError("filter is unstable or decays too slowly (poles too close to the unit circle)")
    return float(np.abs(h).sum())


def _split_coeffs(b, a, F, zeros_at, kappa):
    """Integer (b0..2, a1, a2) scaled by 2**F, with exact zeros at z = 1 / z = -1 kept."""
    B = [int(round(v * 2.0**F)) for v in b]
    if zeros_at.get(1) == 2 and zeros_at.get(-1, 0) == 0:
        B = [B[0], -2 * B[0], B[0]]
    elif zeros_at.get(-1) == 2 and zeros_at.get(1, 0) == 0:
        B = [B[0], 2 * B[0], B[0]]
    elif zeros_at.get(1) and zeros_at.get(-1):
        B = [B[0], 0, -B[0]]
    elif zeros_at.get(1):
        B[1] = -(B[0] + B[2])
    elif zeros_at.get(-1):
        B[1] = B[0] + B[2]
    A = [int(round(v * 2.0**F)) for v in a]
    one = 1 << F

    def parts(v):
        n = (v + (one >> 1)) >> F  # round to nearest integer part
        return n, v - n * one

    nb, rb = zip(*(parts(v) for v in B))
    na = list(kappa)
    ra = [v - n * one for v, n in zip(A, na)]
    return list(nb) + na + list(rb) + ra + [F]


def _feedback(a) -> tuple:
    """Integer parts (k1, k2) of the denominator, which are also the error-feedback filter: the
    pair that makes the truncation noise's gain (1 + k1 z^-1 + k2 z^-2) / A(z) smallest."""
    imp = np.zeros(4096)
    imp[0] = 1.0
    best = None
    for k1 in range(-2, 3):
        for k2 in range(-1, 2):
            if abs(a[0] - k1) > 1 or abs(a[1] - k2) > 1:
                continue
            g = float(np.sum(signal.lfilter([1.0, k1, k2], [1.0, a[0], a[1]], imp) ** 2))
            if best is None or g < best[0] - 1e-9:
                best = (g, (k1, k2))
    return best[1]


def _zeros_on_axis(b):
    """How many of the numerator's zeros sit at z = 1 and at z = -1 (to keep them exact)."""
    out = {}
    scale = float(np.abs(b).sum()) or 1.0
    for z in (1.0, -1.0):
        k = 0
        if abs(b[0] + b[1] * z + b[2]) <= 1e-9 * scale:
            k = 1
            # derivative of b0 z^2 + b1 z + b2 at z
            if abs(2 * b[0] * z + b[1]) <= 1e-7 * scale:
                k = 2
        if k:
            out[int(z)] = k
    return out


def _bounds(row, U, Y):
    """Worst-case magnitudes of the kernel's intermediates for one section (see iir.py)."""
    nb, na, rb, ra, F = row[0:3], row[3:5], row[5:8], row[8:10], row[10]
    uh, yh = -(-U // 4096), -(-Y // 4096)
    L = sum(map(abs, rb + ra)) * 4095 + sum(map(abs, na)) * ((1 << F) - 1) + abs(_bias(na[0], na[1], F))
    H = sum(map(abs, rb)) * uh + sum(map(abs, ra)) * yh + L // 4096 + 1
    out = (H >> (F - SPLIT)) + 1 + sum(map(abs, nb)) * U + sum(map(abs, na)) * Y
    return max(L, H, out, U, Y, 1 << F)


@np.errstate(under="ignore")  # tiny impulse-response tails underflow harmlessly
def quantize(sos) -> Quantized:
    """Integer table for ``sos`` (scipy layout, shape (n, 6), a0 = 1), checked to keep every
    intermediate of the device kernel inside int32 for any int16 input.

    Raises ``ValueError`` for an unstable filter or one whose gain is too high to fit.
    """
    sos = np.atleast_2d(np.asarray(sos, dtype=float))
    if sos.ndim != 2 or sos.shape[1] != 6 or len(sos) < 1:
        raise ValueError(f"sos must have shape (n_sections, 6), got {sos.shape}")
    if not np.allclose(sos[:, 3], 1.0):
        raise ValueError("sos sections must be normalized (a0 = 1)")
    if len(sos) > 64:
        raise ValueError(f"{len(sos)} sections; the device kernel takes at most 64")
    for k, s in enumerate(sos):
        if np.abs(np.roots(s[3:])).max(initial=0) >= 1:
            raise ValueError(f"section {k} is unstable (a pole on or outside the unit circle)")
    full = 32768 << FRAC
    table, bounds = [], [full]
    worst = full
    for k, s in enumerate(sos):
        zeros = _zeros_on_axis(s[:3])
        kappa = _feedback(s[4:])
        U = bounds[-1]
        chosen = None
        for F in range(F_MAX, SPLIT - 1, -1):
            row = _split_coeffs(s[:3], s[4:], F, zeros, kappa)
            q = Quantized(sos[: k + 1], np.array(table + [row], dtype=np.int64), [], 0).sos_quantized()
            # bound: signal (L1 norm of the quantized cascade) plus the truncation noise (one Q.8
            # unit per section through the rest of the cascade; the L1 norm bounds that too)
            l1 = _impulse_l1(q)
            Y = int(np.ceil(full * l1 * 1.0001)) + 64 * (k + 1) * int(np.ceil(l1 + 1))
            w = _bounds(row, U, Y)
            if w <= LIMIT:
                chosen = (row, Y, w)
                break
        if chosen is None:
            raise ValueError(f"section {k}: the filter's gain is too high for int32 intermediates "
                             f"(scale the sections down)")
        row, Y, w = chosen
        table.append(row)
        bounds.append(Y)
        worst = max(worst, w)
    return Quantized(sos, np.array(table, dtype=np.int64), bounds, int(worst))


def _bias(na1, na2, F):
    """Constant added to L: rounds the section's output to nearest (2**(F-1)) and removes the
    offset that the stored residue e (0..2**F, i.e. the signed error + 2**(F-1)) brings into
    the error feedback (-(na1 + na2) * 2**(F-1))."""
    return (1 + na1 + na2) << (F - 1)


def simulate(q: Quantized, x, out_frac: bool = False) -> np.ndarray:
    """Bit-exact model of the device kernel on int16 ``x`` from the zero state: int16 output
    (rounded, saturated), or with ``out_frac`` the raw int32 output with 8 fractional bits."""
    t = [list(map(int, row)) for row in q.table]
    ns = len(t)
    hist = [[0, 0] for _ in range(ns + 1)]  # full-value input history of each node
    err = [[0, 0] for _ in range(ns)]
    x = np.asarray(x, dtype=np.int64)
    y = np.empty(len(x), dtype=np.int64)
    for i, xi in enumerate(x.tolist()):
        v = int(xi) << FRAC
        for k in range(ns):
            nb0, nb1, nb2, na1, na2, rb0, rb1, rb2, ra1, ra2, F = t[k]
            u1, u2 = hist[k]
            y1, y2 = hist[k + 1]
            e1, e2 = err[k]
            L = (rb0 * (v & 4095) + rb1 * (u1 & 4095) + rb2 * (u2 & 4095) - ra1 * (y1 & 4095) - ra2 * (y2 & 4095)
                 - na1 * e1 - na2 * e2 + _bias(na1, na2, F))
            H = rb0 * (v >> 12) + rb1 * (u1 >> 12) + rb2 * (u2 >> 12) - ra1 * (y1 >> 12) - ra2 * (y2 >> 12) + (L >> 12)
            sh = F - SPLIT
            err[k] = [((H & ((1 << sh) - 1)) << 12) | (L & 4095), e1]
            hist[k] = [v, u1]
            v = (H >> sh) + nb0 * v + nb1 * u1 + nb2 * u2 - na1 * y1 - na2 * y2
            assert abs(L) <= LIMIT and abs(H) <= LIMIT and abs(v) <= LIMIT
        hist[ns] = [v, hist[ns][0]]
        if out_frac:
            y[i] = v
        else:
            y[i] = min(32767, max(-32768, (v + 128) >> 8))
    return y


def pack(q: Quantized) -> np.ndarray:
    """The ``coef`` section of a kind-4 file: 11 int32 per section (see docs/modelfile.md)."""
    return q.table.astype(np.int32).ravel()


def save(sos, path, *, name: str = "", fs: float = 0.0) -> Quantized:
    """Quantize ``sos`` and write it as a kind-4 tinysense file at ``path``.

    Header fields: ``n_sections, frac_bits (8), fs (Hz, 0 if not given)``. Sections: ``coef``
    (i, 11 per section: integer parts and residuals, see docs/modelfile.md), ``sos `` (f, the
    float sections as designed, 6 per section, for float kernels and for inspection), and
    optionally ``name`` (B, UTF-8). Returns the :class:`Quantized` filter.
    """
    q = quantize(sos)
    sections = [("coef", "i", pack(q)), ("sos ", "f", np.asarray(q.sos, dtype=np.float32).ravel())]
    if name:
        sections.append(("name", "B", np.frombuffer(name.encode(), dtype=np.uint8)))
    modelfile.save(path, modelfile.KIND_SOS, [len(q.table), FRAC, int(round(fs))], sections)
    return q


def load(path) -> Quantized:
    """Read a kind-4 file written by :func:`save` back into a :class:`Quantized` filter."""
    mf = modelfile.load(path, modelfile.KIND_SOS)
    n = mf.fields[0]
    table = mf.section("coef").astype(np.int64).reshape(n, 11)
    sos = mf.section("sos ").astype(float).reshape(n, 6)
    return Quantized(sos, table, [], 0)
