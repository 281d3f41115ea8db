# fixtures: sound
# rms on MicroPython against numpy (tests/fixtures/sound.py), full scale included.
import array
import gc
import tsenv
from tinysense import rms
from expect import expect_error as raises

DIR = tsenv.FIXTURES + "/sound/"


def read(name):
    with open(DIR + name + ".h", "rb") as f:
        return array.array("h", f.read())


def filled(values, n):
    x = array.array("h", bytearray(2 * n * len(values)))
    k = len(values)
    for i in range(n * k):
        x[i] = values[i % k]
    return x


def cases():
    with open(DIR + "rms.txt") as f:
        for line in f:
            name, n, ms = line.split()
            yield name, int(n), float(ms)


def test_mean_square_matches_numpy():
    count = 0
    for name, n, want in cases():
        x = read(name)
        assert len(x) == n, (name, len(x))
        got = rms.mean_square(x)
        assert abs(got - want) <= 1e-9 * want + 1e-12, (name, got, want)
        r = rms.rms(x)
        assert abs(r - want ** 0.5) <= 1e-9 * want ** 0.5 + 1e-12, (name, r)
        count += 1
    assert count >= 15, count


def test_full_scale_sums_are_exact():
    # The largest sum a block can have: 65535 * 2**30 (about 2**46).
    x = filled([-32768], 65535)
    assert rms.sum_squares(x) == 65535 * 2 ** 30
    x = filled([32767, -32767], 32767)
    assert rms.sum_squares(x) == 65534 * 32767 ** 2


def test_negative_samples_are_sign_extended():
    # A ptr16 read without sign extension would count -1 as 65535**2.
    assert rms.sum_squares(array.array("h", [-1, -1, -1])) == 3
    assert rms.mean_square(array.array("h", [-2, 2])) == 4.0


def test_accumulator_adds_blocks():
    acc = array.array("i", (0, 0, 0))
    x = filled([-32768], 65535)
    for _ in range(20):
        rms.sumsq(x, acc)
    assert rms.value(acc) == 20 * 65535 * 2 ** 30
    assert 0 <= acc[0] < 32768 and 0 <= acc[1] < 32768
    y = array.array("h", [3, -4])
    acc2 = array.array("i", (0, 0, 0))
    rms.sumsq(y, acc2)
    rms.sumsq(y, acc2)
    assert rms.value(acc2) == 50


def test_sumsq_allocates_nothing():
    acc = array.array("i", (0, 0, 0))
    x = array.array("h", range(-1000, 1000))
    rms.sumsq(x, acc)
    gc.collect()
    before = gc.mem_alloc()
    k = 0
    while k < 100:
        rms.sumsq(x, acc)
        k += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
    assert rms.value(acc) == 101 * 666667000


def test_bad_input():
    assert "empty" in raises(ValueError, rms.rms, array.array("h"))
    assert "array('h')" in raises(TypeError, rms.rms, array.array("H", [1, 2]))
    assert "array('h')" in raises(TypeError, rms.rms, array.array("i", [1, 2]))
    assert "array('h')" in raises(TypeError, rms.rms, array.array("f", [1, 2]))
    assert "array('h')" in raises(TypeError, rms.rms, [1, 2, 3])
    assert "at most 65535" in raises(ValueError, rms.rms, array.array("h", bytearray(2 * 65536)))
    acc = array.array("h", (0, 0, 0))
    assert "int32" in raises(TypeError, rms.sumsq, array.array("h", [1]), acc)
    assert "3" in raises(ValueError, rms.sumsq, array.array("h", [1]), array.array("i", [0]))
    x = array.array("h", [1, 2])
    rms.sumsq(x, array.array("i", (0, 0, 0)))
    assert "empty" in raises(ValueError, rms.sumsq, array.array("h"), array.array("i", (0, 0, 0)))
