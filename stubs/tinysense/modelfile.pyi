"""Reader for tinysense model files (format: docs/modelfile.md).

Sections are read in file order with ``readinto`` straight into new buffers, and the CRC-32 is
computed on the way. Every problem with the file raises ``ValueError`` saying what is wrong and
what was expected.
"""

from array import array
from typing import BinaryIO, Final, Literal, overload

KIND_TREES: Final = 1
"""Model file kind of a tree ensemble (header field ``kind``)."""
KIND_KNN: Final = 2
"""Model file kind of a k-NN model."""
KIND_CNN: Final = 3
"""Model file kind of an int8 CNN."""
KIND_SOS: Final = 4
"""Model file kind of an IIR filter as second-order sections."""
KIND_FEATURES: Final = 5
"""Model file kind of a feature layout."""

KIND_NAMES: Final[tuple[str, ...]]
"""Readable name of each kind, indexed by kind number (index 0 is unused: ``""``)."""

def crc32(data: bytes | bytearray | memoryview | array[int], crc: int = 0) -> int:
    """CRC-32 (zlib polynomial) of ``data`` continuing from ``crc``; an unsigned 32-bit int.

    ``binascii.crc32`` where the port has it, else a bitwise fallback with the same results.
    """

class Reader:
    """Reads one model file from a binary ``stream``.

    ``kind`` and ``fields`` are read at once (the 12-byte header and the int32 header fields),
    then each section with ``next_tag()`` / ``read(tag, typecode)`` in file order, then
    ``finish()`` checks the CRC-32.
    """

    kind: int
    """The file's kind (u16), equal to the ``kind`` asked for."""
    fields: array[int]
    """The kind's header fields: ``array('i')`` of int32; their meaning depends on the kind."""

    def __init__(self, stream: BinaryIO, kind: int) -> None:
        """Read the header of ``stream`` (any object with ``readinto``; ``tell``/``seek`` are
        used, if present, to report truncation early).

        Raises ``ValueError`` if the magic is not ``b"TSMF"`` ("not a tinysense model file"),
        the format version is not 1, the kind is not ``kind``, or the file is truncated.
        """

    def next_tag(self) -> str | None:
        """Tag (4-character str) of the next section, or None after the last."""

    @overload
    def read(self, tag: str, typecode: Literal["B"], extra: int = 0, most: int = 0x7FFFFFFF) -> bytearray:
        """The next section, which must be ``tag`` of ``typecode`` with at most ``most`` items.

        Returns a new ``bytearray`` for typecode ``'B'`` (with ``extra`` zero bytes after the
        data), else a new ``array.array`` of that typecode (``b B h H i I f``).

        Raises ``ValueError`` if the next section has another tag or typecode, holds more than
        ``most`` items, or runs past the end of the file.
        """
    @overload
    def read(self, tag: str, typecode: Literal["f"], extra: int = 0, most: int = 0x7FFFFFFF) -> array[float]: ...
    @overload
    def read(self, tag: str, typecode: Literal["b", "h", "H", "i", "I"], extra: int = 0, most: int = 0x7FFFFFFF) -> array[int]: ...
    @overload
    def read(self, tag: str, typecode: str, extra: int = 0, most: int = 0x7FFFFFFF) -> bytearray | array[int] | array[float]: ...

    def finish(self) -> None:
        """Check that no section is left, that nothing follows the CRC, and that the CRC-32
        matches. Raises ``ValueError`` otherwise ("model file corrupted: CRC-32 mismatch")."""

def open_file(source: str | BinaryIO | bytes | bytearray, kind: int) -> tuple[Reader, BinaryIO, bool]:
    """``(reader, stream, owned)`` for a path, a binary stream or bytes (read through
    ``io.BytesIO``); close ``stream`` if ``owned``. Anything else raises ``TypeError``.

    A path is opened with ``open(source, "rb")`` (``OSError`` if it cannot be) and closed again
    if its header is bad. Raises ``ValueError`` as :class:`Reader` does.
    """
