"""Decision trees and tree ensembles (random forest, extra trees) from tinysense model files.

    from tinysense import trees
    model = trees.load("model.tsm")
    x = array.array("h", features)        # int16, length model.n_features
    label = model.predict(x)
    model.predict_proba(x, out)           # out: array('f') of length model.n_classes

Traversal runs in one ``@micropython.viper`` call over one packed buffer (layout in
docs/modelfile.md), with no allocation per call for classification.
32-bit bounds: votes per class <= n_trees * S <= 2**30 (n_trees <= 32768, S <= 2**15);
regression sums <= n_trees * 32767 < 2**31 (n_trees <= 32768); stream offsets < 2**31.
"""

import array
import micropython
import struct

from . import modelfile

FLAG_REGRESSION = 1
FLAG_WIDE = 2
FLAG_SCALING = 4
MAX_TREES = 32768


@micropython.viper
def _run(m: ptr8, x: ptr16) -> int:
    # Walk every tree for sample x; classification: accumulate votes and return the
    # predicted class index; regression: return the sum of leaf codes.
    w = ptr32(m)
    n_trees = w[0]
    n_classes = w[1]
    wide = w[2] & 2
    wb = w[3]
    wmask = (1 << wb) - 1
    table = ptr16(uint(m) + uint(w[4]))
    nodes = w[5]
    votes = ptr32(uint(m) + uint(w[6]))
    c = 0
    while c < n_classes:
        votes[c] = 0
        c += 1
    total = 0
    t = 0
    while t < n_trees:
        i = nodes + w[8 + t]
        while True:
            h = m[i]
            i += 1
            f = h & 63
            if f == 63:
                f = m[i]
                i += 1
                if f >= 128:
                    f = f & 127
                    b = 128
                    while b >= 128:
                        b = m[i]
                        i += 1
                        f = (f << 7) | (b & 127)
            z = m[i]
            i += 1
            if z >= 128:
                z = z & 127
                b = 128
                while b >= 128:
                    b = m[i]
                    i += 1
                    z = (z << 7) | (b & 127)
            v = (x[f] ^ 0x8000) - 0x8000
            if v <= ((z >> 1) ^ (0 - (z & 1))):
                if h & 0x80:
                    break  # left leaf reference is at i
                while m[i] >= 128:  # skip the right leaf reference or the skip distance
                    i += 1
                i += 1
            else:
                if h & 0x80:
                    while m[i] >= 128:  # skip the left leaf reference
                        i += 1
                    i += 1
                    if h & 0x40:
                        break  # right leaf reference is at i
                elif h & 0x40:
                    break
                else:
                    d = m[i]
                    i += 1
                    if d >= 128:
                        d = d & 127
                        b = 128
                        while b >= 128:
                            b = m[i]
                            i += 1
                            d = (d << 7) | (b & 127)
                    i += d
        r = m[i]
        i += 1
        if r >= 128:
            r = r & 127
            b = 128
            while b >= 128:
                b = m[i]
                i += 1
                r = (r << 7) | (b & 127)
        if n_classes == 0:
            total += (table[r] ^ 0x8000) - 0x8000
        elif r < n_classes:
            votes[r] += wmask + 1
        else:
            j = r - n_classes
            acc = 0
            while acc <= wmask:
                e = table[j]
                if wide:
                    c = e
                    e = table[j + 1]
                    j += 2
                else:
                    c = e >> wb
                    e = e & wmask
                    j += 1
                votes[c] += e
                acc += e
        t += 1
    if n_classes == 0:
        return total
    # argmax, first class wins ties as in numpy. Each leaf weight is within 1 of p * S, so an
    # exact tie in scikit-learn's probabilities shows here as a difference below 2 * n_trees.
    top = votes[0]
    c = 1
    while c < n_classes:
        if votes[c] > top:
            top = votes[c]
        c += 1
    top = top - 2 * n_trees + 1
    c = 0
    while votes[c] < top:
        c += 1
    return c


@micropython.viper
def _proba(m: ptr8, out: ptr32):
    # Write votes / (n_trees * S) as float32 bit patterns into out, exactly rounded down to
    # 24 bits then half-up; pure integer arithmetic so that no float object is allocated.
    # Bound: D = n_trees * S <= 2**30, rem < D, so 2 * rem < 2**31.
    w = ptr32(m)
    n_classes = w[1]
    d = w[0] << w[3]
    votes = ptr32(uint(m) + uint(w[6]))
    c = 0
    while c < n_classes:
        v = votes[c]
        if v <= 0:
            out[c] = 0
        elif v >= d:
            out[c] = 0x3F800000
        else:
            e = 126
            while v + v < d:
                v = v + v
                e -= 1
            mant = 0
            k = 0
            while k < 24:
                v = v + v
                mant = mant + mant
                if v >= d:
                    v -= d
                    mant |= 1
                k += 1
            if v + v >= d:
                mant += 1
                if mant >= 0x1000000:
                    mant = mant >> 1
                    e += 1
            out[c] = (e << 23) | (mant & 0x7FFFFF)
        c += 1


