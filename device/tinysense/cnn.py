"""int8 convolutional networks from kind-3 tinysense model files (converted TFLite models).

    model = cnn.load("model.tsm")
    x = array.array("b", bytes(model.input_size))   # int8 NHWC input (h * w * c)
    model.quantize_input(pixels, x)                 # uint8 camera pixels -> int8 input
    label = model.predict(x)                        # class index
    model.scores(x, out)                            # out: array('b', model.output_shape[0])
    pix = array.array("B", bytes(model.input_size)) # or uint8 pixels straight in, as array('B'):
    label = model.predict(pix)                      # quantized on the way in (the same table)

Operators: CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D, MEAN (spatial),
FULLY_CONNECTED (docs/cnn.md); the scores are the int8 tensor before the final SOFTMAX, bit-exact
to LiteRT's reference kernels. Loading builds every layer's record and one activation arena
(``arena_bytes``) once; an inference allocates nothing. The layer kernels are viper
(:mod:`tinysense.cnn_viper`); ports without the native emitters run the plain-Python twin
:mod:`tinysense.cnn_python` (same integers, far slower).
"""

import array
import gc
import time

from . import arrays, modelfile

try:
    from .cnn_viper import argmax as _argmax
    from .cnn_viper import conv as _conv
    from .cnn_viper import flip as _flip
    from .cnn_viper import get as _get
    from .cnn_viper import lookup as _lookup
    from .cnn_viper import mean as _mean
    from .cnn_viper import pool as _pool
    from .cnn_viper import put as _put
except (SyntaxError, ImportError, ValueError):  # no native emitters (or a foreign .mpy arch)
    from .cnn_python import argmax as _argmax
    from .cnn_python import conv as _conv
    from .cnn_python import flip as _flip
    from .cnn_python import get as _get
    from .cnn_python import lookup as _lookup
    from .cnn_python import mean as _mean
    from .cnn_python import pool as _pool
    from .cnn_python import put as _put

CONV_2D = 1
DEPTHWISE_CONV_2D = 2
MAX_POOL_2D = 3
AVERAGE_POOL_2D = 4
MEAN = 5
FULLY_CONNECTED = 6
OP_NAMES = ("", "CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "FULLY_CONNECTED")

_I32 = 0x7FFFFFFF
_HEAD = 28  # int32 words before a record's per-channel table (cnn_viper's layout)


def _name(f):
    op = f[0]
    if op == MEAN:
        return "MEAN %dx%d" % (f[1], f[2])
    if op == FULLY_CONNECTED:
        return "FULLY_CONNECTED %d->%d" % (f[3], f[6])
    s = "%s %dx%d s%d" % (OP_NAMES[op], f[7], f[8], f[9])
    if f[10] != f[9]:
        s += "x%d" % f[10]
    return s + " %dch" % f[6]


def _geometry(k, f, name):
    # Shapes, strides and padding of layer record f: every window must keep at least one
    # input row and column, so no kernel reads outside its input (and, padded, its buffer).
    op, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, pt, pl = f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], \
        f[9], f[10], f[11], f[12]
    bad = None
    if min(ih, iw, ic, oh, ow, oc, kh, kw, sh, sw) < 1 or pt < 0 or pl < 0:
        bad = "sizes must be >= 1"
    elif op in (FULLY_CONNECTED, MEAN):
        if oh != 1 or ow != 1 or sh != 1 or sw != 1 or pt or pl:
            bad = "output must be 1 x 1"
        elif op == FULLY_CONNECTED and (ih != 1 or iw != 1 or kh != 1 or kw != 1):
            bad = "input must be 1 x 1 x n_in"
        elif op == MEAN and (oc != ic or kh != ih or kw != iw):
            bad = "window must be the whole input"
    elif pt >= kh or pl >= kw or (oh - 1) * sh - pt >= ih or (ow - 1) * sw - pl >= iw:
        bad = "windows leave the input"
    elif op == DEPTHWISE_CONV_2D and (f[20] < 1 or oc != ic * f[20]):
        bad = "out channels must be in channels x depth multiplier"
    elif op in (MAX_POOL_2D, AVERAGE_POOL_2D) and oc != ic:
        bad = "pooling keeps the channels"
    if bad is None and not (-128 <= f[13] <= f[14] <= 127 and -128 <= f[15] <= 127 and -128 <= f[16] <= 127):
        bad = "activation range or zero points outside int8"
    if bad:
        raise ValueError("CNN layer %d (%s): %s" % (k, name, bad))
    pb = max(0, (oh - 1) * sh + kh - pt - ih)
    pr = max(0, (ow - 1) * sw + kw - pl - iw)
    return pt, pl, pb, pr


