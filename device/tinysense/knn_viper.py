"""Viper kernels of :mod:`tinysense.knn`: the k-nearest search with its vote, and row copies.

Kept apart so that :mod:`tinysense.knn` can fall back to its plain-Python twins on a port built
without the native emitters, where this module does not compile.

Work buffer ``w`` (int32 words, laid out by ``knn.KNN``): ``w[0]`` stored samples N, ``w[1]``
features n (1..32767), ``w[2]`` k (1..255), ``w[3]``/``w[4]`` smallest/largest stored feature
(biased: ``v ^ 0x8000``, 0..65535), ``w[5]`` = (2**31 - 1) // n, ``w[6]`` = 2**31 - 1, then at
word 8 the heap's high words ``H[k]``, low words ``L[k]``, sample indices ``I[k]``, 256 vote counters, and the
biased query (u16, n of them).

32-bit bounds (every value below stays in 0..2**31 - 1, so ptr32 loads read the same on x64,
zero-extended, and on a Cortex-M, signed):
- a feature difference ``d = (a ^ 0x8000) - (b ^ 0x8000)`` is ``a - b`` in -65535..65535;
- exact path: ``d * d`` <= 65535**2 < 2**32 is exact modulo 2**32, so its two 16-bit halves
  (``q >> 16 & 0xFFFF``, ``q & 0xFFFF``; correct for an arithmetic or a logical shift) are the
  square's; each half-sum is <= n * 65535 < 2**31 for n <= 32767; the distance is
  ``hi * 65536 + lo`` normalised to ``H = hi + (lo >> 16)`` < n * 65536 <= 2**31 - 65536 and
  ``L = lo & 0xFFFF``: exact for every int16 input;
- indices j < N < 2**30, byte offsets < 2**31; the row pointers are compared as uint, and
  an end pointer lies at most 2 * n bytes past its row; a vote count <= k <= 255;
- fast path, taken only when (largest - smallest value among the stored samples and the
  query)**2 * n <= 2**31 - 1: the plain sum of squares, < 2**31, split the same way.
"""

import micropython


