"""Viper kernels of :mod:`tinysense.cnn`: int8 convolution, pooling and MEAN layers.

Kept apart so that :mod:`tinysense.cnn` can fall back to :mod:`tinysense.cnn_python` on a port
built without the native emitters, where this module does not compile.

Every layer kernel (``conv``, ``pool``, ``mean``; the same three arguments ``a, w, r``: arena,
biased weights (unused by ``pool`` and ``mean``), layer record) reads one layer record ``r``
(``array('i')``, built and checked by ``cnn.load``) and works in the activation arena ``a``
(``bytearray``) at the byte offsets the record gives. Activations are stored *biased*: the byte
is ``x + 128`` (0..255) for the int8 value ``x``, so ``ptr8`` loads (unsigned on every arch) need
no sign extension; weights are biased the same way (``w + 128``). A convolution then computes,
over the whole kernel window of a *padded* input (the border holds the input zero point, which
contributes nothing, as TFLite's skipped taps)::

    P = sum(xb * wb)   S = sum(xb)   acc = P - 128 * S + K

with ``K = bias - (128 + in_zp) * sum(w)`` per output channel (folded at load): exactly TFLite's
``bias + sum(w * (x - in_zp))``. Depthwise layers accumulate ``sum(xb * (wb - 128))`` directly.
Requantization is TFLite's ``MultiplyByQuantizedMultiplier`` (double rounding, ``MBQM``) or the
single rounding ``MULR`` that reproduces LiteRT's fully-connected layers (docs/cnn.md), with the
32x32 -> 64-bit product built from 16-bit halves (see ``conv``).

Input ranges and 32-bit bounds, checked by ``cnn.load`` for every layer so that no
intermediate leaves int32 for any int8 input: ``P <= 255 * 255 * n <= 2**31 - 1`` for ``n`` taps
per output; ``|K| <= 2**31 - 1``; TFLite's accumulator ``|acc| <= 2**31 - 1``, computed from the
weights (so ``P - 128 * S``, in ``[-32640 n, 65025 n]``, plus ``K`` stays in int32) and
``|acc| * 2**left_shift <= 2**31 - 1``; depthwise sums ``<= 255 * 128 * kh * kw``; pool and MEAN
sums ``<= 255 * window``. Constants of 2**30 and more are made at run time (``1 << k``): a
literal that large is not a small int on 32-bit ports and viper would treat it as an object.

Record layout (int32 words; offsets in bytes into the arena; every word >= 0 except ``K``):
0 src (padded input), 1 dst (first output element), 2 padded input width, 3 padded input
height, 4 input channels, 5 out_h, 6 out_w, 7 out_c, 8 kh, 9 kw, 10 sh, 11 sw, 12 dst row
stride, 13 depth multiplier (conv: 0) / pool kind (0 max, 1 average), 14 out_zp + 128,
15 act_min + 128, 16 act_max + 128, 17 first weight, 18-21 pad top, left, bottom, right,
22 border byte (in_zp + 128), 23 input h, 24 input w, 25 rounding (conv: 0 MBQM, 1 MULR),
26 scratch (kh * kw * c bytes for the window of a convolution), 27 1 if act_min >= out_zp
(conv); from word 28: c sums (pools), or per output channel
8 words ``K, bh, bl, left, right, mask, half, 0`` (conv; the multiplier ``bh * 2**16 + bl``, the
shifts, and the rounding mask and half, see ``conv``) then out_c sums (depthwise), or 255
thresholds (MEAN).
"""

import micropython


