"""Crash-safe measurement log on flash: fixed-size records with a sequence number and CRC-32.

    log = logstore.Log("log.bin", names=("temperature", "humidity"), decimals=(2, 2), capacity=2000)
    seq = log.append(time.time(), (2137, 4520))     # 21.37 degrees C, 45.20 % as ints
    for seq, timestamp, values in log:              # oldest first
        ...

Format (docs/logstore.md): one file, a header (magic ``TSLG``, layout, CRC-32) and then records
appended one after another, each ``seq u32 | timestamp u32 | n values int32 | crc32 u32``,
little-endian, CRC-32 (zlib) over the record's other bytes.

Crash safety: a record is appended with one write and flushed. A power cut can leave only the
last record torn; on opening, every record whose CRC-32 holds is kept, records that fail it
are skipped, and a torn tail (a partial record) is cut off by rewriting the file. Opening never
raises because of a torn or garbage tail. Sequence numbers continue across reboots: the next
record gets the highest valid sequence number + 1.

Bounded size: the file holds at most ``capacity`` records. Before a record would exceed it,
the newest ``capacity // 2`` records are copied to ``path + ".tmp"``, which then replaces the
log (rename); an interrupted rotation is finished or undone on the next open. The file never
exceeds header + ``capacity`` x record size bytes (plus the temporary copy during rotation).

Values are int32 (-2**31..2**31-1); store a reading as an int of its resolution (21.37 degrees C
as 2137 with ``decimals`` 2) so no float is boxed per record. Sequence numbers and timestamps are
uint32; both stay small ints on a 32-bit port until 2**30 (34 years at one record per second;
``time.time()`` on a 1970-epoch port is above that and is packed as a long int).
"""

import os
import struct

from .modelfile import crc32  # binascii.crc32, or the same CRC in plain Python where missing

MAGIC = b"TSLG"
VERSION = 1
MAX_VALUES = 16
_HEAD = "<4sBBHIIHH"  # magic, version, n_values, record size, capacity, base_seq, epoch year, names length
_HEAD_SIZE = 20
_INT_MIN = -0x7FFFFFFF - 1


def record_size(n_values):
    """Bytes of one record holding ``n_values`` int32 values: 12 + 4 x n_values."""
    return 12 + 4 * n_values


def _epoch_year():
    try:
        import time

        return time.gmtime(0)[0]
    except Exception:
        return 2000


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _size(path):
    return os.stat(path)[6]


def make_header(n_values, capacity, base_seq, names, decimals, epoch_year):
    """The header bytes of a log file (see docs/logstore.md)."""
    text = ",".join(names).encode()
    head = struct.pack(_HEAD, MAGIC, VERSION, n_values, record_size(n_values), capacity, base_seq,
                       epoch_year, len(text))
    body = head + bytes((d & 0xFF for d in decimals)) + text
    body += bytes((-len(body)) % 4)
    return body + struct.pack("<I", crc32(body))


def parse_header(f):
    """Read and check the header at the start of the open file ``f``; returns
    ``(n_values, capacity, base_seq, names, decimals, epoch_year, header_size)``.
    Raises ``ValueError`` if it is not a valid tinysense log header."""
    head = f.read(_HEAD_SIZE)
    if len(head) < _HEAD_SIZE or head[:4] != MAGIC:
        raise ValueError("not a tinysense log file (starts with %r, expected %r)" % (bytes(head[:4]), MAGIC))
    _, version, n, rsize, capacity, base, year, tlen = struct.unpack(_HEAD, head)
    if version != VERSION:
        raise ValueError("log file format version %d; this library reads version %d" % (version, VERSION))
    if not 1 <= n <= MAX_VALUES or rsize != record_size(n):
        raise ValueError("log file header is corrupted (%d values, record size %d)" % (n, rsize))
    rest = n + tlen
    rest += (-(_HEAD_SIZE + rest)) % 4
    more = f.read(rest + 4)
    if len(more) != rest + 4:
        raise ValueError("log file header is truncated")
    body = head + more[:rest]
    if struct.unpack("<I", more[rest:])[0] != crc32(body):
        raise ValueError("log file header is corrupted (CRC-32 mismatch)")
    decimals = tuple(d - 256 if d > 127 else d for d in more[:n])
    names = tuple(bytes(more[n:n + tlen]).decode().split(",")) if tlen else ()
    return n, capacity, base, names, decimals, year, _HEAD_SIZE + rest + 4


