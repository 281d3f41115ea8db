# fixtures: temperature
# tinysense.sensors.adc: the replay twin reads every recording format, read_into allocates
# nothing, and the calibration lines equal numpy's (tests/fixtures/temperature.py).
import array
import gc
import sys
import tsenv
from tinysense import median
from tinysense.sensors import adc
from expect import expect_error as raises

DIR = tsenv.FIXTURES + "/temperature/"


def trace():
    with open(DIR + "trace.txt") as f:
        return [int(line) for line in f]


def test_every_format_replays_the_same_readings():
    want = trace()
    for name, column in (("trace.csv", "raw"), ("trace.csv", 1), ("trace_plain.csv", 0), ("trace.npy", 0),
                         ("trace.u16", 0)):
        r = adc.ReplayADC(DIR + name, column=column)
        assert r.n_readings == len(want), name
        got = [r.read_u16() for _ in range(len(want))]
        assert got == want, name
        assert r.finished
        raises(EOFError, r.read_u16, words=("ended after %d readings" % len(want),))
    half = [v // 2 for v in want]
    for name in ("trace_i16.npy", "trace.h"):
        assert list(adc.load(DIR + name)) == half, name


def test_bad_recordings_say_what_is_wrong():
    raises(ValueError, adc.load, DIR + "bad_range.csv", words=("bad_range.csv line 3", "70000", "0..65535"))
    raises(ValueError, adc.load, DIR + "bad_text.csv", words=("line 3", "'abc'", "not a number"))
    raises(ValueError, adc.load, DIR + "empty.csv", words=("no readings",))
    raises(ValueError, adc.load, DIR + "bad_neg.h", words=("-3", "index 1", "negative"))
    raises(ValueError, adc.load, DIR + "bad_2d.npy", words=("shape (2, 3)", "1-D"))
    raises(ValueError, adc.load, DIR + "bad_float.npy", words=("uint16 or int16",))
    raises(ValueError, adc.load, DIR + "bad_odd.u16", words=("3 bytes",))
    raises(ValueError, adc.load, DIR + "trace.csv", "volts", words=("no column 'volts'",))
    raises(OSError, adc.ReplayADC, DIR + "missing.csv")
    raises(ValueError, adc.ReplayADC, words=("needs a recording",))


def test_read_into_blocks_and_medians_match_numpy():
    want = trace()
    r = adc.ReplayADC(DIR + "trace.csv", column="raw")
    buf = array.array("h", bytearray(2 * 9))
    medians = []
    with open(DIR + "medians.txt") as f:
        for line in f:
            n, m = line.split()
            medians.append(int(m))
    k = 0
    while True:
        got = r.read_into(buf)
        if got < len(buf):
            break
        for i in range(9):
            assert buf[i] + adc.CENTER == want[9 * k + i]
        assert median.median(buf) + adc.CENTER == medians[k], k
        k += 1
    assert k == len(medians) == 20
    assert got == len(want) - 9 * 20 == 4
    assert r.finished and r.read_into(buf) == 0


def test_read_into_waits_between_readings_and_allocates_nothing():
    waits = array.array("i", (0,))

    def wait(ms):
        waits[0] += ms

    r = adc.ReplayADC(readings=array.array("H", range(60000, 65000)))
    buf = array.array("h", bytearray(2 * 15))
    r.read_into(buf, 20, wait)
    assert waits[0] == 14 * 20
    assert buf[14] == 60014 - 32768
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(300):
        r.read_into(buf, 20, wait)
    grown = gc.mem_alloc() - before
    assert grown == 0, grown
    assert r.position == 301 * 15


def test_read_into_refuses_other_buffers():
    r = adc.ReplayADC(readings=array.array("H", (1, 2, 3)))
    raises(TypeError, r.read_into, [0, 0], words=("array('h')", "list"))
    raises(TypeError, r.read_into, array.array("H", (0, 0)), words=("array('h')", "array('H')"))
    raises(TypeError, r.read_into, array.array("h"), words=("non-empty",))


def test_calibration_lines_match_numpy():
    count = 0
    with open(DIR + "calibration.txt") as f:
        for line in f:
            sensor, vref, raw, want = line.split()
            cal = adc.Linear.for_sensor(sensor, float(vref))
            got = cal.centi(int(raw))
            assert got == int(want), (sensor, vref, raw, got, want)
            assert abs(cal.celsius(int(raw)) * 100 - int(want)) <= 0.5 + 1e-6
            count += 1
    assert count == 72
    # TMP36 at 3.3 V: 0.75 V (25 C) reads 65535 * 0.75 / 3.3
    cal = adc.Linear.for_sensor("tmp36", 3.3)
    assert abs(cal.celsius(65535 * 0.75 / 3.3) - 25.0) < 1e-4
    assert abs(cal.raw(25.0) - 65535 * 0.75 / 3.3) < 1e-2


def test_two_point_calibration():
    cal = adc.Linear.two_point(10000, 0.0, 20000, 50.0)
    assert cal.centi(10000) == 0 and cal.centi(20000) == 5000 and cal.centi(15000) == 2500
    assert cal.centi(9990) == -5 and cal.centi(9997) == -2  # -1.5 hundredths rounds away from zero
    assert abs(cal.celsius(12000) - 10.0) < 1e-9
    raises(ValueError, adc.Linear.two_point, 5000, 1.0, 5000, 2.0, words=("two different readings",))
    raises(ValueError, adc.Linear.two_point, -1, 1.0, 5000, 2.0, words=("0..65535",))
    raises(ValueError, adc.Linear.for_sensor, "PT100", words=("unknown analog sensor", "TMP36"))
    raises(ValueError, adc.Linear.for_sensor, "LM35", 0.0, words=("0.5..6.0 V",))
    raises(ValueError, adc.Linear, 0, 1, words=("non-zero",))


class _FakeMachine:
    # Stands in for the machine module of a board: an ADC that counts up.
    class Pin:
        def __init__(self, n):
            self.n = n

    class ADC:
        ATTN_11DB = 3

        def __init__(self, pin, atten=None):
            self.pin = pin
            self.atten = atten
            self.v = 40000

        def read_u16(self):
            self.v += 1
            return self.v


def test_adc_source_reads_machine_adc():
    keep = sys.modules.get("machine")
    sys.modules["machine"] = _FakeMachine
    try:
        src = adc.ADCSource(26, atten=_FakeMachine.ADC.ATTN_11DB)
    finally:
        if keep is None:
            del sys.modules["machine"]
        else:
            sys.modules["machine"] = keep
    assert src.adc.pin.n == 26 and src.adc.atten == 3
    assert src.read_u16() == 40001
    buf = array.array("h", bytearray(2 * 5))
    slept = []
    assert src.read_into(buf, 7, slept.append) == 5
    assert list(buf) == [v - 32768 for v in range(40002, 40007)]
    assert slept == [7, 7, 7, 7]
