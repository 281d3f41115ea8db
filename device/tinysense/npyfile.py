"""numpy ``.npy`` files on MicroPython: a streaming reader and a writer, int16 and float32.

    r = npyfile.Reader("walk.npy")          # header checked at once; nothing else is loaded
    r.shape, r.typecode, r.rows, r.columns  # (1000, 3) 'h' 1000 3
    buf = array.array("h", bytearray(2 * 3 * 32))   # 32 rows of 3 columns
    while True:
        n = r.readinto(buf)                 # rows read (0 at the end); no allocation
        if not n:
            break
        ...
    r.close()

    w = npyfile.Writer("log.npy", "h", 3)   # int16, 3 columns
    w.write(buf)                            # whole rows; w.write(buf, rows=5) for fewer
    w.close()                               # the header gets the final shape

Supported: format versions 1.0, 2.0 and 3.0; dtypes ``'<i2'`` (int16, ``array('h')``) and
``'<f4'`` (float32, ``array('f')``); C order; 1-D ``(n,)`` (one column) or 2-D ``(rows,
columns)`` arrays. Anything else (big-endian, other dtypes, Fortran order, object arrays,
structured dtypes, 0-D or 3-D shapes) raises ``ValueError`` naming the file, what was found and
what is supported. Data is copied as it is in the file, so the device must be little-endian
(every MicroPython MCU port is); a big-endian one gets a clear error at open.

Truncated files (a recorder stopped while writing): a file shorter than its header raises
:class:`Truncated` (a ``ValueError``) at open, whatever ``partial`` says, since the shape is
unknown. A file whose data is shorter than the header's shape raises :class:`Truncated` naming
the file and the expected and present rows, unless ``partial=True``: then the complete rows
present are read (``rows`` says how many, ``expected_rows`` what the header said, ``truncated``
is True) and a partly written last row is ignored. Bytes after the data are ignored, as numpy
does.

The writer reserves a 128-byte header (numpy's own length for such arrays; a multiple of 64 as
numpy aligns it) and rewrites it with the final shape on :meth:`Writer.close` (or
:meth:`Writer.flush`), so ``numpy.load`` reads the file. Until then the header says 0 rows: a
writer that loses power keeps a valid, empty-looking file whose rows up to the last ``flush``
are described.

``Reader.readinto`` and ``Writer.write`` do not allocate once a buffer has been checked (the
first call with a new buffer object checks its typecode, which allocates a little; the last two
buffers are remembered, so double buffering stays free): they pass
the byte count to the stream's ``readinto(buf, nbytes)`` / ``write(buf, nbytes)``.
"""

import array
import sys

from . import arrays

MAGIC = b"\x93NUMPY"
MAX_HEADER = 65536  # bytes of header text accepted (numpy writes ~120 for these arrays)
HEADER_BYTES = 128  # the writer's header: magic, version, length, text, padded to 64 bytes
DTYPES = {"<i2": ("h", 2), "<f4": ("f", 4)}
DESCR = {"h": "<i2", "f": "<f4"}


class Truncated(ValueError):
    """A ``.npy`` file shorter than its header says (or shorter than a header)."""


def _name(src):
    return src if isinstance(src, str) else "<stream>"


def _open_read(path, mode="rb"):
    # open() naming the file: MicroPython's OSError says only "[Errno 2] ENOENT"
    try:
        return open(path, mode)
    except OSError as e:
        raise OSError(e.errno, "%s: %s" % (path, "no such file" if e.errno == 2 else "cannot open it (%s)" % e)) from None


