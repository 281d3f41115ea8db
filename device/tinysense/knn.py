"""k-nearest-neighbours classifier over int16 feature vectors, with on-device learning.

    model = knn.KNN(n_features=20, capacity=500, k=3)   # storage allocated once
    x = array.array("h", features)                       # int16, length n_features
    model.add(x, "walk")                                 # learn: labels are ints or strs
    label = model.predict(x)                             # no allocation
    model.remove(i); model.clear(); len(model)
    model.save("model.tsm"); model = knn.load("model.tsm", capacity=1000)

Distances are exact squared Euclidean distances over the full int16 range (-32768..32767) for up
to 32767 features, so the neighbours are scikit-learn's ``KNeighborsClassifier(algorithm=
"brute")`` neighbours on the same data: rows are scanned in storage order through a max-heap of
the k nearest that breaks distance ties exactly as scikit-learn's (a row enters only when
strictly nearer than the farthest kept one), and the vote goes to the class with most
neighbours, ties to the smallest label (docs/knn.md). One viper call (:mod:`tinysense.knn_viper`)
per prediction; ports without the native emitters use the plain-Python twins here.

Labels: ints (-2**31..2**31-1) or strs (no newline), at most 256 classes, not mixed. The class table is kept
sorted (that is what scikit-learn's tie rule needs); a new class renumbers the stored samples.
File: kind 2 of the tinysense model file, read and written on the device (docs/knn.md).
"""

import array
import struct

from . import arrays, modelfile

MAX_FEATURES = 32767  # each 16-bit half-sum of squares < n * 65536 <= 2**31 - 65536
MAX_K = 255
MAX_CLASSES = 256
_FLAG_NAMES = 1
_FLAG_SCALING = 2
_W = 8  # header words of the work buffer (knn_viper)


def _nearest_py(data, x, w, lab):
    # Plain-Python twin of knn_viper.nearest: the same heap, the same integers.
    ns, n, k = w[0], w[1], w[2]
    hh, ll, ii = _W, _W + k, _W + 2 * k
    for j in range(k):
        w[hh + j] = 0x7FFFFFFF
        w[ll + j] = 0xFFFF
        w[ii + j] = 0
    unpack = struct.unpack_from
    for j in range(ns):
        base = 2 * n * j
        s = 0
        for f in range(n):
            d = unpack("<h", data, base + 2 * f)[0] - x[f]
            s += d * d
        s, t = s >> 16, s & 0xFFFF
        if s < w[hh] or (s == w[hh] and t < w[ll]):
            c = 0
            while True:
                m = 2 * c + 1
                if m >= k:
                    break
                a, b = hh + m, ll + m
                if m + 1 < k and (w[a + 1] > w[a] or (w[a + 1] == w[a] and w[b + 1] > w[b])):
                    m += 1
                if s < w[hh + m] or (s == w[hh + m] and t < w[ll + m]):
                    w[hh + c], w[ll + c], w[ii + c] = w[hh + m], w[ll + m], w[ii + m]
                    c = m
                else:
                    break
            w[hh + c], w[ll + c], w[ii + c] = s, t, j
    votes = {}
    for j in range(k):
        c = lab[w[ii + j]]
        votes[c] = votes.get(c, 0) + 1
    top = max(votes.values())
    return min(c for c in votes if votes[c] == top)


def _copy_py(dst, d, src, s, n, w):
    # Plain-Python twin of knn_viper.copy (int16 items as little-endian bytes).
    lo, hi = w[3], w[4]
    for i in range(n):
        v = struct.unpack_from("<h", src, 2 * (s + i))[0]
        struct.pack_into("<h", dst, 2 * (d + i), v)
        b = (v ^ 0x8000) & 0xFFFF
        lo = b if b < lo else lo
        hi = b if b > hi else hi
    w[3], w[4] = lo, hi


def _shift8_py(b, start, end):
    for i in range(start, end - 1):
        b[i] = b[i + 1]


try:
    from .knn_viper import copy as _copy
    from .knn_viper import nearest as _nearest
    from .knn_viper import shift8 as _shift8
except (SyntaxError, ValueError):  # no native emitters (or a foreign .mpy arch): same results, much slower
    _nearest, _copy, _shift8 = _nearest_py, _copy_py, _shift8_py


def _check_int(v, name, lo, hi):
    if type(v) is not int or not lo <= v <= hi:
        raise ValueError("%s must be an int from %d to %d, not %r" % (name, lo, hi, v))


