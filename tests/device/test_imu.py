# fixtures: npy
# tinysense.sensors.imu on MicroPython: the MPU6886/MPU6050 drivers against a register-level
# simulator on a fake machine.I2C that fills its FIFO from a recording at the rate the
# registers select (frames come out equal to the recording, overflows are detected and the FIFO
# reset, a wrong WHO_AM_I names the chip found), and ReplayIMU's clock, FIFO and files
# (tests/fixtures/npy.py: a recording as .npy and .csv, damaged files).
import array
import gc
import time
import tsenv
from tinysense import npyfile
from tinysense.sensors import imu
from expect import expect_error as raises

DIR = tsenv.FIXTURES + "/npy/"


def raw(name):
    with open(DIR + name, "rb") as f:
        return array.array("h", f.read())


def recordings():
    with open(DIR + "recordings.txt") as f:
        return f.read().strip() + "/"


class FakeMPU:
    """An MPU6886 (who=0x19: frames of x, y, z and temperature, 8 bytes; CONFIG FIFO_MODE
    honoured) or MPU6050 (who=0x68: 6-byte frames, a full FIFO overwrites its oldest bytes) on
    a fake ``machine.I2C``. Sampling runs on ``advance(ms)`` at 1 kHz / (1 + SMPLRT_DIV) when
    the divider applies (MPU6886: FCHOICE_B=00 and 0 < DLPF_CFG < 7; MPU6050: 0 < DLPF_CFG < 7),
    else at 8 kHz, and only while awake with the accelerometer on; frame k is ``rec[3k:3k+3]``
    as big-endian int16. Allocates nothing per call."""

    def __init__(self, rec, who=0x19, address=0x68, report_oflow=True):
        self.rec = rec
        self.n = len(rec) // 3
        self.who = who
        self.address = address
        self.fb = 6 if who == 0x68 else 8
        self.report_oflow = report_oflow
        self.regs = bytearray(128)
        self.fifo = bytearray(1024)
        self.head = 0
        self.count = 0
        self.pos = 0  # next recording frame to sample
        self.pos_at_reset = 0  # recording frame at the last FIFO reset
        self.t_us = 0
        self.next_us = 0
        self.resets = 0
        self._reset()

    def _reset(self):
        for i in range(128):
            self.regs[i] = 0
        self.regs[0x6B] = 0x41 if self.fb == 8 else 0x40  # asleep after reset
        self.regs[0x75] = self.who
        self.head = self.count = 0

    def rate_hz(self):
        dlpf = self.regs[0x1A] & 7
        if self.fb == 8:
            ok = (self.regs[0x1B] & 3) == 0 and 0 < dlpf < 7
        else:
            ok = 0 < dlpf < 7
        return (1000 if ok else 8000) // (1 + self.regs[0x19])

    def sampling(self):
        return not self.regs[0x6B] & 0x40 and not self.regs[0x6C] & 0x38

    def fifo_on(self):
        return self.regs[0x6A] & 0x40 and self.regs[0x23] & 0x08

    def advance(self, ms):
        self.t_us += ms * 1000
        period = 1000000 // self.rate_hz()
        if self.next_us == 0:
            self.next_us = period
        while self.next_us <= self.t_us:
            if self.sampling() and self.pos < self.n:
                if self.fifo_on():
                    self._push(self.pos)
                self.pos += 1
            self.next_us += period

    def _byte(self, v):
        if self.count == 1024:
            if self.fb == 8 and self.regs[0x1A] & 0x40:  # FIFO_MODE=1: no more writes
                return False
            self.head = (self.head + 1) & 1023  # overwrite the oldest byte
            self.count -= 1
        self.fifo[(self.head + self.count) & 1023] = v
        self.count += 1
        return True

    def _push(self, k):
        if self.fb == 8 and self.regs[0x1A] & 0x40 and self.count + self.fb > 1024:
            lost = True
        else:
            lost = self.count + self.fb > 1024
            for a in range(3):
                v = self.rec[3 * k + a] & 0xFFFF
                self._byte(v >> 8)
                self._byte(v & 0xFF)
            if self.fb == 8:
                self._byte(0x0B)  # TEMP_OUT_H, L: about 25 C, not part of the frame read
                self._byte(0x7E)
        if lost and self.report_oflow and self.regs[0x38] & 0x10:
            self.regs[0x3A] |= 0x10

    def readfrom_mem_into(self, addr, reg, buf):
        if addr != self.address:
            raise OSError(19)  # ENODEV, as machine.I2C raises
        n = len(buf)
        if reg == 0x74:
            for i in range(n):
                if self.count:
                    buf[i] = self.fifo[self.head]
                    self.head = (self.head + 1) & 1023
                    self.count -= 1
                else:
                    buf[i] = 0xFF
            return
        for i in range(n):
            r = reg + i
            if r == 0x72:
                v = self.count >> 8
            elif r == 0x73:
                v = self.count & 0xFF
            else:
                v = self.regs[r]
                if r == 0x3A:
                    self.regs[0x3A] = 0  # INT_STATUS clears when read
            buf[i] = v

    def writeto_mem(self, addr, reg, buf):
        if addr != self.address:
            raise OSError(19)
        for i in range(len(buf)):
            r = reg + i
            v = buf[i]
            if r == 0x6B and v & 0x80:
                self._reset()
                self.resets += 1
                continue
            if r == 0x6A and v & 0x04:  # FIFO_RST, self-clearing
                self.head = self.count = 0
                self.pos_at_reset = self.pos
                v &= ~0x04
            if r not in (0x75, 0x72, 0x73, 0x3A):
                self.regs[r] = v


