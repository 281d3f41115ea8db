"""``tinysense run image_classifier``: the image classifier's device ``main.py`` on the MicroPython
unix port, replaying image files through its camera twin, checked against LiteRT.

    tinysense run image_classifier [--images DIR] [--model face|digits|FILE.tsm] [--threshold 0.5]

The device reads each image (binary PGM, or raw grayscale bytes), shrinks it to the model's input
(``tinysense.image``), normalises its brightness, quantizes it, runs the int8 CNN
(``tinysense.cnn``) and prints its decision, its int8 scores and the time each step took. This
module repeats the same integer preprocessing in numpy (:func:`preprocess`, bit for bit the
device's definitions), runs the model's ``.tflite`` with LiteRT's reference kernels on the same
int8 input, and fails (exit status 1) when any score differs.

The numpy functions here are the host definitions of ``device/tinysense/image.py`` (the device
tests and ``apps/image_classifier/train.py`` use them too, so the model is trained on exactly the
pixels the device computes).
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "apps" / "image_classifier"
IMAGES = APP_DIR / "images"
MODELS = {"face": APP_DIR / "models" / "face.tsm", "digits": APP_DIR / "models" / "digits.tsm"}

# --------------------------------------------------------------------------------------------
# The device's image definitions (device/tinysense/image.py) in numpy, exactly.


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
    """As ``image.resize``: area average for whole shrink factors, else bilinear."""
    sh, sw = _u8(img).shape
    if sw >= dw and sh >= dh and not sw % dw and not sh % dh:
        return downscale_area(img, dw, dh)
    return resize_bilinear(img, dw, dh)


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
    v = np.asarray(img, dtype=np.int64).ravel()
    n = len(v)
    s, q = int(v.sum()), int((v * v).sum())
    mean4 = (s * 16 + n // 2) // n
    q0 = q // n
    e2 = q0 * 256 + ((q - q0 * n) * 256 + n // 2) // n
    var = max(e2 - mean4 * mean4, 0)
    import math

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
    small = resize(frame, size, size)
    if normalize == "meanstd":
        return normalize_meanstd(small, TARGET_MEAN, TARGET_STD)
    if normalize == "minmax":
        return normalize_minmax(small)
    if normalize == "none":
        return small
    raise ValueError(f"unknown normalisation {normalize!r}: meanstd, minmax or none")
