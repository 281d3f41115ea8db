"""Convert an int8-quantized TensorFlow Lite model into a kind-3 tinysense model file.

The file layout and the integer arithmetic the device reproduces are in ``docs/cnn.md``.

>>> from tinysense.convert import tflite
>>> ir = tflite.load("model.tflite")            # parse and check: a list of layers
>>> tflite.save("model.tflite", "model.tsm")    # write the model file; returns its size
>>> tflite.reference_run(ir, x_int8)            # the scores tensor, computed as the device does

The layers, TFLite's fixed-point arithmetic and ``reference_run`` (a NumPy model of the device
kernels, bit-exact to LiteRT's reference kernels on every test model) live in
:mod:`tinysense.convert.int8cnn`; their names are re-exported here.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from .. import modelfile
from .int8cnn import (  # noqa: F401  (re-exported: tflite.X is the converter's public surface)
    AVERAGE_POOL_2D,
    CNN,
    CONV_2D,
    DEPTHWISE_CONV_2D,
    FULLY_CONNECTED,
    MAX_POOL_2D,
    MEAN,
    OP_NAMES,
    ROUND_DOUBLE,
    ROUND_SINGLE,
    Layer,
    _round_away,
    _round_away_np,
    mbqm,
    mul_round,
    quantize_multiplier,
    reference_run,
    run_layer,
    same_padding,
    valid_size,
)

RECORD = 24  # int32 per layer record
N_FIELDS = 16
FLAG_SOFTMAX, FLAG_FLOAT_INPUT, FLAG_FLOAT_OUTPUT = 1, 2, 4

SUPPORTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "FULLY_CONNECTED",
             "RESHAPE", "SOFTMAX (last)", "QUANTIZE (first)", "DEQUANTIZE (last)")
_SUPPORTED_TEXT = ("supported: int8 CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D, MEAN over height and "
                   "width, FULLY_CONNECTED, RESHAPE, SOFTMAX as the last op, QUANTIZE/DEQUANTIZE at the input/output, "
                   "in a single chain")
# Ops that only compute a RESHAPE's target shape (Keras' Flatten with a dynamic batch size).
_SHAPE_OPS = {"SHAPE", "STRIDED_SLICE", "PACK", "CONCATENATION", "GATHER", "SLICE", "CAST"}

_INT8, _FLOAT32, _INT32, _UINT8, _INT16 = 9, 0, 2, 3, 7
_TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8", 10: "float64"}


# --------------------------------------------------------------------------- parsing
def _tfl():
    try:
        import tflite as tfl
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError("converting .tflite models needs the 'tflite' package: pip install tflite") from e
    return tfl


class _Graph:
    def __init__(self, data: bytes):
        tfl = _tfl()
        self.tfl = tfl
        self.data = data
        try:
            self.model = tfl.Model.GetRootAsModel(data, 0)
            n_sub = self.model.SubgraphsLength()
        except Exception as e:
            raise ValueError(f"not a TensorFlow Lite flatbuffer ({e})") from e
        if data[4:8] != b"TFL3":
            raise ValueError(f"not a TensorFlow Lite model: expected file identifier b'TFL3', got {bytes(data[4:8])!r}")
        if n_sub != 1:
            raise ValueError(f"model has {n_sub} subgraphs; supported: exactly one (no control flow)")
        self.g = self.model.Subgraphs(0)
        self.codes = {v: k for k, v in vars(tfl.BuiltinOperator).items() if not k.startswith("_")}
        self.ops = []
        for i in range(self.g.OperatorsLength()):
            op = self.g.Operators(i)
            oc = self.model.OperatorCodes(op.OpcodeIndex())
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
            name = self.codes.get(code, f"builtin {code}")
            if code == tfl.BuiltinOperator.CUSTOM:
                name = "CUSTOM " + (oc.CustomCode() or b"").decode(errors="replace")
            self.ops.append((name, op))

    def tensor(self, i):
        return self.g.Tensors(i)

    def shape(self, i):
        t = self.g.Tensors(i)
        return tuple(int(v) for v in t.ShapeAsNumpy()) if t.ShapeLength() else ()

    def type(self, i):
        return self.g.Tensors(i).Type()

    def quant(self, i):
        """(scales float32 array, zero points int64 array, quantized dimension) or None."""
        q = self.g.Tensors(i).Quantization()
        if q is None or q.ScaleLength() == 0:
            return None
        zps = q.ZeroPointAsNumpy() if q.ZeroPointLength() else np.zeros(q.ScaleLength(), np.int64)
        return np.asarray(q.ScaleAsNumpy(), np.float32), np.asarray(zps, np.int64), q.QuantizedDimension()

    def scale_zp(self, i, what):
        q = self.quant(i)
        if q is None or len(q[0]) != 1:
            raise ValueError(f"{what}: expected per-tensor quantization (one scale and zero point)")
        return float(q[0][0]), int(q[1][0])

    def constant(self, i, dtype):
        t = self.g.Tensors(i)
        buf = self.model.Buffers(t.Buffer())
        raw = None
        if buf is not None and buf.DataLength():
            raw = buf.DataAsNumpy().tobytes()
        elif buf is not None and hasattr(buf, "Offset") and buf.Offset() > 1:
            raw = self.data[buf.Offset():buf.Offset() + buf.Size()]
        if raw is None:
            return None
        return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(self.shape(i)).copy()

    def options(self, op, cls):
        table = op.BuiltinOptions()
        if table is None:
            return None
        opt = cls()
        opt.Init(table.Bytes, table.Pos)
        return opt


def _activation_range(g, fused, scale, zp, opname):
    """TFLite's CalculateActivationRangeQuantized for an int8 output (float32 arithmetic)."""
    A = g.tfl.ActivationFunctionType

    def q(f):
        return zp + _round_away(float(np.float32(f) / np.float32(scale)))

    if fused == A.NONE:
        return -128, 127
    if fused == A.RELU:
        return max(-128, q(0.0)), 127
    if fused == A.RELU6:
        return max(-128, q(0.0)), min(127, q(6.0))
    if fused == A.RELU_N1_TO_1:
        return max(-128, q(-1.0)), min(127, q(1.0))
    names = {v: k for k, v in vars(A).items() if not k.startswith("_")}
    raise ValueError(f"{opname}: fused activation {names.get(fused, fused)} is not supported; "
                     "supported: NONE, RELU, RELU6, RELU_N1_TO_1")


