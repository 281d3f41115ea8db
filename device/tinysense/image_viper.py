"""Viper kernels of :mod:`tinysense.image` (uint8 grayscale images, row-major bytes).

Kept apart so that :mod:`tinysense.image` can say clearly what is missing on a port built
without the native emitters, where this module does not compile. The callers validate every
size and buffer length first; the kernels trust them. Integer parameters arrive packed in one
``array('i')`` ``p`` (one argument instead of six: each viper argument costs instructions on
Thumb); every value in ``p`` is >= 0, so ``ptr32`` reads the same on 32 and 64 bits.

32-bit bounds (all values >= 0, stated for the limits :mod:`tinysense.image` enforces):
area sums <= 255 * 65536 < 2**24; nearest indices (2x+1)*sw < 2*dw*sw <= 2**25; bilinear
positions (2x+1)*sw*128 < dw*sw*256 <= 2**31 - 1 with dw*sw <= 2**23 - 1, blends
<= 255 * 65536 + 32768 < 2**25; RGB565 -> gray <= 256 * 255 + 128 < 2**17; statistics over
n <= 33025 pixels: sum <= 255 * n < 2**24, sum of squared deviations from the rounded mean
<= 65025 * n < 2**31 (its remainder times 256 < 2**23); normalisation products
<= 4080 * 255 < 2**20.
"""

import micropython


@micropython.viper
def area(src: ptr8, dst: ptr8, p: ptr32):
    # p: sw, sh, dw, dh, fx, fy, x0, y0. dst[oy, ox] = (sum of the fy x fx block + n // 2) // n,
    # n = fx * fy: the block mean rounded half up; the blocks tile the region from (x0, y0).
    # A block row of 2, 3 or 4 pixels is summed without an inner loop (96 -> 32: 3x3 blocks at
    # about 24 Cortex-M3 instructions a pixel instead of 52).
    sw = p[0]
    dw = p[2]
    dh = p[3]
    fx = p[4]
    fy = p[5]
    n = fx * fy
    half = n >> 1
    row = uint(src) + uint(p[7] * sw + p[6])
    step = uint(fy * sw)
    o = 0
    oy = 0
    while oy < dh:
        blk = row
        ox = 0
        while ox < dw:
            s = 0
            q = ptr8(blk)
            j = 0
            if fx == 3:
                while j < fy:
                    s += q[0] + q[1] + q[2]
                    q = ptr8(uint(q) + uint(sw))
                    j += 1
            elif fx == 2:
                while j < fy:
                    s += q[0] + q[1]
                    q = ptr8(uint(q) + uint(sw))
                    j += 1
            elif fx == 4:
                while j < fy:
                    s += q[0] + q[1] + q[2] + q[3]
                    q = ptr8(uint(q) + uint(sw))
                    j += 1
            else:
                while j < fy:
                    i = 0
                    while i < fx:
                        s += q[i]
                        i += 1
                    q = ptr8(uint(q) + uint(sw))
                    j += 1
            dst[o] = (s + half) // n
            o += 1
            blk += uint(fx)
            ox += 1
        row += step
        oy += 1


