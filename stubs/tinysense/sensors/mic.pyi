"""Microphone sources: ``machine.I2S`` on a board (:func:`open_i2s`) and :class:`ReplayI2S`, its
twin that plays a 16-bit PCM mono WAV file through the same interface (``irq``, ``readinto``,
``deinit``), in real time or at full speed."""

from typing import Any, BinaryIO, Callable

def wav_info(f: BinaryIO) -> tuple[int, int, int, int]:
    """Read a WAV header and leave ``f`` at the first sample; return ``(rate, channels, bits,
    n_frames)``. Raises ``ValueError`` naming what the file is unless it is 16-bit PCM mono."""

class ReplayI2S:
    """``machine.I2S`` in RX mode, played from a WAV file (see the module notes)."""

    RX: int
    """Mode constant, as ``machine.I2S.RX``."""
    MONO: int
    """Format constant, as ``machine.I2S.MONO``."""
    STEREO: int
    """Format constant, as ``machine.I2S.STEREO``."""
    rate: int
    """The file's sample rate."""
    n_samples: int
    """Samples in the file."""
    realtime: bool
    """Deliver blocks by the wall clock (True) or as fast as they are taken (False)."""
    samples: int
    """Samples delivered so far."""
    finished: bool
    """True once the file is exhausted (a last partial block is dropped)."""

    def __init__(self, path: str, rate: int | None = None, realtime: bool = False) -> None:
        """Open ``path``. Raises ``ValueError`` naming the file's format, bit depth, channels and
        rate if it is not 16-bit PCM mono at ``rate`` (None: any rate); ``OSError`` if missing."""

    def irq(self, handler: Callable[["ReplayI2S"], Any] | None) -> None:
        """Set the callback run (scheduled, with this object) when an armed buffer is full."""

    def readinto(self, buf: Any) -> int:
        """With a callback: arm ``buf`` and return 0. Without: fill ``buf`` now and return the
        number of bytes (0 at the end of the file)."""

    def ticks_ms(self) -> int:
        """Milliseconds of signal delivered so far."""

    def sleep_ms(self, ms: int) -> None:
        """Let ``ms`` milliseconds pass, delivering the blocks that fall due (by the wall clock
        in real time, at once on the signal's clock at full speed)."""

    def deinit(self) -> None:
        """Close the file; deliver nothing more."""

def open_i2s(sck: int, ws: int, sd: int, rate: int = 16000, block: int = 2000, id: int = 0) -> Any:
    """``machine.I2S`` in RX mode, 16-bit mono at ``rate``, internal buffer of two blocks.
    Raises ``ImportError`` on a port without I2S."""
