"""Camera sources that fill a preallocated grayscale frame: :class:`Camera` on an ESP32 board
(the ``camera`` module of micropython-camera-API) and :class:`ReplayCamera`, its twin that plays
image files, so one application runs on a board and on the unix port.

    cam = camera.Camera(96, 96)                  # a board: OV2640 & co., GRAYSCALE 96x96 frames
    cam = camera.ReplayCamera("images/")         # any port: the .pgm / .raw files of a folder
    frame = bytearray(cam.frame_bytes)           # made once
    size = cam.capture_into(frame)               # (width, height); None when a replay has ended

A frame is one byte per pixel, row by row (0 black .. 255 white), as :mod:`tinysense.image` takes
it.

**Camera** wraps ``from camera import Camera, PixelFormat, FrameSize`` (firmware from
https://github.com/cnadler86/micropython-camera-API; it needs PSRAM). ``pixel_format="GRAYSCALE"``
(default) copies the driver's frame; ``"RGB565"`` converts it with
:func:`tinysense.image.gray_from_rgb565` (the ESP32 driver sends RGB565 high byte first:
``big_endian=True``). Frame sizes are the driver's: 96x96 (``R96X96``), 128x128, 160x120
(``QQVGA``), 176x144 (``QCIF``), 240x176 (``HQVGA``), 240x240, 320x240 (``QVGA``). Other keyword
arguments (pins: ``data_pins``, ``pclk_pin``, ``vsync_pin``, ``href_pin``, ``sda_pin``,
``scl_pin``, ``xclk_pin``, ``xclk_freq``, ``powerdown_pin``, ``reset_pin``; ``fb_count``,
``grab_mode``) go to the driver unchanged; firmware built for a known board needs none.
:meth:`Camera.capture_into` allocates nothing itself (the driver hands over its frame buffer as
a ``memoryview``) and returns the same ``(width, height)`` tuple every time.

**ReplayCamera** reads, in name order, the files of a folder (or a list of paths) that end in
``.pgm`` (binary PGM, ``P5``: header ``P5 width height maxval`` with ``#`` comments, maxval
1..255; values are scaled to 0..255 as ``v * 255 // maxval``) or ``.raw`` (``width * height``
bytes, sizes given to the constructor); other files are skipped. Every header is checked when the
camera is made, so a bad file is reported at once (``ValueError`` naming the file and what is
wrong). ``loop=True`` starts again after the last file.
"""

import os

from .. import image

# (width, height) -> the driver's FrameSize name
FRAME_SIZES = {(96, 96): "R96X96", (128, 128): "R128x128", (160, 120): "QQVGA", (176, 144): "QCIF",
               (240, 176): "HQVGA", (240, 240): "R240X240", (320, 240): "QVGA"}


def _check_frame(buf, need):
    if type(buf) is not bytearray and type(buf) is not memoryview:
        raise TypeError("frame buffer must be a bytearray or memoryview, not %s" % type(buf).__name__)
    if len(buf) < need:
        raise ValueError("frame buffer has %d bytes; a frame needs %d" % (len(buf), need))


class Camera:
    """An ESP32 camera through micropython-camera-API, delivering ``width x height`` grayscale
    frames (module notes). Raises ``ImportError`` on a port without the ``camera`` module (the
    unix port: use :class:`ReplayCamera`), ``ValueError`` for a frame size or pixel format the
    driver does not have."""

    def __init__(self, width=96, height=96, pixel_format="GRAYSCALE", big_endian=True, **driver_args):
        from camera import Camera as _Driver, FrameSize, PixelFormat

        name = FRAME_SIZES.get((width, height))
        if name is None or not hasattr(FrameSize, name):
            raise ValueError("no camera frame size %sx%s; sizes: %s" % (
                width, height, ", ".join("%dx%d" % k for k in sorted(FRAME_SIZES))))
        if pixel_format not in ("GRAYSCALE", "RGB565"):
            raise ValueError("pixel_format must be 'GRAYSCALE' or 'RGB565', not %r" % (pixel_format,))
        self.width = width
        self.height = height
        self.frame_bytes = width * height
        self.pixel_format = pixel_format
        self.big_endian = big_endian
        self.size = (width, height)
        self.driver = _Driver(pixel_format=getattr(PixelFormat, pixel_format),
                              frame_size=getattr(FrameSize, name), **driver_args)
        self._free = getattr(self.driver, "free_buffer", None)
        self._buf = None

    def capture_into(self, buf):
        """Capture one frame into ``buf`` (``bytearray``/``memoryview`` of at least
        ``frame_bytes``); returns ``(width, height)``. ``OSError`` if the driver gives no frame or
        a short one."""
        if buf is not self._buf or len(buf) < self.frame_bytes:  # a bytearray can shrink
            _check_frame(buf, self.frame_bytes)
            self._buf = buf
        frame = self.driver.capture()
        n = self.frame_bytes
        rgb = self.pixel_format == "RGB565"
        if frame is None or len(frame) < (2 * n if rgb else n):
            raise OSError("camera gave %s; expected a %dx%d %s frame" % (
                "no frame" if frame is None else "%d bytes" % len(frame), self.width, self.height, self.pixel_format))
        if rgb:
            image.gray_from_rgb565(frame, buf, n, self.big_endian)
        else:
            image.crop(frame, self.width, self.height, 0, 0, buf, self.width, self.height)
        if self._free is not None:
            self._free()
        return self.size

    def deinit(self):
        """Release the camera (the driver's ``deinit``)."""
        d = getattr(self.driver, "deinit", None)
        if d is not None:
            d()