class CNN:
    """A loaded int8 CNN (make one with :func:`load`).

    Attributes: ``input_shape`` (h, w, c), ``input_size`` (h * w * c), ``output_shape`` (n,),
    ``n_layers``, ``layer_names``, ``arena_bytes``, ``input_scale``, ``input_zero_point``,
    ``scores_scale``, ``scores_zero_point``, ``softmax_beta`` (0.0 without a final softmax),
    ``class_names`` (tuple of str, or None).
    """

    def __init__(self, h, plan, w, arena, qprm, pixl, names, layer_names, geo_in, geo_out):
        self.input_shape = (h[1], h[2], h[3])
        self.input_size = h[1] * h[2] * h[3]
        self.output_shape = (h[4],)
        self.n_layers = len(plan)
        self.layer_names = layer_names
        self.arena_bytes = len(arena)
        self.input_scale = qprm[0]
        self.input_zero_point = h[11]
        self.scores_scale = qprm[2]
        self.scores_zero_point = h[12]
        self.softmax_beta = qprm[4]
        self.class_names = names
        self._plan = plan
        self._w = w
        self._a = arena
        self._pixl = pixl
        self._gin = geo_in
        self._gout = geo_out
        self._x = None  # the last int8 input checked
        self._xp = None  # the last uint8 pixel input checked (array('B')), quantized into self._xq
        self._xq = None
        self._pix = None  # the last pixel / quantized-input buffers checked by quantize_input
        self._qout = None
        self._out = None
        self._us = None

    def _check(self, x, n, what, u8=False):
        # True for uint8 pixels (array('B'), where u8 allows them), False for int8 values
        tc = arrays.typecode(x) if type(x) is array.array else None
        if type(x) is bytearray or tc == "b":
            pix = False
        elif u8 and tc == "B":
            pix = True
        else:
            raise TypeError("%s must be array('b') or bytearray (int8 values)%s, not %s%s" % (
                what, " or array('B') (uint8 pixels)" if u8 else "", type(x).__name__,
                "('%s')" % tc if tc else ""))
        if len(x) != n:
            raise ValueError("%s has %d values; the model %s %d (%s)" % (
                what, len(x), "expects" if what == "x" else "has", n,
                "h x w x c = %d x %d x %d" % self.input_shape if what == "x" else "scores"))
        return pix

    def _input(self, x):
        # The int8 input for x: x itself, or for uint8 pixels (array('B')) the pixel table's
        # mapping into self._xq (made at the first such call, then reused). The last int8 and
        # the last pixel buffer are remembered once checked; their lengths are checked on
        # every call (a bytearray can shrink).
        n = self.input_size
        if x is self._x and len(x) == n:
            return x
        if x is not self._xp or len(x) != n:
            if not self._check(x, n, "x", True):
                self._x = x
                return x
            self._xp = x
            if self._xq is None:
                self._xq = bytearray(n)
        _lookup(x, self._xq, self._pixl, n)
        return self._xq

    def _run(self, x):
        x = self._input(x)
        w = self._w
        a = self._a
        _put(x, a, self._gin)
        for f, r in self._plan:
            f(a, w, r)

    def predict(self, x):
        """Class index (0 .. n-1) for the input ``x``: ``array('b')`` or ``bytearray`` of int8
        values, or ``array('B')`` of uint8 pixels (mapped as :meth:`quantize_input` does), of
        ``input_size`` values, NHWC. The first index of the largest score, which is the class
        the model's softmax ranks first."""
        self._run(x)
        return _argmax(self._a, self._gout)

    def scores(self, x, out):
        """Run the model on ``x`` (as :meth:`predict`) and write the int8 scores tensor (the logits before the final
        SOFTMAX, or the graph's output) into ``out`` (``array('b')`` or ``bytearray`` of
        ``output_shape[0]``); bit-exact to LiteRT. Returns the predicted class index."""
        if out is not self._out or len(out) != self.output_shape[0]:
            self._check(out, self.output_shape[0], "out")
            self._out = out
        self._run(x)
        _get(self._a, out, self._gout)
        return _argmax(self._a, self._gout)

    def profile(self, x, out_us):
        """Run the model once on ``x`` and write each layer's time in microseconds into
        ``out_us`` (``array('i')`` of ``n_layers``; the input copy, and the quantization of
        ``array('B')`` pixels, count to layer 0).
        Returns the predicted class index."""
        if out_us is not self._us:
            if type(out_us) is not array.array or len(out_us) != len(self._plan) or arrays.typecode(out_us) != "i":
                raise TypeError("out_us must be array('i') of length n_layers = %d" % len(self._plan))
            self._us = out_us
        t0 = time.ticks_us()
        x = self._input(x)
        w = self._w
        a = self._a
        _put(x, a, self._gin)
        k = 0
        for f, r in self._plan:
            f(a, w, r)
            t1 = time.ticks_us()
            out_us[k] = time.ticks_diff(t1, t0)
            t0 = t1
            k += 1
        return _argmax(self._a, self._gout)

    def quantize_input(self, pixels_u8, out_i8):
        """Map uint8 pixels (``bytearray`` or ``array('B')``, ``input_size`` values, NHWC) to the
        model's int8 input in ``out_i8`` (``array('b')`` or ``bytearray``) with the converter's
        table (docs/cnn.md: pixel range, input scale and zero point). Returns ``out_i8``."""
        n = self.input_size
        if pixels_u8 is not self._pix:  # type checks once per buffer (the typecode probe allocates)
            if not (type(pixels_u8) is bytearray or type(pixels_u8) is bytes or
                    type(pixels_u8) is array.array and arrays.typecode(pixels_u8) == "B"):
                raise TypeError("pixels must be bytearray or array('B') (uint8), not %s%s" % (
                    type(pixels_u8).__name__,
                    "('%s')" % arrays.typecode(pixels_u8) if type(pixels_u8) is array.array else ""))
        if len(pixels_u8) != n:
            raise ValueError("pixels has %d values; the model expects %d (h x w x c = %d x %d x %d)" % (
                (len(pixels_u8), n) + self.input_shape))
        self._pix = pixels_u8
        if out_i8 is not self._qout and out_i8 is not self._x:  # else checked once already
            self._check(out_i8, n, "x")
            self._qout = out_i8
        elif len(out_i8) != n:
            self._check(out_i8, n, "x")
        _lookup(pixels_u8, out_i8, self._pixl, n)
        return out_i8


