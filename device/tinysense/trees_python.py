"""Plain-Python twin of :mod:`tinysense.trees_viper`, for ports built without the native
emitters: the same walk over the same packed model, the same integer results, much slower."""


def _u16(m, i):
    return m[i] | m[i + 1] << 8


def _u32(m, i):
    return m[i] | m[i + 1] << 8 | m[i + 2] << 16 | m[i + 3] << 24


def run(m, x):
    """Walk every tree for ``x``; return the class index (first within the tie window of the
    maximum) or, for a regressor, the sum of the int16 leaf codes. Votes go to the scratch area."""
    nt, nc, wb, vo = _u32(m, 0), _u32(m, 4), _u32(m, 12), _u32(m, 24)
    s = 1 << wb
    votes = [0] * nc
    total = 0
    for t in range(nt):
        i = _u32(m, 32 + 8 * t)
        while _u16(m, i) != 0xFFFF:
            if x[_u16(m, i)] + 32768 <= _u16(m, i + 2):
                i += _u16(m, i + 4)
            else:
                i += _u16(m, i + 6)
        c = _u16(m, i + 2)
        if c < nc:
            votes[c] += s
        elif nc == 0:
            total += c - 65536 if c >= 32768 else c
        else:
            i += 4
            h = s
            while h > 0:
                e = _u16(m, i)
                if wb == 15:
                    c, e = e, _u16(m, i + 2)
                    i += 4
                else:
                    c, e = e >> wb, e & (s - 1)
                    i += 2
                votes[c] += e
                h -= e
    if nc == 0:
        return total
    for c in range(nc):
        v = votes[c]
        m[vo + 4 * c:vo + 4 * c + 4] = bytes((v & 255, v >> 8 & 255, v >> 16 & 255, v >> 24 & 255))
    top = max(votes) - 2 * nt + 1
    for c in range(nc):
        if votes[c] >= top:
            return c


def proba(m, out):
    """``votes / (n_trees * S)`` of the last :func:`run` into ``out`` (``array('f')``)."""
    d = _u32(m, 0) << _u32(m, 12)
    vo = _u32(m, 24)
    for c in range(_u32(m, 4)):
        out[c] = _u32(m, vo + 4 * c) / d
