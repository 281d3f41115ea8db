"""``numpy.load`` reads the ``.npy`` files that ``tinysense.npyfile.Writer`` writes on MicroPython
(the unix port), for int16 and float32, 1-D and 2-D, empty and flushed-but-open files; and the
device reads back numpy's own files (the device test covers those in detail, this one checks
the round trip device -> numpy -> device in one place)."""

from __future__ import annotations

import numpy as np
import pytest

from tinysense import unixport
from tinysense.paths import DEVICE_DIR

SCRIPT = r"""
import array, sys
from tinysense import npyfile
out = sys.argv[1]

def values(tc, n):
    a = array.array(tc, bytearray((2 if tc == "h" else 4) * n))
    for i in range(n):
        a[i] = (i * 2654435761) % 65536 - 32768 if tc == "h" else (i - 7) / 8
    return a

for tc, cols, rows in CASES:
    width = cols or 1
    data = values(tc, width * rows)
    w = npyfile.Writer(out + "/dev_%s_%s_%d.npy" % (tc, cols, rows), tc, cols)
    step = 7
    done = 0
    piece = array.array(tc, bytearray((2 if tc == "h" else 4) * width * step))
    while done < rows:
        k = min(step, rows - done)
        for i in range(k * width):
            piece[i] = data[done * width + i]
        w.write(piece, k)
        done += k
    w.close()

w = npyfile.Writer(out + "/dev_open.npy", "h", 3)
w.write(array.array("h", [1, 2, 3, -4, -5, -6]))
w.flush()  # left open: the header already describes the 2 rows

r = npyfile.Reader(out + "/np_back.npy")
buf = array.array("h", bytearray(2 * r.rows * r.columns))
r.readinto(buf)
print("BACK", r.shape, list(buf))
"""

CASES = [("h", 3, 1000), ("h", None, 33), ("f", 4, 10), ("f", None, 0), ("h", 1, 8), ("h", 3, 0), ("f", 2, 100000)]


def expected(tc: str, cols, rows: int) -> np.ndarray:
    width = cols or 1
    i = np.arange(width * rows, dtype=np.int64)
    if tc == "h":
        a = ((i * 2654435761) % 65536 - 32768).astype("<i2")
    else:
        a = ((i - 7) / 8).astype("<f4")  # exact in float32 up to 2**24 / 8
    return a.reshape((rows, cols) if cols else (rows,))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("npy")
    back = np.array([[7, -8, 9], [32767, -32768, 0]], dtype="<i2")
    np.save(out / "np_back.npy", back)
    script = out / "write.py"
    script.write_text(SCRIPT.replace("CASES", repr(CASES)))
    proc = unixport.run(script, [str(out)], libdirs=[DEVICE_DIR], check=True, timeout=300)
    return out, proc.stdout


@pytest.mark.parametrize("case", CASES, ids=[f"{tc}-{cols}-{rows}" for tc, cols, rows in CASES])
def test_numpy_loads_what_the_device_wrote(written, case):
    out, _ = written
    tc, cols, rows = case
    got = np.load(out / f"dev_{tc}_{cols}_{rows}.npy")
    want = expected(tc, cols, rows)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)  # exact: the same values, bit for bit
    raw = (out / f"dev_{tc}_{cols}_{rows}.npy").read_bytes()
    assert raw[8] | raw[9] << 8 == 118 and (10 + 118) % 64 == 0  # header padded to 64 bytes like numpy


def test_flushed_file_is_readable_while_open(written):
    out, _ = written
    np.testing.assert_array_equal(np.load(out / "dev_open.npy"), [[1, 2, 3], [-4, -5, -6]])


def test_device_reads_what_numpy_wrote(written):
    _, stdout = written
    assert "BACK (2, 3) [7, -8, 9, 32767, -32768, 0]" in stdout
