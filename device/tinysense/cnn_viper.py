"""Viper kernels of :mod:`tinysense.cnn`: int8 convolution, pooling and MEAN layers.

Kept apart so that :mod:`tinysense.cnn` can fall back to :mod:`tinysense.cnn_python` on a port
built without the native emitters, where this module does not compile.

Every layer kernel (``conv``, ``pool``, ``mean``: the same three arguments, ``w`` the biased
weights, unused by ``pool`` and ``mean``) reads one layer record ``r`` (``array('i')``, built and checked by ``cnn.load``) and
works in the activation arena ``a`` (``bytearray``) at the byte offsets the record gives.
Activations are stored *biased*: the byte is ``x + 128`` (0..255) for the int8 value ``x``, so
``ptr8`` loads (unsigned on every arch) need no sign extension; weights are biased the same way
(``w + 128``). A convolution then computes, over the whole kernel window of a *padded* input
(the border holds the input zero point, which contributes nothing, as TFLite's skipped taps)::

    P = sum(xb * wb)   S = sum(xb)   acc = P - 128 * S + K

with ``K = bias - (128 + in_zp) * sum(w)`` per output channel (folded at load): exactly TFLite's
``bias + sum(w * (x - in_zp))``. Requantization is TFLite's ``MultiplyByQuantizedMultiplier``
(double rounding, ``MBQM``) or the single rounding ``MULR`` that reproduces LiteRT's
fully-connected layers (docs/cnn.md), with the 32x32 -> 64-bit product built from 16-bit halves
(see ``conv``).

32-bit bounds (checked by ``cnn.load`` for every layer, so no intermediate leaves int32):
``P <= 255 * 255 * n <= 2**31 - 1`` for ``n`` taps per output, ``|K| <= 2**31 - 1``, and TFLite's
accumulator ``|acc| <= 2**31 - 1`` (so ``P - 128 * S`` in ``[-32640 n, 65025 n]`` plus ``K`` never
leaves int32);
``|acc| * 2**left_shift <= 2**31 - 1``; pool and MEAN sums ``<= 255 * window``. Constants of
2**30 and more are made at run time (``1 << k``): a literal that large is not a small int on
32-bit ports and viper would treat it as an object.

Record layout (int32 words; offsets in bytes into the arena; every word >= 0 except ``K``):
0 src (padded input), 1 dst (first output element), 2 padded input width, 3 padded input
height, 4 input channels, 5 out_h, 6 out_w, 7 out_c, 8 kh, 9 kw, 10 sh, 11 sw, 12 dst row
stride, 13 depth multiplier (conv: 0) / pool kind (0 max, 1 average), 14 out_zp + 128,
15 act_min + 128, 16 act_max + 128, 17 first weight, 18-21 pad top, left, bottom, right,
22 border byte (in_zp + 128), 23 input h, 24 input w, 25 rounding (conv: 0 MBQM, 1 MULR),
26-27 0; from word 28: per output channel
``K, multiplier, left shift, right shift`` (conv), or 255 thresholds (MEAN).
"""

import micropython