@micropython.viper
def conv(x: ptr8, wq: ptr8, r: ptr32):
    # CONV_2D and FULLY_CONNECTED (a 1x1 convolution of a 1x1 image) when r[13] == 0,
    # DEPTHWISE_CONV_2D when r[13] (the depth multiplier) > 0. x is the arena and wq the
    # weights on entry; both then serve as the dot product's cursors: the arguments are the
    # locals the Thumb emitter keeps in registers (the others live on the stack).
    a = ptr8(x)
    w = int(wq)
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
    clip = r[27]  # 1 when act_min >= out_zp: an accumulator <= 0 gives act_min
    scr = int(a) + r[26]  # scratch: one window, n bytes
    n = kh * kw * c  # taps of a (non-depthwise) output
    accs = ptr32(int(r) + 112 + (oc_n << 5))  # depthwise sums, after the channel table
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
            xs = xb
            if dm == 1:
                # depthwise, one output per input channel: window positions outside, channels
                # inside (contiguous in input and weights), sum(xb * w) per channel into the
                # record's words after the channel table (|sum| <= 255 * 128 * kh * kw)
                i = 0
                while i < oc_n:
                    accs[i] = 0
                    i += 1
                wp = w + r[17]
                ky = 0
                while ky < kh:
                    j = 0
                    while j < kw:
                        x = ptr8(xb + ky * rowb + j * c)
                        wq = ptr8(wp)
                        ac = accs
                        i = oc_n >> 2
                        while i > 0:  # four channels a step
                            ac[0] += x[0] * (wq[0] - 128)
                            ac[1] += x[1] * (wq[1] - 128)
                            ac[2] += x[2] * (wq[2] - 128)
                            ac[3] += x[3] * (wq[3] - 128)
                            x = ptr8(int(x) + 4)
                            wq = ptr8(int(wq) + 4)
                            ac = ptr32(int(ac) + 16)
                            i -= 1
                        i = oc_n & 3
                        while i > 0:
                            ac[0] += x[0] * (wq[0] - 128)
                            x = ptr8(int(x) + 1)
                            wq = ptr8(int(wq) + 1)
                            ac = ptr32(int(ac) + 4)
                            i -= 1
                        wp += oc_n
                        j += 1
                    ky += 1
            if dm == 0:
                # The window as n contiguous bytes in the weights' (ky, kx, i) order: copied to
                # the scratch area unless it already is (one kernel row). Its sum s is shared by
                # every output channel.
                if kh > 1:
                    xs = scr
                    j = 0
                    xp = xb
                    ky = 0
                    while ky < kh:
                        x = ptr8(xp)
                        i = 0
                        while i < kwc:
                            e = x[i]
                            ptr8(scr)[j] = e
                            s += e
                            j += 1
                            i += 1
                        xp += rowb
                        ky += 1
                else:
                    x = ptr8(xb)
                    i = 0
                    while i < n:
                        s += x[i]
                        i += 1
            o = 0
            wp = w + r[17]
            t = ptr32(int(r) + 112)
            ic = 0
            mc = 0
            while o < oc_n:
                acc = 0
                if dm == 0:
                    # dot product of n bytes, unrolled: one expression per 16 (then 8, 4) products
                    # is about 13 Thumb instructions a product, a loop step per product ~40
                    x = ptr8(xs)
                    wq = ptr8(wp)
                    k = n >> 4
                    while k > 0:
                        acc += (x[0] * wq[0] + x[1] * wq[1] + x[2] * wq[2] + x[3] * wq[3] + x[4] * wq[4]
                                + x[5] * wq[5] + x[6] * wq[6] + x[7] * wq[7] + x[8] * wq[8] + x[9] * wq[9]
                                + x[10] * wq[10] + x[11] * wq[11] + x[12] * wq[12] + x[13] * wq[13]
                                + x[14] * wq[14] + x[15] * wq[15])
                        x = ptr8(int(x) + 16)
                        wq = ptr8(int(wq) + 16)
                        k -= 1
                    if n & 8:
                        acc += (x[0] * wq[0] + x[1] * wq[1] + x[2] * wq[2] + x[3] * wq[3] + x[4] * wq[4]
                                + x[5] * wq[5] + x[6] * wq[6] + x[7] * wq[7])
                        x = ptr8(int(x) + 8)
                        wq = ptr8(int(wq) + 8)
                    k = (n >> 2) & 1
                    while k > 0:
                        acc += x[0] * wq[0] + x[1] * wq[1] + x[2] * wq[2] + x[3] * wq[3]
                        x = ptr8(int(x) + 4)
                        wq = ptr8(int(wq) + 4)
                        k -= 1
                    k = n & 3
                    while k > 0:
                        acc += x[0] * wq[0]
                        x = ptr8(int(x) + 1)
                        wq = ptr8(int(wq) + 1)
                        k -= 1
                    wp += n
                elif dm == 1:
                    acc = (accs[o] ^ m31) - m31  # ptr32 loads zero-extend on 64-bit ports
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
                if acc <= 0 and clip:
                    # The result is oz - M with M >= 0 and the clamp's low end lo >= oz (ReLU,
                    # ReLU6): the output is lo whatever M is, so skip the requantization.
                    a[d + o] = lo
                    t = ptr32(int(t) + 32)
                    o += 1
                    continue
                # Requantization in magnitude. Both roundings are M = floor((u*b + C) / 2**T) for
                # u = |acc << left| (MBQM) or |acc| (MULR), u < 2**31, and the multiplier
                # b = bh * 2**16 + bl < 2**31 (t[1], t[2]); the result is -M for acc < 0 (neg).
                # MBQM (SaturatingRoundingDoublingHighMul then RoundingDivideByPOT by k = right
                # shift t[4], half away from zero): T = 31 + k, C = 2**30 - neg + 2**(30 + k)
                # [k > 0], since floor((floor(X / 2**31) + h) / 2**k) = floor((X + h*2**31) / 2**(31+k)).
                # MULR: T = 31 - shift, C = 2**(T-1) - neg.
                # u*b = q * 2**31 + rem from 16-bit halves, uh, bh < 2**15, ul, bl < 2**16:
                # uh*bh, uh*bl, ul*bh < 2**31; ul*bl (lw) < 2**32 and mid = uh*bl + ul*bh +
                # (lw >> 16) <= 2**32 - 2**17 are unsigned (uint); q < 2**31, rem < 2**31. Each
                # rounding then compares a remainder with its half, or adds the half to q as
                # uint (q + 2**(k-1) < 2**32), so nothing leaves 32 bits.
                u = acc
                if single == 0:
                    u = acc << t[3]
                neg = 0
                if u < 0:
                    u = 0 - u
                    neg = 1
                uh = u >> 16
                ul = u & 0xFFFF
                lw = uint(ul) * uint(t[2])
                mid = uint(uh * t[2]) + uint(ul * t[1]) + (lw >> 16)
                q = ((uh * t[1]) << 1) + int(mid >> 15)
                rem = int((mid & 0x7FFF) << 16) | int(lw & 0xFFFF)
                k = t[4]
                if single == 0 or k:  # T >= 31: floor((q + c1 + half) / 2**k)
                    e = 0
                    if single and k:  # MULR: c1 = -1 when rem - neg < 0
                        if neg and rem == 0:
                            e = 1
                    elif rem >= h30 + neg:  # c1 = floor((rem + 2**30 - neg) / 2**31)
                        q += 1
                    if k:  # half t[6] = 2**(k-1) >= 1 >= e: 0 <= q + half - e < 2**32
                        q = int((uint(q) + uint(t[6]) - uint(e)) >> k)
                elif t[3]:  # MULR, T = 31 - left < 31: q * 2**left + floor((rem + half - neg) / 2**T)
                    e = rem & t[5]  # mask t[5] = 2**T - 1, half t[6] = 2**(T-1)
                    q = (q << t[3]) + (rem >> (31 - t[3]))
                    if e >= t[6] + neg:
                        q += 1
                elif rem >= h30 + neg:  # MULR, T = 31
                    q += 1
                if neg:
                    q = 0 - q
                # zero point and clamp; |q| may be near 2**31 (a multiplier ~1 and a large
                # accumulator), so compare before adding the zero point
                if q >= hi - oz:
                    q = hi
                else:
                    q += oz
                    if q < lo:
                        q = lo
                a[d + o] = q
                t = ptr32(int(t) + 32)
                o += 1
            d += oc_n
            ox += 1
        oy += 1


