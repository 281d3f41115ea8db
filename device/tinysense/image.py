"""Image preprocessing for small CNNs: uint8 grayscale images in bytes-like buffers.

    frame = bytearray(96 * 96)                           # a camera frame, made once
    small = bytearray(32 * 32)
    image.downscale_area(frame, 96, 96, small, 32, 32)   # 3x3 block means
    image.normalize_meanstd(small, 32 * 32)              # mean 128, standard deviation 48
    image.resize(frame, 160, 120, small, 32, 32)         # any size: block means, then bilinear
    image.gray_from_rgb565(rgb, gray, 96 * 96)           # an ESP32 camera's RGB565 frame -> gray

An image is ``w * h`` bytes, row by row, one byte per pixel (0 black .. 255 white). Sources may be
``bytes``, ``bytearray`` or ``memoryview`` (a camera frame buffer); destinations must be writable
(``bytearray``, ``memoryview``). Every function checks sizes and buffer lengths (``TypeError`` /
``ValueError`` saying what was expected) and then runs one viper kernel
(:mod:`tinysense.image_viper`; on a port without the native emitters its plain-Python twin
:mod:`tinysense.image_python`, same results); none allocates (``resize`` only the first time
it needs its intermediate image at a new, larger size), so a camera loop can call them every
frame. Not reentrant: the functions share one small parameter buffer (do not call them from an
interrupt handler while the main program uses them). Cost, measured as ``.mpy`` on a Cortex-M3:
96x96 -> 32x32 block means about 241,000 instructions (1 ms at 240 MHz), mean/std over 32x32
about 160,000, RGB565 -> gray of 96x96 about 1,060,000.

Every result is defined exactly in integers (the host reference in numpy reproduces it bit for
bit):

- area average, factors ``fx = sw // dw``, ``fy = sh // dh`` (whole numbers, ``fx * fy <=
  65536``): ``dst = (sum of the fx x fy block + n // 2) // n``, ``n = fx * fy`` (rounded half up);
- nearest: ``dst[y, x] = src[(2y+1) * sh // (2 dh), (2x+1) * sw // (2 dw)]`` (the source pixel
  under the destination pixel's centre);
- bilinear, centre-aligned (as OpenCV's ``INTER_LINEAR``) in 1/256 pixel steps:
  ``u = (2x+1) * sw * 128 // dw - 128`` clamped to ``>= 0``, ``x0 = u >> 8``, ``ax = u & 255``
  (``x0 = sw - 1, ax = 0`` past the last pixel), the same for y; ``dst = ((p00 (256-ax) + p01 ax)
  (256-ay) + (p10 (256-ax) + p11 ax) ay + 32768) >> 16``;
- RGB565 -> gray: 5/6-bit channels widened with rounding (``r8 = (r5 * 527 + 23) >> 6``,
  ``g8 = (g6 * 259 + 33) >> 6``), then ``(77 r8 + 150 g8 + 29 b8 + 128) >> 8`` (BT.601 luma);
- min/max stretch: ``((v - lo) * 255 + (hi - lo) // 2) // (hi - lo)``; a flat image is left as is;
- mean/std: ``m = round(mean)``, ``Q = sum((v - m)**2)`` (exact, a second pass),
  ``mean4 = round(16 mean)``, ``d4 = mean4 - 16 m``, ``std4 = isqrt(round(256 Q / n) - d4**2)``
  (16x the standard deviation, floor; "round" is half up), then ``dst = clamp(target_mean +
  round((16 v - mean4) * target_std / std4), 0, 255)`` rounded half away from zero; a flat image
  becomes ``target_mean``.

Limits, so that every intermediate fits in 32 bits (``tinysense.image_viper`` states the
bounds): sides 1..``MAX_SIDE`` (4096); bilinear ``sw * dw`` and ``sh * dh`` below 2**23;
normalisation over at most ``MAX_NORMALIZE`` (33025) pixels (squared deviations < 2**31).
"""

import array

try:
    from . import image_viper as _k
except SyntaxError:  # a port without the native emitters: same results, tens of times slower
    from . import image_python as _k

MAX_SIDE = 4096
MAX_NORMALIZE = 33025  # sum of (v - mean)**2 <= 65025 * n < 2**31
MAX_BILINEAR = 1 << 23  # sw * dw and sh * dh must stay below this

_p = array.array("i", (0, 0, 0, 0, 0, 0, 0, 0))
_lut = bytearray(256)
_mid = bytearray(0)  # resize's intermediate image, grown to the largest size needed (then reused)


def _side(v, name):
    if type(v) is not int:
        raise TypeError("%s must be an int (pixels), not %s" % (name, type(v).__name__))
    if v < 1 or v > MAX_SIDE:
        raise ValueError("%s must be 1..%d pixels, not %d" % (name, MAX_SIDE, v))


