"""Crash-safe measurement log on flash: fixed-size records with a sequence number and CRC-32.

    log = logstore.Log("log.bin", names=("temperature", "humidity"), decimals=(2, 2), capacity=2000)
    seq = log.append(time.time(), (2137, 4520))     # 21.37 degrees C, 45.20 % as ints
    for seq, timestamp, values in log: ...          # oldest first

One file: a header, then records ``seq u32 | timestamp u32 | n x int32 | crc32 u32``
(little-endian). Opening recovers after a power cut at any byte: complete records are kept, a
torn tail is cut off, and it never raises for a torn or garbage tail. At most ``capacity``
records; when full the oldest half rotates out. Format: docs/logstore.md.
"""

from typing import BinaryIO, Final, Iterator, Sequence

MAGIC: Final[bytes]
"""The first four bytes of a log file, ``b"TSLG"``."""
VERSION: Final[int]
"""The log format version written and read (1)."""
MAX_VALUES: Final[int]
"""Most values per record (16)."""

def record_size(n_values: int) -> int:
    """Bytes of one record holding ``n_values`` int32 values: 12 + 4 x n_values."""

def make_header(n_values: int, capacity: int, base_seq: int, names: Sequence[str], decimals: Sequence[int],
                epoch_year: int) -> bytes:
    """The header bytes of a log file (see docs/logstore.md)."""

def parse_header(f: BinaryIO) -> tuple[int, int, int, tuple[str, ...], tuple[int, ...], int, int]:
    """Read and check the header at the start of ``f``: ``(n_values, capacity, base_seq, names,
    decimals, epoch_year, header_size)``. Raises ``ValueError`` for a file that is not a log,
    another format version, or a truncated or corrupted header."""

class Log:
    """A crash-safe log of ``(seq, timestamp, values)`` records in one file."""

    path: str
    """The log file (``path + ".tmp"`` during rotation)."""
    n_values: int
    """Values per record."""
    names: tuple[str, ...]
    """Column names, stored in the header."""
    decimals: tuple[int, ...]
    """Per value, decimal places of its resolution (2: the int counts hundredths)."""
    capacity: int
    """Most records the file holds."""
    record_size: int
    """Bytes per record."""
    epoch_year: int
    """Year of timestamp 0 on the port that created the file (1970 or 2000)."""
    next_seq: int
    """Sequence number the next record gets."""
    dropped: int
    """Records (and partial records) dropped when the file was opened."""

    def __init__(self, path: str, n_values: int | None = None, names: Sequence[str] | None = None,
                 decimals: Sequence[int] | None = None, capacity: int = 1000) -> None:
        """Open (and recover) or create the log ``path``.

        ``n_values`` 1..16 (default ``len(names)``, else 1); ``names`` without commas (default
        ``v0, v1, ...``); ``decimals`` -9..9 each (default 0); ``capacity`` >= 2 records.

        Raises ``ValueError`` for bad arguments, for an existing log of another layout (number
        of values, names, decimals) and for a file that is not a log. A torn or garbage tail
        never raises.
        """

    def append(self, timestamp: int, values: Sequence[int]) -> int:
        """Append one record and flush it; returns its sequence number.

        ``timestamp`` uint32 (seconds since ``epoch_year``, or a counter); ``values``:
        ``n_values`` ints, int32 each, in units of their resolution. Raises ``TypeError`` for a
        value that is not an int and ``ValueError`` for a wrong count or range; the log is then
        unchanged. A failed write (``OSError``, e.g. flash full) is passed on, and the next
        ``append`` first recovers the file as on opening.
        """

    def __len__(self) -> int:
        """Valid records in the log."""

    def __iter__(self) -> Iterator[tuple[int, int, tuple[int, ...]]]:
        """The valid records, oldest first, as ``(seq, timestamp, values)``."""

    def close(self) -> None:
        """Close the append handle (the next append opens it again)."""