def _hwc(shape, what):
    if len(shape) == 4:
        if shape[0] != 1:
            raise ValueError(f"{what}: batch size {shape[0]}; supported: batch 1")
        return tuple(shape[1:])
    if len(shape) == 2:
        if shape[0] != 1:
            raise ValueError(f"{what}: batch size {shape[0]}; supported: batch 1")
        return (1, 1, shape[1])
    raise ValueError(f"{what}: tensor of shape {shape}; supported: NHWC (4-D) or (1, n)")


def _padding(g, padding, in_hw, k, s, what):
    P = g.tfl.Padding
    out, pads = [], []
    for size, kk, ss in zip(in_hw, k, s):
        if padding == P.SAME:
            o, before, _ = same_padding(size, kk, ss)
        elif padding == P.VALID:
            o, before = valid_size(size, kk, ss), 0
            if o < 1:
                raise ValueError(f"{what}: a {k[0]}x{k[1]} VALID window does not fit the {in_hw[0]}x{in_hw[1]} input")
        else:
            raise ValueError(f"{what}: padding {padding} is not supported; supported: SAME, VALID")
        out.append(o)
        pads.append(before)
    return out, pads


def _requant(in_scale, w_scales, out_scale, out_c):
    """Per-output-channel multiplier and shift, as TFLite's Prepare computes them:
    double(input_scale) * double(weight_scale) / double(output_scale)."""
    w_scales = np.asarray(w_scales, np.float32)
    if len(w_scales) == 1:
        w_scales = np.repeat(w_scales, out_c)
    ms, ss = [], []
    for ws in w_scales:
        m, s = quantize_multiplier(float(in_scale) * float(ws) / float(out_scale))
        ms.append(m)
        ss.append(s)
    return np.array(ms, np.int32), np.array(ss, np.int32)


