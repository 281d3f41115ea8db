# fixtures: sound
# The sound level meter on MicroPython against a float64 reference meter (tinysense.soundlevel on
# the host, tests/fixtures/sound.py): per-block Leq, Fast, Slow, and Leq/Lmax/Lmin per interval.
import array
import gc
import tsenv
from tinysense import soundlevel
from expect import expect_error as raises

DIR = tsenv.FIXTURES + "/sound/"
INF = float("inf")


def read(name):
    with open(DIR + name + ".h", "rb") as f:
        return array.array("h", f.read())


def reference(name):
    blocks, intervals = [], []
    with open(DIR + name + ".ref") as f:
        for line in f:
            p = line.split()
            (blocks if p[0] == "b" else intervals).append([float(v) for v in p[1:]])
    return blocks, intervals


def close(a, b, tol):
    if a == b:  # both -inf (silence)
        return True
    return abs(a - b) <= tol


def run_meter(x, block, interval, weighting=None):
    meter = soundlevel.Meter(16000, sensitivity=-26.0, weighting=weighting, interval=interval)
    blocks, intervals = [], []
    buf = array.array("h", bytearray(2 * block))
    i = 0
    while i < len(x):
        n = min(block, len(x) - i)
        b = buf if n == block else array.array("h", bytearray(2 * n))
        for k in range(n):
            b[k] = x[i + k]
        meter.process(b)
        blocks.append((meter.leq_block(), meter.fast(), meter.slow()))
        iv = meter.interval()
        if iv is not None:
            intervals.append(iv)
        i += n
    return blocks, intervals


def check_signal(name, block, interval, tol, weighting=None):
    x = read(name)
    want_b, want_i = reference(name)
    got_b, got_i = run_meter(x, block, interval, weighting)
    assert len(got_b) == len(want_b), (name, len(got_b), len(want_b))
    assert len(got_i) == len(want_i), (name, len(got_i), len(want_i))
    worst = 0.0
    for k in range(len(want_b)):
        for j in range(3):
            assert close(got_b[k][j], want_b[k][j], tol), (name, "block", k, j, got_b[k][j], want_b[k][j])
            if want_b[k][j] > -INF:
                worst = max(worst, abs(got_b[k][j] - want_b[k][j]))
    for k in range(len(want_i)):
        for j in range(4):
            assert close(got_i[k][j], want_i[k][j], tol), (name, "interval", k, j, got_i[k][j], want_i[k][j])
    return worst


def test_levels_match_reference_meter():
    # Unweighted (Z): only the meter's own arithmetic differs from float64 (log tables, Q16).
    count = 0
    with open(DIR + "meter.txt") as f:
        for line in f:
            name, block, interval = line.split()
            worst = check_signal(name, int(block), float(interval), 0.005)
            print(name, "worst difference %.5f dB" % worst)
            count += 1
    assert count == 10


def test_calibrated_tone_reads_its_level():
    blocks, intervals = run_meter(read("tone_1k_94"), 2000, 1.0)
    for leq, fast, slow in blocks:
        assert abs(leq - 94.0) < 0.01 and abs(fast - 94.0) < 0.01 and abs(slow - 94.0) < 0.01, (leq, fast, slow)
    assert abs(intervals[0][0] - 94.0) < 0.01 and intervals[0][3] == 1.0


def test_silence_is_minus_infinity_and_recovers():
    meter = soundlevel.Meter(16000, interval=0.25)
    z = array.array("h", bytearray(4000))
    meter.process(z)
    assert meter.leq_block() == -INF and meter.fast() == -INF and meter.slow() == -INF
    loud = array.array("h", bytearray(4000))
    for k in range(2000):
        loud[k] = 12000 if k & 1 else -12000
    meter.process(loud)
    assert meter.leq_block() > 100 and meter.fast() < meter.leq_block()
    meter.process(z)
    iv = meter.interval()
    assert iv is not None and iv[1] > 100 and iv[2] == -INF, iv
    assert meter.interval() is None


def test_calibration_shifts_every_level():
    x = read("noise_70")
    a = soundlevel.Meter(16000, sensitivity=-26.0)
    b = soundlevel.Meter(16000, sensitivity=-36.0, ref_spl=94.0)
    blk = array.array("h", bytearray(4000))
    for k in range(2000):
        blk[k] = x[k]
    a.process(blk)
    b.process(blk)
    assert abs(b.leq_block() - a.leq_block() - 10.0) < 0.001


def test_process_allocates_nothing():
    meter = soundlevel.Meter(16000, interval=0.25)
    x = read("noise_70")
    blk = array.array("h", bytearray(4000))
    for k in range(2000):
        blk[k] = x[k]
    meter.process(blk)
    gc.collect()
    before = gc.mem_alloc()
    k = 0
    while k < 40:  # five intervals complete on the way
        meter.process(blk)
        k += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before


def test_bad_input():
    meter = soundlevel.Meter(16000)
    assert "empty" in raises(ValueError, meter.process, array.array("h"))
    assert "array('h')" in raises(TypeError, meter.process, array.array("f", [1.0, 2.0]))
    assert "array('h')" in raises(TypeError, meter.process, bytearray(100))
    assert "rate" in raises(ValueError, soundlevel.Meter, 0)
    assert "interval" in raises(ValueError, soundlevel.Meter, 16000, interval=0)


def test_a_weighted_levels():
    # The meter with tinysense.iir's A-weighting against the reference meter (scipy's A-weighting
    # at 8x the rate): Leq over each signal's second second within 0.2 dB.
    from tinysense import iir

    count = 0
    with open(DIR + "aweighted.txt") as f:
        for line in f:
            name, want = line.split()
            want = float(want)
            blocks, intervals = run_meter(read(name), 2000, 1.0, iir.load(DIR + "aweighting.tsf"))
            got = intervals[1][0]
            print(name, "device %.3f reference %.3f dB(A)" % (got, want))
            assert abs(got - want) <= 0.2, (name, got, want)
            count += 1
    assert count == 5


def test_a_weighted_meter_allocates_nothing():
    from tinysense import iir

    meter = soundlevel.Meter(16000, weighting=iir.load(DIR + "aweighting.tsf"), interval=0.25)
    x = read("aw_pink_65")
    blk = array.array("h", bytearray(4000))
    for k in range(2000):
        blk[k] = x[k]
    meter.process(blk)
    gc.collect()
    before = gc.mem_alloc()
    k = 0
    while k < 20:
        meter.process(blk)
        k += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