_NEED = [0]  # the last load's estimate of the RAM it needs, for the MemoryError message


def load(source):
    """Load an int8 CNN from a kind-3 tinysense model file (path, binary stream or bytes).

    Everything is checked here, once: the file's CRC-32 first (a damaged file is reported as
    such, before any of its counts is trusted), then shapes and padding of every layer against its neighbours,
    weight / bias / multiplier indices, thresholds, and that no accumulator can leave int32
    (the worst case is computed from the weights). Raises ``ValueError`` naming the problem,
    including when the model does not fit in the free RAM (saying how many bytes it needs).
    """
    r, fh, owned = modelfile.open_file(source, modelfile.KIND_CNN)
    try:
        left = _crc_first(fh, 12 + 4 * len(r.fields))
        return _load(r, left)
    except MemoryError:  # enough free bytes in all, but no block large enough (a fragmented heap)
        gc.collect()
        raise ValueError("CNN needs about %d bytes of RAM in a few large blocks and the heap has no room for "
                         "them (%d bytes free, fragmented): load the model early, before other large buffers"
                         % (_NEED[0], gc.mem_free()))
    finally:
        if owned:
            fh.close()


def _crc_first(f, done):
    # Check the CRC-32 before trusting any count or shape in the file, so that a damaged file
    # is reported as damaged (not as a model that needs 1 GB or has a broken layer chain); the
    # reader checks it again at the end. Returns the bytes left after the header, or None for a
    # stream that cannot seek (then the reader's own checks and its final CRC stand alone).
    try:
        here = f.tell()
        end = f.seek(0, 2)
    except (AttributeError, OSError):
        return None
    start = here - done
    n = end - start - 4
    if n < done:
        f.seek(here)
        return None
    f.seek(start)
    buf = bytearray(512)
    mv = memoryview(buf)
    crc = 0
    while n > 0:
        k = f.readinto(mv[:n] if n < 512 else mv)
        crc = modelfile.crc32(mv[:k], crc)
        n -= k
    tail = f.read(4)
    f.seek(here)
    if tail[0] | tail[1] << 8 | tail[2] << 16 | tail[3] << 24 != crc:
        raise ValueError("model file corrupted or truncated: CRC-32 mismatch (%d bytes)" % (end - start))
    return end - here


