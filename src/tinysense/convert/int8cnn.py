"""The integer CNN a converted TensorFlow Lite model becomes: its layers (:class:`Layer`,
:class:`CNN`), TFLite's fixed-point arithmetic (``quantize_multiplier``, ``mbqm``,
``mul_round``, padding) and a NumPy run of it (``reference_run``) that equals LiteRT's reference
kernels bit for bit on every test model and is what the device kernels reproduce (docs/cnn.md).

:mod:`tinysense.convert.tflite` parses ``.tflite`` files into these and writes model files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# Layer op codes in the file (docs/cnn.md).
CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D, MEAN, FULLY_CONNECTED = 1, 2, 3, 4, 5, 6
OP_NAMES = {CONV_2D: "CONV_2D", DEPTHWISE_CONV_2D: "DEPTHWISE_CONV_2D", MAX_POOL_2D: "MAX_POOL_2D",
            AVERAGE_POOL_2D: "AVERAGE_POOL_2D", MEAN: "MEAN", FULLY_CONNECTED: "FULLY_CONNECTED"}
ROUND_DOUBLE, ROUND_SINGLE = 0, 1  # record field 23: how the accumulator is requantized


# --------------------------------------------------------------------------- fixed-point arithmetic
def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier``: ``real ~= m * 2**(shift - 31)`` with ``m`` in [2**30, 2**31)
    (Q31), ``shift`` > 0 meaning a left shift. Bit for bit as tensorflow/lite/kernels/internal/
    quantization_util.cc: frexp, round half away from zero, ``q == 2**31`` halved, shift < -31 -> 0."""
    real = float(real)
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"cannot quantize multiplier {real!r}: expected a finite positive scale ratio")
    q, shift = math.frexp(real)
    q_fixed = _round_away(q * (1 << 31))
    if q_fixed > (1 << 31):
        raise ValueError(f"multiplier {real!r} rounds outside Q31")
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def _round_away(v: float) -> int:
    """std::round on a double: halves away from zero."""
    return math.floor(abs(v) + 0.5) * (1 if v >= 0 else -1)


def _round_away_np(v):
    return np.sign(v) * np.floor(np.abs(v) + v.dtype.type(0.5))


