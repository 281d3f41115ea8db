"""Plain-Python twin of :mod:`tinysense.cnn_viper`, for ports built without the native emitters:
the same layer records, the same biased arena, the same integers, hundreds of times slower.

Requantization here is written from TFLite's definition with Python's unbounded integers (the
64-bit product directly), not from the viper kernel's 16-bit halves, so the tests comparing the
two check one against the other. It allocates (big integers, on 32-bit ports): the no-allocation
guarantee of :mod:`tinysense.cnn` holds for the viper kernels only.
"""

_HEAD = 28


def _mbqm(acc, m, left, right):
    # MultiplyByQuantizedMultiplier: SaturatingRoundingDoublingHighMul then RoundingDivideByPOT.
    p = (acc << left) * m
    p += (1 << 30) if p >= 0 else 1 - (1 << 30)
    h = p >> 31 if p >= 0 else -((-p) >> 31)  # C division by 2**31: toward zero
    if right:
        mask = (1 << right) - 1
        rem = h & mask
        thr = (mask >> 1) + (1 if h < 0 else 0)
        h = (h >> right) + (1 if rem > thr else 0)
    return h


def _mulr(acc, m, left, right):
    # Single rounding: floor((acc * m + 2**(t - 1)) / 2**t) with t = 31 - shift.
    t = 31 - left + right
    return (acc * m + (1 << (t - 1))) >> t


def _fill(r, a):
    c, pw, ph, v = r[4], r[2], r[3], r[22]
    rowb = pw * c
    p = r[0]
    for y in range(ph):
        if y < r[18] or y >= ph - r[20]:
            for i in range(p, p + rowb):
                a[i] = v
        else:
            for i in range(p, p + r[19] * c):
                a[i] = v
            for i in range(p + rowb - r[21] * c, p + rowb):
                a[i] = v
        p += rowb


def conv(a, w, r):
    """CONV_2D / FULLY_CONNECTED (``r[13] == 0``) or DEPTHWISE_CONV_2D (``r[13]`` = depth
    multiplier) over the padded, biased input; see :func:`tinysense.cnn_viper.conv`."""
    _fill(r, a)
    c, pw = r[4], r[2]
    rowb = pw * c
    kh, kw, dm, oc_n = r[8], r[9], r[13], r[7]
    oz, lo, hi = r[14], r[15], r[16]
    for oy in range(r[5]):
        d = r[1] + oy * r[12]
        for ox in range(r[6]):
            xb = r[0] + oy * r[10] * rowb + ox * r[11] * c
            for o in range(oc_n):
                t = _HEAD + 8 * o
                acc = 0
                if dm == 0:
                    wp = r[17] + o * kh * kw * c
                    for ky in range(kh):
                        xp = xb + ky * rowb
                        for i in range(kw * c):
                            acc += a[xp + i] * ((w[wp] & 255) - 128)
                            wp += 1
                else:
                    xp = xb + o // dm
                    j = r[17] + o
                    for ky in range(kh):
                        for kx in range(kw):
                            acc += a[xp + ky * rowb + kx * c] * ((w[j] & 255) - 128)
                            j += oc_n
                # acc = sum((x + 128) * w); r[t] = bias - (128 + in_zp) * sum(w): their sum is TFLite's
                m = r[t + 1] << 16 | r[t + 2]
                q = (_mulr if r[25] else _mbqm)(acc + r[t], m, r[t + 3], r[t + 4]) + oz
                a[d + o] = lo if q < lo else (hi if q > hi else q)
            d += oc_n


def pool(a, w, r):
    """MAX_POOL_2D (``r[13] == 0``) or AVERAGE_POOL_2D over the in-bounds part of each window."""
    c, ih, iw, kh, kw = r[4], r[23], r[24], r[8], r[9]
    rowb = r[2] * c
    lo, hi = r[15], r[16]
    for oy in range(r[5]):
        y0 = oy * r[10] - r[18]
        y1 = min(y0 + kh, ih)
        y0 = max(y0, 0)
        d = r[1] + oy * r[12]
        for ox in range(r[6]):
            x0 = ox * r[11] - r[19]
            x1 = min(x0 + kw, iw)
            x0 = max(x0, 0)
            n = (y1 - y0) * (x1 - x0)
            for ch in range(c):
                vals = [a[r[0] + yy * rowb + xx * c + ch] - 128 for yy in range(y0, y1) for xx in range(x0, x1)]
                if r[13]:
                    s = sum(vals)
                    v = (s + n // 2) // n if s > 0 else -((-s + n // 2) // n)
                else:
                    v = max(vals)
                v += 128
                a[d + ch] = lo if v < lo else (hi if v > hi else v)
            d += c


def mean(a, w, r):
    """MEAN over height and width by the 255 thresholds (docs/cnn.md)."""
    c = r[4]
    n = r[23] * r[24]
    for ch in range(c):
        s = 0
        for i in range(n):
            s += a[r[0] + i * c + ch] - 128
        k = 0
        while k < 255 and s >= r[_HEAD + k]:
            k += 1
        a[r[1] + ch] = k


def put(x, a, g):
    """The int8 input ``x`` into the arena at ``g[0]``: ``g[1]`` rows of ``g[2]`` bytes, row stride
    ``g[3]``, biased."""
    j = 0
    d = g[0]
    for _ in range(g[1]):
        for i in range(g[2]):
            a[d + i] = (x[j] & 255) ^ 0x80
            j += 1
        d += g[3]


def get(a, out, g):
    """The ``g[1]`` scores at arena offset ``g[0]`` back to int8 into ``out``."""
    for i in range(g[1]):
        v = a[g[0] + i] - 128
        out[i] = v if type(out) is not bytearray else v & 255


def argmax(a, g):
    """Index of the first largest of the ``g[1]`` scores at arena offset ``g[0]``."""
    p = g[0]
    best = 0
    for i in range(1, g[1]):
        if a[p + i] > a[p + best]:
            best = i
    return best


def lookup(src, dst, table, n):
    """``dst[i] = table[src[i]]`` for ``n`` values (uint8 pixels to int8 model input)."""
    for i in range(n):
        v = table[src[i]]
        dst[i] = v if type(dst) is not bytearray else v & 255


def flip(b, n):
    """``b[i] ^= 0x80`` for ``n`` int8 values (weights to and from their biased form)."""
    for i in range(n):
        v = (b[i] & 255) ^ 0x80
        b[i] = v - 256 if v > 127 else v