def drain(dev, sim, buf, step_ms, limit=100000):
    """Advance the simulator by step_ms at a time and read everything; return the frames."""
    out = array.array("h")
    k = 0
    while sim.pos < sim.n or sim.count:
        sim.advance(step_ms)
        while True:
            n = dev.fifo_level()
            if not n:
                break
            got = dev.read_fifo(buf)
            assert 0 < got <= min(n, len(buf) // 3), (got, n)
            out.extend(buf[:3 * got])
        k += 1
        assert k < limit
    return out


def test_driver_configures_the_documented_registers():
    rec = raw("rec.raw")
    dlpf = {25: 5, 50: 4, 100: 3, 200: 2}
    for rate in imu.RATES:
        for g, fs in ((2, 0x00), (4, 0x08), (8, 0x10), (16, 0x18)):
            sim = FakeMPU(rec)
            dev = imu.MPU6886(sim, rate=rate, range_g=g)
            r = sim.regs
            assert sim.resets == 1 and dev.who_am_i == 0x19
            assert (r[0x6B], r[0x6C], r[0x1A], r[0x1B]) == (0x01, 0x07, 0x41, 0x00)
            assert r[0x19] == 1000 // rate - 1 and sim.rate_hz() == rate
            assert r[0x1C] == fs and dev.counts_per_g == 32768 // g
            assert r[0x1D] == dlpf[rate]
            assert r[0x38] == 0x10 and r[0x23] == 0 and r[0x6A] == 0
            assert dev.fifo_capacity == 128 and dev.channels == 3 and dev.rate == rate
            dev.start()
            assert r[0x23] == 0x08 and r[0x6A] == 0x40
            dev.stop()
            assert r[0x23] == 0 and r[0x6A] == 0
    assert dict(imu.MPU6886(FakeMPU(rec)).registers())[0x1D] == 3


def test_frames_equal_the_recording_at_every_rate():
    rec = raw("rec.raw")
    for rate, step, frames in ((25, 997, 11), (50, 333, 7), (100, 250, 17), (200, 91, 128)):
        sim = FakeMPU(rec)
        dev = imu.MPU6886(sim, rate=rate)
        dev.start()
        sim.advance(400)
        assert dev.fifo_level() == rate * 400 // 1000, (rate, dev.fifo_level())
        got = drain(dev, sim, array.array("h", bytearray(6 * frames)), step)
        assert len(got) == len(rec) and got == rec, rate
        assert dev.overflows == 0 and not dev.overflowed and dev.frames_read == 1000
        assert not dev.done and not dev.ended


def test_full_scale_values_and_no_allocation():
    vals = (-32768, 32767, -1, 0, 1, 256, -256, 255, -255, 0x1234, -0x1234)
    rec = array.array("h", bytearray(2 * 3 * 300))
    for i in range(len(rec)):
        rec[i] = vals[(i * 7) % len(vals)]
    sim = FakeMPU(rec)
    dev = imu.MPU6886(sim)
    dev.start()
    buf = array.array("h", bytearray(2 * 3 * 20))
    got = array.array("h")
    sim.advance(100)
    n = dev.read_fifo(buf)
    got.extend(buf[:3 * n])
    buf2 = array.array("h", bytearray(2 * 3 * 7))  # a second buffer used in turn: checked once
    dev.read_fifo(buf2)
    gc.collect()
    before = gc.mem_alloc()
    k = 0
    while k < 100:
        sim.advance(20)
        dev.fifo_level()
        n = dev.read_fifo(buf2 if k & 1 else buf)
        buf[0] = buf[0]
        k += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
    # the frames read during the allocation check were dropped; the rest continue in order
    while sim.count or sim.pos < sim.n:
        sim.advance(50)
        n = dev.read_fifo(buf)
        got.extend(buf[:3 * n])
    assert got[:30] == rec[:30]
    assert imu.KERNEL == "viper"


def test_python_kernel_equals_viper():
    rawb = bytearray(8 * 40)
    for i in range(len(rawb)):
        rawb[i] = (i * 97 + 13) & 0xFF
    rawb[0], rawb[1], rawb[2], rawb[3] = 0x80, 0x00, 0x7F, 0xFF  # -32768, 32767
    for stride in (6, 8):
        a = array.array("h", bytearray(2 * 3 * 45))
        b = array.array("h", bytearray(2 * 3 * 45))
        imu._be16(rawb, a, 40 * 6 // stride, 5 << 4 | stride)
        imu._be16_python(rawb, b, 40 * 6 // stride, 5 << 4 | stride)
        assert a == b
        assert a[15] == -32768 and a[16] == 32767 and a[:15] == array.array("h", bytearray(30))


def test_overflow_detected_counted_and_fifo_reset():
    rec = raw("rec.raw")
    for report in (True, False):  # by INT_STATUS FIFO_OFLOW_INT, or by the count alone
        sim = FakeMPU(rec, report_oflow=report)
        dev = imu.MPU6886(sim)
        dev.start()
        buf = array.array("h", bytearray(2 * 3 * 50))
        sim.advance(1000)
        assert dev.fifo_level() == 100
        assert dev.read_fifo(buf) == 50 and buf[:150] == rec[:150]
        sim.advance(1000)  # 150 frames for a 128-frame FIFO
        assert sim.count == 1024
        assert dev.fifo_level() == 0
        assert dev.overflowed and dev.overflows == 1
        assert sim.count == 0 and sim.regs[0x6A] == 0x40  # reset, still enabled
        assert dev.read_fifo(buf) == 0 and dev.overflowed
        start = sim.pos_at_reset
        sim.advance(300)
        assert dev.fifo_level() == 30 and not dev.overflowed
        n = dev.read_fifo(buf)
        assert n == 30 and buf[:90] == rec[3 * start:3 * start + 90]


def test_mpu6050_frames_and_overflow():
    rec = raw("rec.raw")
    sim = FakeMPU(rec, who=0x68)
    dev = imu.MPU6050(sim, rate=50)
    r = sim.regs
    assert (r[0x6B], r[0x6C], r[0x1A], r[0x19]) == (0x01, 0x00, 4, 19) and sim.rate_hz() == 50
    assert dev.fifo_capacity == 170 and dev.FRAME_BYTES == 6
    dev.start()
    got = drain(dev, sim, array.array("h", bytearray(2 * 3 * 40)), 700)
    assert got == rec
    sim = FakeMPU(rec, who=0x68)
    dev = imu.MPU6050(sim, rate=100)
    dev.start()
    sim.advance(2000)  # 200 frames: the FIFO overwrote its oldest bytes, frames misaligned
    assert dev.fifo_level() == 0 and dev.overflows == 1 and sim.count == 0
    start = sim.pos_at_reset
    sim.advance(100)
    buf = array.array("h", bytearray(2 * 3 * 10))
    assert dev.read_fifo(buf) == 10 and buf == rec[3 * start:3 * start + 30]


def test_wrong_chip_and_missing_device():
    rec = raw("rec.raw")
    raises(imu.WrongChip, imu.MPU6886, FakeMPU(rec, who=0x68),
           words=("WHO_AM_I", "0x75", "0x68", "MPU6050", "0x19", "MPU6886", "use imu.MPU6050"))
    raises(imu.WrongChip, imu.MPU6886, FakeMPU(rec, who=0x12), words=("0x12", "ICM-20602"))
    raises(imu.WrongChip, imu.MPU6886, FakeMPU(rec, who=0x00), words=("0x00", "unknown chip"))
    raises(imu.WrongChip, imu.MPU6050, FakeMPU(rec, who=0x19), words=("0x19", "use imu.MPU6886"))
    assert issubclass(imu.WrongChip, ValueError)
    msg = raises(imu.NoDevice, imu.MPU6886, FakeMPU(rec), 0x69, words=("no device", "0x69"))
    assert isinstance(imu.NoDevice(msg), OSError)
    raises(ValueError, imu.MPU6886, FakeMPU(rec), rate=60, words=("rate", "25", "200", "60"))
    raises(ValueError, imu.MPU6886, FakeMPU(rec), range_g=3, words=("range_g", "16"))
    raises(ValueError, imu.MPU6886, FakeMPU(rec), 0x100, words=("address",))
    dev = imu.MPU6886(FakeMPU(rec))
    raises(RuntimeError, dev.fifo_level, words=("start()",))
    dev.start()
    raises(TypeError, dev.read_fifo, array.array("f", [0.0] * 6), words=("array('h')",))
    raises(TypeError, dev.read_fifo, array.array("h", [0, 0]), words=("at least 3",))


def play(dev, block=32, sleep=50, limit=100000):
    """An app loop: read when a block is waiting (or the replay has ended), else sleep."""
    buf = array.array("h", bytearray(2 * 3 * block))
    out = array.array("h")
    k = 0
    dev.start()
    while not dev.done:
        n = dev.fifo_level()
        if n >= block or (n and dev.ended):
            got = dev.read_fifo(buf)
            assert got == min(n, block)
            out.extend(buf[:3 * got])
        else:
            dev.sleep_ms(sleep)
        k += 1
        assert k < limit, "the replay did not end"
    return out


def test_replay_npy_and_csv_equal_the_recording():
    rec = raw("rec.raw")
    for name in ("rec.npy", "rec_txyz.csv", "rec_xyz.csv", "rec_plain.csv"):
        r = imu.ReplayIMU(DIR + name)
        assert r.rate == 100 and r.frames == 1000 and r.fifo_capacity == 128 and r.channels == 3
        got = play(r)
        assert got == rec, name
        assert r.done and r.ended and r.overflows == 0 and r.frames_read == 1000
        assert 9950 <= r.ticks_ms() <= 10050, r.ticks_ms()  # 1000 frames at 100 Hz, in 50 ms sleeps
        assert r.files == [(DIR + name, 0, 1000)]
        assert r.fifo_level() == 0 and r.read_fifo(array.array("h", [0, 0, 0])) == 0


def test_replay_simulated_clock():
    r = imu.ReplayIMU(DIR + "rec.npy")
    raises(RuntimeError, r.fifo_level, words=("start()",))
    r.start()
    assert r.ticks_ms() == 0
    r.sleep_ms(100)
    assert r.fifo_level() == 10 and r.ticks_ms() == 100
    assert r.fifo_level() == 11 and r.ticks_ms() == 110  # polled without sleeping: the next frame
    assert r.fifo_level() == 12
    buf = array.array("h", bytearray(2 * 3 * 64))
    assert r.read_fifo(buf) == 12
    assert r.read_fifo(buf) == 1  # nothing waiting and no sleep: the next frame arrives
    assert r.ticks_ms() == 130
    r.sleep_ms(0)
    assert r.fifo_level() == 1 and r.ticks_ms() == 140  # sleep_ms(0) is no sleep
    r.sleep_ms(35)
    assert r.fifo_level() == 4 and r.ticks_ms() == 175  # frames 14..17 of 1..17
    r = imu.ReplayIMU(DIR + "rec.npy", rate=50)
    r.start()
    r.sleep_ms(100)
    assert r.fifo_level() == 5
    raises(ValueError, r.sleep_ms, -1, words=("0..",))
    raises(TypeError, r.sleep_ms, 1.5, words=("int",))


def test_replay_real_time():
    # bounds from the wall clock around the calls, so a loaded machine cannot fail it
    r = imu.ReplayIMU(DIR + "rec.npy", realtime=True)
    t0 = time.ticks_ms()
    r.start()
    r.sleep_ms(60)  # time.sleep_ms: at least 60 ms pass
    n = r.fifo_level()
    ms = time.ticks_diff(time.ticks_ms(), t0)
    assert 5 <= n <= ms * 100 // 1000, (n, ms)
    n2 = r.fifo_level()  # no simulated step in real time: only the wall clock adds frames
    ms = time.ticks_diff(time.ticks_ms(), t0)
    assert n <= n2 <= ms * 100 // 1000, (n, n2, ms)
    assert r.ticks_ms() >= 60


def test_replay_overflow_like_the_chip():
    rec = raw("rec.raw")
    r = imu.ReplayIMU(DIR + "rec.npy")
    r.start()
    r.sleep_ms(1270)
    assert r.fifo_level() == 127 and not r.overflowed
    r.sleep_ms(10)  # 128 waiting: full
    assert r.fifo_level() == 0 and r.overflowed and r.overflows == 1 and r.frames_dropped == 128
    r.sleep_ms(100)
    buf = array.array("h", bytearray(2 * 3 * 10))
    assert r.fifo_level() == 10 and not r.overflowed
    assert r.read_fifo(buf) == 10 and buf == rec[3 * 128:3 * 138]
    r = imu.ReplayIMU(DIR + "rec.npy", fifo_capacity=170)
    r.start()
    r.sleep_ms(1690)
    assert r.fifo_level() == 169 and r.overflows == 0
    r.sleep_ms(9000)  # past the end: everything left is dropped, the replay is done
    assert r.fifo_level() == 0 and r.overflows == 1 and r.done and r.frames_dropped == 1000


def test_replay_truncated_and_empty_recordings():
    folder = recordings()
    cut = "2024-12-01T162650_squat.npy"  # 200 complete rows of 1000
    empty = "2000-01-01T000407_squat.npy"
    paths = [folder + cut, folder + empty, DIR + "rec.npy"]
    r = imu.ReplayIMU(paths, quiet=True)
    assert r.frames == 1200
    assert len(r.notes) == 2
    assert cut in r.notes[0] and "truncated" in r.notes[0] and "200 complete rows of 1000" in r.notes[0]
    assert empty in r.notes[1] and "skipping" in r.notes[1] and "empty" in r.notes[1]
    want = raw("trunc_" + cut + ".raw")
    want.extend(raw("rec.raw"))
    assert play(r, block=24, sleep=120) == want
    assert r.files == [(folder + cut, 0, 200), (DIR + "rec.npy", 200, 1000)]
    raises(npyfile.Truncated, imu.ReplayIMU, paths, partial=False, words=(cut, "1000 rows", "200 complete rows"))
    raises(npyfile.Truncated, imu.ReplayIMU, [folder + empty], partial=False, words=(empty, "empty"))
    raises(ValueError, imu.ReplayIMU, [folder + empty], quiet=True, words=("no frames",))


def test_replay_csv_problems():
    rec = raw("rec.raw")
    r = imu.ReplayIMU(DIR + "rec_cut.csv", quiet=True)
    assert r.frames == 500 and "truncated" in r.notes[0] and "500 complete rows" in r.notes[0]
    assert play(r) == rec[:1500]
    raises(npyfile.Truncated, imu.ReplayIMU, DIR + "rec_cut.csv", partial=False,
           words=("rec_cut.csv", "incomplete", "500 complete rows"))
    raises(ValueError, imu.ReplayIMU, DIR + "bad_float.csv", words=("bad_float.csv", "line 2", "0.01", "integer"))
    raises(ValueError, imu.ReplayIMU, DIR + "bad_cols.csv", words=("bad_cols.csv", "4 columns", "x,y,z"))
    raises(ValueError, imu.ReplayIMU, DIR + "bad_middle.csv", words=("bad_middle.csv", "line 3", "2 fields"))
    raises(npyfile.Truncated, imu.ReplayIMU, DIR + "empty.csv", partial=False, words=("empty.csv", "empty"))
    raises(ValueError, imu.ReplayIMU, DIR + "empty.csv", quiet=True, words=("no frames",))
    # a recording that shrinks after it was checked ends in an error, not in a wait for frames
    # that never come (the app would poll for ever)
    for name, text in (("shrinks.csv", "x,y,z\n1,2,3\n\n"), ("shrinks2.csv", "x,y,z\n" + "1,2,3\n" * 10)):
        with open(DIR + name, "w") as f:
            f.write("x,y,z\n" + "1,2,3\n" * 10)
        r = imu.ReplayIMU([DIR + "rec_cut.csv", DIR + name], quiet=True)
        with open(DIR + name, "w") as f:
            f.write(text)
        if name == "shrinks.csv":
            raises(npyfile.Truncated, play, r, 4, words=(name, "changed", "10 complete rows, then 1"))
        else:
            assert len(play(r, 4)) == 3 * 510  # unchanged: plays on


def test_replay_bad_arguments():
    raises(ValueError, imu.ReplayIMU, [], words=("at least one",))
    raises(ValueError, imu.ReplayIMU, DIR + "rec.npy", rate=0, words=("rate",))
    raises(ValueError, imu.ReplayIMU, DIR + "rec.npy", fifo_capacity=0, words=("fifo_capacity",))
    raises(ValueError, imu.ReplayIMU, DIR + "i2_1d.npy", words=("i2_1d.npy", "(rows, 3)", "(101,)"))
    raises(ValueError, imu.ReplayIMU, DIR + "f4_2d.npy", words=("f4_2d.npy", "int16", "'<f4'"))
    raises(ValueError, imu.ReplayIMU, DIR + "be.npy", words=("be.npy", "big-endian"))
    for name in ("missing.npy", "missing.csv"):  # the OSError names the file it could not open
        raises(OSError, imu.ReplayIMU, [DIR + "rec.npy", DIR + name], words=(name, "no such file"))
    r = imu.ReplayIMU(DIR + "rec.npy")
    r.start()
    raises(TypeError, r.read_fifo, array.array("f", [0.0] * 3), words=("array('h')",))
    raises(TypeError, r.read_fifo, bytearray(6), words=("array('h')",))


def test_replay_stop_start_and_no_allocation():
    rec = raw("rec.raw")
    r = imu.ReplayIMU(DIR + "rec.npy")
    buf = array.array("h", bytearray(2 * 3 * 16))
    r.start()
    r.sleep_ms(200)
    assert r.read_fifo(buf) == 16 and buf == rec[:48]
    r.stop()
    raises(RuntimeError, r.fifo_level, words=("start()",))
    r.sleep_ms(5000)  # paused: nothing arrives, nothing is lost
    r.start()
    assert r.read_fifo(buf) == 1  # resumes where it stopped
    assert buf[:3] == rec[48:51]
    r.sleep_ms(100)
    r.fifo_level()
    r.read_fifo(buf)
    gc.collect()
    before = gc.mem_alloc()
    k = 0
    while k < 50:
        r.sleep_ms(100)
        r.fifo_level()
        r.read_fifo(buf)
        k += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
    buf2 = array.array("h", bytearray(2 * 3 * 8))  # two buffers in turn: each checked once
    r.read_fifo(buf2)
    gc.collect()
    before = gc.mem_alloc()
    k = 0
    while k < 20:
        r.sleep_ms(100)
        r.read_fifo(buf)
        r.read_fifo(buf2)
        k += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
    r.close()
    assert r.done and not r.running
