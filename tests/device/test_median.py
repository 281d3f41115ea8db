# fixtures: sound
# median and RunningMedian on MicroPython against numpy (tests/fixtures/sound.py).
import array
import gc
import tsenv
from tinysense import median
from expect import expect_error as raises

DIR = tsenv.FIXTURES + "/sound/"


def read(name):
    with open(DIR + name + ".h", "rb") as f:
        return array.array("h", f.read())


def test_median_matches_numpy():
    count = 0
    with open(DIR + "median.txt") as f:
        for line in f:
            name, n, want = line.split()
            x = read(name)
            keep = array.array("h", x)
            got = median.median(x)
            assert got == float(want), (name, got, want)
            assert x == keep, "median must not reorder its input"
            if int(n) & 1:
                assert type(got) is int, (name, got)
            count += 1
    assert count == 11


def test_long_array_median():
    x = array.array("h", bytearray(2 * 20001))
    for i in range(20001):
        x[i] = (i * 7919) % 20001 - 10000
    assert median.median(x) == 0
    assert median.median(array.array("h", range(-300, 300))) == -0.5


def test_median_of_other_sequences():
    assert median.median([21.5, 21.6, 85.0]) == 21.6
    assert median.median((4, 1, 3, 2)) == 2.5
    assert median.median(array.array("f", [3.0, -1.0, 2.0])) == 2.0
    assert median.median(array.array("h", [-32768, 32767])) == -0.5


def test_running_median_matches_numpy():
    count = 0
    with open(DIR + "running.txt") as f:
        for line in f:
            name, window, ref = line.split()
            x = read(name)
            want = read(ref)
            f1 = median.RunningMedian(int(window))
            out = array.array("h", bytearray(2 * len(x)))
            f1.process(x, out)
            assert out == want, (name, window, [(i, out[i], want[i]) for i in range(len(x)) if out[i] != want[i]][:5])
            # blocks of any size give the same output; in place
            f2 = median.RunningMedian(int(window))
            y = array.array("h", x)
            i = 0
            step = 1
            while i < len(y):
                n = min(step, len(y) - i)
                blk = array.array("h", y[i:i + n])
                f2.process(blk)
                y[i:i + n] = blk
                i += n
                step = step * 3 % 997 + 1
            assert y == want, (name, window)
            count += 1
    assert count == 18


def test_update_one_sample():
    f = median.RunningMedian(3)
    got = [f.update(v) for v in (10, 50, 20, -7, -8, 30000)]
    assert got == [10, 10, 20, 20, -7, -7], got
    f.reset()
    assert f.update(-5) == -5


def test_running_median_allocates_nothing():
    f = median.RunningMedian(31)
    x = array.array("h", range(-1000, 1000))
    out = array.array("h", bytearray(4000))
    f.process(x, out)
    f.update(5)
    gc.collect()
    before = gc.mem_alloc()
    k = 0
    while k < 20:
        f.process(x, out)
        f.process(x)
        f.update(7)
        k += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before


def test_bad_input():
    assert "empty" in raises(ValueError, median.median, [])
    assert "empty" in raises(ValueError, median.median, array.array("h"))
    assert "odd" in raises(ValueError, median.RunningMedian, 4)
    assert "odd" in raises(ValueError, median.RunningMedian, 0)
    f = median.RunningMedian(3)
    assert "array('h')" in raises(TypeError, f.process, array.array("i", [1, 2]))
    assert "empty" in raises(ValueError, f.process, array.array("h"))
    assert "samples" in raises(ValueError, f.process, array.array("h", [1, 2]), array.array("h", [1]))
    assert "int16" in raises(ValueError, f.update, 40000)


def test_median_of_a_reused_window_allocates_nothing():
    # the temperature logger takes the median of one preallocated window per measurement
    from tinysense import median as md

    w = array.array("h", [5, -3, 9, 0, 7, 7, -32768, 32767, 1])
    md.median(w)
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(50):
        assert md.median(w) == 5
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