@micropython.viper
def conv(r: ptr32, w: ptr8, a: ptr8):
    # CONV_2D and FULLY_CONNECTED (a 1x1 convolution of a 1x1 image) when r[13] == 0,
    # DEPTHWISE_CONV_2D when r[13] (the depth multiplier) > 0.
    c = r[4]
    pw = r[2]
    rowb = pw * c  # bytes per padded input row
    # The input's border (the padding) holds the input zero point: fill it (other layers may
    # have used these bytes of the buffer since).
    v = r[22]
    p = r[0]
    ph = r[3]
    y = 0
    while y < ph:
        if y < r[18] or y >= ph - r[20]:
            i = 0
            while i < rowb:
                a[p + i] = v
                i += 1
        else:
            i = 0
            n = r[19] * c
            while i < n:
                a[p + i] = v
                i += 1
            i = rowb - r[21] * c
            while i < rowb:
                a[p + i] = v
                i += 1
        p += rowb
        y += 1
    k = 31
    m31 = 1 << k  # sign-extends int32 words that ptr32 loads zero-extend on 64-bit ports
    k = 30
    h30 = 1 << k
    kh = r[8]
    kw = r[9]
    dm = r[13]
    oc_n = r[7]
    oz = r[14]
    lo = r[15]
    hi = r[16]
    single = r[25]  # 0: MBQM (double rounding), 1: MULR (single rounding), docs/cnn.md
    src = int(a) + r[0]
    kwc = kw * c
    if dm:
        kwc = kw
    sy = r[10] * rowb
    sx = r[11] * c
    ow = r[6]
    oy = 0
    while oy < r[5]:
        d = r[1] + oy * r[12]
        ox = 0
        while ox < ow:
            xb = src + oy * sy + ox * sx
            s = 0
            if dm == 0:  # sum of the window, shared by every output channel
                xp = xb
                ky = 0
                while ky < kh:
                    x = ptr8(xp)
                    i = 0
                    while i < kwc:
                        s += x[i]
                        i += 1
                    xp += rowb
                    ky += 1
            o = 0
            wp = int(w) + r[17]
            t = ptr32(int(r) + 112)
            ic = 0
            mc = 0
            while o < oc_n:
                acc = 0
                if dm == 0:
                    xp = xb
                    ky = 0
                    while ky < kh:
                        x = ptr8(xp)
                        wq = ptr8(wp)
                        i = 0
                        while i < kwc:
                            acc += x[i] * wq[i]
                            i += 1
                        xp += rowb
                        wp += kwc
                        ky += 1
                else:  # depthwise: output channel o reads input channel ic = o // dm
                    s = 0
                    xp = xb + ic
                    wq = ptr8(wp + o)
                    j = 0
                    ky = 0
                    while ky < kh:
                        x = ptr8(xp)
                        i = 0
                        while i < kw:
                            e = x[i * c]
                            s += e
                            acc += e * wq[j]
                            j += oc_n
                            i += 1
                        xp += rowb
                        ky += 1
                    mc += 1
                    if mc == dm:
                        mc = 0
                        ic += 1
                kk = t[0]
                acc = acc - (s << 7) + ((kk ^ m31) - m31)
                # The product u*b of u = |acc << left| (MBQM) or |acc| (MULR), u < 2**31, and
                # the multiplier b < 2**31, as q = floor(u*b / 2**31) and rem = u*b mod 2**31:
                # u*b = uh*bh*2**32 + (uh*bl + ul*bh)*2**16 + ul*bl with halves uh, bh < 2**15,
                # ul, bl < 2**16; every partial product below is < 2**31 (ul*bl is split by bl's
                # bytes: < 2**24 each) and every sum < 2**31.
                u = acc
                if single == 0:
                    u = acc << t[2]
                neg = 0
                if u < 0:
                    u = 0 - u
                    neg = 1
                b = t[1]
                uh = u >> 16
                ul = u & 0xFFFF
                bh = b >> 16
                bl = b & 0xFFFF
                m1 = uh * bl
                m2 = ul * bh
                p0 = ul * (bl & 255)
                p1 = ul * (bl >> 8) + (p0 >> 8)  # ul*bl = p1*256 + (p0 & 255), p1 < 2**25
                s2 = (m1 & 0x7FFF) + (m2 & 0x7FFF) + (p1 >> 8)  # < 2**17
                q = ((uh * bh) << 1) + (m1 >> 15) + (m2 >> 15) + (s2 >> 15)
                rem = ((s2 & 0x7FFF) << 16) | ((p1 & 255) << 8) | (p0 & 255)
                if single == 0:
                    # MBQM. gemmlowp's nudge: +2**30 for a product >= 0, 1 - 2**30 (then
                    # truncation toward zero) for a negative one: in magnitude, round up when
                    # rem >= 2**30 (+ 1 if negative)
                    if rem >= h30 + neg:
                        q += 1
                    if neg:
                        q = 0 - q
                    k = t[3]
                    if k:  # RoundingDivideByPOT(q, k): round half away from zero
                        mask = (1 << k) - 1
                        rem = q & mask
                        thr = mask >> 1
                        if q < 0:
                            thr += 1
                        q = q >> k
                        if rem > thr:
                            q += 1
                else:
                    # MULR: floor((acc*b + 2**(t-1)) / 2**t), t = 31 - shift. In magnitude M =
                    # floor((u*b + 2**(t-1) - neg) / 2**t), from q and rem without leaving 31 bits:
                    # each "+ 1" below compares a remainder with the half instead of adding it.
                    k = t[2]
                    if k:  # t = 31 - k < 31: M = q * 2**k + floor((rem + half - neg) / 2**t)
                        k = 31 - k
                        mask = (1 << k) - 1
                        q = (q << t[2]) + (rem >> k)
                        if (rem & mask) >= (1 << (k - 1)) + neg:
                            q += 1
                    else:
                        k = t[3]
                        if k:  # t = 31 + k: M = floor((q + 2**(k-1) - d) / 2**k)
                            mask = (1 << k) - 1
                            e = 0
                            if neg and rem == 0:
                                e = 1
                            ky = q & mask
                            q = q >> k
                            if ky >= (1 << (k - 1)) + e:
                                q += 1
                        elif rem >= h30 + neg:  # t = 31
                            q += 1
                    if neg:
                        q = 0 - q
                q += oz
                if q < lo:
                    q = lo
                if q > hi:
                    q = hi
                a[d + o] = q
                t = ptr32(int(t) + 16)
                o += 1
            d += oc_n
            ox += 1
        oy += 1


