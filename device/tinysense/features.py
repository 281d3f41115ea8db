"""Features of int16 sensor windows: statistics per channel and of the magnitude, band energies.

    ex = features.load("features.tsm")          # the layout the host trained with (kind-5 file)
    ex = features.Extractor(channels=3, length=128, rate=100)   # or the default set
    feats = array.array("h", bytearray(2 * ex.n_features))
    ex.compute(win, feats)                      # win: planar array('h'), as window.Window.pop fills

Feature names are ``<signal>_<feature>``: signals ``x y z u v w`` (channels in order) and
``mag`` = floor(sqrt(x**2 + y**2 + z**2) / 2) with three or more channels; features ``mean std
min max median q25 q75 iqr rms mcr`` (mean-crossing rate, per 1000 sample pairs) and
``e<lo>_<hi>``, the energy of the signal minus its mean in lo <= f < hi Hz as 16 * log2 (1/16
octave steps). Exact integer definitions, shared with the host's ``tinysense.features``
(numpy), are in docs/features.md; host and device agree to the count.

One viper pass per signal for the sums and crossings, a viper sort for the quantiles,
the fixed-point FFT of :mod:`tinysense.fft` (windows shorter than 64 samples zero-padded) for
band energies. All buffers are made once; ``compute`` allocates nothing. Needs the native
emitters (viper).
"""

import array

from . import arrays, modelfile

try:
    from . import features_viper as _k
    from . import fft
except (SyntaxError, ValueError):  # no native emitters (or a foreign .mpy arch): Extractor says so
    _k = None

KIND_FEATURES = 5
DEFINITIONS = 1
CHANNEL_NAMES = "xyzuvw"
MAG = "mag"
STATS = ("mean", "std", "min", "max", "median", "q25", "q75", "iqr", "rms", "mcr")
DEFAULT_BANDS = ((0, 1), (1, 3), (3, 6), (6, 12))
MAX_LENGTH = 1024
MAX_CHANNELS = 6
MAX_BANDS = 16
_GAPS = (701, 301, 132, 57, 23, 10, 4, 1)
_SORTED = ("median", "q25", "q75", "iqr")


def signal_names(channels):
    """Signals of ``channels`` channels: ``x``, ``y``, ... and ``mag`` when there are >= 3."""
    names = [CHANNEL_NAMES[i] for i in range(channels)]
    if channels >= 3:
        names.append(MAG)
    return names


def default_names(channels=3, bands=DEFAULT_BANDS):
    """Every statistic and band energy of every signal, signal by signal (56 for 3 channels)."""
    out = []
    for sig in signal_names(channels):
        for s in STATS:
            out.append(sig + "_" + s)
        for lo, hi in bands:
            out.append("%s_e%d_%d" % (sig, lo, hi))
    return out


def _parse(name, channels):
    # (signal index, stat index 0..9) or (signal index, (lo, hi))
    sigs = signal_names(channels)
    if type(name) is not str or "_" not in name:
        raise ValueError("feature name %r is not <signal>_<feature>" % (name,))
    i = name.index("_")
    sig, feat = name[:i], name[i + 1:]
    if sig not in sigs:
        raise ValueError("feature %r: unknown signal %r; with %d channels the signals are %s"
                         % (name, sig, channels, " ".join(sigs)))
    if feat in STATS:
        return sigs.index(sig), STATS.index(feat)
    if feat[:1] == "e" and feat.count("_") == 1:
        j = feat.index("_")
        lo, hi = feat[1:j], feat[j + 1:]
        if lo.isdigit() and hi.isdigit() and int(lo) < int(hi) <= 32767:
            return sigs.index(sig), (int(lo), int(hi))
    raise ValueError("feature %r: unknown feature %r; expected one of %s or e<lo>_<hi> (Hz)"
                     % (name, feat, " ".join(STATS)))


_int = arrays.check_int


def _isqrt(v):
    r = int(v ** 0.5)
    while r * r > v:
        r -= 1
    while (r + 1) * (r + 1) <= v:
        r += 1
    return r


