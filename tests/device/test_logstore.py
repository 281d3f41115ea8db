# The crash-safe log (tinysense.logstore): round trip, rotation, sequence continuity across
# reboots, and recovery after a cut at every byte offset of the last records or corrupted bytes.
import os
import tsenv
from tinysense import logstore
from expect import expect_error as raises

DIR = tsenv.FIXTURES + "/logstore-" + tsenv.VARIANT
NAMES = ("temperature", "humidity", "battery")
DEC = (2, 2, 0)


def _rm(p):
    try:
        os.remove(p)
    except OSError:
        pass


def fresh(name):
    try:
        os.mkdir(DIR)
    except OSError:
        pass
    p = DIR + "/" + name
    _rm(p)
    _rm(p + ".tmp")
    return p


def opened(p, capacity=1000):
    return logstore.Log(p, names=NAMES, decimals=DEC, capacity=capacity)


def values(i):
    return (2000 + 7 * i - 400, 4500 - i, 100 - i % 100)


def filled(p, n, capacity=1000):
    log = opened(p, capacity)
    for i in range(n):
        assert log.append(1700000000 + 60 * i, values(i)) == i + 1
    log.close()
    return log


def read(p):
    with open(p, "rb") as f:
        return f.read()


def write(p, data):
    with open(p, "wb") as f:
        f.write(data)


def expect_records(log, seqs):
    got = list(log)
    assert [r[0] for r in got] == list(seqs), ([r[0] for r in got], list(seqs))
    for seq, t, v in got:
        assert t == 1700000000 + 60 * (seq - 1), (seq, t)
        assert v == values(seq - 1), (seq, v)
    assert len(log) == len(got)


def test_append_and_iterate():
    p = fresh("a.bin")
    log = opened(p)
    assert len(log) == 0 and list(log) == [] and log.next_seq == 1
    for i in range(20):
        assert log.append(1700000000 + 60 * i, values(i)) == i + 1
    expect_records(log, range(1, 21))
    assert log.record_size == 12 + 4 * 3
    log.close()
    h = len(logstore.make_header(3, 1000, 0, NAMES, DEC, log.epoch_year))
    assert os.stat(p)[6] == h + 20 * log.record_size


def test_sequence_continues_across_reboots():
    p = fresh("b.bin")
    filled(p, 5)
    for boot in range(3):
        log = opened(p)
        assert log.next_seq == 6 + boot and log.dropped == 0
        expect_records(log, range(1, 6 + boot))
        log.append(1700000000 + 60 * (5 + boot), values(5 + boot))
        log.close()
    expect_records(opened(p), range(1, 9))


def test_rotation_keeps_the_newest_within_capacity():
    p = fresh("c.bin")
    log = opened(p, capacity=10)
    h = len(logstore.make_header(3, 10, 0, NAMES, DEC, log.epoch_year))
    for i in range(57):
        log.append(1700000000 + 60 * i, values(i))
        n = len(log)
        assert 5 < n <= 10 or i < 5, (i, n)
        assert os.stat(p)[6] <= h + 10 * log.record_size
        got = [r[0] for r in log]
        assert got == list(range(i + 2 - n, i + 2)), (i, got)
    log.close()
    log = opened(p, capacity=10)  # sequence numbers survive rotation and reboot
    assert log.next_seq == 58
    expect_records(log, range(58 - len(log), 58))
    assert log.append(0, (1, 2, 3)) == 58


def test_cut_at_every_byte_of_the_last_records():
    p = fresh("d.bin")
    log = filled(p, 6)
    full = read(p)
    rs = log.record_size
    h = len(full) - 6 * rs
    for cut in range(h + 2 * rs, len(full) + 1):  # inside the last 4 records and at each end
        write(p, full[:cut])
        log = opened(p)  # never raises
        complete = (cut - h) // rs
        expect_records(log, range(1, complete + 1))
        assert log.dropped == (1 if (cut - h) % rs else 0), (cut, log.dropped)
        assert log.next_seq == complete + 1
        assert log.append(1700000000 + 60 * complete, values(complete)) == complete + 1
        log.close()
        expect_records(opened(p), range(1, complete + 2))  # the torn part is gone from the file
        assert os.stat(p)[6] == h + (complete + 1) * rs


def test_cut_inside_the_first_record():
    p = fresh("e.bin")
    log = filled(p, 1)
    full = read(p)
    h = len(full) - log.record_size
    for cut in range(h, len(full)):
        write(p, full[:cut])
        log = opened(p)
        assert len(log) == 0 and log.next_seq == 1
        assert log.append(1700000000, values(0)) == 1
        log.close()