def _parse_header(text, name):
    # The header is a Python dict literal, e.g. "{'descr': '<i2', 'fortran_order': False,
    # 'shape': (1000, 3), }". Parsed by hand: strings, True/False and tuples of ints.
    d = {}
    i = 0
    n = len(text)

    def bad(what):
        return ValueError("%s: bad .npy header (%s): %r" % (name, what, text[:120]))

    def skip(i):
        while i < n and text[i] in " \t\r\n":
            i += 1
        return i

    i = skip(i)
    if i >= n or text[i] != "{":
        raise bad("no dict")
    i += 1
    while True:
        i = skip(i)
        if i < n and text[i] == "}":
            break
        if i >= n or text[i] not in "'\"":
            raise bad("expected a quoted key")
        q = text[i]
        j = text.find(q, i + 1)
        if j < 0:
            raise bad("unterminated key")
        key = text[i + 1:j]
        i = skip(j + 1)
        if i >= n or text[i] != ":":
            raise bad("expected ':' after %r" % key)
        i = skip(i + 1)
        if i >= n:
            raise bad("no value for %r" % key)
        c = text[i]
        if c in "'\"":
            j = text.find(c, i + 1)
            if j < 0:
                raise bad("unterminated string")
            d[key] = text[i + 1:j]
            i = j + 1
        elif c == "(":
            j = text.find(")", i)
            if j < 0:
                raise bad("unterminated shape")
            dims = []
            for part in text[i + 1:j].split(","):
                part = part.strip().rstrip("L")
                if part:
                    try:
                        dims.append(int(part))
                    except ValueError:
                        raise bad("shape entry %r is not an int" % part) from None
            d[key] = tuple(dims)
            i = j + 1
        elif text.startswith("True", i):
            d[key] = True
            i += 4
        elif text.startswith("False", i):
            d[key] = False
            i += 5
        elif c == "[":
            d[key] = "[structured]"
            depth = 0
            while i < n:
                if text[i] == "[":
                    depth += 1
                elif text[i] == "]":
                    depth -= 1
                    if not depth:
                        break
                i += 1
            i += 1
        else:
            raise bad("cannot read the value of %r" % key)
        i = skip(i)
        if i < n and text[i] == ",":
            i += 1
        elif i < n and text[i] == "}":
            break
        else:
            raise bad("expected ',' or '}'")
    for key in ("descr", "fortran_order", "shape"):
        if key not in d:
            raise bad("no %r" % key)
    return d