def _load(r, left=None):
    h = r.fields
    if len(h) != 16:
        raise ValueError("CNN header has %d fields, expected 16" % len(h))
    nl, n_w, n_b, n_q, n_t = h[0], h[7], h[8], h[9], h[10]
    if not (0 < nl <= 1000 and min(h[1], h[2], h[3], h[4]) > 0 and min(n_w, n_b, n_q, n_t) >= 0):
        raise ValueError("CNN header out of range")
    if not (-128 <= h[11] <= 127 and -128 <= h[12] <= 127):
        raise ValueError("CNN header: zero points outside int8")
    lay = r.read("layr", "i", 0, 24 * nl)
    if len(lay) != 24 * nl:
        raise ValueError("CNN has %d layer words, expected %d" % (len(lay), 24 * nl))
    # Shapes and padding, layer by layer; each buffer's size with the padding its consumer needs.
    names = []
    shape = (h[1], h[2], h[3])
    size = [0, 0]
    lay_in = []  # (padded height, padded width, pads) of each layer's input
    rec_bytes = 0
    for k in range(nl):
        f = lay[24 * k:24 * k + 24]
        if not 1 <= f[0] <= 6:
            raise ValueError("CNN layer %d: unknown op %d (supported: 1..6, docs/cnn.md)" % (k, f[0]))
        name = _name(f)
        names.append(name)
        pads = _geometry(k, f, name)
        if f[0] == FULLY_CONNECTED:
            ok = shape[0] * shape[1] * shape[2] == f[3]
        else:
            ok = shape == (f[1], f[2], f[3])
        if not ok:
            raise ValueError("CNN layer %d (%s) expects input %r, the previous layer gives %dx%dx%d" % (
                (k, name, (f[1], f[2], f[3])) + shape))
        if f[0] in (CONV_2D, DEPTHWISE_CONV_2D):
            ph, pw = f[1] + pads[0] + pads[2], f[2] + pads[1] + pads[3]
        else:
            ph, pw = f[1], f[2]
            pads = (0, 0, 0, 0)
        lay_in.append((ph, pw, pads))
        size[k & 1] = max(size[k & 1], ph * pw * f[3])
        shape = (f[4], f[5], f[6])
        rec_bytes += 4 * (_HEAD + (255 if f[0] == MEAN else 9 * f[6] if f[0] in (1, 2, 6) else f[6])) + 32
    n_out = shape[0] * shape[1] * shape[2]
    if n_out != h[4]:
        raise ValueError("CNN header says %d scores, the last layer gives %d" % (h[4], n_out))
    size[nl & 1] = max(size[nl & 1], n_out)
    # scratch after the two buffers: one window of the largest convolution (kh > 1)
    scratch = 0
    for k in range(nl):
        if lay[24 * k] == CONV_2D and lay[24 * k + 7] > 1:
            scratch = max(scratch, lay[24 * k + 7] * lay[24 * k + 8] * lay[24 * k + 3])
    arena_bytes = size[0] + size[1] + scratch
    if left is not None and n_w + 4 * (24 * nl + n_b + 2 * n_q + n_t) > left:
        raise ValueError("CNN header counts %d weights, %d biases, %d multipliers and %d thresholds; the file "
                         "has %d bytes for them" % (n_w, n_b, n_q, n_t, left))
    need = arena_bytes + n_w + 4 * (n_b + 2 * n_q + n_t) + rec_bytes + 600
    _NEED[0] = need
    gc.collect()
    free = gc.mem_free()
    if need > free:
        raise ValueError("CNN needs about %d bytes of RAM (activation arena %d, weights %d, layer tables %d); "
                         "%d bytes are free" % (need, arena_bytes, n_w, rec_bytes + 4 * (n_b + 2 * n_q + n_t), free))
    arena = bytearray(arena_bytes)
    w = r.read("wght", "b", 0, n_w)
    bias = r.read("bias", "i", 0, n_b)
    mult = r.read("mult", "i", 0, n_q)
    shft = r.read("shft", "i", 0, n_q)
    thrs = r.read("thrs", "i", 0, n_t)
    qprm = r.read("qprm", "f", 0, 8)
    pixl = r.read("pixl", "b", 0, 256)
    cls = None
    if r.next_tag() == "name":
        cls = tuple(bytes(r.read("name", "B")).decode().split("\n"))
    r.finish()
    if len(w) != n_w or len(bias) != n_b or len(mult) != n_q or len(shft) != n_q or len(thrs) != n_t \
            or len(qprm) != 8 or len(pixl) != 256:
        raise ValueError("CNN sections do not match the header's counts")
    if h[15] != (len(cls) if cls else 0):
        raise ValueError("CNN header says %d class names, the file has %d" % (h[15], len(cls) if cls else 0))
    # Layer records (cnn_viper's layout) and the biased weights.
    base = (0, size[0])
    plan = []
    for k in range(nl):
        f = lay[24 * k:24 * k + 24]
        op, ic, oc = f[0], f[3], f[6]
        ph, pw, pads = lay_in[k]
        if k + 1 < nl and lay[24 * (k + 1)] != FULLY_CONNECTED:
            npw, npads = lay_in[k + 1][1], lay_in[k + 1][2]  # the consumer's (padded) layout
        else:  # unpadded: the scores, or what a FULLY_CONNECTED reads flattened
            npw, npads = f[5], (0, 0, 0, 0)
        dst = base[(k + 1) & 1] + (npads[0] * npw + npads[1]) * oc
        conv = op in (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED)
        n_ch = 255 if op == MEAN else oc  # thresholds, channels (8 table words + 1 sum each), pool sums
        rec = array.array("i", bytearray(4 * (_HEAD + (9 * n_ch if conv else n_ch))))
        for i, v in enumerate((base[k & 1], dst, pw, ph, ic, f[4], f[5], oc, f[7], f[8], f[9], f[10],
                               npw * oc, f[20] if op == DEPTHWISE_CONV_2D else (1 if op == AVERAGE_POOL_2D else 0),
                               f[16] + 128, f[13] + 128, f[14] + 128, max(f[17], 0), pads[0], pads[1], pads[2],
                               pads[3], f[15] + 128, f[1], f[2])):
            rec[i] = v
        if conv:
            if f[23] not in (0, 1):
                raise ValueError("CNN layer %d (%s): unknown rounding %d (0 or 1)" % (k, names[k], f[23]))
            rec[25] = f[23]
            rec[26] = size[0] + size[1]
            rec[27] = 1 if f[13] >= f[16] else 0
        if op in (MAX_POOL_2D, AVERAGE_POOL_2D):
            rec[18], rec[19] = f[11], f[12]  # window origin; the pool skips what lies outside
        if conv:
            _tables(k, names[k], f, rec, w, bias, mult, shft)
        elif op == MEAN:
            t = f[22]
            if t < 0 or t + 255 > n_t:
                raise ValueError("CNN layer %d (%s): thresholds outside the file" % (k, names[k]))
            for i in range(255):
                v = thrs[t + i]
                if i and v < thrs[t + i - 1]:
                    raise ValueError("CNN layer %d (%s): thresholds not sorted" % (k, names[k]))
                rec[_HEAD + i] = v
            if 255 * f[1] * f[2] > _I32:  # one channel's sum of biased bytes (cnn_viper.mean)
                raise ValueError("CNN layer %d (%s): window too large for a 32-bit sum" % (k, names[k]))
        plan.append(((_conv if conv else _mean if op == MEAN else _pool), rec))
    _flip(w, len(w))
    ph, pw, pads = lay_in[0]
    if lay[0] == FULLY_CONNECTED:
        pw = h[2]  # reads the image flattened
    gin = array.array("i", (base[0] + (pads[0] * pw + pads[1]) * h[3], h[1], h[2] * h[3], pw * h[3]))
    gout = array.array("i", (base[nl & 1], n_out))
    return CNN(h, plan, w, arena, qprm, pixl, cls, names, gin, gout)


