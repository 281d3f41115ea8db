# tinysense.sensors.sht3x against a fake I2C bus written here from the datasheet: the frames the
# driver sends, correct answers, a bad CRC (counted and skipped), a missing sensor.
import gc
from tinysense.sensors import sht3x
from expect import expect_error as raises


def crc(a, b):
    # Datasheet CRC-8 written bit by bit, independent of the driver's loop.
    c = 0xFF
    for byte in (a, b):
        for bit in range(7, -1, -1):
            top = (c >> 7) ^ ((byte >> bit) & 1)
            c = (c << 1) & 0xFF
            if top:
                c ^= 0x31
    return c


def frame(*words):
    out = bytearray()
    for w in words:
        out += bytes((w >> 8, w & 0xFF, crc(w >> 8, w & 0xFF)))
    return out


class FakeI2C:
    """A bus with a sensor at ``present`` (None: nothing answers) that answers the queued frames."""

    def __init__(self, present=0x44, answers=(), count_acks=False):
        self.present = present
        self.answers = list(answers)
        self.sent = []
        self.count_acks = count_acks
        self.last = bytearray(6)

    def __repr__(self):
        return "I2C(0, scl=22, sda=21, freq=100000)"

    def writeto(self, addr, buf, stop=True):
        if addr != self.present:
            if self.count_acks:
                return 0
            raise OSError(19)  # ENODEV, as the ESP32 port
        self.sent.append(bytes(buf))
        return len(buf) + 1

    def readfrom_into(self, addr, buf, stop=True):
        if addr != self.present:
            raise OSError(19)
        a = self.answers.pop(0) if self.answers else self.last
        self.last = a
        for i in range(len(buf)):
            buf[i] = a[i]


def no_wait(ms):
    pass


STATUS = frame(0x8010)


def test_crc8_datasheet_example():
    assert sht3x.crc8(b"\xbe\xef") == 0x92  # SHT3x datasheet table 19
    assert crc(0xBE, 0xEF) == 0x92
    for w in (0, 1, 0x6666, 0x8000, 0xFFFF, 0x1234):
        assert sht3x.crc8(bytes((w >> 8, w & 0xFF))) == crc(w >> 8, w & 0xFF)


def test_single_shot_frames_and_conversion():
    bus = FakeI2C(answers=[STATUS, frame(0x6666, 0x8000), frame(0, 0), frame(0xFFFF, 0xFFFF)])
    s = sht3x.SHT3x(bus, sleep_ms=no_wait)
    assert bus.sent == [b"\xf3\x2d"], bus.sent  # status register read at construction
    assert s.measure()
    assert bus.sent[-1] == b"\x24\x00"  # single shot, high repeatability, no clock stretching
    # -45 + 175 * 0x6666 / 65535 = 24.9997 C; 100 * 0x8000 / 65535 = 50.0008 %
    assert (s.t_centi, s.rh_centi) == (2500, 5000), (s.t_centi, s.rh_centi)
    assert abs(s.temperature() - 25.0) < 1e-9 and abs(s.humidity() - 50.0) < 1e-9
    assert s.measure() and (s.t_centi, s.rh_centi) == (-4500, 0)
    assert s.measure() and (s.t_centi, s.rh_centi) == (13000, 10000)
    assert s.measurements == 3 and s.crc_errors == 0
    for rep, cmd in (("medium", b"\x24\x0b"), ("low", b"\x24\x16")):
        bus = FakeI2C(answers=[STATUS, frame(0x6666, 0x8000)])
        s = sht3x.SHT3x(bus, repeatability=rep, sleep_ms=no_wait)
        s.measure()
        assert bus.sent[-1] == cmd, (rep, bus.sent)


def test_every_raw_word_converts_as_the_datasheet_formula():
    for st in range(0, 65536, 7):
        want = -4500 + 17500 * st / 65535
        assert abs(sht3x.centi_celsius(st) - want) <= 0.5, st


def test_waits_for_the_conversion():
    waits = []
    bus = FakeI2C(answers=[STATUS, frame(0x6666, 0x8000)])
    s = sht3x.SHT3x(bus, sleep_ms=waits.append)
    s.measure()
    assert waits == [16]  # high repeatability: at most 15.5 ms


