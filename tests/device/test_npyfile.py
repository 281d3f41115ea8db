# fixtures: npy
# tinysense.npyfile on MicroPython against numpy (tests/fixtures/npy.py): files numpy wrote read
# back byte for byte, unsupported files refused with the file's name and what was found, the
# exercise recordings' truncated files found by size against header and read as numpy sees
# their bytes, a 1 MB file streamed through a 10-row buffer, and the writer read back.
import array
import gc
import io
import os
import tsenv
from tinysense import npyfile
from expect import expect_error as raises

DIR = tsenv.FIXTURES + "/npy/"


def lines(name):
    with open(DIR + name) as f:
        return [line.split() for line in f if line.strip()]


def raw(path, typecode):
    with open(path, "rb") as f:
        return array.array(typecode, f.read())


def new(typecode, n):
    return array.array(typecode, bytearray((2 if typecode == "h" else 4) * n))


def read_all(r, buf):
    out = array.array(r.typecode)
    while True:
        n = r.readinto(buf)
        if not n:
            break
        assert n <= len(buf) // r.columns
        out.extend(buf[:n * r.columns])
    return out


def checksums(r, buf):
    # S1 = sum(v), S2 = sum(v[i] * ((i * 7919) % 1009)), as tests/fixtures/npy.py computes them
    s1 = s2 = 0
    i = 0
    while True:
        n = r.readinto(buf)
        if not n:
            break
        for k in range(n * r.columns):
            v = buf[k]
            s1 += v
            s2 += v * ((i * 7919) % 1009)
            i += 1
    return s1, s2


def test_reads_what_numpy_wrote():
    count = 0
    for name, tc, shape in lines("good.txt"):
        shape = tuple(int(d) for d in shape.split(","))
        want = raw(DIR + name[:-4] + ".raw", tc)
        for rows_per_buf in (1, 3, 64):
            r = npyfile.Reader(DIR + name)
            assert r.typecode == tc and r.shape == shape, (name, r.typecode, r.shape)
            assert r.rows == shape[0] and r.columns == (shape[1] if len(shape) == 2 else 1)
            assert not r.truncated and r.expected_rows == shape[0]
            got = read_all(r, new(tc, rows_per_buf * r.columns + 1))  # +1: a spare item stays unused
            # byte comparison: float32 nan/inf/-0.0 must come through bit for bit
            assert bytes(got) == bytes(want), (name, rows_per_buf)
            assert r.position == r.rows
            assert r.readinto(new(tc, 8 * r.columns)) == 0
            r.close()
        count += 1
    assert count == 10
    assert npyfile.Reader(DIR + "i2_v2.npy").version == (2, 0)
    assert npyfile.Reader(DIR + "f4_v3.npy").version == (3, 0)


def test_stream_source_and_rows_limit():
    with open(DIR + "i2_2d.npy", "rb") as f:
        data = f.read()
    s = io.BytesIO(data)
    r = npyfile.Reader(s)
    assert r.name == "<stream>" and r.shape == (37, 3)
    buf = new("h", 30)
    assert r.readinto(buf, rows=4) == 4
    assert r.skip(30) == 30
    assert r.readinto(buf) == 3  # 37 - 4 - 30
    want = raw(DIR + "i2_2d.raw", "h")
    assert buf[:9] == want[34 * 3:], (buf[:9], want[34 * 3:])
    assert r.readinto(buf, rows=0) == 0
    r.close()
    assert s.read(1) == b""  # the caller's stream stays open
    with npyfile.Reader(DIR + "i2_2d.npy") as r:
        assert r.readinto(buf) == 10
        assert buf[:3] == array.array("h", [-32768, 32767, -1])  # full-scale int16 unchanged


def test_rejects_unsupported_files():
    count = 0
    for line in lines("bad.txt"):
        parts = " ".join(line).split("|")
        name, words = parts[0], parts[1:]
        for partial in (False, True):
            raises(ValueError, npyfile.Reader, DIR + name, partial=partial, words=[name] + words)
        count += 1
    assert count == 17, count
    # a short header is a truncation even with partial=True
    raises(npyfile.Truncated, npyfile.Reader, DIR + "short_header.npy", partial=True, words=("of its",))