def test_corrupted_bytes_in_the_tail_drop_only_their_record():
    p = fresh("f.bin")
    log = filled(p, 5)
    full = read(p)
    rs = log.record_size
    h = len(full) - 5 * rs
    for pos in range(h + 3 * rs, len(full)):
        for x in (0x01, 0x80, 0xFF):
            bad = bytearray(full)
            bad[pos] ^= x
            write(p, bad)
            log = opened(p)
            hit = (pos - h) // rs + 1
            expect_records(log, [s for s in range(1, 6) if s != hit])
            assert log.dropped == 1
            assert log.next_seq == (6 if hit < 5 else 5)
            log.close()


def test_garbage_tail_never_raises():
    p = fresh("g.bin")
    log = filled(p, 4)
    full = read(p)
    rs = log.record_size
    junk = bytes((i * 73 + 11) & 0xFF for i in range(3 * rs + 5))
    for n in range(0, len(junk) + 1, 3):
        for fill in (junk[:n], b"\xff" * n, b"\x00" * n):
            write(p, full + fill)
            log = opened(p)
            expect_records(log, range(1, 5))
            assert log.next_seq == 5
            log.append(1700000000 + 60 * 4, values(4))
            log.close()
            expect_records(opened(p), range(1, 6))


def test_interrupted_rotation_is_finished_or_undone():
    p = fresh("h.bin")
    filled(p, 6)
    full = read(p)
    write(p + ".tmp", full[:30])  # copy cut short, old log still there: the copy goes
    log = opened(p)
    expect_records(log, range(1, 7))
    assert "h.bin.tmp" not in os.listdir(DIR)
    os.rename(p, p + ".tmp")  # old log removed, complete copy not yet renamed (FAT): finished
    log = opened(p)
    expect_records(log, range(1, 7))
    assert "h.bin.tmp" not in os.listdir(DIR)
    _rm(p)
    write(p + ".tmp", full[:9])  # a log being created, torn in its header: started afresh
    log = opened(p)
    assert len(log) == 0 and log.next_seq == 1


def test_bad_arguments_and_files():
    p = fresh("i.bin")
    raises(ValueError, logstore.Log, p, 0, words=("n_values", "1..16"))
    raises(ValueError, logstore.Log, p, 17, words=("n_values",))
    raises(ValueError, logstore.Log, p, names=("a,b",), words=("commas",))
    raises(ValueError, logstore.Log, p, names=("a", "b"), decimals=(1,), words=("decimals",))
    raises(ValueError, logstore.Log, p, capacity=1, words=("capacity",))
    log = logstore.Log(p, names=("a", "b"))
    raises(ValueError, log.append, 0, (1,), words=("1 values", "2"))
    raises(TypeError, log.append, 0, (1.5, 2), words=("int", "decimals"))
    raises(ValueError, log.append, 0, (2 ** 31, 2), words=("int32",))
    raises(ValueError, log.append, -1, (1, 2), words=("uint32",))
    raises(TypeError, log.append, 1.0, (1, 2), words=("timestamp",))
    assert len(log) == 0 and log.next_seq == 1
    log.append(0xFFFFFFFF, (-2 ** 31, 2 ** 31 - 1))
    assert list(log) == [(1, 0xFFFFFFFF, (-2 ** 31, 2 ** 31 - 1))]
    log.close()
    raises(ValueError, logstore.Log, p, names=("a", "c"), words=("same layout",))
    raises(ValueError, logstore.Log, p, names=("a", "b"), decimals=(1, 0), words=("same layout",))
    write(p, b"PK\x03\x04 not a log at all")
    raises(ValueError, logstore.Log, p, 2, words=("not a tinysense log",))


def test_crc_is_zlib_crc32():
    assert logstore.crc32(b"123456789") == 0xCBF43926


def test_append_allocates_next_to_nothing():
    import gc

    p = fresh("j.bin")
    log = opened(p, capacity=100000)
    v = values(0)
    log.append(0, v)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for i in range(100):
            log.append(i, v)
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    log.close()
    assert used <= 64, used  # the record buffer is the log's; the file layer may buffer once


class HalfWriter:
    """A file whose write puts half the bytes on flash and then fails, like a full flash."""

    def __init__(self, path):
        self.f = open(path, "ab")

    def write(self, data):
        self.f.write(bytes(data)[:len(data) // 2])
        self.f.close()
        raise OSError(28)

    def flush(self):
        pass

    def close(self):
        pass


def test_a_failed_write_is_recovered_by_the_next_append():
    p = fresh("k.bin")
    log = filled(p, 3)
    log = opened(p)
    log._f = HalfWriter(p)
    raises(OSError, log.append, 1700000000 + 60 * 3, values(3))
    assert log.append(1700000000 + 60 * 3, values(3)) == 4  # the half record is cut off first
    log.append(1700000000 + 60 * 4, values(4))
    expect_records(log, range(1, 6))
    log.close()
    log = opened(p)
    assert log.dropped == 0
    expect_records(log, range(1, 6))
