"""Reader for tinysense model files (format: docs/modelfile.md).

Sections are read in file order with ``readinto`` straight into new buffers, and the CRC-32 is
computed on the way. Problems raise ``ValueError`` saying what is wrong and what was expected.
"""

import array
import struct

try:
    from binascii import crc32
except ImportError:  # a port built without CRC-32: bitwise, slow but the same
    def crc32(data, crc=0):
        crc ^= 0xFFFFFFFF
        for b in data:
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
        return crc ^ 0xFFFFFFFF

KIND_TREES = 1
KIND_KNN = 2
KIND_CNN = 3
KIND_SOS = 4
KIND_FEATURES = 5
KIND_NAMES = ("", "tree ensemble", "k-NN model", "CNN", "IIR filter (second-order sections)", "feature layout")
_SIZE = {"b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "f": 4}


class Reader:
    """Reads one model file from ``stream``: ``kind`` and ``fields`` (``array('i')``) at once,
    then ``next_tag()`` / ``read(tag, typecode)`` per section, then ``finish()``."""

    def __init__(self, stream, kind):
        self._f = stream
        self._crc = 0
        self._left = None  # bytes left in the file, where the stream can tell
        try:
            here = stream.tell()
            self._left = stream.seek(0, 2) - here
            stream.seek(here)
        except (AttributeError, OSError):
            pass
        h = self._take(bytearray(12), "header")
        if h[:4] != b"TSMF":
            raise ValueError("not a tinysense model file (starts with %r, expected b'TSMF')" % bytes(h[:4]))
        v, k, nf, self._n = struct.unpack("<HHHH", h[4:])
        if v != 1:
            raise ValueError("model file format version %d; this library reads version 1" % v)
        if k != kind:
            name = KIND_NAMES[k] if k < len(KIND_NAMES) else "unknown"
            raise ValueError("model file holds kind %d (%s), expected %d (%s)" % (k, name, kind, KIND_NAMES[kind]))
        self.kind = k
        self.fields = self._take(array.array("i", bytearray(4 * nf)), "header", 4 * nf)
        self._next = None

    def _take(self, buf, what, n=0):
        n = n or len(buf)
        if self._left is not None:
            if n > self._left:
                raise ValueError("model file truncated in %s (%d bytes needed, %d left)" % (what, n, self._left))
            self._left -= n
        if self._f.readinto(buf) != n:
            raise ValueError("model file truncated in %s" % what)
        self._crc = crc32(buf, self._crc)
        return buf

    def next_tag(self):
        """Tag (str) of the next section, or None after the last."""
        if self._next is None and self._n:
            h = self._take(bytearray(12), "a section header")
            self._next = (bytes(h[:4]).decode(), chr(h[4]), struct.unpack("<I", h[8:])[0])
            self._n -= 1
        return self._next and self._next[0]

    def read(self, tag, typecode, extra=0, most=0x7FFFFFFF):
        """The next section, which must be ``tag`` of ``typecode`` with at most ``most`` items:
        a ``bytearray`` (with ``extra`` zero bytes after the data) for 'B', else an
        ``array.array``."""
        if self.next_tag() != tag:
            raise ValueError("model file: expected section %r, found %r" % (tag, self.next_tag()))
        _, tc, n = self._next
        if tc != typecode or n > most:
            raise ValueError("model file: section %r holds %d of %r, expected at most %d of %r" % (tag, n, tc, most, typecode))
        self._next = None
        nb = n * _SIZE[tc]
        if self._left is not None and nb > self._left:
            raise ValueError("model file truncated in section %r (%d bytes needed, %d left)" % (tag, nb, self._left))
        if tc == "B":
            buf = bytearray(nb + extra)
            self._take(memoryview(buf)[:nb], tag, nb)
        else:
            buf = self._take(array.array(tc, bytearray(nb)), tag, nb)
        if nb % 4:
            self._take(bytearray(4 - nb % 4), tag)
        return buf

    def finish(self):
        """Check that no section is left and that the CRC-32 matches."""
        if self._n or self._next:
            raise ValueError("model file has unexpected sections")
        crc = self._crc
        tail = self._take(bytearray(4), "its CRC")
        if self._left:
            raise ValueError("model file has %d unexpected bytes after its CRC" % self._left)
        if struct.unpack("<I", tail)[0] != crc:
            raise ValueError("model file corrupted: CRC-32 mismatch")


def open_file(source, kind):
    """``(reader, stream, owned)`` for a path, a binary stream or bytes; close ``stream`` if
    ``owned``."""
    if isinstance(source, (bytes, bytearray)):
        import io

        source = io.BytesIO(source)
    elif not isinstance(source, str) and not hasattr(source, "readinto"):
        raise TypeError("expected a file path, a binary stream or bytes, not %s" % type(source).__name__)
    if isinstance(source, str):
        f = open(source, "rb")
        try:
            return Reader(f, kind), f, True
        except Exception:
            f.close()
            raise
    return Reader(source, kind), source, False