@micropython.viper
def pool(r: ptr32, w: ptr8, a: ptr8):
    # MAX_POOL_2D (r[13] == 0) and AVERAGE_POOL_2D (r[13] == 1) over the in-bounds part of each
    # window; the input is unpadded (row stride r[2] * c). Average: TFLite's rounding of the
    # int8 sum (no zero point) by the number n of in-bounds positions, half away from zero.
    # Bound: |sum| <= 128 * kh * kw.
    c = r[4]
    rowb = r[2] * c
    ih = r[23]
    iw = r[24]
    kh = r[8]
    kw = r[9]
    avg = r[13]
    lo = r[15]
    hi = r[16]
    oy = 0
    while oy < r[5]:
        y0 = oy * r[10] - r[18]
        y1 = y0 + kh
        if y0 < 0:
            y0 = 0
        if y1 > ih:
            y1 = ih
        d = r[1] + oy * r[12]
        ox = 0
        while ox < r[6]:
            x0 = ox * r[11] - r[19]
            x1 = x0 + kw
            if x0 < 0:
                x0 = 0
            if x1 > iw:
                x1 = iw
            n = (y1 - y0) * (x1 - x0)
            base = r[0] + y0 * rowb + x0 * c
            ch = 0
            while ch < c:
                s = 0
                yy = y0
                p = base + ch
                while yy < y1:
                    i = 0
                    q = p
                    while i < x1 - x0:
                        e = a[q]
                        if avg:
                            s += e
                        elif e > s:
                            s = e
                        q += c
                        i += 1
                    p += rowb
                    yy += 1
                if avg:
                    s -= n << 7
                    if s > 0:
                        s = (s + (n >> 1)) // n
                    else:
                        s = 0 - ((0 - s + (n >> 1)) // n)
                    s += 128
                if s < lo:
                    s = lo
                if s > hi:
                    s = hi
                a[d + ch] = s
                ch += 1
            d += c
            ox += 1
        oy += 1


@micropython.viper
def mean(r: ptr32, w: ptr8, a: ptr8):
    # MEAN over height and width: the int8 sum of each channel (|sum| <= 128 * h * w), then
    # the output is -128 + the number of thresholds <= sum (binary search over 255 sorted
    # thresholds from word 28, docs/cnn.md); stored biased, that is just the count.
    c = r[4]
    n = r[23] * r[24]
    k = 31
    m31 = 1 << k
    t = ptr32(int(r) + 112)
    ch = 0
    while ch < c:
        s = 0
        p = r[0] + ch
        i = 0
        while i < n:
            s += a[p]
            p += c
            i += 1
        s -= n << 7
        lo = 0
        hi = 255
        while lo < hi:
            mid = (lo + hi) >> 1
            if s >= (t[mid] ^ m31) - m31:
                lo = mid + 1
            else:
                hi = mid
        a[r[1] + ch] = lo
        ch += 1


@micropython.viper
def put(x: ptr8, a: ptr8, g: ptr32):
    # Copy the int8 input x (g[1] rows of g[2] bytes) into the arena at g[0] with row stride
    # g[3], biased (xor 0x80 is + 128 for an int8 bit pattern).
    d = g[0]
    j = 0
    y = 0
    while y < g[1]:
        i = 0
        while i < g[2]:
            a[d + i] = x[j] ^ 0x80
            j += 1
            i += 1
        d += g[3]
        y += 1


@micropython.viper
def get(a: ptr8, out: ptr8, g: ptr32):
    # The scores (g[1] bytes at arena offset g[0]) back to int8 into out.
    p = g[0]
    i = 0
    while i < g[1]:
        out[i] = a[p + i] ^ 0x80
        i += 1


@micropython.viper
def argmax(a: ptr8, g: ptr32) -> int:
    # Index of the first largest of the g[1] scores at arena offset g[0].
    p = g[0]
    best = 0
    top = a[p]
    i = 1
    while i < g[1]:
        if a[p + i] > top:
            top = a[p + i]
            best = i
        i += 1
    return best


@micropython.viper
def lookup(src: ptr8, dst: ptr8, table: ptr8, n: int):
    # dst[i] = table[src[i]] for n bytes: uint8 pixels -> int8 model input.
    i = 0
    while i < n:
        dst[i] = table[src[i]]
        i += 1


@micropython.viper
def flip(b: ptr8, n: int):
    # b[i] ^= 0x80 for n bytes: int8 weights <-> their biased form (w + 128).
    i = 0
    while i < n:
        b[i] = b[i] ^ 0x80
        i += 1
