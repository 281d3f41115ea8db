# fixtures: motion
# tinysense.window: windows of a recording pushed in blocks of any size are the recording's slices.
import array
import gc
import tsenv
from tinysense import window
from expect import expect_error as raises

DIR = tsenv.FIXTURES + "/motion/"


def read_h(name):
    with open(DIR + name, "rb") as f:
        return array.array("h", f.read())


def sizes(seed):
    # deterministic pseudo-random block sizes 1..97 (and some 0-frame pushes)
    s = seed
    while True:
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF
        yield (s >> 16) % 98


def windows_of(rec, ch, length, hop, seed, blockmax=0):
    # every window Window yields when rec (interleaved) is pushed in pseudo-random blocks
    w = window.Window(ch, length, hop)
    out = array.array("h", bytearray(2 * ch * length))
    got = []
    frames = len(rec) // ch
    i = 0
    gen = sizes(seed)
    while i < frames:
        n = min(next(gen) if not blockmax else blockmax, frames - i)
        # a FIFO block: a buffer of its own whose frames start at a random offset
        off = n % 3
        blk = array.array("h", bytearray(2 * ch * (n + off)))
        for j in range(n * ch):
            blk[off * ch + j] = rec[i * ch + j]
        k = 0
        while k < n:
            k += w.push(blk, n - k, off + k)
            while w.pop(out):
                got.append(bytes(out))
        i += n
    return got


def slices(rec, ch, length, hop):
    frames = len(rec) // ch
    want = []
    s = 0
    while s + length <= frames:
        x = array.array("h", bytearray(2 * ch * length))
        for c in range(ch):
            for i in range(length):
                x[c * length + i] = rec[(s + i) * ch + c]
        want.append(bytes(x))
        s += hop
    return want


