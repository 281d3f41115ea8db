"""Decision trees and tree ensembles (random forest, extra trees) from tinysense model files.

    model = trees.load("model.tsm")
    x = array.array("h", features)    # int16, length model.n_features
    label = model.predict(x)
    model.predict_proba(x, out)       # out: array('f'), length model.n_classes

One viper call (:mod:`tinysense.trees_viper`) walks all trees over one packed
buffer (docs/modelfile.md); classification allocates nothing. Ports without the native
emitters use the plain-Python twin :mod:`tinysense.trees_python`.
"""

import array

from . import arrays, modelfile

try:
    from .trees_viper import proba as _proba
    from .trees_viper import run as _run
except SyntaxError:  # a port without the native emitters: same results, tens of times slower
    from .trees_python import proba as _proba
    from .trees_python import run as _run


def _check(m, size):
    # Check every record once, so that _run can trust m: feature indices in range, jumps
    # forward onto a node or a leaf record of the same tree (so every walk ends), leaf
    # distributions well formed. Raises ValueError naming the problem.
    nt, nc, wb, nf = _u32(m, 0), _u32(m, 1), _u32(m, 3), _u32(m, 4)
    s = 1 << wb

    def u16(i):
        return m[i] | m[i + 1] << 8

    for t in range(nt):
        a, b = _u32(m, 8 + 2 * t), _u32(m, 9 + 2 * t)
        e = _u32(m, 10 + 2 * t) if t + 1 < nt else _u32(m, 6)
        if not (4 * (8 + 2 * nt) <= a <= b < e <= size) or a & 3 or (b - a) & 7:
            raise ValueError("corrupted tree model: tree %d has bad offsets" % t)
        leaves = set()
        i = b
        while i + 4 <= e and u16(i) == 0xFFFF:  # leaf records
            leaves.add(i)
            r = u16(i + 2)
            i += 4
            if nc and r >= nc:
                acc = 0
                while acc < s and i + (4 if wb == 15 else 2) <= e:
                    v = u16(i)
                    c, v, i = (v, u16(i + 2), i + 4) if wb == 15 else (v >> wb, v & (s - 1), i + 2)
                    if c >= nc or not v:
                        break
                    acc += v
                if acc != s:
                    raise ValueError("corrupted tree model: tree %d has a bad leaf distribution" % t)
        if not leaves or e - i > 3:
            raise ValueError("corrupted tree model: tree %d has bad leaf records" % t)
        for i in range(a, b, 8):
            if u16(i) >= nf:
                raise ValueError("corrupted tree model: tree %d uses feature %d of %d" % (t, u16(i), nf))
            for j in (i + 4, i + 6):
                c = i + u16(j)
                if not (c > i and (c < b and (c - a) % 8 == 0 or c in leaves)):
                    raise ValueError("corrupted tree model: tree %d has a jump that misses a later node" % t)


def _u32(b, k):
    k *= 4
    return b[k] | b[k + 1] << 8 | b[k + 2] << 16 | b[k + 3] << 24


