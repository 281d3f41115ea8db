"""Camera sources filling a preallocated grayscale frame (one byte per pixel, row-major):
:class:`Camera` on an ESP32 (micropython-camera-API's ``camera`` module) and
:class:`ReplayCamera`, its twin that plays ``.pgm`` (P5) and ``.raw`` files in name order.

    cam = camera.Camera(96, 96)               # or camera.ReplayCamera("images/")
    frame = bytearray(cam.frame_bytes)
    size = cam.capture_into(frame)            # (width, height); None when a replay has ended
"""

from typing import Any, Sequence, Union

FRAME_SIZES: dict[tuple[int, int], str]
"""``(width, height)`` -> the driver's ``FrameSize`` name (96x96 ``R96X96``, 160x120 ``QQVGA``...)."""

def read_pgm_header(path: str) -> tuple[int, int, int, int]:
    """``(width, height, maxval, data offset)`` of a binary PGM; ``ValueError`` naming the file
    and the problem (not P5, bad fields, maxval above 255, truncated pixels)."""

class Camera:
    """An ESP32 camera delivering ``width x height`` grayscale frames. ``pixel_format``
    ``"GRAYSCALE"`` (copied) or ``"RGB565"`` (converted, ``big_endian`` byte order: True for the
    ESP32 driver). Other keyword arguments (pins, ``xclk_freq``, ``fb_count``, ``grab_mode``) go
    to the driver. ``ImportError`` without the ``camera`` module; ``ValueError`` for an unknown
    size or format."""

    width: int
    height: int
    frame_bytes: int
    """``width * height``: the frame buffer's size."""
    pixel_format: str
    big_endian: bool
    size: tuple[int, int]
    """``(width, height)``, the tuple :meth:`capture_into` returns."""
    driver: Any
    """The ``camera.Camera`` object (for sensor settings such as ``vflip``)."""

    def __init__(self, width: int = 96, height: int = 96, pixel_format: str = "GRAYSCALE",
                 big_endian: bool = True, **driver_args: Any) -> None:
        """Open and initialise the camera (module notes)."""

    def capture_into(self, buf: Union[bytearray, memoryview]) -> tuple[int, int]:
        """One frame into ``buf`` (at least ``frame_bytes``); returns ``(width, height)``.
        ``OSError`` when the driver gives no frame or a short one. Allocates nothing itself."""

    def deinit(self) -> None:
        """Release the camera."""

class ReplayCamera:
    """Plays the ``.pgm`` / ``.raw`` files of a folder (or a list of paths) in name order;
    ``width``/``height``: size of ``.raw`` files; ``loop``: start again after the last one.
    Every header is checked at construction (``ValueError`` naming the file)."""

    files: list[tuple[str, int, int, int, int]]
    """``(path, width, height, maxval, data offset)`` per image, in play order."""
    frame_bytes: int
    """Bytes of the largest image: the frame buffer to make."""
    loop: bool
    index: int
    """Index of the next file."""
    count: int
    """Frames delivered so far."""
    name: Union[str, None]
    """Path of the last frame."""
    width: Union[int, None]
    height: Union[int, None]
    done: bool
    """True once every file has been played (without ``loop``)."""

    def __init__(self, folder: Union[str, Sequence[str]], width: Union[int, None] = None,
                 height: Union[int, None] = None, loop: bool = False) -> None:
        """Scan and check the image files (module notes)."""

    def __len__(self) -> int:
        """Number of image files."""

    def capture_into(self, buf: Union[bytearray, memoryview]) -> Union[tuple[int, int], None]:
        """The next image into ``buf``; ``(width, height)``, or None after the last file.
        ``ValueError`` if ``buf`` is too small for it."""
