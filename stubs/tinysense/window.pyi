"""Streaming windows over multi-channel int16 samples arriving in blocks of any size.

    w = window.Window(channels=3, length=128, hop=64)
    i = 0
    while i < n:                      # n frames in buf (array('h'), interleaved x, y, z)
        i += w.push(buf, n - i, i)
        while w.pop(win):             # win: array('h', 3 * 128), planar
            ...

Windows start at frames 0, hop, 2 hop, ... of the stream whatever the block sizes. No
allocation per push/pop.
"""

from array import array

MAX_CHANNELS: int
"""Most channels a Window takes (16)."""

MAX_LENGTH: int
"""Longest window in frames (4096)."""

class Window:
    """Windows of ``length`` frames every ``hop`` frames of ``channels`` int16 channels.

    Raises ``TypeError``/``ValueError`` for non-int or out-of-range parameters (channels 1..16,
    length 1..4096, hop 1..32767; ``hop > length`` skips the frames between windows)."""

    channels: int
    length: int
    hop: int

    def __init__(self, channels: int = 3, length: int = 128, hop: int = 64) -> None:
        """Allocate the ring buffer (``2 * channels * length`` bytes) once."""

    def reset(self) -> None:
        """Forget every frame held."""

    @property
    def filled(self) -> int:
        """Frames held towards the next window (0..length)."""

    def push(self, block: array[int], count: int, offset: int = 0) -> int:
        """Take up to ``count`` interleaved frames of ``block`` (``array('h')``) from frame
        ``offset``; returns the frames accepted (fewer once a complete window waits).

        Raises ``TypeError`` for a block that is not ``array('h')``, ``ValueError`` when
        ``offset + count`` frames are more than the block holds."""

    def pop(self, out: array[int]) -> bool:
        """Write the waiting window to ``out`` (``array('h')`` of ``channels * length``, planar)
        and move on by ``hop`` frames: True; False when no complete window is held."""