def _u32(buf, word):
    return struct.unpack_from("<I", buf, 4 * word)[0]


def _varint(m, i):
    v = 0
    while True:
        b = m[i]
        i += 1
        v = (v << 7) | (b & 127)
        if b < 128:
            return v, i


def _check_streams(m, n_features, n_classes, n_values, size):
    # Walk every tree of the packed buffer once: every read stays inside the node area, every
    # feature index is valid, every leaf reference resolves, every skip lands on the right child.
    # Raises ValueError; run at load so that the viper walk can trust the buffer.
    n_trees = _u32(m, 0)
    wide = _u32(m, 2) & FLAG_WIDE
    wb = _u32(m, 3)
    table_off = _u32(m, 4)
    node_off = _u32(m, 5)
    scratch = _u32(m, 6)
    node_end = _u32(m, 7)
    if not (4 * (8 + n_trees) <= table_off <= node_off <= node_end <= scratch <= size) or table_off & 1:
        raise ValueError("corrupted tree model: inconsistent section offsets")
    n_table = (node_off - table_off) // 2
    s = 1 << wb
    checked = set()
    for t in range(n_trees):
        start = node_off + _u32(m, 8 + t)
        end = node_off + _u32(m, 9 + t) if t + 1 < n_trees else node_end
        pending = []
        i = start
        try:
            while True:
                if i >= end:
                    raise ValueError("tree %d runs past its end" % t)
                h = m[i]
                i += 1
                f = h & 63
                if f == 63:
                    f, i = _varint(m, i)
                if f >= n_features:
                    raise ValueError("tree %d uses feature %d of %d" % (t, f, n_features))
                _, i = _varint(m, i)
                refs = []
                if h & 0x80:
                    r, i = _varint(m, i)
                    refs.append(r)
                if h & 0x40:
                    r, i = _varint(m, i)
                    refs.append(r)
                if not h & 0xC0:
                    d, i = _varint(m, i)
                    pending.append(i + d)
                for r in refs:
                    if r in checked:
                        continue
                    if n_classes == 0:
                        if r >= n_table:
                            raise ValueError("tree %d: leaf value %d of %d" % (t, r, n_table))
                    elif r >= n_classes:
                        j = r - n_classes
                        acc = 0
                        while acc < s:
                            if j + (2 if wide else 1) > n_table:
                                raise ValueError("tree %d: leaf distribution runs past the table" % t)
                            e = m[table_off + 2 * j] | (m[table_off + 2 * j + 1] << 8)
                            if wide:
                                c = e
                                e = m[table_off + 2 * j + 2] | (m[table_off + 2 * j + 3] << 8)
                                j += 2
                            else:
                                c = e >> wb
                                e &= s - 1
                                j += 1
                            if c >= n_classes or e == 0:
                                raise ValueError("tree %d: bad leaf distribution entry" % t)
                            acc += e
                        if acc != s:
                            raise ValueError("tree %d: leaf weights add up to %d, not %d" % (t, acc, s))
                    checked.add(r)
                if h & 0xC0 == 0xC0:
                    if not pending:
                        break
                    if pending.pop() != i:
                        raise ValueError("tree %d: skip distance does not reach the right child" % t)
        except IndexError:
            raise ValueError("tree %d runs past the end of the model" % t)
        if i != end:
            raise ValueError("tree %d ends at byte %d, expected %d" % (t, i, end))