def _acc_bound(w_abs_sum, bias, in_zp):
    xmax = max(abs(-128 - in_zp), abs(127 - in_zp))
    return int(np.max(np.abs(bias.astype(np.int64)) + w_abs_sum.astype(np.int64) * xmax))


def _check_bound(layer, what):
    if layer.acc_bound > 2**31 - 1:
        raise ValueError(f"{what}: worst-case accumulator {layer.acc_bound} exceeds int32 (2**31 - 1); "
                         "supported: layers whose sum of |weight| * 255 + |bias| fits int32")
    if layer.rounding == ROUND_DOUBLE and layer.shift is not None and len(layer.shift):
        left = int(np.max(np.maximum(layer.shift, 0)))
        if left and layer.acc_bound * 2**left > 2**31 - 1:
            raise ValueError(f"{what}: requantization shifts the accumulator left by {left} bits and may leave int32")


def mean_requant(n, in_scale, out_scale):
    """Multiplier and shift of LiteRT's int8 MEAN (reference_ops::QuantizedMeanOrSum): the
    input/output scale ratio as QuantizeMultiplier gives it, with 1/n folded in by shifting
    the multiplier left by floor(log2 n) (at most 32 and 31 + shift) and dividing it by n."""
    m, s = quantize_multiplier(float(in_scale) / float(out_scale))
    k = min(n.bit_length() - 1, 32, 31 + s)
    return (m << k) // n, s - k


def _mean_thresholds(n, in_scale, in_zp, out_scale, out_zp):
    """The 255 thresholds on the raw int8 sum of a spatial MEAN (docs/cnn.md): LiteRT computes
    ``clamp(MBQM(sum - n * in_zp, m, s) + out_zp)`` with ``mean_requant``'s ``m, s``, a
    non-decreasing function of the sum; threshold k is the smallest sum giving ``-127 + k`` or more."""
    sums = np.arange(-128 * n, 127 * n + 1, dtype=np.int64)
    m, s = mean_requant(n, in_scale, out_scale)
    out = np.clip(mbqm(sums - n * in_zp, m, s) + out_zp, -128, 127)
    if np.any(np.diff(out) < 0):  # pragma: no cover - MBQM is monotonic
        raise ValueError("MEAN: output is not monotonic in the sum")
    thr = np.full(255, 2**31 - 1, np.int64)
    for k, q in enumerate(range(-127, 128)):
        idx = np.searchsorted(out, q, side="left")
        if idx < len(sums):
            thr[k] = sums[idx]
    return thr.astype(np.int32)


def _fc_requant(in_scale, w_scales, out_scale, out_zp, act_min, act_max, out_c, what):
    """Per-channel multiplier and shift for ``mul_round`` that give exactly what LiteRT's
    reference FULLY_CONNECTED computes, ``round(double(acc) * (in * w / out))`` (C round: half
    away from zero), for every accumulator whose output is not clamped. Both are
    non-decreasing step functions of acc, so agreeing next to every step (checked here) means
    agreeing everywhere; where the Q31 multiplier's own rounding moves a step (an accumulator
    within ~2**-23 of a half), the multiplier is nudged by a few units until the steps agree."""
    w_scales = np.asarray(w_scales, np.float32)
    if len(w_scales) == 1:
        w_scales = np.repeat(w_scales, out_c)
    ms, ss = [], []
    for ws in w_scales:
        eff = float(in_scale) * float(ws) / float(out_scale)
        m0, sh = quantize_multiplier(eff)
        if m0 == 0:
            ms.append(0)
            ss.append(0)
            continue
        if sh > 30:
            raise ValueError(f"{what}: requantization scale {eff:g} is too large; supported: scales below 2**30")
        qs = np.arange(act_min - 1, act_max + 2, dtype=np.float64)
        centre = np.clip(np.floor((qs - out_zp - 0.5) / eff), -(2.0**31), 2.0**31)  # accumulators are int32
        acc = np.clip(centre[:, None] + np.arange(-3, 4)[None, :], -(2**31 - 1), 2**31 - 1).ravel().astype(np.int64)
        want = np.clip(_round_away_np(acc.astype(np.float64) * eff) + out_zp, act_min, act_max)
        for d in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 8, -8):
            m = m0 + d
            if not 0 < m < 2**31:
                continue
            if np.array_equal(np.clip(mul_round(acc, m, sh) + out_zp, act_min, act_max), want):
                break
        else:  # pragma: no cover - would need a scale whose steps Q31 cannot place
            raise ValueError(f"{what}: no Q31 multiplier reproduces LiteRT's rounding for scale {eff!r}")
        ms.append(m)
        ss.append(sh)
    return np.array(ms, np.int32), np.array(ss, np.int32)


