"""numpy ``.npy`` files on MicroPython: a streaming :class:`Reader` and a :class:`Writer` for
int16 (``'<i2'``, ``array('h')``) and float32 (``'<f4'``, ``array('f')``), C order, 1-D or 2-D,
format versions 1.0-3.0. Truncated files raise :class:`Truncated` naming the file, the rows
the header promises and the complete rows present (or, with ``partial=True``, read those)."""

from typing import Any, BinaryIO

MAGIC: bytes
"""The 6-byte magic string ``b'\\x93NUMPY'``."""
MAX_HEADER: int
"""Longest header text accepted, bytes."""
HEADER_BYTES: int
"""Size of the header the writer reserves (128, a multiple of 64)."""
DTYPES: dict[str, tuple[str, int]]
"""Supported dtype strings -> (array typecode, item size in bytes)."""
DESCR: dict[str, str]
"""Array typecode -> dtype string."""

class Truncated(ValueError):
    """A ``.npy`` file shorter than its header says (or shorter than a header)."""

class Reader:
    """Streaming reader of one ``.npy`` file; ``readinto`` allocates nothing."""

    name: str
    """The path, or ``"<stream>"``."""
    typecode: str
    """'h' (int16) or 'f' (float32)."""
    itemsize: int
    """Bytes per value: 2 or 4."""
    columns: int
    """Values per row (1 for a 1-D array)."""
    rows: int
    """Rows that can be read (the complete rows present when truncated and partial)."""
    shape: tuple[int, ...]
    """The readable shape: ``(rows,)`` or ``(rows, columns)``."""
    expected_rows: int
    """Rows the header declares."""
    truncated: bool
    """True when the data is shorter than the header says (only with ``partial=True``)."""
    version: tuple[int, int]
    """The file's format version, e.g. (1, 0)."""
    position: int
    """Rows read or skipped so far."""

    def __init__(self, src: str | BinaryIO, partial: bool = False) -> None:
        """Open ``src`` (a path, or a seekable binary stream left open) and check its header.
        Raises ``ValueError`` naming the file for an unsupported dtype, order or shape,
        :class:`Truncated` for a short file (unless ``partial`` and the header is whole)."""

    def readinto(self, buf: Any, rows: int | None = None) -> int:
        """Read the next rows into ``buf`` (array of this file's typecode); return the rows read:
        at most ``len(buf) // columns`` and ``rows``; 0 at the end. ``TypeError`` for a buffer of
        another type, ``ValueError`` for one shorter than a row."""

    def skip(self, rows: int) -> int:
        """Skip up to ``rows`` rows (a seek); return the rows skipped."""

    def close(self) -> None:
        """Close the file (a caller's stream stays open)."""

    def __enter__(self) -> "Reader": ...
    def __exit__(self, *exc: Any) -> None: ...

class Writer:
    """Write a ``.npy`` file row by row; the header gets the final shape on close/flush."""

    name: str
    """The path, or ``"<stream>"``."""
    typecode: str
    """'h' or 'f'."""
    columns: int | None
    """Values per row, or None for a 1-D array."""
    rows: int
    """Rows written so far."""

    def __init__(self, dst: str | BinaryIO, typecode: str, columns: int | None = None) -> None:
        """Create ``dst`` (a path, or a writable seekable stream). ``typecode`` 'h' or 'f';
        ``columns`` >= 1 for shape (rows, columns), None for (n,)."""

    def header(self) -> bytes:
        """The 128-byte header for the rows written so far."""

    def write(self, buf: Any, rows: int | None = None) -> int:
        """Append ``rows`` rows (default all whole rows) from ``buf``; return the rows written.
        ``TypeError`` for a buffer of another type, ``ValueError`` for more rows than it holds
        or a buffer shorter than a row."""

    def flush(self) -> None:
        """Rewrite the header for the rows so far and flush the stream."""

    def close(self) -> None:
        """Write the final header and close the file (a caller's stream stays open)."""

    def __enter__(self) -> "Writer": ...
    def __exit__(self, *exc: Any) -> None: ...
