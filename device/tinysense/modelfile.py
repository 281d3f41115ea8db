"""Reader for tinysense model files (format: docs/modelfile.md).

Sections are read in file order with ``readinto`` straight into preallocated buffers; the CRC-32
is computed on the way and checked by ``finish()``. Every problem raises ``ValueError`` saying
what is wrong and what was expected.
"""

import array
import struct

try:
    from binascii import crc32
except ImportError:  # ports built without CRC-32 in binascii
    crc32 = None

MAGIC = b"TSMF"
VERSION = 1
KIND_TREES = 1
KIND_NAMES = {1: "tree ensemble"}
_ITEMSIZE = {"b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "f": 4}


def _crc32_py(data, crc=0):
    crc = ~crc & 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
    return ~crc & 0xFFFFFFFF


class Reader:
    """Sequential reader of one model file.

    ``kind`` and ``fields`` (``array('i')``) are available after construction; then call
    ``next_tag()`` / ``read(tag, typecode)`` for each section and ``finish()`` at the end.
    """

    def __init__(self, stream, expect_kind=None, name="model file"):
        self._f = stream
        self._name = name
        self._crc = 0
        self._remaining = None
        try:
            here = stream.tell()
            end = stream.seek(0, 2)
            stream.seek(here)
            self._remaining = end - here
        except (AttributeError, OSError):
            pass
        head = self._take(bytearray(12), "header")
        if head[0:4] != MAGIC:
            raise ValueError("%s: not a tinysense model file (magic %r, expected %r)" % (name, bytes(head[0:4]), MAGIC))
        version, kind, nf, ns = struct.unpack("<HHHH", head[4:12])
        if version != VERSION:
            raise ValueError("%s: unsupported format version %d; this library reads version %d" % (name, version, VERSION))
        if expect_kind is not None and kind != expect_kind:
            raise ValueError("%s: wrong model kind %d (%s); expected %d (%s)" % (
                name, kind, KIND_NAMES.get(kind, "unknown"), expect_kind, KIND_NAMES.get(expect_kind, "?")))
        self.kind = kind
        self.fields = array.array("i", bytearray(4 * nf))
        self._take(self.fields, "header fields", 4 * nf)
        self._sections_left = ns
        self._pending = None

    def _take(self, buf, what, n=None):
        if n is None:
            n = len(buf)
        if self._remaining is not None:
            if n > self._remaining:
                raise ValueError("%s: truncated in %s (needs %d more bytes, %d left)" % (self._name, what, n, self._remaining))
            self._remaining -= n
        got = self._f.readinto(buf)
        if got != n:
            raise ValueError("%s: truncated in %s (read %d of %d bytes)" % (self._name, what, got or 0, n))
        self._crc = crc32(buf, self._crc) if crc32 else _crc32_py(memoryview(buf), self._crc)
        return buf

    def next_tag(self):
        """Tag of the next section (str), or None when no section is left."""
        if self._pending is None:
            if not self._sections_left:
                return None
            head = self._take(bytearray(12), "a section header")
            count = struct.unpack("<I", head[8:12])[0]
            self._pending = (bytes(head[0:4]).decode(), chr(head[4]), count)
            self._sections_left -= 1
        return self._pending[0]

    def read(self, tag, typecode, extra=0, max_count=None):
        """Read the next section, which must be ``tag`` with ``typecode``.

        Returns a ``bytearray`` for 'B' (with ``extra`` zero bytes after the data) or an
        ``array.array(typecode)``. ``max_count`` bounds the item count.
        """
        found = self.next_tag()
        if found is None:
            raise ValueError("%s: section %r missing (file has no more sections)" % (self._name, tag))
        _, tc, count = self._pending
        if found != tag:
            raise ValueError("%s: expected section %r, found %r" % (self._name, tag, found))
        if tc != typecode:
            raise ValueError("%s: section %r has typecode %r, expected %r" % (self._name, tag, tc, typecode))
        if max_count is not None and count > max_count:
            raise ValueError("%s: section %r has %d items, at most %d allowed" % (self._name, tag, count, max_count))
        nbytes = count * _ITEMSIZE[tc]
        if self._remaining is not None and nbytes > self._remaining:
            raise ValueError("%s: truncated in section %r (needs %d bytes, %d left)" % (self._name, tag, nbytes, self._remaining))
        self._pending = None
        if tc == "B":
            buf = bytearray(nbytes + extra)
            self._take(memoryview(buf)[0:nbytes], "section %r" % tag)
        else:
            buf = array.array(tc, bytearray(nbytes))
            self._take(buf, "section %r" % tag, nbytes)
        pad = -nbytes % 4
        if pad:
            self._take(bytearray(pad), "section %r padding" % tag)
        return buf

    def finish(self):
        """Check that all sections were read and that the CRC-32 matches."""
        if self._pending is not None or self._sections_left:
            raise ValueError("%s: %d unexpected sections" % (self._name, self._sections_left + (self._pending is not None)))
        crc = self._crc
        tail = bytearray(4)
        if self._remaining is not None and self._remaining < 4:
            raise ValueError("%s: truncated before its CRC" % self._name)
        got = self._f.readinto(tail)
        if got != 4:
            raise ValueError("%s: truncated before its CRC" % self._name)
        if self._remaining is not None and self._remaining > 4:
            raise ValueError("%s: %d unexpected bytes after the CRC" % (self._name, self._remaining - 4))
        if struct.unpack("<I", tail)[0] != crc:
            raise ValueError("%s: corrupted (CRC-32 mismatch)" % self._name)


def open_file(path_or_stream, expect_kind=None):
    """Return ``(reader, stream, owned)``; close ``stream`` afterwards if ``owned``."""
    if isinstance(path_or_stream, str):
        f = open(path_or_stream, "rb")
        return Reader(f, expect_kind, path_or_stream), f, True
    return Reader(path_or_stream, expect_kind), path_or_stream, False
