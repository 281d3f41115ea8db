"""Viper kernels of :mod:`tinysense.features` (definitions: docs/features.md).

Every kernel works on ``v``, the extractor's ``array('i')`` of parameters and results: ``v[0]``
is the base index of the current signal's block, ``v[1..8]`` the Shell-sort gaps (701, 301,
132, 57, 23, 10, 4, 1), and a signal's block holds, from its base:

    0 n (1..1024)   1 offset of the signal in sig   2 lim = isqrt((2**31 - 1) // n)   3 flags
    4..13 results: mean std min max median q25 q75 iqr rms mcr
    14 power exponent + 1024   15 bands   16.. first, last bin per band   then band results

Values a kernel reads back are small and non-negative (ptr32 loads are zero-extended on x64
and signed on 32-bit targets, the same for them); results are written, never re-read here.

32-bit bounds, for int16 input and n <= 1024 (see each kernel): sums |s| <= 2**25; squares
are summed only after a shift k that keeps n * ((a >> k) + 1)**2 <= 2**31 - 1; the magnitude
adds quarter squares, <= 3 * 2**28; band powers are summed as two 15-bit words.
"""

import micropython


@micropython.viper
def magnitude(win: ptr16, dst: ptr16, n: int):
    """dst[i] = floor(sqrt(x*x + y*y + z*z) / 2) for the planar window x = win[0..n-1],
    y = win[n..2n-1], z = win[2n..3n-1]: isqrt of floor(S / 4) summed from quarter squares
    (each x*x <= 2**30, the sum <= 3 * 2**28 < 2**31). Results <= 28378.

    The root is Newton's iteration r = (r + q // r) // 2 started from the previous sample's
    root (neighbouring samples have close magnitudes: one or two steps), then corrected by
    +-1 until r*r <= q < (r+1)**2 (exact); r <= 28378, so (r+1)**2 < 2**30."""
    r = 16384
    i = 0
    while i < n:
        x = (win[i] ^ 0x8000) - 0x8000
        y = (win[i + n] ^ 0x8000) - 0x8000
        z = (win[i + n + n] ^ 0x8000) - 0x8000
        x = x * x
        y = y * y
        z = z * z
        q = (x >> 2) + (y >> 2) + (z >> 2) + (((x & 3) + (y & 3) + (z & 3)) >> 2)
        if q == 0:
            dst[i] = 0
            i += 1
            continue
        if r == 0:
            r = 1
        t = (r + q // r) >> 1
        while t - r > 1 or r - t > 1:
            r = t
            t = (r + q // r) >> 1
        r = t
        while r * r > q:
            r -= 1
        while (r + 1) * (r + 1) <= q:
            r += 1
        dst[i] = r
        i += 1


@micropython.viper
def stats(sig: ptr16, srt: ptr16, fin: ptr16, v: ptr32):
    """Statistics of the signal sig[off..off+n-1] (int16) into its block of ``v`` (results
    4..13). Flags bit 0: sort a biased copy (x ^ 0x8000) into ``srt`` and compute the
    quantiles; bit 1: write (x - mean) >> 1 into ``fin`` for the band energies.

    Bounds: |sum| <= 1024 * 32768 = 2**25, (sum + 32768 n) * 2 + n < 2**27; rms rounds x to
    r = (x + 2**(k-1)) >> k with |r| <= (32768 >> k) + 1 <= lim, std rounds d = x - mean
    (|d| <= 65535) the same way, so each sum of n squares is <= n * lim**2 <= 2**31 - 1;
    crossings * 1000 < 2**20; (hi - lo) * 3 of two sorted values < 2**18."""
    p = ptr32(uint(v) + uint(v[0] << 2))
    n = p[0]
    off = p[1]
    lim = p[2]
    flags = p[3]
    x = ptr16(uint(sig) + uint(off << 1))
    s = 0
    mn = 32767
    mx = -32768
    i = 0
    while i < n:
        a = (x[i] ^ 0x8000) - 0x8000
        s += a
        if a < mn:
            mn = a
        if a > mx:
            mx = a
        i += 1
    mean = ((s + (n << 15)) * 2 + n) // (n + n) - 32768
    a = mx
    if 0 - mn > a:
        a = 0 - mn
    k = 0
    while (a >> k) + 1 > lim:
        k += 1
    h = (1 << k) >> 1
    a = mx - mean
    if mean - mn > a:
        a = mean - mn
    kd = 0
    while (a >> kd) + 1 > lim:
        kd += 1
    hd = (1 << kd) >> 1
    s1 = 0
    s2 = 0
    cross = 0
    prev = ((((x[0] ^ 0x8000) - 0x8000) - mean) >> 31) & 1  # 1 below the mean
    i = 0
    while i < n:
        a = (x[i] ^ 0x8000) - 0x8000
        r = (a + h) >> k
        s1 += r * r
        d = a - mean
        r = (d + hd) >> kd
        s2 += r * r
        up = (d >> 31) & 1
        cross += up ^ prev
        prev = up
        if flags & 2:
            fin[i] = d >> 1
        if flags & 1:
            srt[i] = a ^ 0x8000
        i += 1
    p[4] = mean
    p[6] = mn
    p[7] = mx
    # std = isqrt(s2 // n) << kd, rms = isqrt(s1 // n) << k, bit by bit (r + b < 2**31),
    # saturated to 32767; inline: a viper call would box a 31-bit int on a 32-bit target
    # Before the root, up to k of the 2k bits lost to the shift are won back: with q = S // n
    # and rem = S % n, the root is taken of q * 4**j + (rem * 4**j) // n for the largest j <= k
    # with q * 4**j <= 2**30 (rem * 4**j < 2**10 * 2**12), then shifted by k - j.
    t = 0
    while t < 2:
        q = s2 // n
        sh = kd
        if t:
            q = s1 // n
            sh = k
        rem = s2 - q * n
        if t:
            rem = s1 - q * n
        j = 0
        while j < sh and q <= ((1 << 28) >> (j + j)):
            j += 1
        q = (q << (j + j)) + (rem << (j + j)) // n
        sh -= j
        r = 0
        b = 1
        b = b << 30  # as an expression: the literal 2**30 is no small int on a 32-bit port
        while b > q:
            b >>= 2
        while b:
            if q >= r + b:
                q -= r + b
                r = (r >> 1) + b
            else:
                r >>= 1
            b >>= 2
        r = r << sh
        if r > 32767:
            r = 32767
        if t:
            p[12] = r
        else:
            p[5] = r
        t += 1
    if n > 1:
        p[13] = (cross * 1000 + ((n - 1) >> 1)) // (n - 1)
    else:
        p[13] = 0
    if not (flags & 1):
        return
    if n < 256:
        # up to 255 samples: Shell sort of the biased (unsigned-ordered) copy, gaps v[1..8]
        g = 1
        while g <= 8:
            gap = v[g]
            g += 1
            if gap >= n:
                continue
            i = gap
            while i < n:
                t = srt[i]
                j = i
                while j >= gap and srt[j - gap] > t:
                    srt[j] = srt[j - gap]
                    j -= gap
                srt[j] = t
                i += 1
    else:
        # longer ones: LSD radix sort, two stable passes of 8 bits between srt[0..n-1] and
        # srt[n..2n-1], counts (<= 1024) in srt[2n..2n+255]; a pass whose digit is the same
        # for every value is skipped (the high byte of a quiet signal). Linear in n: on a
        # Cortex-M3 ~300 instructions a sample at n = 1024 (Shell sort: ~830); below 256
        # samples its 256-count loops cost more than Shell sort saves.
        cnt = ptr16(uint(srt) + uint(n << 2))
        a0 = ptr16(srt)
        b0 = ptr16(uint(srt) + uint(n << 1))
        sh = 0
        while sh < 16:
            d = 0
            while d < 256:
                cnt[d] = 0
                d += 1
            i = 0
            while i < n:
                d = (a0[i] >> sh) & 255
                cnt[d] += 1
                i += 1
            if cnt[(a0[0] >> sh) & 255] != n:
                t = 0
                d = 0
                while d < 256:
                    c = cnt[d]
                    cnt[d] = t
                    t += c
                    d += 1
                i = 0
                while i < n:
                    t = a0[i]
                    d = (t >> sh) & 255
                    j = cnt[d]
                    b0[j] = t
                    cnt[d] = j + 1
                    i += 1
                c = int(uint(a0))
                a0 = b0
                b0 = ptr16(c)
            sh += 8
        if uint(a0) != uint(srt):
            i = 0
            while i < n:
                srt[i] = a0[i]
                i += 1
    # quantiles at (n - 1) * q: srt[i] + ((srt[i+1] - srt[i]) * f + den / 2) // den
    m = n - 1
    i = m >> 1
    a = srt[i]
    b = a
    if i < m:
        b = srt[i + 1]
    p[8] = a - 0x8000 + (((b - a) * (m & 1) + 1) >> 1)
    i = m >> 2
    a = srt[i]
    b = a
    if i < m:
        b = srt[i + 1]
    q25 = a - 0x8000 + (((b - a) * (m & 3) + 2) >> 2)
    i = (m * 3) >> 2
    a = srt[i]
    b = a
    if i < m:
        b = srt[i + 1]
    q75 = a - 0x8000 + (((b - a) * ((m * 3) & 3) + 2) >> 2)
    p[9] = q25
    p[10] = q75
    r = q75 - q25
    if r > 32767:
        r = 32767
    p[11] = r


@micropython.viper
def bands(pw: ptr32, v: ptr32):
    """Band energies of the power spectrum ``pw`` (``RFFT.power``: values < 2**30, exponent in
    the block) into the block's band results: 16 * log2 of the band's sum of pw * 2**p in
    1/16-octave steps (16 b + the 4 bits after the leading one), clamped to 0..32767, 0 for an
    empty or silent band. The sum is kept as hi * 2**15 + lo with hi <= 513 * 2**15 and
    lo < 2**25: no word overflows."""
    p = ptr32(uint(v) + uint(v[0] << 2))
    pe = p[14] - 1024
    nb = p[15]
    j = 0
    while j < nb:
        k = p[16 + j + j]
        last = p[17 + j + j]
        hi = 0
        lo = 0
        while k < last:
            a = pw[k]
            hi += a >> 15
            lo += a & 0x7FFF
            k += 1
        hi += lo >> 15
        lo &= 0x7FFF
        r = 0
        if hi or lo:
            if hi:
                b = 0
                while (hi >> b) > 1:
                    b += 1
                if b >= 4:
                    f = (hi >> (b - 4)) & 15
                else:
                    f = ((hi << (4 - b)) | (lo >> (b + 11))) & 15
                b += 15
            else:
                b = 0
                while (lo >> b) > 1:
                    b += 1
                if b >= 4:
                    f = (lo >> (b - 4)) & 15
                else:
                    f = (lo << (4 - b)) & 15
            r = (b << 4) + f + (pe << 4)
            if r < 0:
                r = 0
            if r > 32767:
                r = 32767
        p[16 + nb + nb + j] = r
        j += 1


@micropython.viper
def gather(v: ptr32, idx: ptr16, out: ptr16, nf: int):
    """out[j] = v[idx[j]] for j < nf: every result is already within int16 (its low 16 bits
    are stored, the same for zero- and sign-extended loads)."""
    j = 0
    while j < nf:
        out[j] = v[idx[j]]
        j += 1