class Extractor:
    """Computes the features ``names`` (default: :func:`default_names`) of windows of
    ``length`` samples (1..1024) of ``channels`` int16 channels (1..6) sampled at ``rate`` Hz
    (sets the band edges). ``hop`` (default ``length // 2``) is carried for the app's Window.

    Attributes: ``names``, ``n_features``, ``channels``, ``length``, ``hop``, ``rate``,
    ``nfft`` (FFT length of the band energies, 0 when no band is asked for).
    """

    def __init__(self, channels=3, length=128, rate=100, names=None, hop=None):
        if _k is None:
            raise ImportError("tinysense.features needs its viper kernels (features_viper), which this port "
                              "cannot run: no native emitter, or a .mpy built for another architecture")
        self.channels = _int(channels, "channels", 1, MAX_CHANNELS)
        self.length = _int(length, "length", 1, MAX_LENGTH)
        self.rate = _int(rate, "rate", 1, 32767)
        self.hop = _int(length // 2 or 1 if hop is None else hop, "hop", 1, 32767)
        if names is None:
            names = default_names(channels)
        if type(names) not in (list, tuple) or not names:
            raise TypeError("names must be a non-empty list of feature names")
        names = list(names)
        for i in range(len(names)):
            for j in range(i):
                if names[i] == names[j]:
                    raise ValueError("feature %r is named twice" % (names[i],))
        parsed = [_parse(nm, channels) for nm in names]
        self.names = names
        self.n_features = len(names)
        nsig = len(signal_names(channels))
        # which statistics and bands each signal needs
        want = [[0, []] for _ in range(nsig)]  # flags, bands
        for si, what in parsed:
            if type(what) is tuple:
                if what not in want[si][1]:
                    want[si][1].append(what)
                want[si][0] |= 2
            elif STATS[what] in _SORTED:
                want[si][0] |= 1
        n = self.length
        nfft = 64
        while nfft < n:
            nfft *= 2
        needs_fft = any(w[1] for w in want)
        self.nfft = nfft if needs_fft else 0
        lim = _isqrt((2 ** 31 - 1) // n)
        blocks = []
        size = 9  # v[0]: current block, v[1..8]: sort gaps
        for si in range(nsig):
            nb = len(want[si][1])
            if nb > MAX_BANDS:
                raise ValueError("signal %s has %d bands; at most %d" % (signal_names(channels)[si], nb, MAX_BANDS))
            blocks.append(size)
            size += 16 + 3 * nb
        v = array.array("i", [0] * size)
        for g in range(8):
            v[1 + g] = _GAPS[g]
        used = []
        for si in range(nsig):
            b = blocks[si]
            v[b] = n
            v[b + 1] = si * n if si < channels else 0
            v[b + 2] = lim
            v[b + 3] = want[si][0]
            bl = want[si][1]
            v[b + 15] = len(bl)
            for j in range(len(bl)):
                lo, hi = bl[j]
                first = max(1, -(-lo * nfft // self.rate))
                last = min(nfft // 2 + 1, -(-hi * nfft // self.rate))
                v[b + 16 + 2 * j] = first
                v[b + 17 + 2 * j] = max(first, last)
            if any(p[0] == si for p in parsed):
                used.append(si)
        idx = array.array("h", [0] * len(names))
        for j in range(len(names)):
            si, what = parsed[j]
            b = blocks[si]
            if type(what) is tuple:
                idx[j] = b + 16 + 2 * v[b + 15] + want[si][1].index(what)
            else:
                idx[j] = b + 4 + what
        self._v = v
        self._idx = idx
        self._blocks = blocks
        self._used = used
        self._mag = array.array("h", bytearray(2 * n)) if channels in used else None
        # the sort copy, the radix sort's other half and its 256 counts
        self._srt = array.array("h", bytearray(4 * n + 512))
        if needs_fft:
            self._fft = fft.RFFT(nfft)
            self._fin = array.array("h", bytearray(2 * nfft))
            self._pw = array.array("i", [0] * (nfft // 2 + 1))
        else:
            self._fft = None
            self._fin = self._srt
            self._pw = None
        self._seen = [None] * 4  # buffers already checked: 2 windows, 2 outs

    def compute(self, window, out):
        """Features of ``window`` (``array('h')`` of ``channels * length``, planar: channel 0's
        samples, then channel 1's, ...) into ``out`` (``array('h')`` of ``n_features``), in the
        order of ``names``. Allocates nothing once the buffers were checked (the last two
        windows and outs are remembered)."""
        sn = self._seen
        if window is not sn[0] and window is not sn[1]:
            nw = self.channels * self.length
            if type(window) is not array.array or arrays.typecode(window) != "h" or len(window) != nw:
                raise TypeError("window must be array('h') of channels * length = %d values (planar)" % nw)
            sn[1] = sn[0]  # the type check allocates: once per buffer
            sn[0] = window
        if out is not sn[2] and out is not sn[3]:
            if type(out) is not array.array or arrays.typecode(out) != "h" or len(out) != self.n_features:
                raise TypeError("out must be array('h') of n_features = %d values" % self.n_features)
            sn[3] = sn[2]
            sn[2] = out
        k = _k
        v = self._v
        ch = self.channels
        for si in self._used:
            b = self._blocks[si]
            v[0] = b
            sig = window
            if si == ch:
                k.magnitude(window, self._mag, self.length)
                sig = self._mag
            k.stats(sig, self._srt, self._fin, v)
            if v[b + 3] & 2:
                v[b + 14] = self._fft.power(self._fin, self._pw) + 1024
                k.bands(self._pw, v)
        k.gather(v, self._idx, out, self.n_features)
        return out


def load(source):
    """An :class:`Extractor` for the kind-5 layout file ``source`` (path, stream or bytes)
    written by the host's ``tinysense.features.save_layout``. ValueError when the file is
    not a feature layout, is damaged, or was written for other feature definitions."""
    r, f, owned = modelfile.open_file(source, KIND_FEATURES)
    try:
        fields = r.fields
        if len(fields) < 6:
            raise ValueError("feature layout has %d header fields; expected 6" % len(fields))
        channels, length, hop, rate, n_features, version = fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
        if version != DEFINITIONS:
            raise ValueError("feature definitions version %d; this device knows %d" % (version, DEFINITIONS))
        raw = r.read("name", "B", most=65536)
        r.finish()
    finally:
        if owned:
            f.close()
    names = bytes(raw).decode().split("\n")
    if len(names) != n_features:
        raise ValueError("feature layout names %d features but its header says %d" % (len(names), n_features))
    return Extractor(channels, length, rate, names, hop)