class KNN:
    """k-NN classifier with preallocated storage for ``capacity`` samples of ``n_features``
    int16 features; ``k`` neighbours vote (1..255, at most ``capacity``).

    ``classes``: optional labels known in advance (all ints or all strs); more are added as
    :meth:`add` meets them. Attributes: ``n_features``, ``capacity``, ``k``, ``classes``
    (sorted tuple of the labels).
    """

    def __init__(self, n_features, capacity, k=3, classes=None):
        _check_int(n_features, "n_features", 1, MAX_FEATURES)
        _check_int(capacity, "capacity", 1, 0x3FFFFFFF // n_features)
        _check_int(k, "k", 1, MAX_K)
        if k > capacity:
            raise ValueError("k=%d is more than the capacity of %d samples" % (k, capacity))
        self.n_features = n_features
        self.capacity = capacity
        self.k = k
        self._initial = ()
        self.classes = ()
        self._data = self._labels = None
        if classes is not None:
            for c in classes:
                self._index(c)
            self._initial = self.classes
        self._scaling = None
        try:
            self._data = bytearray(2 * n_features * capacity)
            self._labels = bytearray(capacity)
        except MemoryError:
            raise MemoryError("KNN storage needs %d bytes (%d samples x %d features x 2 + %d label bytes)"
                              % ((2 * n_features + 1) * capacity, capacity, n_features, capacity))
        w = array.array("i", bytearray(4 * (_W + 3 * k + 256) + 2 * n_features + 2))
        w[1], w[2], w[5], w[6] = n_features, k, 0x7FFFFFFF // n_features, 0x7FFFFFFF
        self._w = w
        self._xs = [None] * 4  # feature buffers already checked (add and predict may use different ones)
        self._turn = 0
        self.clear()

    def __len__(self):
        return self._w[0]

    def clear(self):
        """Forget every stored sample (and the classes learnt since construction)."""
        w = self._w
        w[0] = 0
        w[3], w[4] = 0xFFFF, 0  # empty range of stored values
        self.classes = self._initial

    def _check_x(self, x, name="x"):
        arrays.check_features(x, self.n_features, name)
        if name == "x":  # the type check allocates: once per buffer
            self._xs[self._turn & 3] = x
            self._turn += 1

    def _known(self, x):
        xs = self._xs
        return x is xs[0] or x is xs[1] or x is xs[2] or x is xs[3]

    def _index(self, label):
        # Class index of ``label``, adding it to the sorted class table if new.
        cs = self.classes
        if label in cs:
            return cs.index(label)
        t = type(label)
        if t is not int and t is not str:
            raise TypeError("a label must be an int or a str, not %s" % t.__name__)
        if cs and type(cs[0]) is not t:
            raise TypeError("label %r: this model's labels are %ss" % (label, type(cs[0]).__name__))
        if t is int and not -0x80000000 <= label <= 0x7FFFFFFF:
            raise ValueError("label %d does not fit int32" % label)
        if t is str and "\n" in label:
            raise ValueError("label %r contains a newline, which the model file uses to separate labels" % label)
        if len(cs) >= MAX_CLASSES:
            raise ValueError("label %r would be class %d; at most %d classes" % (label, len(cs) + 1, MAX_CLASSES))
        p = 0
        while p < len(cs) and cs[p] < label:
            p += 1
        self.classes = cs[:p] + (label,) + cs[p:]
        lab = self._labels
        if p < len(cs) and lab is not None:  # renumber the stored samples of the later classes
            for i in range(self._w[0]):
                if lab[i] >= p:
                    lab[i] += 1
        return p

    def add(self, x, label):
        """Store ``x`` (``array('h')`` of ``n_features`` int16 features) with ``label`` (int or
        str) as sample ``len(model)``; returns that index. Raises ``ValueError`` when the model
        is full (``capacity`` samples)."""
        if not self._known(x):
            self._check_x(x)
        w = self._w
        i = w[0]
        if i >= self.capacity:
            raise ValueError("the model is full: it holds its capacity of %d samples; remove() or clear() "
                             "some, or make it with a larger capacity" % self.capacity)
        c = self._index(label)
        n = self.n_features
        _copy(self._data, i * n, x, 0, n, w)
        self._labels[i] = c
        w[0] = i + 1
        return i

    def remove(self, i):
        """Remove sample ``i`` (0..len-1); later samples move down by one index, keeping their
        order (so the model stays equal to scikit-learn's fitted on the remaining samples)."""
        w = self._w
        ns = w[0]
        if type(i) is not int or not 0 <= i < ns:
            raise ValueError("sample index %r out of range: the model holds %d samples" % (i, ns))
        n = self.n_features
        _copy(self._data, i * n, self._data, (i + 1) * n, (ns - 1 - i) * n, w)
        _shift8(self._labels, i, ns)
        w[0] = ns - 1

    def sample(self, i, out):
        """Copy stored sample ``i``'s features into ``out`` (``array('h')``, ``n_features``);
        return its label."""
        ns = self._w[0]
        if type(i) is not int or not 0 <= i < ns:
            raise ValueError("sample index %r out of range: the model holds %d samples" % (i, ns))
        self._check_x(out, "out")
        n = self.n_features
        w = self._w
        lo, hi = w[3], w[4]
        _copy(out, 0, self._data, i * n, n, w)
        w[3], w[4] = lo, hi
        return self.classes[self._labels[i]]

    def predict(self, x):
        """Label (an element of ``classes``) of the majority of the ``k`` stored samples nearest
        to ``x`` (``array('h')`` of ``n_features`` int16 features); allocates nothing once ``x``
        was checked (the last 4 buffers given to add or predict are remembered).
        Raises ``ValueError`` while fewer than ``k`` samples are stored."""
        if not self._known(x):
            self._check_x(x)
        w = self._w
        if w[0] < w[2]:
            raise ValueError("predict needs at least k=%d stored samples; the model holds %d" % (w[2], w[0]))
        return self.classes[_nearest(self._data, x, w, self._labels)]

    def neighbors(self, out):
        """After :meth:`predict`: write the indices of its ``k`` nearest samples into ``out``
        (``array('i')`` or a list, length ``k``), nearest first, equal distances by index."""
        if len(out) != self.k:
            raise ValueError("out must hold k=%d indices, not %d" % (self.k, len(out)))
        w, k = self._w, self.k
        e = [(w[_W + j], w[_W + k + j], w[_W + 2 * k + j]) for j in range(k)]
        e.sort()
        for j in range(k):
            out[j] = e[j][2]
        return out

    def quantize(self, xf, out):
        """Write float features ``xf`` onto the model's int16 scale into ``out`` (``array('h')``):
        ``round((x - offset) * scale)`` with the converter's stored offset and scale (half away
        from zero, clipped to int16, so +-inf clip too); without stored scaling, just rounds and
        clips. ``ValueError`` for a NaN. Returns ``out``."""
        n = self.n_features
        if len(xf) != n:
            raise ValueError("xf has %d values; the model expects %d features" % (len(xf), n))
        self._check_x(out, "out")
        s = self._scaling
        for j in range(n):
            v = xf[j] if s is None else (xf[j] - s[j]) * s[n + j]
            if v >= 32766.5:  # clipped before int(): inf (or 1e30) needs no big int
                out[j] = 32767
            elif v <= -32767.5:
                out[j] = -32768
            elif v == v:
                out[j] = int(v + 0.5) if v >= 0 else -int(0.5 - v)
            else:
                raise ValueError("xf[%d] is NaN: a feature the model cannot place" % j)
        return out

    def save(self, dest):
        """Write the model (stored samples, labels, k, capacity, scaling) as a kind-2 tinysense
        model file to ``dest``, a path or a binary stream; returns the bytes written."""
        if isinstance(dest, str):
            with open(dest, "wb") as f:
                return self._write(f)
        if not hasattr(dest, "write"):
            raise TypeError("expected a file path or a binary stream, not %s" % type(dest).__name__)
        return self._write(dest)

    def _write(self, f):
        n, ns, cs = self.n_features, self._w[0], self.classes
        names = bool(cs) and type(cs[0]) is str
        flags = (_FLAG_NAMES if names else 0) | (_FLAG_SCALING if self._scaling is not None else 0)
        data = memoryview(self._data)  # a bytearray, or the array('h') a full model was loaded into
        data = data[:2 * n * ns] if type(self._data) is bytearray else data[:n * ns]
        secs = [(b"data", b"h", data, n * ns), (b"cidx", b"B", memoryview(self._labels)[:ns], ns)]
        if names:
            b = "\n".join(cs).encode()
            secs.append((b"name", b"B", b, len(b)))
        else:
            secs.append((b"labl", b"i", array.array("i", cs), len(cs)))
        if self._scaling is not None:
            secs.append((b"scal", b"f", self._scaling, 2 * n))
        return _write(f, modelfile.KIND_KNN, (n, ns, self.k, len(cs), self.capacity, flags), secs)


def _write(f, kind, fields, sections):
    # The device-side writer of the tinysense container (docs/modelfile.md), with the reader's
    # CRC-32: header, sections (12-byte header, data, zero padding to 4 bytes), CRC. Each
    # section's buffer holds exactly its items.
    crc = modelfile.crc32
    total = [0, 0]

    def put(b, nb):
        total[1] = crc(b, total[1])
        k = f.write(b)
        if k is not None and k != nb:
            raise OSError("short write while saving the model (%d of %d bytes)" % (k, nb))
        total[0] += nb

    b = struct.pack("<HHHH", 1, kind, len(fields), len(sections))
    put(b"TSMF" + b, 12)
    put(struct.pack("<%di" % len(fields), *fields), 4 * len(fields))
    for tag, tc, buf, count in sections:
        nb = count * {b"B": 1, b"h": 2, b"i": 4, b"f": 4}[tc]
        put(tag + tc + b"\0\0\0" + struct.pack("<I", count), 12)
        if nb:
            put(buf, nb)
        if nb % 4:
            put(bytes(4 - nb % 4), 4 - nb % 4)
    put(struct.pack("<I", total[1]), 4)
    return total[0]


def load(source, capacity=None):
    """Load a k-NN model from a kind-2 tinysense model file (a path, a binary stream or bytes).
    ``capacity``: room for at least this many samples (default: the capacity it was saved with,
    at least its sample count), so learning can go on after loading.

    Raises ``ValueError`` when the file is not a k-NN model, is truncated, corrupted (CRC) or
    inconsistent (k larger than its samples, a sample of a class it does not have...)."""
    r, f, owned = modelfile.open_file(source, modelfile.KIND_KNN)
    try:
        h = r.fields
        if len(h) != 6:
            raise ValueError("k-NN model header has %d fields, expected 6" % len(h))
        n, ns, k, nc, cap, flags = h
        if not (1 <= n <= MAX_FEATURES and 0 <= ns <= cap and 1 <= k <= MAX_K and k <= cap
                and 0 <= nc <= MAX_CLASSES and not flags & ~3) or ns * n > 0x3FFFFFFF:
            raise ValueError("k-NN model header out of range: n_features %d, samples %d, k %d, classes %d, "
                             "capacity %d, flags %d" % (n, ns, k, nc, cap, flags))
        if capacity is not None:
            _check_int(capacity, "capacity", 1, 0x3FFFFFFF // n)
            if capacity < ns:
                raise ValueError("capacity %d is less than the %d samples in the file" % (capacity, ns))
            cap = capacity
        data = r.read("data", "h", 0, ns * n)
        if len(data) != ns * n:
            raise ValueError("k-NN model: section 'data' holds %d values, expected %d" % (len(data), ns * n))
        lab = r.read("cidx", "B", 0, ns)  # room for more only once the CRC vouches for cap
        if len(lab) != ns:
            raise ValueError("k-NN model: section 'cidx' holds %d labels, expected %d" % (len(lab), ns))
        if flags & _FLAG_NAMES:
            b = bytes(r.read("name", "B"))
            cs = tuple(b.decode().split("\n")) if nc else ()  # one class named "" is an empty section
        else:
            cs = tuple(r.read("labl", "i", 0, nc))
        if len(cs) != nc:
            raise ValueError("k-NN model has %d class labels for %d classes" % (len(cs), nc))
        for i in range(1, nc):
            if not cs[i - 1] < cs[i]:
                raise ValueError("k-NN model: class labels must be sorted and distinct")
        scale = None
        if flags & _FLAG_SCALING:
            scale = r.read("scal", "f", 0, 2 * n)
            if len(scale) != 2 * n:
                raise ValueError("k-NN model: scaling has %d numbers, expected %d" % (len(scale), 2 * n))
        r.finish()
        for i in range(ns):
            if lab[i] >= nc:
                raise ValueError("k-NN model: sample %d has class %d of %d" % (i, lab[i], nc))
        if cap > ns:
            m = KNN(n, cap, k)
        else:  # the file fills the capacity: the array just read becomes the storage, no copy
            m = KNN(n, k, k)
            m._data, m.capacity = data, cap
        m.classes = m._initial = cs
        if cap > ns:
            m._labels[:ns] = lab
        else:
            m._labels = lab
        m._scaling = scale
        w = m._w
        if cap > ns:
            _copy(m._data, 0, data, 0, ns * n, w)
        else:
            _copy(data, 0, data, 0, ns * n, w)  # the stored range only
        w[0] = ns
        return m
    finally:
        if owned:
            f.close()

