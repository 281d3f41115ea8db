"""Image preprocessing for small CNNs on uint8 grayscale images (one byte per pixel, row-major).

    image.downscale_area(frame, 96, 96, small, 32, 32)   # 3x3 block means
    image.normalize_meanstd(small, 32 * 32)              # mean 128, standard deviation 48
    image.resize(frame, 160, 120, small, 32, 32)         # block means, then bilinear for the rest
    image.gray_from_rgb565(rgb, gray, 96 * 96)           # ESP32 camera RGB565 -> gray

Sources: ``bytes``, ``bytearray`` or ``memoryview``; destinations ``bytearray`` or
``memoryview``. Viper kernels, no allocation, results defined exactly in integers (see the
module docstring of ``device/tinysense/image.py`` for every rounding rule). Not reentrant.
"""

from typing import Union

_Buffer = Union[bytes, bytearray, memoryview]
_Writable = Union[bytearray, memoryview]

MAX_SIDE: int
"""Largest width or height accepted: 4096 pixels."""
MAX_NORMALIZE: int
"""Most pixels the normalisations take: 33025 (their sum of squares stays below 2**31)."""
MAX_BILINEAR: int
"""2**23: bilinear resizes need ``sw * dw`` and ``sh * dh`` below it."""

def downscale_area(src: _Buffer, sw: int, sh: int, dst: _Writable, dw: int, dh: int) -> None:
    """Shrink ``sw x sh`` into ``dw x dh`` by whole factors; each pixel the mean of its block,
    rounded half up. ``ValueError`` if a side does not divide or a block exceeds 65536 pixels,
    or a buffer is too short; ``TypeError`` for a non-int size or a non-bytes buffer."""

def resize_nearest(src: _Buffer, sw: int, sh: int, dst: _Writable, dw: int, dh: int) -> None:
    """Any resize: the source pixel under each destination pixel's centre."""

def resize_bilinear(src: _Buffer, sw: int, sh: int, dst: _Writable, dw: int, dh: int) -> None:
    """Any resize with ``sw * dw`` and ``sh * dh`` below 2**23: centre-aligned bilinear
    interpolation with 8-bit weights."""

def resize(src: _Buffer, sw: int, sh: int, dst: _Writable, dw: int, dh: int) -> None:
    """Any resize with little aliasing: :func:`downscale_area` when both sides shrink by whole
    factors (a copy for equal sizes); for an uneven shrink of 2x or more, block means by the whole
    factors over the centred region into a reused module buffer, then bilinear (e.g. 160x120 ->
    32x32: 5x3 blocks to 32x40, then bilinear); otherwise :func:`resize_bilinear`. The first call
    at a new largest size allocates the intermediate buffer."""

def crop(src: _Buffer, sw: int, sh: int, x: int, y: int, dst: _Writable, dw: int, dh: int) -> None:
    """Copy the ``dw x dh`` rectangle at ``(x, y)``; ``ValueError`` if it leaves the image."""

def normalize_minmax(buf: _Writable, n: int) -> None:
    """Stretch the first ``n`` (1..33025) pixels in place to 0..255; a flat image is unchanged."""

def normalize_meanstd(buf: _Writable, n: int, target_mean: int = 128, target_std: int = 48) -> None:
    """Shift and scale the first ``n`` (1..33025) pixels in place to mean ``target_mean``
    (0..255) and standard deviation ``target_std`` (1..255), clipped to 0..255; a flat image
    becomes ``target_mean``."""

def gray_from_rgb565(src: _Buffer, dst: _Writable, n_pixels: int, big_endian: bool = True) -> None:
    """``n_pixels`` RGB565 pixels (2 bytes each; ``big_endian``: high byte first, as the ESP32
    camera driver delivers them) -> BT.601 gray bytes. ``dst`` may be ``src`` (in place)."""