def test_wrong_buffer_type():
    r = npyfile.Reader(DIR + "i2_2d.npy")
    raises(TypeError, r.readinto, new("f", 6), words=("'<i2'", "array('h')", "array('f')"))
    raises(TypeError, r.readinto, bytearray(12), words=("array('h')", "bytearray"))
    assert r.readinto(new("h", 6)) == 2
    r = npyfile.Reader(DIR + "f4_1d.npy")
    raises(TypeError, r.readinto, new("h", 6), words=("array('f')",))
    # a buffer shorter than one row would read 0 rows for ever, as at the end of the file
    r = npyfile.Reader(DIR + "i2_2d.npy")
    raises(ValueError, r.readinto, new("h", 2), words=("2 items", "3 columns"))
    assert r.position == 0 and r.readinto(new("h", 3)) == 1


def test_missing_file_is_named():
    e = raises(OSError, npyfile.Reader, DIR + "no_such_recording.npy", words=("no_such_recording.npy", "no such file"))
    assert "Errno 2" in e


def recordings():
    with open(DIR + "recordings.txt") as f:
        folder = f.read().strip()
    return folder, sorted(n for n in os.listdir(folder) if n.endswith(".npy"))


def expected_size(path):
    # size promised by the header: 10 (or 12) bytes + header text + rows * row bytes
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) < 10:
        return None
    hlen = head[8] | head[9] << 8
    r = npyfile.Reader(path, partial=True)
    r.close()
    return 10 + hlen + r.expected_rows * r.columns * r.itemsize


def test_truncated_recordings_found_by_size_against_header():
    folder, names = recordings()
    assert len(names) == 134
    found = []
    for name in names:
        path = folder + "/" + name
        size = os.stat(path)[6]
        want = expected_size(path)
        if want is None or size < want:
            found.append(name)
    listed = [t[0] for t in lines("truncated.txt")]
    assert found == listed, (found, listed)
    assert len(found) == 14


def test_truncated_recordings_raise_or_read_complete_rows():
    folder, _ = recordings()
    buf = new("h", 3 * 64)
    n_files = 0
    for name, expected, present in lines("truncated.txt"):
        path = folder + "/" + name
        expected, present = int(expected), int(present)
        if present < 0:  # the empty file: no header, no shape: always an error
            for partial in (False, True):
                raises(npyfile.Truncated, npyfile.Reader, path, partial=partial, words=(name, "empty", "0 bytes"))
            n_files += 1
            continue
        raises(npyfile.Truncated, npyfile.Reader, path,
               words=(name, "truncated", "%d rows" % expected, "%d complete rows" % present))
        r = npyfile.Reader(path, partial=True)
        assert r.truncated and r.rows == present and r.expected_rows == expected
        assert r.shape == (present, 3)
        got = read_all(r, buf)
        want = raw(DIR + "trunc_" + name + ".raw", "h")
        assert len(got) == 3 * present
        assert got == want, name  # numpy's view of the bytes present
        r.close()
        n_files += 1
    assert n_files == 14


def test_complete_recordings_equal_numpy():
    folder, _ = recordings()
    buf = new("h", 3 * 100)
    n = 0
    for name, s1, s2 in lines("complete.txt"):
        r = npyfile.Reader(folder + "/" + name)
        assert r.shape == (1000, 3) and not r.truncated
        assert checksums(r, buf) == (int(s1), int(s2)), name
        r.close()
        n += 1
    assert n == 120


def test_row_cut_in_the_middle():
    raises(npyfile.Truncated, npyfile.Reader, DIR + "cut_row.npy", words=("cut_row.npy", "10 rows", "7 complete rows"))
    r = npyfile.Reader(DIR + "cut_row.npy", partial=True)
    assert r.rows == 7 and r.truncated
    assert read_all(r, new("h", 12)) == raw(DIR + "cut_row.raw", "h")