def _buf(b, name, need, writable):
    t = type(b)
    if t is not bytearray and t is not memoryview and (writable or t is not bytes):
        raise TypeError("%s must be a %s (one byte per pixel), not %s"
                        % (name, "bytearray or memoryview" if writable else "bytes-like buffer", t.__name__))
    if len(b) < need:
        raise ValueError("%s has %d bytes; %d needed" % (name, len(b), need))
    if writable and t is memoryview:
        try:  # a memoryview of bytes is read-only: the kernel would write into an immutable object
            b[0] = b[0]
        except TypeError:
            raise TypeError("%s is a read-only memoryview; it must be writable" % name)


def _sizes(src, sw, sh, dst, dw, dh):
    _side(sw, "sw")
    _side(sh, "sh")
    _side(dw, "dw")
    _side(dh, "dh")
    _buf(src, "src", sw * sh, False)
    _buf(dst, "dst", dw * dh, True)
    p = _p
    p[0] = sw
    p[1] = sh
    p[2] = dw
    p[3] = dh


def downscale_area(src, sw, sh, dst, dw, dh):
    """Shrink the ``sw x sh`` image ``src`` into the ``dw x dh`` image ``dst`` by whole factors
    ``sw // dw`` and ``sh // dh`` (e.g. 96x96 -> 32x32: 3x3 blocks): each pixel is its block's
    mean, rounded half up. ``ValueError`` when a side does not divide (use :func:`resize`) or the
    block is larger than 65536 pixels."""
    _sizes(src, sw, sh, dst, dw, dh)
    if sw % dw or sh % dh:
        raise ValueError("area downscale needs whole factors: %dx%d -> %dx%d does not divide "
                         "(use resize_bilinear or resize_nearest)" % (sw, sh, dw, dh))
    fx = sw // dw
    fy = sh // dh
    if fx * fy > 65536:
        raise ValueError("area block %dx%d is larger than 65536 pixels" % (fx, fy))
    _p[4] = fx
    _p[5] = fy
    _p[6] = 0
    _p[7] = 0
    _k.area(src, dst, _p)


def resize_nearest(src, sw, sh, dst, dw, dh):
    """Resize ``src`` (``sw x sh``) into ``dst`` (``dw x dh``), any sizes, up or down: each
    destination pixel takes the source pixel under its centre."""
    _sizes(src, sw, sh, dst, dw, dh)
    _k.nearest(src, dst, _p)


def resize_bilinear(src, sw, sh, dst, dw, dh):
    """Resize ``src`` (``sw x sh``) into ``dst`` (``dw x dh``), any sizes with ``sw * dw`` and
    ``sh * dh`` below 2**23: centre-aligned bilinear interpolation with 8-bit weights (the module
    notes give the exact rounding). When shrinking by more than 2x it skips pixels (aliasing):
    prefer :func:`downscale_area` or :func:`resize`."""
    _sizes(src, sw, sh, dst, dw, dh)
    if sw * dw >= MAX_BILINEAR or sh * dh >= MAX_BILINEAR:
        raise ValueError("bilinear resize %dx%d -> %dx%d is too large: sw*dw and sh*dh must be below %d"
                         % (sw, sh, dw, dh, MAX_BILINEAR))
    _k.bilinear(src, dst, _p)