def load(source, class_names=None, pixel_range=(0.0, 1.0)) -> CNN:
    """Parse an int8 ``.tflite`` (path or bytes) into a :class:`CNN`; ``ValueError`` says what is
    not supported and what is, or that the file is truncated or corrupted."""
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    if len(data) < 8:
        raise ValueError("not a TensorFlow Lite model: file too short")
    try:
        return _load(data, class_names, pixel_range)
    except (struct.error, TypeError, IndexError, KeyError, OverflowError, AttributeError) as e:
        # the flatbuffer readers index the bytes as the offsets in them say: a cut or damaged
        # file ends in one of these, deep inside the tflite package
        raise ValueError(f"not a valid TensorFlow Lite model: the flatbuffer is truncated or corrupted "
                         f"({type(e).__name__}: {e})") from e


def _load(data: bytes, class_names, pixel_range) -> CNN:
    g = _Graph(data)
    tfl = g.tfl
    names = [n for n, _ in g.ops]
    unknown = sorted({n for n in names if n not in
                      {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "FULLY_CONNECTED",
                       "RESHAPE", "SOFTMAX", "QUANTIZE", "DEQUANTIZE"} | _SHAPE_OPS})
    if unknown:
        hint = ""
        if "SPACE_TO_BATCH_ND" in unknown or "BATCH_TO_SPACE_ND" in unknown:
            hint = (" (SPACE_TO_BATCH_ND/BATCH_TO_SPACE_ND around a convolution is how TFLite writes a dilated "
                    "convolution: dilation is not supported)")
        raise ValueError(f"unsupported operators: {', '.join(unknown)}{hint}; {_SUPPORTED_TEXT}")
    if g.g.InputsLength() != 1 or g.g.OutputsLength() != 1:
        raise ValueError(f"model has {g.g.InputsLength()} inputs and {g.g.OutputsLength()} outputs; "
                         "supported: one input and one output")
    # Weight tensors of a float model are float32: say so before anything else.
    for name, op in g.ops:
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and op.InputsLength() > 1:
            wt = g.type(op.Inputs(1))
            if wt in (_FLOAT32, 1):
                raise ValueError("float model: its weights are not quantized; convert with int8 quantization "
                                 "(TFLiteConverter optimizations=[tf.lite.Optimize.DEFAULT], a representative_dataset, "
                                 "supported_ops=[TFLITE_BUILTINS_INT8]); supported: int8 models")
            if wt == _UINT8:
                raise ValueError("uint8 (asymmetric legacy) model; supported: int8 models (re-convert with int8)")
            if wt != _INT8:
                raise ValueError(f"{name} weights are {_TYPE_NAMES.get(wt, wt)}; supported: int8 weights")
    consumers: dict[int, list] = {}
    for k, (name, op) in enumerate(g.ops):
        for j in range(op.InputsLength()):
            t = op.Inputs(j)
            if t >= 0:
                consumers.setdefault(t, []).append((k, j))

    cur = g.g.Inputs(0)
    input_tensor = cur
    cnn_float_in = False
    if g.type(cur) == _FLOAT32:
        first = [c for c in consumers.get(cur, [])]
        if len(first) == 1 and names[first[0][0]] == "QUANTIZE":
            cnn_float_in = True
        else:
            raise ValueError("float model: the input is float32 and not quantized by a QUANTIZE op; supported: int8 models")
    elif g.type(cur) == _UINT8:
        raise ValueError("uint8 model input; supported: int8 models (set inference_input_type=tf.int8)")
    elif g.type(cur) != _INT8:
        raise ValueError(f"model input is {_TYPE_NAMES.get(g.type(cur), g.type(cur))}; supported: int8 models")

    layers: list[Layer] = []
    tensor_of_layer: list[int] = []
    visited = set()
    softmax = float_out = False
    softmax_beta = 0.0
    scores_tensor = None
    final = g.g.Outputs(0)
    while cur != final:
        # SHAPE reads only a tensor's shape (Keras' Flatten computes its target shape that way).
        users = [u for u in consumers.get(cur, []) if names[u[0]] != "SHAPE"]
        if len(users) != 1 or users[0][1] != 0:
            used = ", ".join(names[k] for k, _ in users) or "nothing"
            raise ValueError(f"tensor {g.tensor(cur).Name().decode()!r} feeds {used}: the graph is not a single "
                             f"chain of ops; {_SUPPORTED_TEXT}")
        k = users[0][0]
        if k in visited:  # an op that feeds itself (only a damaged or crafted file): would loop forever
            raise ValueError(f"op {k} ({names[k]}) is reached twice: the graph has a cycle; {_SUPPORTED_TEXT}")
        visited.add(k)
        name, op = g.ops[k]
        out = op.Outputs(0)
        what = f"op {k} ({name})"
        if name == "QUANTIZE":
            if layers or cur != g.g.Inputs(0):
                raise ValueError(f"{what}: QUANTIZE is supported only on the model's float input")
            if g.type(out) != _INT8:
                raise ValueError(f"{what}: quantizes to {_TYPE_NAMES.get(g.type(out))}; supported: int8")
            input_tensor = out
        elif name == "DEQUANTIZE":
            if out != final:
                raise ValueError(f"{what}: DEQUANTIZE is supported only as the last op")
            float_out = True
            if scores_tensor is None:
                scores_tensor = cur
        elif name == "SOFTMAX":
            nxt = consumers.get(out, [])
            if not (out == final or (len(nxt) == 1 and names[nxt[0][0]] == "DEQUANTIZE" and g.ops[nxt[0][0]][1].Outputs(0) == final)):
                raise ValueError(f"{what}: SOFTMAX is supported only as the last op")
            opt = g.options(op, tfl.SoftmaxOptions)
            softmax_beta = float(opt.Beta()) if opt else 1.0
            softmax = True
            scores_tensor = cur
        elif name == "RESHAPE":
            if not layers:
                raise ValueError(f"{what}: RESHAPE before the first layer is not supported")
            prev = layers[-1]
            n = int(np.prod(g.shape(out)))
            if n != int(np.prod(prev.out_shape)):
                raise ValueError(f"{what}: reshape changes the element count")
            _check_int8(g, out, what)
            # A reshape only renames the tensor: later layers see the flattened shape.
            tensor_of_layer[-1] = out
        else:
            layer = _convert_op(g, name, op, cur, out, what, layers)
            layers.append(layer)
            tensor_of_layer.append(out)
        cur = out
    if not layers:
        raise ValueError(f"model has no layers; {_SUPPORTED_TEXT}")
    # Everything not on the chain must be a shape computation.
    for k, (name, op) in enumerate(g.ops):
        if k in visited:
            continue
        if name not in _SHAPE_OPS:
            raise ValueError(f"op {k} ({name}) is not on the input-to-output chain; {_SUPPORTED_TEXT}")
    if scores_tensor is None:
        scores_tensor = cur
    scores_scale, scores_zp = g.scale_zp(scores_tensor, "scores tensor")
    in_scale, in_zp = g.scale_zp(input_tensor, "model input")
    # Connect shapes: a layer's input is the previous layer's output (after reshapes).
    ir = CNN(input_shape=layers[0].in_shape, input_scale=in_scale, input_zp=in_zp, layers=layers,
             scores_scale=scores_scale, scores_zp=scores_zp, softmax_beta=softmax_beta, softmax=softmax,
             float_input=cnn_float_in, float_output=float_out, class_names=list(class_names or []),
             pixel_range=tuple(float(v) for v in pixel_range), tensor_of_layer=tensor_of_layer,
             scores_tensor=scores_tensor, input_tensor=input_tensor)
    return ir