class Log:
    """A crash-safe log of ``(seq, timestamp, values)`` records in the file ``path``.

    Parameters
    ----------
    path : str
        The log file; ``path + ".tmp"`` is used during rotation.
    n_values : int, optional
        Values per record, 1..16. Default: ``len(names)``, else 1.
    names : tuple of str, optional
        Column names (no commas), stored in the header for ``tinysense pull``'s CSV.
        Default ``v0, v1, ...``.
    decimals : tuple of int, optional
        Per value, the decimal places of its resolution (-9..9): 2 means the int is hundredths
        (2137 is 21.37). Default 0.
    capacity : int
        Most records the file holds (>= 2); when full, the oldest half rotates out.

    An existing file is opened and recovered; one written with another layout (number of
    values, names or decimals) raises ``ValueError``, as does a file that is not a log.

    Attributes: ``next_seq`` (sequence number of the next record), ``dropped`` (records and
    partial records dropped at recovery), ``record_size`` (bytes), ``epoch_year`` (year of
    timestamp 0 on this port, recorded in the header).
    """

    def __init__(self, path, n_values=None, names=None, decimals=None, capacity=1000):
        if names is not None:
            names = tuple(names)
            for s in names:
                if not isinstance(s, str) or not s or "," in s or "\n" in s:
                    raise ValueError("names must be non-empty strings without commas or newlines, got %r" % (s,))
        if n_values is None:
            n_values = len(names) if names else 1
        if not isinstance(n_values, int) or not 1 <= n_values <= MAX_VALUES:
            raise ValueError("n_values must be an int of 1..%d, got %r" % (MAX_VALUES, n_values))
        if names is None:
            names = tuple("v%d" % i for i in range(n_values))
        if len(names) != n_values:
            raise ValueError("%d names for %d values" % (len(names), n_values))
        decimals = tuple(decimals) if decimals is not None else (0,) * n_values
        if len(decimals) != n_values or [d for d in decimals if not isinstance(d, int) or not -9 <= d <= 9]:
            raise ValueError("decimals must be %d ints of -9..9, got %r" % (n_values, decimals))
        if not isinstance(capacity, int) or not 2 <= capacity <= 0x3FFFFFFF:
            raise ValueError("capacity must be an int >= 2 (records), got %r" % (capacity,))
        self.path = path
        self.n_values = n_values
        self.names = names
        self.decimals = decimals
        self.capacity = capacity
        self.record_size = record_size(n_values)
        self.epoch_year = _epoch_year()
        self._buf = bytearray(self.record_size)
        self._body = memoryview(self._buf)[:self.record_size - 4]
        self._f = None
        self._check = False
        self.dropped = 0
        self._recover()

    # ---------------------------------------------------------------- opening and recovery
    def _recover(self):
        self.close()
        path, tmp = self.path, self.path + ".tmp"
        if _exists(tmp):
            if _exists(path):  # rotation stopped before the rename: the copy may be incomplete
                os.remove(tmp)
            else:  # stopped between removing the old log and renaming: the copy is complete,
                try:  # unless the log was being created (header only, maybe torn)
                    with open(tmp, "rb") as f:
                        parse_header(f)
                    os.rename(tmp, path)
                except ValueError:
                    os.remove(tmp)
        if not _exists(path):
            self._write_tmp(0, ())
            self._commit()
        with open(path, "rb") as f:
            n, _, base, names, decimals, year, hsize = parse_header(f)
            if n != self.n_values or names != self.names or decimals != self.decimals:
                raise ValueError("%s holds records of %d values %r with decimals %r, not %d values %r with %r; "
                                 "use the same layout or remove the file"
                                 % (path, n, names, decimals, self.n_values, self.names, self.decimals))
            self.epoch_year = year
            self._hsize = hsize
            self._base = base
            count, last = 0, 0
            for buf in self._valid_records(f, base):
                count += 1
                last = struct.unpack_from("<I", buf, 0)[0]
        size = _size(path)
        tail = (size - hsize) % self.record_size
        self._slots = (size - hsize) // self.record_size
        self.next_seq = (last if last else base) + 1
        self._count = count
        self.dropped = self._slots - count + (1 if tail else 0)
        if tail or self._slots > self.capacity:
            self._rewrite(count if count <= self.capacity else self.capacity // 2)
        self._check = False

    def _valid_records(self, f, prev):
        """Generator of the valid records from ``f``'s position on: one buffer, refilled (its
        content is valid until the next step). Valid: the CRC-32 holds and the sequence number
        is above the previous valid one (``prev`` at first)."""
        rs = self.record_size
        buf = bytearray(rs)
        body = memoryview(buf)[:rs - 4]
        while f.readinto(buf) == rs:
            if struct.unpack_from("<I", buf, rs - 4)[0] == crc32(body):
                seq = struct.unpack_from("<I", buf, 0)[0]
                if seq > prev:
                    prev = seq
                    yield buf

    def _write_tmp(self, base, records):
        """Write a complete log file (header and ``records``: record buffers) as
        ``path + ".tmp"``."""
        with open(self.path + ".tmp", "wb") as f:
            f.write(make_header(self.n_values, self.capacity, base, self.names, self.decimals, self.epoch_year))
            for r in records:
                f.write(r)

    def _commit(self):
        """Rename ``path + ".tmp"`` over ``path``."""
        path, tmp = self.path, self.path + ".tmp"
        if _exists(path):
            try:
                os.rename(tmp, path)  # atomic replace where the filesystem can (littlefs, unix)
                return
            except OSError:
                os.remove(path)  # FAT cannot rename over a file; recovery finishes from here
        os.rename(tmp, path)

    def _rewrite(self, keep):
        """Replace the file by one holding the newest ``keep`` valid records."""
        self.close()
        skip = self._count - keep
        base = self.next_seq - 1  # if no record is kept
        with open(self.path, "rb") as src:
            src.seek(self._hsize)
            i = 0
            for buf in self._valid_records(src, self._base):
                if i == skip:
                    base = struct.unpack_from("<I", buf, 0)[0] - 1
                    break
                i += 1
            src.seek(self._hsize)
            self._write_tmp(base, self._newest(src, skip))
        self._commit()
        self._base = base
        self._hsize = len(make_header(self.n_values, self.capacity, base, self.names, self.decimals,
                                      self.epoch_year))
        self._count = self._slots = self._count - skip

    def _newest(self, src, skip):
        i = 0
        for buf in self._valid_records(src, self._base):
            if i >= skip:
                yield buf
            i += 1

    # ---------------------------------------------------------------- use
    def append(self, timestamp, values):
        """Append one record and flush it to flash; returns its sequence number.

        ``timestamp``: int 0..2**32-1, seconds since ``epoch_year`` (``time.time()``) or any
        counter you choose. ``values``: a sequence (tuple, list, array) of ``n_values`` ints,
        each -2**31..2**31-1 in units of its resolution (see ``decimals``).

        Raises ``TypeError`` for a value that is not an int, ``ValueError`` for a wrong count or
        a value out of range; the log is unchanged then. A failed write (``OSError``, e.g. flash
        full) is passed on, and the next ``append`` first recovers the file as on opening.
        """
        n = self.n_values
        if len(values) != n:
            raise ValueError("%d values given, the log holds %d per record" % (len(values), n))
        if isinstance(timestamp, bool) or not isinstance(timestamp, int):
            raise TypeError("timestamp must be an int (seconds), not %s" % type(timestamp).__name__)
        if not 0 <= timestamp <= 0xFFFFFFFF:
            raise ValueError("timestamp %d is outside uint32 0..4294967295" % timestamp)
        buf = self._buf
        for i in range(n):
            v = values[i]
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError("value %d is %s; store ints (e.g. 21.37 as 2137 with decimals 2)"
                                % (i, type(v).__name__))
            if not _INT_MIN <= v <= 0x7FFFFFFF:
                raise ValueError("value %d (%d) is outside int32" % (i, v))
            struct.pack_into("<i", buf, 8 + 4 * i, v)
        if self._check:  # a write failed: start again from what the file holds
            self._recover()
        if self._slots >= self.capacity:
            self._rewrite(self.capacity // 2)
        seq = self.next_seq
        struct.pack_into("<II", buf, 0, seq, timestamp)
        struct.pack_into("<I", buf, self.record_size - 4, crc32(self._body))
        f = self._f
        if f is None:
            f = self._f = open(self.path, "ab")
        self._check = True
        n = f.write(buf)
        f.flush()
        if n is not None and n != self.record_size:
            raise OSError("log %s: %d of %d bytes written (flash full?)" % (self.path, n, self.record_size))
        self._check = False
        self.next_seq = seq + 1
        self._slots += 1
        self._count += 1
        return seq

    def __len__(self):
        """Valid records in the log."""
        return self._count

    def __iter__(self):
        """The valid records, oldest first, as ``(seq, timestamp, values)`` with ``values`` a
        tuple of ints."""
        if self._f is not None:
            self._f.flush()
        n = self.n_values
        with open(self.path, "rb") as f:
            f.seek(self._hsize)
            for buf in self._valid_records(f, self._base):
                r = struct.unpack_from("<II%di" % n, buf, 0)
                yield r[0], r[1], r[2:]

    def close(self):
        """Close the file handle used for appending (the next append opens it again)."""
        if self._f is not None:
            self._f.close()
            self._f = None
