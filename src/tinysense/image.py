"""The device's image preprocessing (``device/tinysense/image.py``) in numpy, bit for bit, and
the image files the replay camera reads (binary PGM, raw grayscale).

The device tests check ``tinysense.image`` against these functions, ``tinysense run
image_classifier`` checks the device's scores against LiteRT on the pixels they compute, and
``apps/image_classifier/train.py`` trains on them, so a model sees in training exactly the
pixels the device will give it. Images are 2-D uint8 arrays (rows, columns).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _u8(img) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim != 2 or a.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 image, got {a.dtype} {a.shape}")
    return a


def downscale_area(img, dw: int, dh: int) -> np.ndarray:
    """Whole-factor block means, rounded half up: ``(sum + n // 2) // n``."""
    a = _u8(img).astype(np.int64)
    sh, sw = a.shape
    if sw % dw or sh % dh:
        raise ValueError(f"area downscale needs whole factors: {sw}x{sh} -> {dw}x{dh}")
    fx, fy = sw // dw, sh // dh
    n = fx * fy
    s = a.reshape(dh, fy, dw, fx).sum(axis=(1, 3))
    return ((s + n // 2) // n).astype(np.uint8)


def resize_nearest(img, dw: int, dh: int) -> np.ndarray:
    """The source pixel under each destination pixel's centre."""
    a = _u8(img)
    sh, sw = a.shape
    ys = ((2 * np.arange(dh) + 1) * sh) // (2 * dh)
    xs = ((2 * np.arange(dw) + 1) * sw) // (2 * dw)
    return a[ys][:, xs].copy()


def _bilinear_axis(s: int, d: int):
    u = ((2 * np.arange(d, dtype=np.int64) + 1) * s * 128) // d - 128
    u = np.maximum(u, 0)
    i0, w = u >> 8, u & 255
    past = i0 >= s - 1
    i0 = np.where(past, s - 1, i0)
    w = np.where(past, 0, w)
    i1 = np.where(w > 0, i0 + 1, i0)
    return i0, i1, w


def resize_bilinear(img, dw: int, dh: int) -> np.ndarray:
    """Centre-aligned bilinear interpolation with 8-bit weights, rounded as the device does."""
    a = _u8(img).astype(np.int64)
    sh, sw = a.shape
    x0, x1, ax = _bilinear_axis(sw, dw)
    y0, y1, ay = _bilinear_axis(sh, dh)
    ax, ay = ax[None, :], ay[:, None]
    top = a[y0][:, x0] * (256 - ax) + a[y0][:, x1] * ax
    bot = a[y1][:, x0] * (256 - ax) + a[y1][:, x1] * ax
    return ((top * (256 - ay) + bot * ay + 32768) >> 16).astype(np.uint8)


def resize(img, dw: int, dh: int) -> np.ndarray:
    """As ``image.resize``: block means for whole shrink factors; for uneven shrinks of 2x or
    more, block means by the whole factors over the centred region, then bilinear; else bilinear."""
    a = _u8(img)
    sh, sw = a.shape
    if sw >= dw and sh >= dh and not sw % dw and not sh % dh:
        return downscale_area(a, dw, dh)
    fx = sw // dw if sw >= 2 * dw else 1
    fy = sh // dh if sh >= 2 * dh else 1
    if (fx == 1 and fy == 1) or fx * fy > 65536:
        return resize_bilinear(a, dw, dh)
    mw, mh = sw // fx, sh // fy
    x0, y0 = (sw - mw * fx) // 2, (sh - mh * fy) // 2
    mid = downscale_area(np.ascontiguousarray(a[y0:y0 + mh * fy, x0:x0 + mw * fx]), mw, mh)
    return resize_bilinear(mid, dw, dh)


def crop(img, x: int, y: int, dw: int, dh: int) -> np.ndarray:
    a = _u8(img)
    if x < 0 or y < 0 or x + dw > a.shape[1] or y + dh > a.shape[0]:
        raise ValueError("crop outside the image")
    return a[y:y + dh, x:x + dw].copy()


def gray_from_rgb565(words) -> np.ndarray:
    """RGB565 pixel values (uint16) -> gray, BT.601 weights in 1/256 on rounded 8-bit channels."""
    v = np.asarray(words, dtype=np.int64)
    r = ((v >> 11) * 527 + 23) >> 6
    g = (((v >> 5) & 63) * 259 + 33) >> 6
    b = ((v & 31) * 527 + 23) >> 6
    return ((77 * r + 150 * g + 29 * b + 128) >> 8).astype(np.uint8)


def normalize_minmax(img) -> np.ndarray:
    a = np.asarray(img, dtype=np.uint8)
    lo, hi = int(a.min()), int(a.max())
    if hi == lo:
        return a.copy()
    v = a.astype(np.int64)
    return (((v - lo) * 255 + (hi - lo) // 2) // (hi - lo)).astype(np.uint8)


def meanstd_params(img) -> tuple[int, int]:
    """``(mean4, std4)``: 16x the mean (rounded) and 16x the standard deviation (floor of the
    integer square root), as the device computes them."""
    import math

    v = np.asarray(img, dtype=np.int64).ravel()
    n = len(v)
    s = int(v.sum())
    m = (s + n // 2) // n
    q = int(((v - m) ** 2).sum())
    mean4 = (s * 16 + n // 2) // n
    d4 = mean4 - 16 * m
    q0 = q // n
    var = max(q0 * 256 + ((q - q0 * n) * 256 + n // 2) // n - d4 * d4, 0)
    return mean4, math.isqrt(var)


def normalize_meanstd(img, target_mean: int = 128, target_std: int = 48) -> np.ndarray:
    a = np.asarray(img, dtype=np.uint8)
    mean4, std4 = meanstd_params(a)
    if std4 == 0:
        return np.full_like(a, min(max(target_mean, 0), 255))
    num = (a.astype(np.int64) * 16 - mean4) * target_std
    h = std4 >> 1
    q = np.where(num >= 0, (num + h) // std4, -((h - num) // std4))
    return np.clip(target_mean + q, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# The application's preprocessing (apps/image_classifier/main.py): frame -> model input.

TARGET_MEAN = 128
TARGET_STD = 48


def preprocess(frame, size: int, normalize: str = "meanstd") -> np.ndarray:
    """Camera frame (2-D uint8) -> the ``size x size`` uint8 image the model quantizes: resize
    (area average when it divides, else bilinear), then brightness normalisation (``meanstd``,
    ``minmax`` or ``none``), as ``apps/image_classifier/main.py`` does."""
    return preprocess_wh(frame, size, size, normalize)


def preprocess_wh(frame, w: int, h: int, normalize: str = "meanstd") -> np.ndarray:
    """:func:`preprocess` for a ``w x h`` model input."""
    small = resize(frame, w, h)
    if normalize == "meanstd":
        return normalize_meanstd(small, TARGET_MEAN, TARGET_STD)
    if normalize == "minmax":
        return normalize_minmax(small)
    if normalize == "none":
        return small
    raise ValueError(f"unknown normalisation {normalize!r}: meanstd, minmax or none")


# --------------------------------------------------------------------------------------------
# Image files, LiteRT, and the replay of apps/image_classifier/main.py.


def read_pgm(path) -> np.ndarray:
    """A binary PGM (P5, maxval <= 255) as a 2-D uint8 array, values scaled to 0..255 as the
    device's ReplayCamera does (``v * 255 // maxval``)."""
    data = Path(path).read_bytes()
    if data[:2] != b"P5":
        raise ValueError(f"{path}: not a binary PGM (P5)")
    fields, i = [], 2
    while len(fields) < 3:
        while i < len(data) and data[i:i + 1].isspace():
            i += 1
        if data[i:i + 1] == b"#":
            while i < len(data) and data[i:i + 1] not in (b"\n", b"\r"):
                i += 1
            continue
        j = i
        while j < len(data) and not data[j:j + 1].isspace():
            j += 1
        fields.append(int(data[i:j]))
        i = j
    w, h, maxval = fields
    i += 1  # the single whitespace after maxval
    a = np.frombuffer(data[i:i + w * h], dtype=np.uint8)
    if len(a) != w * h or not 1 <= maxval <= 255:
        raise ValueError(f"{path}: truncated PGM or maxval {maxval} outside 1..255")
    a = a.reshape(h, w)
    if maxval != 255:
        a = np.minimum(a.astype(np.int64) * 255 // maxval, 255).astype(np.uint8)
    return a


def image_files(folder) -> list[Path]:
    """The files ReplayCamera plays: ``.pgm`` and ``.raw`` in name order."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".pgm", ".raw"))


def read_image(path, raw_size=None) -> np.ndarray:
    path = Path(path)
    if path.suffix.lower() == ".raw":
        if raw_size is None:
            raise ValueError(f"{path}: a .raw image needs --raw-size WxH")
        w, h = raw_size
        return np.fromfile(path, dtype=np.uint8).reshape(h, w)
    return read_pgm(path)


def quantize_pixels(img, scale: float, zero_point: int, pixel_range=(0.0, 1.0)) -> np.ndarray:
    """The device's ``quantize_input`` table applied to uint8 pixels (docs/cnn.md): pixel ``p``
    means ``lo + p * (hi - lo) / 255``, rounded half away from zero to the int8 input."""
    lo, hi = pixel_range
    v = (lo + np.asarray(img, dtype=np.float64) * (hi - lo) / 255) / scale
    r = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(r + zero_point, -128, 127).astype(np.int8)
