"""The host log reader (tinysense.logstore) against the device writer (device/tinysense/logstore.py)
run on the MicroPython unix port: the same records, in the same order, after rotation, torn
tails and corrupted bytes; and the CSV that ``tinysense pull`` writes."""

from __future__ import annotations

import csv
import json
import struct
import zlib

import pytest

from tinysense import logstore, unixport
from tinysense.paths import DEVICE_DIR

WRITER = """
import os, sys, json
from tinysense import logstore
path, n, capacity = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
log = logstore.Log(path, names=("temperature", "humidity", "delta"), decimals=(2, 1, -1), capacity=capacity)
for i in range(n):
    log.append(1700000000 + 60 * i if log.epoch_year == 1970 else 750000000 + 60 * i,
               (2137 - 3 * i, 455 + i, (-1) ** i * (2 ** 31 - 1 - i)))
log.close()
log = logstore.Log(path, 3, ("temperature", "humidity", "delta"), (2, 1, -1), capacity)
print(json.dumps([[s, t, list(v)] for s, t, v in log]))
"""

RECOVER = """
import os, sys, json
from tinysense import logstore
for path in sys.argv[1:]:
    log = logstore.Log(path, names=("temperature", "humidity", "delta"), decimals=(2, 1, -1))
    print(json.dumps([log.next_seq, [[s, t, list(v)] for s, t, v in log]]))
"""


def device(tmp_path, script, args):
    src = tmp_path / "script.py"
    src.write_text(script)
    proc = unixport.run(src, [str(a) for a in args], libdirs=[DEVICE_DIR], check=True)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("[")]


def as_lists(records):
    return [[r.seq, r.timestamp, list(r.values)] for r in records]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    d = tmp_path_factory.mktemp("log")
    path = d / "log.bin"
    (dev,) = device(d, WRITER, [path, 25, 1000])
    return path.read_bytes(), dev, d


def test_reader_matches_the_device(written):
    data, dev, _ = written
    h = logstore.header(data)
    assert h.names == ("temperature", "humidity", "delta") and h.decimals == (2, 1, -1)
    assert h.n_values == 3 and h.record_size == 24 and h.base_seq == 0 and h.capacity == 1000
    assert h.epoch_year in (1970, 2000)
    assert len(data) == h.size + 25 * 24
    assert as_lists(logstore.read(data)) == dev
    assert [r[0] for r in dev] == list(range(1, 26))


def test_reader_matches_after_rotation(tmp_path):
    path = tmp_path / "log.bin"
    (dev,) = device(tmp_path, WRITER, [path, 53, 8])
    got = logstore.read(path.read_bytes())
    assert as_lists(got) == dev
    assert [r.seq for r in got] == list(range(54 - len(got), 54)) and 4 < len(got) <= 8
    assert logstore.header(path.read_bytes()).base_seq == got[0].seq - 1


def test_cut_and_corrupted_files_read_as_the_device_recovers_them(written, tmp_path):
    data, dev, _ = written
    h = logstore.header(data)
    rs = h.record_size
    cases = []
    for cut in range(len(data) - 3 * rs, len(data) + 1):
        cases.append((f"cut{cut}", data[:cut]))
    for pos in range(len(data) - 2 * rs, len(data), 5):
        bad = bytearray(data)
        bad[pos] ^= 0x5A
        cases.append((f"bad{pos}", bytes(bad)))
    cases.append(("junk", data + bytes(range(61))))
    paths = []
    for name, blob in cases:
        p = tmp_path / f"{name}.bin"
        p.write_bytes(blob)
        paths.append(p)
    results = device(tmp_path, RECOVER, paths)
    assert len(results) == len(cases)
    for (name, blob), (next_seq, recovered) in zip(cases, results):
        host = as_lists(logstore.read(blob))
        assert host == recovered, name  # the host reads what the device keeps
        assert all(r in dev for r in host), name
        if name.startswith("cut"):
            complete = (len(blob) - h.size) // rs
            assert host == dev[:complete], name
            assert next_seq == complete + 1, name
        elif name.startswith("bad"):
            assert len(host) == len(dev) - 1, name
        else:
            assert host == dev


def test_csv(written, tmp_path):
    data, _, _ = written
    out = tmp_path / "log.csv"
    assert logstore.to_csv(data, out) == 25
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["seq", "time", "timestamp", "temperature", "humidity", "delta"]
    first = rows[1]
    assert first[0] == "1" and first[3] == "21.37" and first[4] == "45.5" and first[5] == str((2 ** 31 - 1) * 10)
    assert rows[2][3] == "21.34" and rows[2][5] == str(-(2 ** 31 - 2) * 10)
    year = logstore.header(data).epoch_year
    assert first[1] == ("2023-11-14T22:13:20Z" if year == 1970 else "2023-10-08T01:20:00Z"), first


def test_scaled_values_are_exact():
    assert logstore._scaled(-5, 2) == "-0.05"
    assert logstore._scaled(2137, 2) == "21.37"
    assert logstore._scaled(-2137, 0) == "-2137"
    assert logstore._scaled(3, -2) == "300"


def test_bad_headers_raise():
    with pytest.raises(ValueError, match="not a tinysense log"):
        logstore.read(b"PK\x03\x04....")
    with pytest.raises(ValueError, match="not a tinysense log"):
        logstore.read(b"")
    good = logstore_header()
    assert logstore.header(good).names == ("a",)
    with pytest.raises(ValueError, match="truncated"):
        logstore.header(good[:-1])
    bad = bytearray(good)
    bad[-6] ^= 1
    with pytest.raises(ValueError, match="CRC-32"):
        logstore.header(bytes(bad))
    other = bytearray(good)
    other[4] = 2
    with pytest.raises(ValueError, match="version 2"):
        logstore.header(bytes(other))


def logstore_header():
    """A one-value header built from docs/logstore.md, independently of the device code."""
    body = struct.pack("<4sBBHIIHH", b"TSLG", 1, 1, 16, 10, 0, 1970, 1) + b"\x00" + b"a"
    body += bytes(-len(body) % 4)
    return body + struct.pack("<I", zlib.crc32(body))