@micropython.viper
def nearest(src: ptr8, dst: ptr8, p: ptr32):
    # p: sw, sh, dw, dh. dst[y, x] = src[((2y+1)*sh) // (2dh), ((2x+1)*sw) // (2dw)]: the source
    # pixel under the centre of the destination pixel.
    sw = p[0]
    sh = p[1]
    dw = p[2]
    dh = p[3]
    o = 0
    y = 0
    while y < dh:
        row = ((2 * y + 1) * sh) // (2 * dh) * sw
        x = 0
        while x < dw:
            dst[o] = src[row + ((2 * x + 1) * sw) // (2 * dw)]
            o += 1
            x += 1
        y += 1


@micropython.viper
def bilinear(src: ptr8, dst: ptr8, p: ptr32):
    # p: sw, sh, dw, dh. Centre-aligned bilinear interpolation in 1/256 pixel steps (see
    # tinysense.image.resize_bilinear for the definition).
    sw = p[0]
    sh = p[1]
    dw = p[2]
    dh = p[3]
    o = 0
    y = 0
    while y < dh:
        v = ((2 * y + 1) * sh * 128) // dh - 128
        if v < 0:
            v = 0
        y0 = v >> 8
        fy = v & 255
        if y0 >= sh - 1:
            y0 = sh - 1
            fy = 0
        r0 = y0 * sw
        r1 = r0 + sw if fy else r0
        gy = 256 - fy
        x = 0
        while x < dw:
            u = ((2 * x + 1) * sw * 128) // dw - 128
            if u < 0:
                u = 0
            x0 = u >> 8
            fx = u & 255
            if x0 >= sw - 1:
                x0 = sw - 1
                fx = 0
            x1 = x0 + 1 if fx else x0
            gx = 256 - fx
            top = src[r0 + x0] * gx + src[r0 + x1] * fx
            bot = src[r1 + x0] * gx + src[r1 + x1] * fx
            dst[o] = (top * gy + bot * fy + 32768) >> 16
            o += 1
            x += 1
        y += 1


@micropython.viper
def crop(src: ptr8, dst: ptr8, p: ptr32):
    # p: sw, x, y, dw, dh. Copies the dw x dh rectangle at (x, y).
    sw = p[0]
    dw = p[3]
    dh = p[4]
    k = p[2] * sw + p[1]
    o = 0
    j = 0
    while j < dh:
        i = k
        e = k + dw
        while i < e:
            dst[o] = src[i]
            o += 1
            i += 1
        k += sw
        j += 1


@micropython.viper
def rgb565(src: ptr8, dst: ptr8, n: int, big: int):
    # RGB565 pixels (2 bytes each; big: high byte first) -> gray. Channels are widened to 8 bits
    # with rounding (r8 = (r5 * 527 + 23) >> 6 = round(r5 * 255 / 31), g8 = (g6 * 259 + 33) >> 6),
    # then gray = (77 r8 + 150 g8 + 29 b8 + 128) >> 8 (ITU-R BT.601 weights in 1/256).
    # dst may be src (each gray byte lands at or before the pair it came from).
    i = 0
    k = 0
    while i < n:
        if big:
            v = (src[k] << 8) | src[k + 1]
        else:
            v = (src[k + 1] << 8) | src[k]
        r = ((v >> 11) * 527 + 23) >> 6
        g = (((v >> 5) & 63) * 259 + 33) >> 6
        b = ((v & 31) * 527 + 23) >> 6
        dst[i] = (77 * r + 150 * g + 29 * b + 128) >> 8
        i += 1
        k += 2


@micropython.viper
def stats(buf: ptr8, n: int, p: ptr32):
    # p[0] = min, p[1] = max, p[2] = sum of n pixels.
    lo = 255
    hi = 0
    s = 0
    i = 0
    while i < n:
        v = buf[i]
        if v < lo:
            lo = v
        if v > hi:
            hi = v
        s += v
        i += 1
    p[0] = lo
    p[1] = hi
    p[2] = s


@micropython.viper
def lut_minmax(lut: ptr8, lo: int, hi: int):
    # lut[v] = ((v - lo) * 255 + (hi - lo) // 2) // (hi - lo) for lo <= v <= hi (hi > lo).
    d = hi - lo
    h = d >> 1
    v = lo
    while v <= hi:
        lut[v] = ((v - lo) * 255 + h) // d
        v += 1


@micropython.viper
def lut_meanstd(buf: ptr8, lut: ptr8, p: ptr32):
    # p: n, sum, target mean, target std -> lut (256 entries); sets p[5] = mean4, p[6] = std4.
    # m = round(mean); Q = sum of (v - m)^2 over the n pixels of buf (a second pass: exact, and
    # < 65025 n < 2**31); mean4 = round(16 mean); d4 = mean4 - 16 m (-8..8);
    # var8 = 256 Q / n (rounded) - d4^2; std4 = isqrt(var8) (16 x std, floor);
    # lut[v] = clamp(tm + round_half_away((16 v - mean4) * ts / std4)).
    n = p[0]
    s = p[1]
    tm = p[2]
    ts = p[3]
    half = n >> 1
    m = (s + half) // n
    q = 0
    i = 0
    while i < n:
        d = buf[i] - m
        q += d * d
        i += 1
    mean4 = (s * 16 + half) // n
    d4 = mean4 - 16 * m
    q0 = q // n
    var = q0 * 256 + ((q - q0 * n) * 256 + half) // n - d4 * d4
    if var < 0:
        var = 0
    # integer square root (floor), var < 2**24
    r = 0
    bit = 1 << 24
    while bit > var:
        bit >>= 2
    while bit:
        if var >= r + bit:
            var -= r + bit
            r = (r >> 1) + bit
        else:
            r >>= 1
        bit >>= 2
    p[5] = mean4
    p[6] = r
    h = r >> 1
    v = 0
    while v < 256:
        if r == 0:
            t = tm
        else:
            num = (v * 16 - mean4) * ts
            if num >= 0:
                t = tm + (num + h) // r
            else:
                t = tm - (h - num) // r
        if t < 0:
            t = 0
        elif t > 255:
            t = 255
        lut[v] = t
        v += 1


@micropython.viper
def apply(buf: ptr8, n: int, lut: ptr8):
    # buf[i] = lut[buf[i]] for n pixels.
    i = 0
    while i < n:
        buf[i] = lut[buf[i]]
        i += 1