def mbqm(acc, multiplier, shift):
    """TFLite's ``MultiplyByQuantizedMultiplier`` (double rounding) on int64 numpy arrays; the
    multiplier and shift broadcast (per output channel)."""
    acc = np.asarray(acc, dtype=np.int64)
    m = np.asarray(multiplier, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    left = np.where(s > 0, s, 0)
    right = np.where(s > 0, 0, -s)
    a = acc << left
    if np.any((a < -(2**31)) | (a >= 2**31)):
        raise OverflowError("accumulator shifted left leaves int32")
    prod = a * m
    nudge = np.where(prod >= 0, 1 << 30, 1 - (1 << 30))
    num = prod + nudge
    h = np.where(num >= 0, num >> 31, -((-num) >> 31))  # C division by 2**31: toward zero
    h = np.where((a == -(2**31)) & (m == -(2**31)), 2**31 - 1, h)
    mask = (np.int64(1) << right) - 1
    rem = h & mask
    threshold = (mask >> 1) + (h < 0)
    return (h >> right) + (rem > threshold)


def mul_round(acc, multiplier, shift):
    """Single rounding: ``(acc * m + 2**(30 - s)) >> (31 - s)``, i.e. ``acc * m * 2**(s - 31)``
    rounded half up. The fully-connected layers use it (docs/cnn.md)."""
    acc = np.asarray(acc, dtype=np.int64)
    m = np.asarray(multiplier, dtype=np.int64)
    total = 31 - np.asarray(shift, dtype=np.int64)
    return (acc * m + (np.int64(1) << (total - 1))) >> total


def _cdiv_round(acc, n):
    """(acc + n/2) / n if acc > 0 else (acc - n/2) / n, in C integer division (toward zero)."""
    acc = np.asarray(acc, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    num = np.where(acc > 0, acc + n // 2, acc - n // 2)
    return np.where(num >= 0, num // n, -((-num) // n))


def same_padding(in_size: int, k: int, s: int) -> tuple[int, int, int]:
    """TFLite's SAME padding: (out, pad_before, pad_after); the odd pixel goes after."""
    out = (in_size + s - 1) // s
    total = max((out - 1) * s + k - in_size, 0)
    return out, total // 2, total - total // 2


def valid_size(in_size: int, k: int, s: int) -> int:
    return (in_size - k + s) // s


# --------------------------------------------------------------------------- IR
@dataclass
class Layer:
    """One device layer (a row of the layer table) plus what the reference needs."""

    op: int
    in_shape: tuple  # (h, w, c)
    out_shape: tuple
    kh: int = 1
    kw: int = 1
    sh: int = 1
    sw: int = 1
    pad_top: int = 0
    pad_left: int = 0
    act_min: int = -128
    act_max: int = 127
    in_zp: int = 0
    out_zp: int = 0
    in_scale: float = 1.0
    out_scale: float = 1.0
    depth_multiplier: int = 0
    weights: np.ndarray | None = None  # int8, file layout (OHWI, HWC or OI)
    bias: np.ndarray | None = None  # int32 (out_c,)
    multiplier: np.ndarray | None = None  # int32 (out_c,)
    shift: np.ndarray | None = None  # int32 (out_c,)
    thresholds: np.ndarray | None = None  # int32 (255,), MEAN
    per_channel: bool = True
    acc_bound: int = 0
    rounding: int = 0  # ROUND_DOUBLE (MBQM) or ROUND_SINGLE (mul_round)
    keep_dims: bool = False

    @property
    def name(self) -> str:
        op = OP_NAMES[self.op]
        if self.op in (CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D):
            s = f"s{self.sh}" if self.sh == self.sw else f"s{self.sh}x{self.sw}"
            return f"{op} {self.kh}x{self.kw} {s} {self.out_shape[2]}ch"
        if self.op == FULLY_CONNECTED:
            return f"{op} {self.in_shape[2]}->{self.out_shape[2]}"
        return f"{op} {self.in_shape[0]}x{self.in_shape[1]} {self.out_shape[2]}ch"


@dataclass
class CNN:
    """A converted model: the input's shape and quantization, the layers, the scores tensor's
    quantization, and what was removed around them (softmax, float input/output)."""

    input_shape: tuple
    input_scale: float
    input_zp: int
    layers: list[Layer]
    scores_scale: float
    scores_zp: int
    softmax_beta: float = 0.0
    softmax: bool = False
    float_input: bool = False
    float_output: bool = False
    class_names: list[str] = field(default_factory=list)
    pixel_range: tuple = (0.0, 1.0)
    # LiteRT tensor index of each layer's output (for per-layer comparisons), and of the scores.
    tensor_of_layer: list[int] = field(default_factory=list)
    scores_tensor: int = -1
    input_tensor: int = -1

    @property
    def n_out(self) -> int:
        return int(np.prod(self.layers[-1].out_shape))

    def pixel_table(self) -> np.ndarray:
        """int8 model input for each uint8 pixel value (the file's ``pixl`` section)."""
        lo, hi = (float(v) for v in self.pixel_range)
        v = lo + np.arange(256, dtype=np.float64) * (hi - lo) / 255.0
        q = _round_away_np(v / float(self.input_scale)) + self.input_zp
        return np.clip(q, -128, 127).astype(np.int8)


# --------------------------------------------------------------------------- numpy reference
def _window_positions(size_in, k, s, pad, size_out):
    """(out, k) input indices and validity mask for one axis."""
    o = np.arange(size_out)[:, None] * s - pad + np.arange(k)[None, :]
    return np.clip(o, 0, size_in - 1), (o >= 0) & (o < size_in)


def run_layer(L: Layer, x: np.ndarray) -> np.ndarray:
    """One layer on an int8 array of shape ``L.in_shape``; returns int8 ``L.out_shape``."""
    x = np.asarray(x, np.int64).reshape(L.in_shape)
    oh, ow, _ = L.out_shape
    if L.op == FULLY_CONNECTED:
        acc = L.weights.astype(np.int64) @ (x.ravel() - L.in_zp) + L.bias
        y = (mul_round if L.rounding == ROUND_SINGLE else mbqm)(acc, L.multiplier, L.shift) + L.out_zp
        return np.clip(y, L.act_min, L.act_max).astype(np.int8).reshape(L.out_shape)
    if L.op == MEAN:
        sums = x.reshape(-1, L.in_shape[2]).sum(axis=0)
        y = -128 + (sums[:, None] >= L.thresholds[None, :].astype(np.int64)).sum(axis=1)
        return y.astype(np.int8).reshape(L.out_shape)
    iy, vy = _window_positions(L.in_shape[0], L.kh, L.sh, L.pad_top, oh)
    ix, vx = _window_positions(L.in_shape[1], L.kw, L.sw, L.pad_left, ow)
    # patches[oy, ox, ky, kx, c] and their validity
    patches = x[iy[:, None, :, None], ix[None, :, None, :], :]
    valid = (vy[:, None, :, None] & vx[None, :, None, :])[..., None]
    if L.op == MAX_POOL_2D:
        y = np.where(valid, patches, -(1 << 20)).max(axis=(2, 3))
    elif L.op == AVERAGE_POOL_2D:
        s = np.where(valid, patches, 0).sum(axis=(2, 3))
        n = valid.sum(axis=(2, 3))
        y = _cdiv_round(s, n)
    else:
        d = np.where(valid, patches - L.in_zp, 0)
        if L.op == CONV_2D:
            acc = np.einsum("abijc,oijc->abo", d, L.weights.astype(np.int64))
        else:
            dm = L.depth_multiplier
            d = np.repeat(d, dm, axis=4)  # output channel o reads input channel o // dm
            acc = np.einsum("abijo,ijo->abo", d, L.weights.astype(np.int64))
        y = mbqm(acc + L.bias, L.multiplier, L.shift) + L.out_zp
    return np.clip(y, L.act_min, L.act_max).astype(np.int8)


def reference_run(ir: CNN, x_i8, all_layers=False):
    """The scores tensor (int8, ``n_out``) for one int8 input (``input_shape``), computed with the
    arithmetic of docs/cnn.md; with ``all_layers`` the list of every layer's output instead."""
    x = np.asarray(x_i8)
    if x.size != int(np.prod(ir.input_shape)):
        raise ValueError(f"input has {x.size} elements; the model expects {ir.input_shape}")
    outs = []
    for L in ir.layers:
        x = run_layer(L, x)
        outs.append(x)
    return outs if all_layers else x.ravel()