def test_bad_crc_is_counted_and_skipped():
    good = frame(0x6666, 0x8000)
    bad_t = bytearray(good)
    bad_t[2] ^= 0x01
    bad_rh = bytearray(frame(0x7000, 0x4000))
    bad_rh[4] ^= 0x40  # a data bit flipped on the wire
    bus = FakeI2C(answers=[STATUS, good, bad_t, bad_rh, frame(0x7000, 0x4000)])
    s = sht3x.SHT3x(bus, sleep_ms=no_wait)
    assert s.measure() and s.t_centi == 2500
    assert not s.measure()
    assert not s.measure()
    assert s.crc_errors == 2 and s.measurements == 1
    assert (s.t_centi, s.rh_centi) == (2500, 5000)  # the bad readings are not values
    assert s.measure() and s.t_centi == -4500 + (17500 * 0x7000 + 32767) // 65535


def test_missing_device_says_where():
    for bus in (FakeI2C(present=None), FakeI2C(present=None, count_acks=True), FakeI2C(present=0x45)):
        msg = raises(OSError, sht3x.SHT3x, bus, words=("no device at address 0x44 on I2C(0, scl=22, sda=21, freq=100000)",))
        assert "Traceback" not in msg
    e = None
    try:
        sht3x.SHT3x(FakeI2C(present=None))
    except sht3x.NoDevice as err:
        e = err
    assert isinstance(e, OSError)
    s = sht3x.SHT3x(FakeI2C(present=0x45, answers=[STATUS]), address=0x45, sleep_ms=no_wait)
    assert s.address == 0x45
    # a sensor that goes away after start-up
    bus = FakeI2C(answers=[STATUS])
    s = sht3x.SHT3x(bus, sleep_ms=no_wait)
    bus.present = None
    raises(sht3x.NoDevice, s.measure, words=("no device at address 0x44",))


def test_bad_arguments():
    raises(ValueError, sht3x.SHT3x, FakeI2C(answers=[STATUS]), repeatability="max", words=("'high'",))
    raises(ValueError, sht3x.SHT3x, FakeI2C(answers=[STATUS]), address=0x100, words=("0x08..0x77",))


def test_measure_allocates_nothing():
    bus = FakeI2C(answers=[STATUS, frame(0x6666, 0x8000)])
    s = sht3x.SHT3x(bus, sleep_ms=no_wait)
    s.measure()
    bus.sent = None

    def writeto(addr, buf, stop=True):
        return 3

    bus.writeto = writeto
    m = s.measure
    m()
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(200):
        m()
    grown = gc.mem_alloc() - before
    assert grown == 0, grown
    assert s.measurements == 202


def test_sht4x():
    bus = FakeI2C(answers=[frame(0x1234, 0x5678), frame(0x6666, 0x8000), frame(0x6666, 0)])
    s = sht3x.SHT4x(bus, sleep_ms=no_wait)
    assert bus.sent == [b"\x89"] and s.serial == 0x12345678
    assert s.measure() and bus.sent[-1] == b"\xfd"
    # RH = -6 + 125 * 0x8000 / 65535 = 56.50 %; clipped at 0
    assert (s.t_centi, s.rh_centi) == (2500, 5650), (s.t_centi, s.rh_centi)
    assert s.measure() and s.rh_centi == 0


def test_replay_bus_plays_values_through_the_driver():
    bus = sht3x.ReplayI2C(values=[(21.53, 40.0), (-10.0, 99.5), (30.0, 10.0)], corrupt=(1,))
    s = sht3x.SHT3x(bus, sleep_ms=no_wait)
    assert s.measure() and (s.t_centi, s.rh_centi) == (2153, 4000)
    assert not s.measure() and s.crc_errors == 1
    assert s.measure() and (s.t_centi, s.rh_centi) == (3000, 1000)
    assert bus.finished
    raises(EOFError, s.measure, words=("ended after 3",))
    raises(sht3x.NoDevice, sht3x.SHT3x, sht3x.ReplayI2C(values=[(1, 1)], address=0x45),
           words=("no device at address 0x44 on ReplayI2C(SHT3x at 0x45)",))
    b4 = sht3x.ReplayI2C(values=[(21.53, 56.5)], sht4x=True)
    s4 = sht3x.SHT4x(b4, sleep_ms=no_wait)
    assert s4.measure() and (s4.t_centi, s4.rh_centi) == (2153, 5650)
