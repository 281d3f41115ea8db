# fixtures: image
# tinysense.sensors.camera: the replay twin over PGM/raw files (tests/fixtures/image.py) and the
# hardware wrapper over a stand-in for micropython-camera-API's `camera` module.
import gc
import sys
import tsenv
from tinysense.sensors import camera
from expect import expect_error as raises

DIR = tsenv.FIXTURES + "/image/"


def read(name):
    with open(DIR + name + ".u8", "rb") as f:
        return bytearray(f.read())


def frames():
    with open(DIR + "frames.txt") as f:
        return [line.split() for line in f if line.strip()]


def test_replay_reads_pgm_and_raw_in_name_order():
    cam = camera.ReplayCamera(DIR + "frames", 96, 96)
    want = frames()
    assert len(cam) == len(want) == 4
    assert cam.frame_bytes == 96 * 96
    buf = bytearray(cam.frame_bytes)
    for name, w, h, ref in want:
        size = cam.capture_into(buf)
        assert size == (int(w), int(h)), (name, size)
        assert cam.name.endswith(name), cam.name
        n = int(w) * int(h)
        assert buf[:n] == read("frame_" + ref), name
    assert cam.capture_into(buf) is None
    assert cam.done and cam.count == 4


def test_replay_loops():
    cam = camera.ReplayCamera(DIR + "frames", 96, 96, loop=True)
    buf = bytearray(cam.frame_bytes)
    sizes = [cam.capture_into(buf) for _ in range(9)]
    assert sizes[4] == sizes[0] == (96, 96) and sizes[8] == sizes[0], sizes
    assert cam.count == 9 and not cam.done


def test_replay_list_of_files():
    cam = camera.ReplayCamera([DIR + "frames/b_comment.pgm"])
    buf = bytearray(600)
    assert cam.capture_into(buf) == (30, 20)
    assert buf == read("frame_b_comment")


def test_bad_files():
    bad = DIR + "bad/"
    raises(ValueError, camera.ReplayCamera, [bad + "p2.pgm"], words=("p2.pgm", "P5"))
    raises(ValueError, camera.ReplayCamera, [bad + "short.pgm"], words=("short.pgm", "truncated", "16"))
    raises(ValueError, camera.ReplayCamera, [bad + "maxval.pgm"], words=("maxval", "65535"))
    raises(ValueError, camera.ReplayCamera, [bad + "header.pgm"], words=("header.pgm", "ends early"))
    raises(ValueError, camera.ReplayCamera, [bad + "zero.pgm"], words=("zero.pgm", "0x4"))
    raises(ValueError, camera.ReplayCamera, [bad + "sign.pgm"], words=("sign.pgm", "width", "not a number"))
    raises(ValueError, camera.ReplayCamera, [bad + "underscore.pgm"], words=("maxval", "not a number"))
    raises(ValueError, camera.ReplayCamera, [bad + "odd.raw"], words=("odd.raw", "width and height"))
    raises(ValueError, camera.ReplayCamera, [bad + "odd.raw"], 9, 9, words=("100 bytes", "81"))
    raises(ValueError, camera.ReplayCamera, DIR + "nowhere", words=("no such folder",))
    raises(ValueError, camera.ReplayCamera, [DIR + "frames/notes.txt"], words=("no .pgm",))
    cam = camera.ReplayCamera(DIR + "frames", 96, 96)
    raises(ValueError, cam.capture_into, bytearray(100), words=("100", "9216"))
    raises(TypeError, cam.capture_into, [0] * 9216, words=("bytearray",))


class _Fake:
    # Stand-in for micropython-camera-API: the same names, frames from a preallocated buffer.
    class PixelFormat:
        RGB565 = 0
        GRAYSCALE = 3

    class FrameSize:
        R96X96 = 0
        QQVGA = 1

    frame = None
    args = None

    class Camera:
        def __init__(self, **kw):
            _Fake.args = kw
            self.freed = 0

        def capture(self):
            return _Fake.frame

        def free_buffer(self):
            self.freed += 1


def _install():
    sys.modules["camera"] = _Fake


def test_hardware_wrapper_grayscale():
    _install()
    src = bytearray(96 * 96)
    for i in range(len(src)):
        src[i] = (i * 13) & 255
    _Fake.frame = memoryview(src)
    cam = camera.Camera(96, 96, sda_pin=4)
    assert _Fake.args == {"pixel_format": 3, "frame_size": 0, "sda_pin": 4}, _Fake.args
    buf = bytearray(cam.frame_bytes)
    assert cam.capture_into(buf) == (96, 96)
    assert buf == src and cam.driver.freed == 1
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(10):
        cam.capture_into(buf)
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before


def test_hardware_wrapper_rgb565():
    _install()
    src = bytearray(2 * 160 * 120)
    src[0] = 0xF8  # red, big-endian
    src[2] = 0xFF
    src[3] = 0xFF  # white
    _Fake.frame = memoryview(src)
    cam = camera.Camera(160, 120, pixel_format="RGB565")
    assert _Fake.args["pixel_format"] == 0 and _Fake.args["frame_size"] == 1
    buf = bytearray(160 * 120)
    assert cam.capture_into(buf) == (160, 120)
    assert buf[0] == 77 and buf[1] == 255 and buf[2] == 0
    cam = camera.Camera(160, 120, pixel_format="RGB565", big_endian=False)
    cam.capture_into(buf)
    # read little-endian, bytes F8 00 are 0x00F8: g6 = 7 -> 28, b5 = 24 -> 197; (150*28 + 29*197 + 128) >> 8
    assert buf[0] == 39, buf[0]
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(10):
        cam.capture_into(buf)
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before


def test_hardware_wrapper_errors():
    _install()
    raises(ValueError, camera.Camera, 100, 100, words=("100x100", "96x96"))
    raises(ValueError, camera.Camera, 96, 96, "JPEG", words=("GRAYSCALE",))
    cam = camera.Camera(96, 96)
    _Fake.frame = None
    raises(OSError, cam.capture_into, bytearray(9216), words=("no frame",))
    _Fake.frame = memoryview(bytearray(100))
    raises(OSError, cam.capture_into, bytearray(9216), words=("100 bytes", "96x96"))
    raises(ValueError, cam.capture_into, bytearray(10), words=("10", "9216"))
    _Fake.frame = memoryview(bytearray(9216))
    buf = bytearray(9216)
    cam.capture_into(buf)
    buf[100:] = b""  # shrunk after its first check
    raises(ValueError, cam.capture_into, buf, words=("100", "9216"))
    del sys.modules["camera"]
    raises(ImportError, camera.Camera)


def test_camera_to_cnn_pipeline_allocates_nothing():
    # the image classifier's loop without its print: capture, block means, normalisation,
    # quantization, inference
    import array
    from tinysense import cnn, image

    _install()
    src = bytearray(96 * 96)
    for i in range(len(src)):
        src[i] = (i * 7 + i // 96) & 255
    _Fake.frame = memoryview(src)
    cam = camera.Camera(96, 96)
    m = cnn.load(DIR + "face.tsm")
    frame = bytearray(cam.frame_bytes)
    small = bytearray(32 * 32)
    x = array.array("b", bytes(32 * 32))
    out = array.array("b", bytes(2))

    def step():
        fw, fh = cam.capture_into(frame)
        image.resize(frame, fw, fh, small, 32, 32)
        image.normalize_meanstd(small, 1024, 128, 48)
        m.quantize_input(small, x)
        return m.scores(x, out)

    step()
    gc.collect()
    before = gc.mem_alloc()
    k = 0
    while k < 5:
        step()
        k += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