def _check_int8(g, t, what):
    tt = g.type(t)
    if tt != _INT8:
        if tt == _UINT8:
            raise ValueError(f"{what}: uint8 tensor; supported: int8 models")
        if tt in (_FLOAT32, 1):
            raise ValueError(f"{what}: float tensor (a float op); supported: int8 models")
        raise ValueError(f"{what}: {_TYPE_NAMES.get(tt, tt)} tensor; supported: int8")


def _convert_op(g, name, op, x, out, what, layers) -> Layer:
    tfl = g.tfl
    _check_int8(g, x, what)
    _check_int8(g, out, what)
    in_scale, in_zp = g.scale_zp(x, f"{what} input")
    out_scale, out_zp = g.scale_zp(out, f"{what} output")
    xs = g.shape(x)
    if name == "FULLY_CONNECTED":
        n_in = int(np.prod(xs))
        if len(xs) > 1 and xs[0] != 1:
            raise ValueError(f"{what}: batch size {xs[0]}; supported: batch 1")
        in_shape = (1, 1, n_in)
    else:
        if len(xs) != 4:
            raise ValueError(f"{what}: input of shape {xs}; supported: NHWC (4-D)")
        in_shape = _hwc(xs, what)
    if layers and int(np.prod(layers[-1].out_shape)) != int(np.prod(in_shape)):  # pragma: no cover
        raise ValueError(f"{what}: input size does not match the previous layer's output")
    L = Layer(op=0, in_shape=in_shape, out_shape=(), in_zp=in_zp, out_zp=out_zp, in_scale=in_scale,
              out_scale=out_scale)
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        if name == "CONV_2D":
            opt = g.options(op, tfl.Conv2DOptions)
        else:
            opt = g.options(op, tfl.DepthwiseConv2DOptions)
        dh, dw = opt.DilationHFactor(), opt.DilationWFactor()
        if (dh, dw) != (1, 1):
            raise ValueError(f"{what}: dilation {dh}x{dw} is not supported; supported: dilation 1")
        w = g.constant(op.Inputs(1), np.int8)
        if w is None:
            raise ValueError(f"{what}: weights are not a constant tensor; supported: constant int8 weights")
        wq = g.quant(op.Inputs(1))
        if wq is None or np.any(wq[1] != 0):
            raise ValueError(f"{what}: weights must be symmetric int8 (zero point 0), per tensor or per channel")
        if name == "CONV_2D":
            out_c, kh, kw, cin = w.shape
            if cin != in_shape[2]:
                raise ValueError(f"{what}: grouped convolution ({cin} of {in_shape[2]} input channels per filter) "
                                 "is not supported")
            L.op = CONV_2D
            L.weights = w.astype(np.int8)  # OHWI
            wsum = np.abs(w.astype(np.int64)).reshape(out_c, -1).sum(axis=1)
        else:
            _, kh, kw, out_c = w.shape
            dm = opt.DepthMultiplier() or out_c // in_shape[2]
            if out_c != in_shape[2] * dm:
                raise ValueError(f"{what}: {out_c} output channels for {in_shape[2]} inputs and depth multiplier {dm}")
            L.op = DEPTHWISE_CONV_2D
            L.depth_multiplier = int(dm)
            L.weights = w.reshape(kh, kw, out_c).astype(np.int8)  # HWC
            wsum = np.abs(w.astype(np.int64)).reshape(kh * kw, out_c).sum(axis=0)
        sh, sw = opt.StrideH(), opt.StrideW()
        if sh < 1 or sw < 1:
            raise ValueError(f"{what}: stride {sh}x{sw}; supported: strides >= 1")
        (oh, ow), (pt, pl) = _padding(g, opt.Padding(), in_shape[:2], (kh, kw), (sh, sw), what)
        L.kh, L.kw, L.sh, L.sw, L.pad_top, L.pad_left = kh, kw, sh, sw, pt, pl
        L.out_shape = (oh, ow, out_c)
        L.bias = _bias(g, op, out_c, what)
        L.multiplier, L.shift = _requant(in_scale, wq[0], out_scale, out_c)
        L.per_channel = len(wq[0]) > 1
        L.act_min, L.act_max = _activation_range(g, opt.FusedActivationFunction(), out_scale, out_zp, what)
        L.acc_bound = _acc_bound(wsum, L.bias, in_zp)
    elif name == "FULLY_CONNECTED":
        opt = g.options(op, tfl.FullyConnectedOptions)
        if opt is not None and opt.WeightsFormat() != 0:
            raise ValueError(f"{what}: shuffled weights format is not supported; supported: DEFAULT")
        w = g.constant(op.Inputs(1), np.int8)
        if w is None:
            raise ValueError(f"{what}: weights are not a constant tensor; supported: constant int8 weights")
        wq = g.quant(op.Inputs(1))
        if wq is None or np.any(wq[1] != 0):
            raise ValueError(f"{what}: weights must be symmetric int8 (zero point 0)")
        out_c, n_in = w.shape
        if n_in != in_shape[2]:
            raise ValueError(f"{what}: weights expect {n_in} inputs, the input has {in_shape[2]}")
        L.op = FULLY_CONNECTED
        L.weights = w.astype(np.int8)
        L.out_shape = (1, 1, out_c)
        L.bias = _bias(g, op, out_c, what)
        L.per_channel = len(wq[0]) > 1
        fused = opt.FusedActivationFunction() if opt is not None else 0
        L.act_min, L.act_max = _activation_range(g, fused, out_scale, out_zp, what)
        L.multiplier, L.shift = _fc_requant(in_scale, wq[0], out_scale, out_zp, L.act_min, L.act_max, out_c, what)
        L.rounding = ROUND_SINGLE
        L.acc_bound = _acc_bound(np.abs(w.astype(np.int64)).sum(axis=1), L.bias, in_zp)
    elif name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        opt = g.options(op, tfl.Pool2DOptions)
        if abs(in_scale - out_scale) > 1e-6 * in_scale or in_zp != out_zp:
            raise ValueError(f"{what}: input and output quantization differ; supported: equal (as TFLite requires)")
        kh, kw, sh, sw = opt.FilterHeight(), opt.FilterWidth(), opt.StrideH(), opt.StrideW()
        (oh, ow), (pt, pl) = _padding(g, opt.Padding(), in_shape[:2], (kh, kw), (sh, sw), what)
        L.op = MAX_POOL_2D if name == "MAX_POOL_2D" else AVERAGE_POOL_2D
        L.kh, L.kw, L.sh, L.sw, L.pad_top, L.pad_left = kh, kw, sh, sw, pt, pl
        L.out_shape = (oh, ow, in_shape[2])
        L.act_min, L.act_max = _activation_range(g, opt.FusedActivationFunction(), out_scale, out_zp, what)
        L.acc_bound = 128 if L.op == MAX_POOL_2D else 128 * kh * kw
    elif name == "MEAN":
        axis = g.constant(op.Inputs(1), np.int32)
        if axis is None or len(xs) != 4 or sorted(int(a) % 4 for a in axis.ravel()) != [1, 2]:
            raise ValueError(f"{what}: MEAN over axes {None if axis is None else axis.tolist()}; "
                             "supported: MEAN over height and width (axes 1, 2) of an NHWC tensor")
        opt = g.options(op, tfl.ReducerOptions)
        keep = bool(opt.KeepDims()) if opt is not None else False
        h, w_, c = in_shape
        n = h * w_
        L.op = MEAN
        L.kh, L.kw = h, w_
        L.out_shape = (1, 1, c)
        L.keep_dims = keep
        L.thresholds = _mean_thresholds(n, in_scale, in_zp, out_scale, out_zp)
        L.acc_bound = 128 * n
    else:  # pragma: no cover - filtered above
        raise ValueError(f"{what}: unsupported; {_SUPPORTED_TEXT}")
    _check_bound(L, what)
    return L