def resize(src, sw, sh, dst, dw, dh):
    """Any resize, the best way available, with little aliasing:

    - both sides shrink by whole factors (or stay equal): :func:`downscale_area`;
    - a side shrinks by 2x or more, not evenly: block means first, by the whole factors
      ``fx = sw // dw`` and ``fy = sh // dh`` (1 for a side that does not shrink 2x), over the
      centred ``(sw // fx) * fx`` by ``(sh // fy) * fy`` region (up to ``fx - 1`` columns and
      ``fy - 1`` rows left out, split between both edges, left/top getting the smaller half), into
      an intermediate ``sw // fx`` by ``sh // fy`` image; then :func:`resize_bilinear` to
      ``dw x dh``; e.g. 160x120 -> 32x32: 5x3 blocks to 32x40, then bilinear;
    - otherwise (enlarging, or shrinking by less than 2x): :func:`resize_bilinear`.

    The intermediate image lives in a module buffer that grows to the largest size needed (the
    first call at a size allocates it; later calls allocate nothing)."""
    global _mid
    _sizes(src, sw, sh, dst, dw, dh)
    if sw >= dw and sh >= dh and not sw % dw and not sh % dh and (sw // dw) * (sh // dh) <= 65536:
        downscale_area(src, sw, sh, dst, dw, dh)  # equal sizes: 1x1 blocks, a copy
        return
    fx = sw // dw if sw >= 2 * dw else 1
    fy = sh // dh if sh >= 2 * dh else 1
    if (fx == 1 and fy == 1) or fx * fy > 65536:
        resize_bilinear(src, sw, sh, dst, dw, dh)
        return
    mw = sw // fx
    mh = sh // fy
    if len(_mid) < mw * mh:
        _mid = bytearray(mw * mh)
    p = _p
    p[2] = mw
    p[3] = mh
    p[4] = fx
    p[5] = fy
    p[6] = (sw - mw * fx) >> 1
    p[7] = (sh - mh * fy) >> 1
    _k.area(src, _mid, p)
    resize_bilinear(_mid, mw, mh, dst, dw, dh)


def crop(src, sw, sh, x, y, dst, dw, dh):
    """Copy the ``dw x dh`` rectangle whose top-left corner is ``(x, y)`` of the ``sw x sh``
    image ``src`` into ``dst``. ``ValueError`` when it does not lie inside the image."""
    _sizes(src, sw, sh, dst, dw, dh)
    if type(x) is not int or type(y) is not int:
        raise TypeError("x and y must be ints (pixels)")
    if x < 0 or y < 0 or x + dw > sw or y + dh > sh:
        raise ValueError("crop %dx%d at (%d, %d) is outside the %dx%d image" % (dw, dh, x, y, sw, sh))
    p = _p
    p[0] = sw
    p[1] = x
    p[2] = y
    p[3] = dw
    p[4] = dh
    _k.crop(src, dst, p)


def _norm_buf(buf, n):
    if type(n) is not int:
        raise TypeError("n must be an int (pixels), not %s" % type(n).__name__)
    if n < 1 or n > MAX_NORMALIZE:
        raise ValueError("n must be 1..%d pixels, not %d" % (MAX_NORMALIZE, n))
    _buf(buf, "buf", n, True)


def normalize_minmax(buf, n):
    """Stretch the first ``n`` pixels of ``buf`` in place so that the darkest becomes 0 and the
    brightest 255 (``((v - lo) * 255 + (hi - lo) // 2) // (hi - lo)``). A flat image is left
    unchanged. ``n``: 1..33025."""
    _norm_buf(buf, n)
    p = _p
    _k.stats(buf, n, p)
    lo = p[0]
    hi = p[1]
    if hi > lo:
        _k.lut_minmax(_lut, lo, hi)
        _k.apply(buf, n, _lut)


def normalize_meanstd(buf, n, target_mean=128, target_std=48):
    """Shift and scale the first ``n`` pixels of ``buf`` in place to mean ``target_mean``
    (0..255) and standard deviation ``target_std`` (1..255), clipped to 0..255 (the module notes
    give the exact integer rule); removes the scene's brightness and contrast before a
    classifier. A flat image becomes ``target_mean``. ``n``: 1..33025."""
    _norm_buf(buf, n)
    if type(target_mean) is not int or not 0 <= target_mean <= 255:
        raise ValueError("target_mean must be an int 0..255, not %r" % (target_mean,))
    if type(target_std) is not int or not 1 <= target_std <= 255:
        raise ValueError("target_std must be an int 1..255, not %r" % (target_std,))
    p = _p
    _k.stats(buf, n, p)
    p[0] = n
    p[1] = p[2]
    p[2] = target_mean
    p[3] = target_std
    _k.lut_meanstd(buf, _lut, p)
    _k.apply(buf, n, _lut)


def gray_from_rgb565(src, dst, n_pixels, big_endian=True):
    """Convert ``n_pixels`` RGB565 pixels (2 bytes each) of ``src`` into gray bytes in ``dst``
    (BT.601 luma, module notes). ``big_endian=True``: high byte first, as the ESP32 camera
    driver (esp32-camera, and the ``camera`` module built on it) delivers RGB565; ``False`` for
    little-endian buffers (e.g. a ``framebuf.RGB565`` display buffer). ``dst`` may be ``src``
    itself (converted in place into its first ``n_pixels`` bytes)."""
    if type(n_pixels) is not int:
        raise TypeError("n_pixels must be an int, not %s" % type(n_pixels).__name__)
    if n_pixels < 1 or n_pixels > MAX_SIDE * MAX_SIDE:
        raise ValueError("n_pixels must be 1..%d, not %d" % (MAX_SIDE * MAX_SIDE, n_pixels))
    _buf(src, "src", 2 * n_pixels, False)
    _buf(dst, "dst", n_pixels, True)
    _k.rgb565(src, dst, n_pixels, 1 if big_endian else 0)
