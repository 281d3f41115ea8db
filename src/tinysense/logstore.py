"""Host reader of the device's crash-safe measurement log (``tinysense.logstore`` on the board).

The format is described in docs/logstore.md. Reading applies the device's own recovery rules:
a record counts only if its CRC-32 holds and its sequence number is above the previous valid
one; a torn or garbage tail is ignored, never an error. A bad header raises ``ValueError``.

    from tinysense import logstore
    records = logstore.read(data)              # data: the bytes of the log file
    logstore.to_csv(data, "log.csv")           # seq, time (UTC), timestamp, one column per value
"""

from __future__ import annotations

import csv
import datetime as _dt
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"TSLG"
VERSION = 1
MAX_VALUES = 16
# magic, version, n_values, record size, capacity, base_seq, epoch year, names length
_HEAD = struct.Struct("<4sBBHIIHH")


@dataclass(frozen=True)
class Header:
    """The header of a log file."""

    n_values: int
    """Values per record (1..16)."""
    capacity: int
    """Most records the device keeps in the file."""
    base_seq: int
    """Every record in the file has a sequence number above this."""
    names: tuple[str, ...]
    """Column names, one per value."""
    decimals: tuple[int, ...]
    """Per value, decimal places of its resolution: the stored int times 10**-decimals."""
    epoch_year: int
    """Year of timestamp 0 on the device (1970 or 2000; January 1st, 00:00 UTC)."""
    size: int
    """Bytes of the header; records start here."""

    @property
    def record_size(self) -> int:
        """Bytes per record: 12 + 4 x n_values."""
        return 12 + 4 * self.n_values


@dataclass(frozen=True)
class Record:
    """One measurement: sequence number, timestamp (uint32, seconds since the header's epoch
    year, or the device's own counter) and the int32 values."""

    seq: int
    timestamp: int
    values: tuple[int, ...]


def header(data: bytes) -> Header:
    """Parse and check the header at the start of ``data``.

    Raises ``ValueError`` if ``data`` is not a tinysense log ("not a tinysense log file"), has
    another format version, or a truncated or corrupted header.
    """
    data = bytes(data)
    if len(data) < _HEAD.size or data[:4] != MAGIC:
        raise ValueError(f"not a tinysense log file (starts with {data[:4]!r}, expected {MAGIC!r})")
    _, version, n, rsize, capacity, base, year, tlen = _HEAD.unpack_from(data)
    if version != VERSION:
        raise ValueError(f"log file format version {version}; this reader reads version {VERSION}")
    if not 1 <= n <= MAX_VALUES or rsize != 12 + 4 * n:
        raise ValueError(f"log file header is corrupted ({n} values, record size {rsize})")
    body = _HEAD.size + n + tlen
    body += -body % 4
    if len(data) < body + 4:
        raise ValueError(f"log file header is truncated ({len(data)} bytes, the header needs {body + 4})")
    (crc,) = struct.unpack_from("<I", data, body)
    if crc != zlib.crc32(data[:body]):
        raise ValueError("log file header is corrupted (CRC-32 mismatch)")
    decimals = tuple(struct.unpack_from(f"<{n}b", data, _HEAD.size))
    text = data[_HEAD.size + n:_HEAD.size + n + tlen].decode()
    names = tuple(text.split(",")) if tlen else ()
    if len(names) != n:
        raise ValueError(f"log file header names {len(names)} columns for {n} values")
    return Header(n, capacity, base, names, decimals, year, body + 4)


def read(data: bytes) -> list[Record]:
    """The valid records of a log file's bytes, oldest first (file order).

    A record is valid if its CRC-32 holds and its sequence number is above the previous valid
    one (the header's ``base_seq`` at first). Records that fail are skipped; a partial record
    at the end (a write cut by power loss) is ignored. Raises ``ValueError`` only for a bad
    header (see :func:`header`).
    """
    data = bytes(data)
    h = header(data)
    rs = h.record_size
    rec = struct.Struct(f"<II{h.n_values}i")
    out: list[Record] = []
    prev = h.base_seq
    for pos in range(h.size, len(data) - rs + 1, rs):
        (crc,) = struct.unpack_from("<I", data, pos + rs - 4)
        if crc != zlib.crc32(data[pos:pos + rs - 4]):
            continue
        seq, t, *vals = rec.unpack_from(data, pos)
        if seq <= prev:
            continue
        prev = seq
        out.append(Record(seq, t, tuple(vals)))
    return out


def read_file(path: os.PathLike | str) -> list[Record]:
    """:func:`read` of a file on the PC."""
    return read(Path(path).read_bytes())


def _scaled(value: int, decimals: int) -> str:
    if decimals <= 0:
        return str(value * 10 ** -decimals)
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10 ** decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"


def to_csv(data: bytes, path: os.PathLike | str) -> int:
    """Write the valid records of a log file's bytes to the CSV file ``path``; returns how many.

    Columns: ``seq``, ``time`` (ISO 8601 UTC, from the timestamp and the header's epoch year),
    ``timestamp`` (as stored), then one column per value named as in the header, scaled by its
    decimals exactly (2137 with decimals 2 is written ``21.37``). Raises ``ValueError`` for a
    bad header.
    """
    data = bytes(data)
    h = header(data)
    records = read(data)
    epoch = _dt.datetime(h.epoch_year, 1, 1, tzinfo=_dt.timezone.utc)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seq", "time", "timestamp", *h.names])
        for r in records:
            when = (epoch + _dt.timedelta(seconds=r.timestamp)).strftime("%Y-%m-%dT%H:%M:%SZ")
            w.writerow([r.seq, when, r.timestamp, *(_scaled(v, d) for v, d in zip(r.values, h.decimals))])
    return len(records)