def test_block_sizes_never_change_the_windows():
    rec = read_h("rec0.h")
    for length, hop in ((128, 64), (100, 50), (25, 25), (7, 3), (1, 1), (64, 1)):
        want = slices(rec, 3, length, hop)
        assert len(want) == (len(rec) // 3 - length) // hop + 1
        for seed in (1, 2, 3):
            got = windows_of(rec, 3, length, hop, seed)
            assert got == want, (length, hop, seed, len(got), len(want))
        assert windows_of(rec, 3, length, hop, 0, blockmax=len(rec) // 3) == want  # all at once


def test_hop_longer_than_the_window_skips_frames():
    rec = array.array("h", range(3 * 200))
    want = slices(rec, 3, 10, 25)
    assert len(want) == 8
    for seed in (4, 5):
        assert windows_of(rec, 3, 10, 25, seed) == want


def test_other_channel_counts():
    rec = array.array("h", [(i * 7919) % 65536 - 32768 for i in range(6 * 150)])
    for ch in (1, 2, 6):
        r = rec[:ch * 150]
        assert windows_of(r, ch, 32, 16, 7) == slices(r, ch, 32, 16)


def test_push_stops_at_a_waiting_window():
    w = window.Window(2, 4, 2)
    blk = array.array("h", range(20))  # 10 frames
    out = array.array("h", bytearray(16))
    assert not w.pop(out) and w.filled == 0
    assert w.push(blk, 3) == 3 and not w.pop(out)
    assert w.push(blk, 7, 3) == 1  # one frame completes the window; the rest waits
    assert w.push(blk, 6, 4) == 0
    assert w.pop(out)
    assert list(out) == [0, 2, 4, 6, 1, 3, 5, 7]
    assert w.filled == 2 and not w.pop(out)
    assert w.push(blk, 6, 4) == 2
    assert w.pop(out) and list(out) == [4, 6, 8, 10, 5, 7, 9, 11]
    w.reset()
    assert w.filled == 0 and not w.pop(out)
    assert w.push(blk, 0) == 0
    assert w.push(blk, 4, 6) == 4 and w.pop(out) and list(out) == [12, 14, 16, 18, 13, 15, 17, 19]


def test_push_and_pop_allocate_nothing():
    w = window.Window(3, 128, 64)
    blk = array.array("h", range(3 * 50))
    out = array.array("h", bytearray(2 * 3 * 128))
    for _ in range(10):
        w.push(blk, 50)
        w.pop(out)
    gc.collect()
    before = gc.mem_alloc()
    n = 0
    for i in range(200):
        k = 0
        while k < 50:
            k += w.push(blk, 50 - k, k)
            while w.pop(out):
                n += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
    assert n > 100
    # double-buffered FIFO reads and two outs in turn: each buffer is checked once
    blk2 = array.array("h", range(3 * 50))
    out2 = array.array("h", bytearray(2 * 3 * 128))
    for b, o in ((blk, out), (blk2, out2)):
        w.push(b, 0)
        w.pop(o)
    gc.collect()
    before = gc.mem_alloc()
    for i in range(200):
        b = blk if i & 1 else blk2  # (a tuple here would allocate)
        o = out if i & 1 else out2
        k = 0
        while k < 50:
            k += w.push(b, 50 - k, k)
            while w.pop(o):
                n += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before


def test_bad_parameters():
    raises(ValueError, window.Window, 0, 10, 5, words=("channels", "1..16"))
    raises(ValueError, window.Window, 17, 10, 5, words=("channels",))
    raises(ValueError, window.Window, 3, 0, 5, words=("length", "1..4096"))
    raises(ValueError, window.Window, 3, 5000, 5, words=("length",))
    raises(ValueError, window.Window, 3, 10, 0, words=("hop",))
    raises(TypeError, window.Window, 3, 10.0, 5, words=("length", "int", "float"))
    raises(TypeError, window.Window, "3", 10, 5, words=("channels", "int"))


def test_bad_buffers():
    w = window.Window(3, 8, 4)
    raises(TypeError, w.push, array.array("i", range(30)), 10, words=("array('h')",))
    raises(TypeError, w.push, bytearray(60), 10, words=("array('h')",))
    raises(TypeError, w.push, list(range(30)), 10, words=("array('h')",))
    blk = array.array("h", range(30))
    raises(ValueError, w.push, blk, 11, words=("10 frames", "offset + count is 11"))
    raises(ValueError, w.push, blk, 8, 3, words=("offset + count is 11",))
    raises(ValueError, w.push, blk, -1, words=("count",))
    raises(ValueError, w.push, blk, 1, -1, words=("offset",))
    raises(TypeError, w.pop, array.array("h", bytearray(2 * 23)), words=("out", "24"))
    raises(TypeError, w.pop, array.array("i", [0] * 24), words=("out", "array('h')"))
    assert w.filled == 0  # nothing was taken by the refused calls
    assert w.push(array.array("h"), 0) == 0  # an empty FIFO read
    raises(ValueError, w.push, array.array("h"), 1, words=("0 frames",))


def test_plain_python_copies_equal_the_viper_ones():
    # the twins a port without the native emitters uses
    rec = array.array("h", [(i * 7919) % 65536 - 32768 for i in range(3 * 40)])
    for ch, ln, pos, first, k, st in ((3, 16, 5, 2, 16, 9), (1, 7, 6, 0, 7, 0), (3, 5, 0, 35, 5, 4)):
        src = rec[:ch * (first + k)]
        r1 = array.array("h", bytearray(2 * ch * ln))
        r2 = array.array("h", bytearray(2 * ch * ln))
        p = array.array("i", [ch, ln, pos, first, k])
        window._copy_in(r1, src, p)
        window._copy_in_py(r2, src, p)
        assert r1 == r2
        o1 = array.array("h", bytearray(2 * ch * ln))
        o2 = array.array("h", bytearray(2 * ch * ln))
        p = array.array("i", [ch, ln, st])
        window._copy_out(r1, o1, p)
        window._copy_out_py(r1, o2, p)
        assert o1 == o2 and o1 != array.array("h", bytearray(2 * ch * ln))