def _token(f, path):
    # Next whitespace-separated header token of a PGM, skipping '#' comments.
    c = f.read(1)
    while True:
        if not c:
            raise ValueError("%s: bad PGM: the header ends early" % path)
        if c == b"#":
            while c and c not in b"\r\n":
                c = f.read(1)
        elif c in b" \t\r\n":
            c = f.read(1)
        else:
            break
    tok = b""
    while c and c not in b" \t\r\n#":
        tok += c
        if len(tok) > 12:
            raise ValueError("%s: bad PGM: header field %r... too long" % (path, tok))
        c = f.read(1)
    if c == b"#":
        raise ValueError("%s: bad PGM: a comment inside a header field" % path)
    return tok


def read_pgm_header(path):
    """``(width, height, maxval, data offset)`` of a binary PGM file; ``ValueError`` naming the
    file and the problem (not P5, bad or missing fields, maxval above 255, data shorter than
    ``width * height`` bytes)."""
    with open(path, "rb") as f:
        magic = f.read(2)
        if magic != b"P5":
            raise ValueError("%s: not a binary PGM (starts %r; expected b'P5')" % (path, magic))
        vals = []
        for what in ("width", "height", "maxval"):
            tok = _token(f, path)
            v = 0
            for d in tok:  # decimal digits only (int() would take "+1", "1_5")
                if not 48 <= d <= 57:
                    raise ValueError("%s: bad PGM: %s %r is not a number" % (path, what, tok))
                v = 10 * v + d - 48
            vals.append(v)
        offset = f.seek(0, 1)
        end = f.seek(0, 2)
    w, h, maxval = vals
    if w < 1 or h < 1 or w > image.MAX_SIDE or h > image.MAX_SIDE:
        raise ValueError("%s: bad PGM: size %dx%d (1..%d pixels a side)" % (path, w, h, image.MAX_SIDE))
    if maxval < 1 or maxval > 255:
        raise ValueError("%s: PGM maxval %d is not supported (1..255: one byte per pixel)" % (path, maxval))
    if end - offset < w * h:
        raise ValueError("%s: PGM is truncated: %d bytes of pixels; %dx%d needs %d" % (path, end - offset, w, h, w * h))
    return w, h, maxval, offset


class ReplayCamera:
    """Plays the ``.pgm`` / ``.raw`` files of ``folder`` (a folder path or a list of file
    paths), in name order, through the :class:`Camera` interface (module notes). ``width`` and
    ``height`` give the size of ``.raw`` files (required when there are any). ``loop``: start
    again after the last file. ``ValueError`` when there is no image file or one is bad."""

    def __init__(self, folder, width=None, height=None, loop=False):
        if type(folder) is str:
            try:
                names = sorted(os.listdir(folder))
            except OSError:
                raise ValueError("%s: no such folder of images" % folder)
            paths = [folder.rstrip("/") + "/" + n for n in names]
        else:
            paths = list(folder)
        self.files = []  # (path, width, height, maxval, offset)
        for p in paths:
            low = p.lower()
            if low.endswith(".pgm"):
                w, h, mx, off = read_pgm_header(p)
                self.files.append((p, w, h, mx, off))
            elif low.endswith(".raw"):
                if width is None or height is None:
                    raise ValueError("%s: a .raw file needs width and height (ReplayCamera(folder, width, height))" % p)
                size = os.stat(p)[6]
                if size != width * height:
                    raise ValueError("%s: raw file has %d bytes; %dx%d needs %d" % (p, size, width, height, width * height))
                self.files.append((p, width, height, 255, 0))
        if not self.files:
            raise ValueError("%s: no .pgm or .raw images" % (folder,))
        self.frame_bytes = max(e[1] * e[2] for e in self.files)
        self.loop = loop
        self.index = 0  # next file
        self.count = 0  # frames delivered
        self.name = None  # path of the last frame
        self.width = self.height = None  # size of the last frame
        self.done = False

    def __len__(self):
        return len(self.files)

    def capture_into(self, buf):
        """Read the next image into ``buf``; returns ``(width, height)``, or None when every file
        has been played (and ``loop`` is off). ``ValueError`` if ``buf`` is too small for it."""
        if self.index >= len(self.files):
            if not self.loop:
                self.done = True
                return None
            self.index = 0
        path, w, h, maxval, off = self.files[self.index]
        n = w * h
        _check_frame(buf, n)
        with open(path, "rb") as f:
            if off:
                f.seek(off)
            got = f.readinto(memoryview(buf)[:n])
        if got != n:
            raise ValueError("%s: read %d of %d pixel bytes (file changed?)" % (path, got, n))
        if maxval != 255:
            i = 0
            while i < n:
                v = buf[i] * 255 // maxval
                buf[i] = v if v < 256 else 255  # a value above maxval: white
                i += 1
        self.index += 1
        self.count += 1
        self.name = path
        self.width = w
        self.height = h
        return (w, h)