def _tables(k, name, f, rec, w, bias, mult, shft):
    # Per output channel: K = bias - (128 + in_zp) * sum(w), the multiplier and the two shifts;
    # checks the indices and that every accumulator stays in int32 (docs/cnn.md, cnn_viper).
    op, ic, oc, kh, kw = f[0], f[3], f[6], f[7], f[8]
    taps = kh * kw if op == DEPTHWISE_CONV_2D else kh * kw * ic
    wo, bo, qo = f[17], f[18], f[19]
    if wo < 0 or wo + taps * oc > len(w) or bo < 0 or bo + oc > len(bias) or qo < 0 or qo + oc > len(mult):
        raise ValueError("CNN layer %d (%s): weights, biases or multipliers outside the file" % (k, name))
    zp = f[15]
    dev = max(128 + zp, 127 - zp)  # largest |x - zp| for int8 x
    c = 128 + zp
    for o in range(oc):
        s = 0
        sa = 0
        if op == DEPTHWISE_CONV_2D:
            i = wo + o
            for _ in range(taps):
                v = w[i]
                s += v
                sa += v if v > 0 else -v
                i += oc
        else:
            i = wo + o * taps
            for j in range(i, i + taps):
                v = w[j]
                s += v
                sa += v if v > 0 else -v
        b = bias[bo + o]
        m = mult[qo + o]
        e = shft[qo + o]
        if m < 0 or not -31 <= e <= 30:
            raise ValueError("CNN layer %d (%s): multiplier %d or shift %d out of range" % (k, name, m, e))
        bound = (b if b > 0 else -b) + sa * dev
        if bound > _I32 or (e > 0 and bound << e > _I32):
            raise ValueError("CNN layer %d (%s): worst-case accumulator %d%s exceeds int32; refused (32-bit "
                             "kernels)" % (k, name, bound, " x 2**%d" % e if e > 0 else ""))
        kk = b - c * s
        # The kernel's P = sum(xb * wb) <= 65025 * taps and K must fit int32 too; acc = P - 128 S + K
        # is then TFLite's accumulator, bounded above.
        if 65025 * taps > _I32 or (kk if kk > 0 else -kk) > _I32:
            raise ValueError("CNN layer %d (%s): %d taps per output (or a bias of %d) is too large for the "
                             "32-bit kernel" % (k, name, taps, b))
        t = _HEAD + 8 * o
        left = e if e > 0 else 0
        right = -e if e < 0 else 0
        j = 31 - left if f[23] and left else right  # bits the rounding drops (cnn_viper.conv)
        rec[t] = kk
        rec[t + 1] = m >> 16
        rec[t + 2] = m & 0xFFFF
        rec[t + 3] = left
        rec[t + 4] = right
        rec[t + 5] = (1 << j) - 1
        rec[t + 6] = (1 << j) >> 1