class Reader:
    """Streaming reader of one ``.npy`` file (see the module notes).

    ``src``: a path (opened and closed by the reader) or a binary stream with ``read``,
    ``readinto(buf, nbytes)`` and ``seek`` (left open). ``partial``: read the complete rows of a
    file whose data is shorter than its header says instead of raising :class:`Truncated`.

    Attributes: ``name`` (the path, or ``"<stream>"``); ``typecode`` ('h' int16 or 'f'
    float32); ``itemsize`` (2 or 4 bytes); ``columns`` (1 for a 1-D array); ``rows`` (rows that
    can be read: the header's, or the complete rows present when truncated); ``shape`` (the
    readable shape: ``(rows,)`` or ``(rows, columns)``); ``expected_rows`` (the header's);
    ``truncated``; ``version`` ((major, minor)); ``position`` (rows read so far).
    """

    def __init__(self, src, partial=False):
        self.name = _name(src)
        own = isinstance(src, str)
        f = _open_read(src) if own else src
        self._f = f
        self._own = own
        try:
            self._open(partial)
        except BaseException:
            if own:
                f.close()
            raise

    def _open(self, partial):
        f, name = self._f, self.name
        head = f.read(10)
        if not head:
            raise Truncated("%s: empty file (0 bytes): expected a .npy header" % name)
        if len(head) < 10 or head[:6] != MAGIC:
            if head[:len(MAGIC)] == MAGIC[:len(head)] and len(head) < 10:
                raise Truncated("%s: truncated .npy header: %d bytes, expected at least 10"
                                % (name, len(head)))
            raise ValueError("%s: not a .npy file (expected the magic \\x93NUMPY, found %r)"
                             % (name, bytes(head[:6])))
        major, minor = head[6], head[7]
        if major == 1:
            hlen = head[8] | head[9] << 8
            start = 10
        elif major in (2, 3):
            more = f.read(2)
            if len(more) < 2:
                raise Truncated("%s: truncated .npy header: 10 bytes, expected at least 12" % name)
            hlen = head[8] | head[9] << 8 | more[0] << 16 | more[1] << 24
            start = 12
        else:
            raise ValueError("%s: .npy format version %d.%d is not supported (1.0, 2.0 or 3.0)"
                             % (name, major, minor))
        if minor != 0:
            raise ValueError("%s: .npy format version %d.%d is not supported (1.0, 2.0 or 3.0)"
                             % (name, major, minor))
        if hlen > MAX_HEADER:
            raise ValueError("%s: .npy header of %d bytes is too long (at most %d)" % (name, hlen, MAX_HEADER))
        raw = f.read(hlen)
        if len(raw) < hlen:
            raise Truncated("%s: truncated .npy header: %d of its %d bytes present"
                            % (name, len(raw), hlen))
        try:  # the header is ASCII in practice (UTF-8 in version 3.0); latin-1 is not on every port
            text = raw.decode()
        except Exception:  # noqa: BLE001 - UnicodeError, or a port without that codec
            text = "".join(chr(b) for b in raw)
        d = _parse_header(text, name)
        descr = d["descr"]
        if type(descr) is not str:
            raise ValueError("%s: bad .npy header ('descr' must be a dtype string such as '<i2', not %r)"
                             % (name, descr))
        if descr not in DTYPES:
            if descr == "[structured]":
                what = "a structured dtype"
            elif descr[1:2] == "O":
                what = "an object array (pickled Python objects)"
            elif descr[:1] == ">":
                what = "big-endian dtype %r" % descr
            else:
                what = "dtype %r" % descr
            raise ValueError("%s: .npy holds %s; supported: '<i2' (int16) and '<f4' (float32), "
                             "little-endian" % (name, what))
        if d["fortran_order"] is not False:
            raise ValueError("%s: .npy is in Fortran order; only C order is supported "
                             "(save numpy.ascontiguousarray(x))" % name)
        shape = d["shape"]
        if type(shape) is not tuple:
            raise ValueError("%s: bad .npy header ('shape' must be a tuple of ints, not %r)" % (name, shape))
        for dim in shape:
            if dim < 0:
                raise ValueError("%s: bad .npy header (negative size in shape %r)" % (name, shape))
        if len(shape) not in (1, 2):
            raise ValueError("%s: .npy shape %r has %d dimensions; supported: 1-D (n,) or 2-D (rows, columns)"
                             % (name, shape, len(shape)))
        if sys.byteorder != "little":
            raise ValueError("%s: this device is big-endian; .npy data is read as little-endian" % name)
        self.typecode, self.itemsize = DTYPES[descr]
        self.version = (major, minor)
        rows = shape[0]
        cols = shape[1] if len(shape) == 2 else 1
        if cols < 1:
            raise ValueError("%s: .npy shape %r has no columns" % (name, shape))
        self.columns = cols
        self.expected_rows = rows
        self._row_bytes = cols * self.itemsize
        data = start + hlen
        end = f.seek(0, 2)
        f.seek(data)
        have = (end - data) // self._row_bytes if end > data else 0
        self.truncated = have < rows
        if self.truncated:
            if not partial:
                raise Truncated("%s: truncated .npy: the header says %d rows (shape %r, %d bytes of data), "
                                "the file has %d bytes of data = %d complete rows"
                                % (name, rows, shape, rows * self._row_bytes, max(end - data, 0), have))
            rows = have
        self.rows = rows
        self.shape = (rows, cols) if len(shape) == 2 else (rows,)
        self.position = 0
        self._buf = self._buf2 = None

    def readinto(self, buf, rows=None):
        """Read the next rows into ``buf``, an ``array`` of this file's typecode ('h' or 'f');
        return the number of rows read: at most ``len(buf) // columns`` (and ``rows`` when
        given), 0 at the end. Row ``k`` of the block is ``buf[k * columns:(k + 1) * columns]``.
        Raises ``TypeError`` for a buffer of another type, ``ValueError`` for one shorter than a
        row. Allocates nothing for a buffer already used."""
        if buf is not self._buf and buf is not self._buf2:
            tc = arrays.typecode(buf)
            if tc != self.typecode:
                raise TypeError("%s holds '%s': buffer must be array('%s'), not %s" % (
                    self.name, DESCR[self.typecode], self.typecode,
                    "array('%s')" % tc if tc else type(buf).__name__ if len(buf) else "an empty buffer"))
            if len(buf) < self.columns:
                raise ValueError("%s: buffer of %d items holds no whole row of %d columns"
                                 % (self.name, len(buf), self.columns))
            self._buf2 = self._buf  # the type check allocates: the last two buffers are remembered
            self._buf = buf
        n = self.rows - self.position
        cap = len(buf) // self.columns
        if n > cap:
            n = cap
        if rows is not None and rows < n:
            n = rows if rows > 0 else 0
        if n <= 0:
            return 0
        want = n * self._row_bytes
        got = self._f.readinto(buf, want)
        if got is None:
            got = 0
        if got < want:  # the file changed since it was opened, or a stream that reads short
            raise Truncated("%s: the file ended early: read %d of %d bytes at row %d"
                            % (self.name, got, want, self.position))
        self.position += n
        return n

    def skip(self, rows):
        """Skip up to ``rows`` rows without reading them (a seek); return the rows skipped."""
        n = self.rows - self.position
        if rows < n:
            n = rows if rows > 0 else 0
        if n:
            self._f.seek(n * self._row_bytes, 1)
            self.position += n
        return n

    def close(self):
        """Close the file (a stream given by the caller is left open)."""
        if self._own:
            self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Writer:
    """Write a ``.npy`` file row by row (see the module notes).

    ``dst``: a path (created or replaced) or a writable, seekable binary stream (left open).
    ``typecode``: 'h' (int16, dtype ``'<i2'``) or 'f' (float32, ``'<f4'``). ``columns``: values
    per row (2-D shape ``(rows, columns)``), or None for a 1-D ``(n,)`` array.
    """

    def __init__(self, dst, typecode, columns=None):
        name = _name(dst)
        if typecode not in DESCR:
            raise ValueError("%s: typecode must be 'h' (int16) or 'f' (float32), not %r" % (name, typecode))
        if columns is not None and (type(columns) is not int or columns < 1):
            raise ValueError("%s: columns must be an int >= 1 (or None for 1-D), not %r" % (name, columns))
        if sys.byteorder != "little":
            raise ValueError("%s: this device is big-endian; .npy data is written little-endian" % name)
        self.name = name
        self.typecode = typecode
        self.columns = columns
        self.rows = 0
        self._width = columns or 1
        self._row_bytes = self._width * (2 if typecode == "h" else 4)
        self._own = isinstance(dst, str)
        self._f = open(dst, "wb") if self._own else dst
        self._start = 0 if self._own else self._f.seek(0, 1)
        self._buf = self._buf2 = None
        self._f.write(self.header())

    def header(self):
        """The 128-byte header for the rows written so far (bytes)."""
        if self.columns is None:
            shape = "(%d,)" % self.rows
        else:
            shape = "(%d, %d)" % (self.rows, self.columns)
        text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (DESCR[self.typecode], shape)
        pad = HEADER_BYTES - 10 - len(text) - 1
        if pad < 0:
            raise ValueError("%s: shape too large for the header" % self.name)
        n = HEADER_BYTES - 10
        return MAGIC + bytes((1, 0, n & 0xFF, n >> 8)) + (text + " " * pad + "\n").encode()

    def write(self, buf, rows=None):
        """Append ``rows`` rows (default: all whole rows in ``buf``, ``len(buf) // columns``)
        from ``buf``, an ``array`` of the writer's typecode. Returns the rows written. Raises
        ``TypeError`` for another buffer type, ``ValueError`` if ``buf`` holds fewer rows (or
        not one whole row).
        Allocates nothing for a buffer already used."""
        if buf is not self._buf and buf is not self._buf2:
            tc = arrays.typecode(buf)
            if tc != self.typecode:
                raise TypeError("%s: buffer must be array('%s'), not %s" % (
                    self.name, self.typecode, "array('%s')" % tc if tc else
                    "an empty array" if type(buf) is array.array else type(buf).__name__))
            if len(buf) < self._width:
                raise ValueError("%s: buffer of %d items holds no whole row of %d columns"
                                 % (self.name, len(buf), self._width))
            self._buf2 = self._buf  # the type check allocates: the last two buffers are remembered
            self._buf = buf
        cap = len(buf) // self._width
        if rows is None:
            rows = cap
        elif rows < 0 or rows > cap:
            raise ValueError("%s: rows must be 0..%d for this buffer (%d values of %d per row), not %d"
                             % (self.name, cap, len(buf), self._width, rows))
        if rows:
            n = rows * self._row_bytes
            if self._f.write(buf, n) != n:
                raise OSError("%s: short write (disk full?)" % self.name)
            self.rows += rows
        return rows

    def flush(self):
        """Rewrite the header with the rows written so far and flush the stream, so the file
        is complete as it stands (a later write goes on appending)."""
        f = self._f
        end = f.seek(0, 1)
        f.seek(self._start)
        f.write(self.header())
        f.seek(end)
        f.flush()

    def close(self):
        """Write the final shape into the header and close the file (a caller's stream is
        flushed and left open, positioned after the data)."""
        if self._f is None:
            return
        self.flush()
        if self._own:
            self._f.close()
        self._f = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