@micropython.viper
def nearest(data: ptr16, x: ptr16, w: ptr32, lab: ptr8) -> int:
    # Squared Euclidean distance from x to each of the N stored rows (int16, row-major) in
    # index order, kept in a max-heap of the k smallest exactly as scikit-learn's heap_push
    # (a row enters only if strictly nearer than the heap's largest; equal children prefer
    # the left one), then the majority class among the k, ties to the smallest class index.
    # A row whose partial sum already exceeds the heap's largest distance is abandoned: it
    # could not enter (entering needs strictly less), so the result is the same.
    ns = w[0]
    n = w[1]
    k = w[2]
    hh = ptr32(uint(w) + 32)
    ll = ptr32(uint(w) + 32 + 4 * k)
    ii = ptr32(uint(w) + 32 + 8 * k)
    votes = ptr32(uint(w) + 32 + 12 * k)
    q = ptr16(uint(w) + 32 + 12 * k + 1024)
    lo = w[3]
    hi = w[4]
    j = 0
    while j < n:  # the biased query, and its range
        v = x[j] ^ 0x8000
        q[j] = v
        if v < lo:
            lo = v
        if v > hi:
            hi = v
        j += 1
    hi = hi - lo  # the largest |difference|, 0..65535
    fast = 0
    if hi <= 46340:
        if hi * hi <= w[5]:
            fast = 1
    j = 0
    while j < k:
        hh[j] = w[6]  # 2**31 - 1, above every distance (a literal would not be a small int for mpy-cross)
        ll[j] = 0xFFFF
        ii[j] = 0
        j += 1
    row = data
    n4 = n & ~3
    lim = w[6]  # fast path: a partial sum above this can no longer enter the heap
    j = 0
    while j < ns:
        s = 0
        t = 0
        f = 0
        if fast:
            p = row
            r = q
            e = uint(row) + 2 * n4
            while uint(p) < e:  # four features a turn, then give up on a row already too far
                d = (p[0] ^ 0x8000) - r[0]
                s += d * d
                d = (p[1] ^ 0x8000) - r[1]
                s += d * d
                d = (p[2] ^ 0x8000) - r[2]
                s += d * d
                d = (p[3] ^ 0x8000) - r[3]
                s += d * d
                p = ptr16(uint(p) + 8)
                r = ptr16(uint(r) + 8)
                if s > lim:
                    break
            f = int(uint(p) - uint(row)) >> 1
            if s > lim:
                f = n
            while f < n:
                d = (row[f] ^ 0x8000) - q[f]
                s += d * d
                f += 1
            t = s & 0xFFFF
            s = s >> 16
        else:
            p = row
            r = q
            e = uint(row) + 2 * n4
            while uint(p) < e:  # four features a turn, then give up on a row already too far
                d = (p[0] ^ 0x8000) - r[0]
                d = d * d
                s += (d >> 16) & 0xFFFF
                t += d & 0xFFFF
                d = (p[1] ^ 0x8000) - r[1]
                d = d * d
                s += (d >> 16) & 0xFFFF
                t += d & 0xFFFF
                d = (p[2] ^ 0x8000) - r[2]
                d = d * d
                s += (d >> 16) & 0xFFFF
                t += d & 0xFFFF
                d = (p[3] ^ 0x8000) - r[3]
                d = d * d
                s += (d >> 16) & 0xFFFF
                t += d & 0xFFFF
                p = ptr16(uint(p) + 8)
                r = ptr16(uint(r) + 8)
                if s > hh[0]:  # at least s * 65536: beyond the heap's largest
                    break
            f = int(uint(p) - uint(row)) >> 1
            if s > hh[0]:
                f = n
            while f < n:
                d = (row[f] ^ 0x8000) - q[f]
                d = d * d
                s += (d >> 16) & 0xFFFF
                t += d & 0xFFFF
                f += 1
            s += t >> 16
            t = t & 0xFFFF
        row = ptr16(uint(row) + 2 * n)
        if s < hh[0] or (s == hh[0] and t < ll[0]):
            c = 0  # sift down from the root
            while True:
                m = 2 * c + 1
                if m >= k:
                    break
                if m + 1 < k and (hh[m + 1] > hh[m] or (hh[m + 1] == hh[m] and ll[m + 1] > ll[m])):
                    m += 1
                if s < hh[m] or (s == hh[m] and t < ll[m]):
                    hh[c] = hh[m]
                    ll[c] = ll[m]
                    ii[c] = ii[m]
                    c = m
                else:
                    break
            hh[c] = s
            ll[c] = t
            ii[c] = j
            if hh[0] < 32768:
                lim = (hh[0] << 16) | ll[0]
        j += 1
    j = 0
    while j < k:
        votes[lab[ii[j]]] += 1
        j += 1
    best = 256
    top = 0
    j = 0
    while j < k:
        c = lab[ii[j]]
        if votes[c] > top or (votes[c] == top and c < best):
            top = votes[c]
            best = c
        j += 1
    j = 0
    while j < k:
        votes[lab[ii[j]]] = 0
        j += 1
    return best


@micropython.viper
def copy(dst: ptr16, d: int, src: ptr16, s: int, n: int, w: ptr32):
    # dst[d + i] = src[s + i] for i < n, ascending (so an overlapping copy to a lower index is
    # right), and widen the stored range w[3] (min) / w[4] (max) of biased values to cover it.
    # Bounds: indices d + i, s + i < 2**31 (storage of at most 2**30 items); values u16.
    lo = w[3]
    hi = w[4]
    i = 0
    while i < n:
        v = src[s + i]
        dst[d + i] = v
        v = v ^ 0x8000
        if v < lo:
            lo = v
        if v > hi:
            hi = v
        i += 1
    w[3] = lo
    w[4] = hi


@micropython.viper
def shift8(b: ptr8, start: int, end: int):
    # b[i] = b[i + 1] for start <= i < end - 1: drop item ``start`` of a byte table.
    # Bounds: indices < end <= capacity < 2**30; values u8.
    i = start
    while i < end - 1:
        b[i] = b[i + 1]
        i += 1