@micropython.viper
def pool(a: ptr8, w: ptr8, r: ptr32):
    # MAX_POOL_2D (r[13] == 0) and AVERAGE_POOL_2D (r[13] == 1) over the in-bounds part of each
    # window; the input is unpadded (row stride r[2] * c). Window positions outside, channels
    # inside (contiguous): the maximum builds up in the output bytes, the sums in c words of
    # the record from word 28. Average: TFLite's rounding of the int8 sum (no zero point) by the
    # number n of in-bounds positions, half away from zero. Bound: |sum| <= 128 * kh * kw.
    c = r[4]
    rowb = r[2] * c
    ih = r[23]
    iw = r[24]
    avg = r[13]
    lo = r[15]
    hi = r[16]
    sums = ptr32(int(r) + 112)
    oy = 0
    while oy < r[5]:
        y0 = oy * r[10] - r[18]
        y1 = y0 + r[8]
        if y0 < 0:
            y0 = 0
        if y1 > ih:
            y1 = ih
        dp = r[1] + oy * r[12]
        ox = 0
        while ox < r[6]:
            x0 = ox * r[11] - r[19]
            x1 = x0 + r[9]
            if x0 < 0:
                x0 = 0
            if x1 > iw:
                x1 = iw
            d = ptr8(int(a) + dp)
            first = 1
            yy = y0
            while yy < y1:
                p = int(a) + r[0] + yy * rowb + x0 * c
                xx = x0
                while xx < x1:
                    src = ptr8(p)
                    ch = 0
                    if avg:
                        if first:
                            while ch < c:
                                sums[ch] = src[ch]
                                ch += 1
                        else:
                            while ch < c:
                                sums[ch] += src[ch]
                                ch += 1
                    elif first:
                        while ch < c:
                            d[ch] = src[ch]
                            ch += 1
                    else:
                        while ch < c:
                            if src[ch] > d[ch]:
                                d[ch] = src[ch]
                            ch += 1
                    first = 0
                    p += c
                    xx += 1
                yy += 1
            ch = 0
            if avg:
                n = (y1 - y0) * (x1 - x0)
                h = n >> 1
                while ch < c:
                    e = sums[ch] - (n << 7)
                    if e > 0:
                        e = (e + h) // n
                    else:
                        e = 0 - ((h - e) // n)
                    e += 128
                    if e < lo:
                        e = lo
                    if e > hi:
                        e = hi
                    d[ch] = e
                    ch += 1
            elif lo > 0 or hi < 255:
                while ch < c:
                    e = d[ch]
                    if e < lo:
                        d[ch] = lo
                    if e > hi:
                        d[ch] = hi
                    ch += 1
            dp += c
            ox += 1
        oy += 1


@micropython.viper
def mean(a: ptr8, w: ptr8, r: ptr32):
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
