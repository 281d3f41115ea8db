"""Viper kernels of :mod:`tinysense.window`: de-interleave frames into the planar ring, and
unroll the ring into a planar window. Copies only; values are never widened or combined, so
there is no intermediate to bound (indices stay below 65536 * 6)."""

import micropython


@micropython.viper
def copy_in(ring: ptr16, src: ptr16, p: ptr32):
    # p: channels, length, write position, first source frame, frames. Frame f of src (interleaved,
    # channels int16 each) goes to ring[c * length + pos] for every channel c; pos wraps at length.
    ch = p[0]
    ln = p[1]
    w0 = p[2]
    first = p[3] * ch
    k = p[4]
    c = 0
    while c < ch:
        d = ptr16(uint(ring) + uint((c * ln) << 1))
        s = first + c
        pos = w0
        i = 0
        while i < k:
            d[pos] = src[s]
            s += ch
            pos += 1
            if pos == ln:
                pos = 0
            i += 1
        c += 1


@micropython.viper
def copy_out(ring: ptr16, out: ptr16, p: ptr32):
    # p: channels, length, start. out[c * length + i] = ring[c * length + (start + i) % length].
    ch = p[0]
    ln = p[1]
    st = p[2]
    n = ch * ln
    base = 0
    while base < n:
        i = 0
        j = base + st
        end = base + ln
        while j < end:
            out[base + i] = ring[j]
            i += 1
            j += 1
        j = base
        while i < ln:
            out[base + i] = ring[j]
            i += 1
            j += 1
        base += ln
