"""Plain-Python twin of :mod:`tinysense.image_viper`, for ports built without the native
emitters: the same integer definitions, the same results, much slower (tens of times)."""


def area(src, dst, p):
    sw, dw, dh, fx, fy = p[0], p[2], p[3], p[4], p[5]
    n = fx * fy
    half = n >> 1
    o = 0
    for oy in range(dh):
        row = (p[7] + oy * fy) * sw + p[6]
        for ox in range(dw):
            s = 0
            k = row + ox * fx
            for _ in range(fy):
                for i in range(k, k + fx):
                    s += src[i]
                k += sw
            dst[o] = (s + half) // n
            o += 1


def nearest(src, dst, p):
    sw, sh, dw, dh = p[0], p[1], p[2], p[3]
    o = 0
    for y in range(dh):
        row = ((2 * y + 1) * sh) // (2 * dh) * sw
        for x in range(dw):
            dst[o] = src[row + ((2 * x + 1) * sw) // (2 * dw)]
            o += 1


def _axis(i, s, d):
    u = ((2 * i + 1) * s * 128) // d - 128
    if u < 0:
        u = 0
    i0 = u >> 8
    f = u & 255
    if i0 >= s - 1:
        i0 = s - 1
        f = 0
    return i0, (i0 + 1 if f else i0), f


def bilinear(src, dst, p):
    sw, sh, dw, dh = p[0], p[1], p[2], p[3]
    o = 0
    for y in range(dh):
        y0, y1, fy = _axis(y, sh, dh)
        r0 = y0 * sw
        r1 = y1 * sw
        for x in range(dw):
            x0, x1, fx = _axis(x, sw, dw)
            gx = 256 - fx
            top = src[r0 + x0] * gx + src[r0 + x1] * fx
            bot = src[r1 + x0] * gx + src[r1 + x1] * fx
            dst[o] = (top * (256 - fy) + bot * fy + 32768) >> 16
            o += 1


def crop(src, dst, p):
    sw, x, y, dw, dh = p[0], p[1], p[2], p[3], p[4]
    o = 0
    for j in range(dh):
        k = (y + j) * sw + x
        for i in range(k, k + dw):
            dst[o] = src[i]
            o += 1


def rgb565(src, dst, n, big):
    for i in range(n):
        a = src[2 * i]
        b = src[2 * i + 1]
        v = (a << 8) | b if big else (b << 8) | a
        r = ((v >> 11) * 527 + 23) >> 6
        g = (((v >> 5) & 63) * 259 + 33) >> 6
        bl = ((v & 31) * 527 + 23) >> 6
        dst[i] = (77 * r + 150 * g + 29 * bl + 128) >> 8


def stats(buf, n, p):
    lo, hi, s = 255, 0, 0
    for i in range(n):
        v = buf[i]
        if v < lo:
            lo = v
        if v > hi:
            hi = v
        s += v
    p[0], p[1], p[2] = lo, hi, s


def lut_minmax(lut, lo, hi):
    d = hi - lo
    for v in range(lo, hi + 1):
        lut[v] = ((v - lo) * 255 + (d >> 1)) // d


def lut_meanstd(buf, lut, p):
    n, s, tm, ts = p[0], p[1], p[2], p[3]
    half = n >> 1
    m = (s + half) // n
    q = 0
    for i in range(n):
        d = buf[i] - m
        q += d * d
    mean4 = (s * 16 + half) // n
    d4 = mean4 - 16 * m
    q0 = q // n
    var = q0 * 256 + ((q - q0 * n) * 256 + half) // n - d4 * d4
    if var < 0:
        var = 0
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
    p[5], p[6] = mean4, r
    h = r >> 1
    for v in range(256):
        if r == 0:
            t = tm
        else:
            num = (v * 16 - mean4) * ts
            t = tm + (num + h) // r if num >= 0 else tm - (h - num) // r
        lut[v] = 0 if t < 0 else 255 if t > 255 else t


def apply(buf, n, lut):
    for i in range(n):
        buf[i] = lut[buf[i]]