def _bias(g, op, out_c, what):
    if op.InputsLength() < 3 or op.Inputs(2) < 0:
        return np.zeros(out_c, np.int32)
    if g.type(op.Inputs(2)) != _INT32:
        raise ValueError(f"{what}: bias is {_TYPE_NAMES.get(g.type(op.Inputs(2)))}; supported: int32 bias")
    b = g.constant(op.Inputs(2), np.int32)
    if b is None or b.size != out_c:
        raise ValueError(f"{what}: bias must be a constant int32 vector of {out_c}")
    return b.reshape(out_c).astype(np.int32)


# --------------------------------------------------------------------------- writing
def buffer_sizes(ir: CNN) -> tuple[int, int]:
    """Bytes of activation buffers 0 and 1 (docs/cnn.md, "Activation buffers")."""
    sizes = [int(np.prod(ir.input_shape))] + [int(np.prod(L.out_shape)) for L in ir.layers]
    b0 = max(s for t, s in enumerate(sizes) if t % 2 == 0)
    b1 = max([s for t, s in enumerate(sizes) if t % 2 == 1] or [0])
    return b0, b1


def dumps(ir: CNN) -> bytes:
    """The kind-3 model file for ``ir``."""
    records, wchunks, bchunks, mchunks, schunks, tchunks = [], [], [], [], [], []
    nw = nb = nq = nt = 0
    for L in ir.layers:
        w_off = b_off = q_off = t_off = -1
        if L.weights is not None:
            w_off = nw
            flat = L.weights.ravel().astype(np.int8)
            pad = -len(flat) % 4
            wchunks.append(np.concatenate([flat, np.zeros(pad, np.int8)]))
            nw += len(flat) + pad
        if L.bias is not None:
            b_off = nb
            bchunks.append(L.bias)
            nb += len(L.bias)
        if L.multiplier is not None:
            q_off = nq
            mchunks.append(L.multiplier)
            schunks.append(L.shift)
            nq += len(L.multiplier)
        if L.thresholds is not None:
            t_off = nt
            tchunks.append(L.thresholds)
            nt += len(L.thresholds)
        rec = [L.op, *L.in_shape, *L.out_shape, L.kh, L.kw, L.sh, L.sw, L.pad_top, L.pad_left, L.act_min, L.act_max,
               L.in_zp, L.out_zp, w_off, b_off, q_off, L.depth_multiplier, L.acc_bound, t_off, L.rounding]
        assert len(rec) == RECORD
        records.append(rec)

    def cat(chunks, dtype):
        return np.concatenate(chunks).astype(dtype) if chunks else np.zeros(0, dtype)

    b0, b1 = buffer_sizes(ir)
    flags = (FLAG_SOFTMAX if ir.softmax else 0) | (FLAG_FLOAT_INPUT if ir.float_input else 0) | \
        (FLAG_FLOAT_OUTPUT if ir.float_output else 0)
    fields = [len(ir.layers), *ir.input_shape, ir.n_out, b0, b1, nw, nb, nq, nt, ir.input_zp, ir.scores_zp, flags,
              max(L.acc_bound for L in ir.layers), len(ir.class_names)]
    assert len(fields) == N_FIELDS
    qprm = np.array([ir.input_scale, ir.input_zp, ir.scores_scale, ir.scores_zp, ir.softmax_beta,
                     ir.pixel_range[0], ir.pixel_range[1], 0.0], np.float32)
    sections = [("layr", "i", np.array(records, np.int64).ravel()), ("wght", "b", cat(wchunks, np.int8)),
                ("bias", "i", cat(bchunks, np.int32)), ("mult", "i", cat(mchunks, np.int32)),
                ("shft", "i", cat(schunks, np.int32)), ("thrs", "i", cat(tchunks, np.int32)), ("qprm", "f", qprm),
                ("pixl", "b", ir.pixel_table())]
    if ir.class_names:
        if any("\n" in n for n in ir.class_names):
            raise ValueError("class names must not contain newlines")
        sections.append(("name", "B", np.frombuffer("\n".join(ir.class_names).encode(), np.uint8)))
    return modelfile.dumps(modelfile.KIND_CNN, fields, sections)


def save(source, out_path, class_names=None, pixel_range=(0.0, 1.0)) -> int:
    """Convert the ``.tflite`` at ``source`` (path or bytes) and write the model file to
    ``out_path``; returns the number of bytes written."""
    data = dumps(load(source, class_names=class_names, pixel_range=pixel_range))
    Path(out_path).write_bytes(data)
    return len(data)


def describe(ir: CNN) -> str:
    """One line per layer, for ``tinysense convert`` output."""
    lines = []
    for k, L in enumerate(ir.layers):
        lines.append(f"  {k:2d} {L.name:34s} {L.in_shape} -> {L.out_shape}")
    return "\n".join(lines)