def test_one_megabyte_file_through_a_small_buffer_without_allocation():
    with open(DIR + "big.txt") as f:
        rows, s1, s2 = (int(v) for v in f.read().split())
    assert os.stat(DIR + "big.npy")[6] > 1000000
    r = npyfile.Reader(DIR + "big.npy")
    assert r.shape == (rows, 3)
    buf = new("h", 30)  # 10 rows: 60 bytes of buffer for a 1 MB file
    assert checksums(r, buf) == (s1, s2)
    r.close()
    r = npyfile.Reader(DIR + "big.npy")
    r.readinto(buf)  # the first call checks the buffer
    gc.collect()
    before = gc.mem_alloc()
    k = 0
    while k < 2000:
        r.readinto(buf)
        k += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
    buf2 = new("h", 60)  # double buffering: each buffer is checked once
    r.readinto(buf2)
    gc.collect()
    before = gc.mem_alloc()
    k = 0
    while k < 1000:
        r.readinto(buf)
        r.readinto(buf2)
        k += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
    r.close()


def test_writer_round_trip():
    cases = (("h", 3, 40), ("h", None, 17), ("f", 4, 9), ("f", None, 0), ("h", 1, 5), ("h", 2, 0))
    for tc, cols, rows in cases:
        path = DIR + "w_%s_%s_%d.npy" % (tc, cols, rows)
        width = cols or 1
        data = new(tc, width * rows)
        for i in range(len(data)):
            data[i] = (i * 2654435761) % 65536 - 32768 if tc == "h" else (i - 7) / 8
        w = npyfile.Writer(path, tc, cols)
        # in pieces: 3 rows at a time from a 5-row buffer, then the rest
        piece = new(tc, 5 * width)
        done = 0
        while done < rows:
            k = min(3, rows - done)
            for i in range(k * width):
                piece[i] = data[done * width + i]
            assert w.write(piece, rows=k) == k
            done += k
        w.close()
        assert os.stat(path)[6] == npyfile.HEADER_BYTES + len(bytes(data))
        r = npyfile.Reader(path)
        assert r.typecode == tc and r.shape == ((rows, cols) if cols else (rows,)), (r.shape, cols, rows)
        assert bytes(read_all(r, new(tc, 4 * width))) == bytes(data)
        r.close()
    with open(DIR + "w_h_3_40.npy", "rb") as f:
        head = f.read(npyfile.HEADER_BYTES)
    assert head[:8] == b"\x93NUMPY\x01\x00" and head[-1:] == b"\n" and npyfile.HEADER_BYTES % 64 == 0
    assert b"'shape': (40, 3)" in head and b"'descr': '<i2'" in head


def test_writer_flush_and_stream():
    path = DIR + "w_flush.npy"
    w = npyfile.Writer(path, "h", 3)
    buf = array.array("h", [1, 2, 3, 4, 5, 6])
    w.write(buf)
    w.flush()
    r = npyfile.Reader(path)  # complete as it stands
    assert r.shape == (2, 3)
    r.close()
    w.write(buf, rows=1)
    w.close()
    w.close()  # twice is harmless
    r = npyfile.Reader(path)
    assert r.shape == (3, 3) and read_all(r, new("h", 9)) == array.array("h", [1, 2, 3, 4, 5, 6, 1, 2, 3])
    s = io.BytesIO()
    w = npyfile.Writer(s, "f", 2)
    w.write(array.array("f", [0.5, -1.5]))
    w.close()
    s.seek(0)
    r = npyfile.Reader(s)
    assert r.shape == (1, 2) and bytes(read_all(r, new("f", 2))) == bytes(array.array("f", [0.5, -1.5]))


def test_writer_errors_and_no_allocation():
    path = DIR + "w_err.npy"
    raises(ValueError, npyfile.Writer, path, "i", 3, words=("'h'", "'f'", "'i'"))
    raises(ValueError, npyfile.Writer, path, "h", 0, words=("columns",))
    w = npyfile.Writer(path, "h", 3)
    raises(TypeError, w.write, array.array("f", [1.0, 2.0, 3.0]), words=("array('h')", "array('f')"))
    raises(TypeError, w.write, array.array("h"), words=("array('h')", "an empty array"))
    raises(ValueError, w.write, new("h", 2), words=("2 items", "3 columns"))
    buf = new("h", 7)  # 2 whole rows and a spare item
    raises(ValueError, w.write, buf, 3, words=("0..2",))
    assert w.write(buf) == 2
    gc.collect()
    before = gc.mem_alloc()
    k = 0
    while k < 200:
        w.write(buf)
        w.write(buf, 1)
        k += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
    w.close()
    assert npyfile.Reader(path).rows == 2 + 200 * 3