class TreeModel:
    """A loaded tree ensemble. Use :func:`load` to make one.

    Attributes: ``n_features``, ``n_classes`` (0 for regression), ``n_trees``, ``n_nodes``,
    ``classes`` (tuple of int labels or str names), ``is_regressor``.
    """

    def __init__(self, fields, blob, classes, rval, scaling):
        self.n_features = fields[0]
        self.n_classes = fields[1]
        self.n_trees = fields[2]
        self.n_nodes = fields[3]
        self.is_regressor = bool(fields[4] & FLAG_REGRESSION)
        self.classes = classes
        self._m = blob
        self._rval = rval
        self._scaling = scaling
        self._x = None

    def _check_x(self, x):
        if type(x) is not array.array:
            raise TypeError("x must be array.array('h') of length %d, got %s" % (self.n_features, type(x).__name__))
        if len(x) != self.n_features:
            raise ValueError("x has length %d, the model expects %d features" % (len(x), self.n_features))
        keep = x[0]
        x[0] = -1
        a = x[0]
        x[0] = 0x12345
        b = x[0]
        x[0] = keep
        if a != -1 or b != 0x2345:
            raise TypeError("x must be array.array('h') (int16 features)")
        self._x = x

    def predict(self, x):
        """Class label (from ``classes``) or, for regression, the predicted value (float)."""
        if x is not self._x:
            self._check_x(x)
        r = _run(self._m, x)
        if self._rval is None:
            return self.classes[r]
        return self._rval[0] + self._rval[1] * r / self.n_trees

    def predict_proba(self, x, out):
        """Fill ``out`` (``array('f')`` of length ``n_classes``) with class probabilities.

        Probabilities are the mean of the trees' leaf distributions, as scikit-learn's
        ``predict_proba``; each is exact to within 2**-12 of it (leaf weights are stored with
        at least 11 bits). Returns the predicted class index.
        """
        if self._rval is not None:
            raise ValueError("predict_proba needs a classifier; this model is a regressor")
        if x is not self._x:
            self._check_x(x)
        if type(out) is not array.array or len(out) != self.n_classes:
            raise ValueError("out must be array('f') of length %d" % self.n_classes)
        r = _run(self._m, x)
        _proba(self._m, out)
        return r

    def quantize(self, xf, out):
        """Map float features ``xf`` (any sequence) onto the model's int16 scale into ``out``.

        Applies the per-feature ``q = round((x - offset) * scale)`` stored by the converter
        (round half away from zero, clipped to int16); without stored scaling, rounds only.
        """
        n = self.n_features
        if len(xf) != n or len(out) != n:
            raise ValueError("quantize needs %d input and output values" % n)
        s = self._scaling
        for j in range(n):
            v = xf[j] if s is None else (xf[j] - s[j]) * s[n + j]
            q = int(v + 0.5) if v >= 0 else -int(-v + 0.5)
            out[j] = -32768 if q < -32768 else (32767 if q > 32767 else q)
        return out


def load(path_or_stream):
    """Load a tree model from a tinysense model file (path or binary stream).

    Raises ``ValueError`` for files that are not tree models, truncated, corrupted (CRC), or
    structurally inconsistent.
    """
    reader, f, owned = modelfile.open_file(path_or_stream, modelfile.KIND_TREES)
    try:
        fields = reader.fields
        if len(fields) < 6:
            raise ValueError("tree model header has %d fields, expected 6" % len(fields))
        n_features, n_classes, n_trees, _, flags, scratch = fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
        if not 1 <= n_features <= 65535 or not 0 <= n_classes <= 65535 or not 1 <= n_trees <= MAX_TREES:
            raise ValueError("tree model header out of range: %d features, %d classes, %d trees" % (n_features, n_classes, n_trees))
        if (n_classes == 0) != bool(flags & FLAG_REGRESSION) or scratch != 4 * max(n_classes, 1):
            raise ValueError("tree model header is inconsistent")
        blob = reader.read("tree", "B", extra=scratch)
        size = len(blob) - scratch
        if size < 32 or _u32(blob, 0) != n_trees or _u32(blob, 1) != n_classes or _u32(blob, 2) != flags or _u32(blob, 6) != size:
            raise ValueError("tree model buffer does not match its header")
        classes = rval = scaling = None
        if n_classes:
            tag = reader.next_tag()
            if tag == "labl":
                classes = tuple(reader.read("labl", "i", max_count=n_classes))
            elif tag == "name":
                classes = tuple(bytes(reader.read("name", "B")).decode().split("\n"))
            else:
                raise ValueError("classifier without class labels (section %r)" % tag)
            if len(classes) != n_classes:
                raise ValueError("%d class labels for %d classes" % (len(classes), n_classes))
        else:
            rval = reader.read("rval", "f", max_count=2)
            if len(rval) != 2:
                raise ValueError("regression value map has %d numbers, expected 2" % len(rval))
        if flags & FLAG_SCALING:
            scaling = reader.read("scal", "f", max_count=2 * n_features)
            if len(scaling) != 2 * n_features:
                raise ValueError("scaling has %d numbers, expected %d" % (len(scaling), 2 * n_features))
        reader.finish()
        n_values = (_u32(blob, 5) - _u32(blob, 4)) // 2
        _check_streams(blob, n_features, n_classes, n_values, size)
        return TreeModel(fields, blob, classes, rval, scaling)
    finally:
        if owned:
            f.close()
