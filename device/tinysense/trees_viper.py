"""Viper kernels of :mod:`tinysense.trees` (the walk over the packed model, and probabilities).

Kept apart so that :mod:`tinysense.trees` can fall back to :mod:`tinysense.trees_python` on a
port built without the native emitters, where this module does not compile.
32-bit bounds: votes <= n_trees * S <= 2**30 (n_trees <= 32768, S <= 2**15); regression sums
<= n_trees * 32767 < 2**31; byte offsets < 2**31.
"""

import micropython


@micropython.viper
def run(m: ptr8, x: ptr16) -> int:
    # Classification: add every tree's leaf distribution to the votes and return the class
    # index; regression: return the sum of the trees' int16 leaf codes. A decision node is 4 u16:
    # feature, threshold + 32768, and the forward byte jumps to the left and right child; a leaf
    # record starts with 0xFFFF (docs/modelfile.md). With .mpy code only the two arguments live
    # in registers, so m is reused as the cursor and the node step touches no other local.
    w = ptr32(m)
    base = uint(m)
    n_classes = w[1]
    wb = w[3]
    s = 1 << wb  # a leaf's weights add up to s
    mask = s - 1
    votes = ptr32(base + uint(w[6]))
    c = 0
    while c < n_classes:
        votes[c] = 0
        c += 1
    total = 0
    t = w[0]
    tp = ptr32(base + 32)  # (first node, first leaf) offsets of each tree
    while t > 0:
        m = ptr8(base + uint(tp[0]))
        tp = ptr32(uint(tp) + 8)
        while ptr16(m)[0] != 0xFFFF:  # a decision node: jump forward to the child
            if (x[ptr16(m)[0]] ^ 0x8000) <= ptr16(m)[1]:
                m = ptr8(ptr16(m)[2] + uint(m))
            else:
                m = ptr8(ptr16(m)[3] + uint(m))
        c = ptr16(m)[1]  # a leaf record
        if c < n_classes:
            votes[c] += s
        elif n_classes == 0:
            total += (c ^ 0x8000) - 0x8000
        elif wb == 15:  # wide entries: class, weight
            q = ptr16(uint(m) + 4)
            h = s
            while h > 0:
                votes[q[0]] += q[1]
                h -= q[1]
                q = ptr16(uint(q) + 4)
        else:  # narrow entries: class << wb | weight
            q = ptr16(uint(m) + 4)
            h = s
            while h > 0:
                e = q[0] & mask
                votes[q[0] >> wb] += e
                h -= e
                q = ptr16(uint(q) + 2)
        t -= 1
    if n_classes == 0:
        return total
    # First class within 2 * n_trees - 1 votes of the maximum: exact ties in scikit-learn's
    # probabilities resolve to the first class, as numpy's argmax (docs/modelfile.md).
    h = votes[0]
    c = 1
    while c < n_classes:
        if votes[c] > h:
            h = votes[c]
        c += 1
    h = h - 2 * w[0] + 1
    c = 0
    while votes[c] < h:
        c += 1
    return c


@micropython.viper
def proba(m: ptr8, out: ptr32):
    # votes / (n_trees * S) as float32 bit patterns: 24 quotient bits by long division, then
    # round half up; integer work only, so no float object is made.
    # Bound: D = n_trees * S <= 2**30 and rem < D, so 2 * rem < 2**31.
    w = ptr32(m)
    d = w[0] << w[3]
    votes = ptr32(uint(m) + uint(w[6]))
    c = 0
    while c < w[1]:
        v = votes[c]
        if v <= 0:
            out[c] = 0
        elif v >= d:
            out[c] = 0x3F800000
        else:
            e = 126
            while v + v < d:
                v += v
                e -= 1
            q = 0
            k = 0
            while k < 24:
                v += v
                q += q
                if v >= d:
                    v -= d
                    q |= 1
                k += 1
            if v + v >= d:
                q += 1
                if q >= 0x1000000:
                    q = q >> 1
                    e += 1
            out[c] = (e << 23) | (q & 0x7FFFFF)
        c += 1