class TreeModel:
    """A loaded tree ensemble (make one with :func:`load`).

    Attributes: ``n_features``, ``n_classes`` (0 for a regressor), ``n_trees``, ``n_nodes``,
    ``classes`` (tuple of int labels or str names; None for a regressor).
    """

    def __init__(self, f, blob, classes, rval, scaling):
        self.n_features, self.n_classes, self.n_trees, self.n_nodes = f[0], f[1], f[2], f[3]
        self.classes = classes
        self._m = blob
        self._rval = rval
        self._scaling = scaling
        self._x = self._out = None
        self.predict = self._predictor()

    def _predictor(self):
        # predict() is a closure: an instance method costs three attribute look-ups per call,
        # ~500 Cortex-M3 instructions, a tenth of a digits-forest inference. Constants are
        # default arguments and only `seen` is a closed-over cell: MicroPython puts the
        # arguments of a closure with more than 5 cells plus arguments on the heap every call.
        seen = None
        if self._rval is None:
            def predict(x, m=self._m, classes=self.classes, check=self._check_x, run=_run):
                """Class label (an element of ``classes``) for ``x``, ``array('h')`` of
                ``n_features`` int16 features."""
                nonlocal seen
                if x is not seen:
                    check(x)
                    seen = x
                return classes[run(m, x)]
        else:
            def predict(x, m=self._m, v=self._rval, n=self.n_trees, check=self._check_x, run=_run):
                """Predicted value (float) for ``x``, ``array('h')`` of ``n_features`` int16
                features."""
                nonlocal seen
                if x is not seen:
                    check(x)
                    seen = x
                return v[0] + v[1] * run(m, x) / n
        return predict

    def _check_x(self, x, name="x"):
        arrays.check_features(x, self.n_features, name)
        if name == "x":
            self._x = x

    def _check_out(self, out):
        # array('f') of n_classes: the kernel writes 4-byte float32 patterns, so a narrower or
        # integer array would be written past its end or filled with garbage.
        n = self.n_classes
        if type(out) is not array.array or len(out) != n:
            raise ValueError("out must be array('f') of length %d" % n)
        tc = arrays.typecode(out)
        if tc != "f":
            raise TypeError("out must be array('f') (float32, 4 bytes each), not array(%r)" % tc)
        self._out = out

    def predict_proba(self, x, out):
        """Fill ``out`` (``array('f')``, length ``n_classes``) with the class probabilities and
        return the predicted class index. Probabilities are the mean of the trees' leaf
        distributions, as scikit-learn's; each within 2**-11 of it."""
        if self._rval is not None:
            raise ValueError("predict_proba needs a classifier; this model is a regressor")
        if x is not self._x:
            self._check_x(x)
        if out is not self._out:
            self._check_out(out)
        r = _run(self._m, x)
        _proba(self._m, out)
        return r

    def quantize(self, xf, out):
        """Write float features ``xf`` onto the model's int16 scale into ``out`` (``array('h')``):
        ``round((x - offset) * scale)`` with the converter's stored per-feature offset and scale
        (half away from zero, clipped to int16). Returns ``out``."""
        n = self.n_features
        if len(xf) != n:
            raise ValueError("xf has %d values; the model expects %d features" % (len(xf), n))
        self._check_x(out, "out")
        s = self._scaling
        for j in range(n):
            v = xf[j] if s is None else (xf[j] - s[j]) * s[n + j]
            q = int(v + 0.5) if v >= 0 else -int(0.5 - v)
            out[j] = -32768 if q < -32768 else (32767 if q > 32767 else q)
        return out


def load(source):
    """Load a tree model from a tinysense model file (path or binary stream).

    Raises ``ValueError`` when the file is not a tree model, or is truncated, corrupted (CRC)
    or inconsistent.
    """
    r, f, owned = modelfile.open_file(source, modelfile.KIND_TREES)
    try:
        h = r.fields
        if len(h) != 6:
            raise ValueError("tree model header has %d fields, expected 6" % len(h))
        nf, nc, nt, flags, scratch = h[0], h[1], h[2], h[4], h[5]
        if not (0 < nf < 65536 and 0 <= nc < 65536 and 0 < nt <= 32768) or (nc == 0) != (flags & 1) \
                or scratch != 4 * max(nc, 1):
            raise ValueError("tree model header out of range")
        m = r.read("tree", "B", scratch)
        size = len(m) - scratch
        if size < 32 + 8 * nt or _u32(m, 0) != nt or _u32(m, 1) != nc or _u32(m, 2) != flags \
                or _u32(m, 4) != nf or _u32(m, 6) != size or _u32(m, 3) > 15 or (nc and not _u32(m, 3)):
            raise ValueError("tree model buffer does not match its header")
        classes = rval = scale = None
        if nc:
            tag = r.next_tag()
            if tag == "name":
                classes = tuple(bytes(r.read("name", "B")).decode().split("\n"))
            else:
                classes = tuple(r.read("labl", "i", 0, nc))
            if len(classes) != nc:
                raise ValueError("%d class labels for %d classes" % (len(classes), nc))
        else:
            rval = r.read("rval", "f", 0, 2)
        if flags & 4:
            scale = r.read("scal", "f", 0, 2 * nf)
            if len(scale) != 2 * nf:
                raise ValueError("scaling has %d numbers, expected %d" % (len(scale), 2 * nf))
        r.finish()
        _check(m, size)
        return TreeModel(h, m, classes, rval, scale)
    finally:
        if owned:
            f.close()
