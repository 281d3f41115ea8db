"""Image classifier: a camera node that looks, decides and sleeps, with an int8 CNN.

Every ``PERIOD_MS``: grab a frame from the camera into a preallocated buffer, shrink it to the
model's input (``tinysense.image.resize``: 3x3 block means for 96x96 -> 32x32), normalise its
brightness (mean 128, standard deviation 48: a dim and a bright scene look alike to the model),
quantize it to the model's int8 input, run the CNN (``tinysense.cnn``), act on the decision
(print it; with ``LED_PIN`` set, drive that pin high while the target class is seen) and
light-sleep until the next frame (a capture that gives no frame is skipped; ``MAX_MISSES`` in a
row stop the program). Frames, model input and scores live in buffers made once: the
loop allocates only for its printed line and the probability (a few floats).

Camera: an ESP32 board with micropython-camera-API firmware (``camera`` module), GRAYSCALE
96x96 frames (``tinysense.sensors.camera.Camera``). On the unix port the same file replays image
files through the camera's twin (binary PGM, or raw bytes with --raw-size) and a replay clock:

    micropython main.py --images images/faces [--model models/face.tsm] [--threshold 0.5]
                        [--normalize meanstd|minmax|none] [--period 1000] [--count N] [--loop]
    micropython main.py --images images/digits --model models/digits.tsm

(``tinysense run image_classifier --images DIR`` does this from the PC and checks every score
against LiteRT.) One line per frame:

    frame 1 face_1.pgm 96x96 -> face (class 1) p=0.97 DETECTED  logits [-61, 70]  prep 412 us  infer 38211 us

``p`` is the model's softmax probability of the class it names (from the int8 logits); a frame
is DETECTED when the target class (``TARGET``, the "face" class of the face model) has
``p >= threshold``.
"""

import array
import sys
import time

from tinysense import cnn, image, sleep
from tinysense.sensors import camera

# Board set-up: change these for your hardware.
MODEL = "models/face.tsm"
FRAME_W, FRAME_H = 96, 96  # camera frame (FrameSize.R96X96)
CAMERA_ARGS = {}  # pins for a generic firmware, e.g. {"data_pins": [...], "vsync_pin": 6, ...}
LED_PIN = None  # a GPIO driven high while the target class is seen (e.g. 4: ESP32-CAM flash LED)
PERIOD_MS = 1000  # from one frame to the next
LIGHT_SLEEP = True  # False if your camera does not work after machine.lightsleep (then time.sleep_ms)
STALE_FRAMES = 1  # frames to drop after a sleep: the driver's default grab mode (WHEN_EMPTY) keeps
#                   fb_count frames taken before the sleep
MAX_MISSES = 5  # failed captures in a row (the driver gave no frame) before the program stops
THRESHOLD = 0.5  # probability of the target class that counts as detected
NORMALIZE = "meanstd"  # "meanstd", "minmax" or "none": the model was trained with meanstd
TARGET_MEAN, TARGET_STD = 128, 48

# Class names by model file name; a model whose file carries names uses those.
CLASSES = {"face": ("no face", "face"), "digits": tuple("0123456789")}
TARGETS = {"face": 1}  # the class a model "detects" (others only classify)


def fail(msg):
    """Stop with one line on stderr and exit status 1: a problem with the set-up."""
    print("image classifier: " + msg, file=sys.stderr)
    sys.exit(1)


def options(argv):
    opts = {"images": None, "model": MODEL, "threshold": THRESHOLD, "normalize": NORMALIZE,
            "period": PERIOD_MS, "count": 0, "loop": False, "raw-size": None, "quiet": False}
    i = 1
    while i < len(argv):
        a = argv[i]
        key = a[2:]
        if a in ("--images", "--model", "--threshold", "--normalize", "--period", "--count", "--raw-size"):
            if i + 1 >= len(argv):
                fail("%s needs a value" % a)
            v = argv[i + 1]
            try:
                if key in ("period", "count"):
                    v = int(v)
                elif key == "threshold":
                    v = float(v)
                elif key == "raw-size":
                    w, h = v.lower().split("x")
                    v = (int(w), int(h))
            except ValueError:
                fail("bad value %r for %s" % (v, a))
            opts[key] = v
            i += 2
        elif a in ("--loop", "--quiet"):
            opts[key] = True
            i += 1
        else:
            fail("unknown option %s" % a)
    if opts["normalize"] not in ("meanstd", "minmax", "none"):
        fail("--normalize must be meanstd, minmax or none, not %r" % opts["normalize"])
    if not 0 <= opts["threshold"] <= 1:
        fail("--threshold must be a probability 0..1")
    if opts["period"] < 0 or opts["count"] < 0:
        fail("--period and --count must be >= 0")
    return opts


def basename(path):
    return path.rsplit("/", 1)[-1]


def stem(path):
    return basename(path).rsplit(".", 1)[0]


def open_camera(opts):
    if opts["images"]:
        w, h = opts["raw-size"] or (None, None)
        try:
            cam = camera.ReplayCamera(opts["images"], w, h, loop=opts["loop"])
        except ValueError as e:
            fail(str(e))
        return cam, "replaying %d images from %s" % (len(cam), opts["images"])
    try:
        cam = camera.Camera(FRAME_W, FRAME_H, **CAMERA_ARGS)
    except ImportError:
        fail("no camera module on this port: give --images DIR (PGM or raw files)")
    except (OSError, ValueError, TypeError) as e:  # wrong pins, no PSRAM, no camera answering
        fail("camera set-up failed: %s (check CAMERA_ARGS in main.py)" % (e,))
    return cam, "camera %dx%d GRAYSCALE" % (FRAME_W, FRAME_H)


def open_led():
    if LED_PIN is None:
        return None
    try:
        from machine import Pin
    except ImportError:
        return None
    return Pin(LED_PIN, Pin.OUT, value=0)


class Classifier:
    """The model and every buffer the loop needs, made once."""

    def __init__(self, path, normalize):
        try:
            self.model = m = cnn.load(path)
        except (OSError, ValueError) as e:
            fail("%s: %s" % (path, e))
        h, w, c = m.input_shape
        if c != 1:
            fail("%s: the model takes %d channels; the camera gives gray images (1)" % (path, c))
        self.w, self.h = w, h
        self.small = bytearray(w * h)  # preprocessed pixels
        self.x = array.array("b", bytes(w * h))  # quantized model input
        self.n_out = m.output_shape[0]
        self.logits = array.array("b", bytes(self.n_out))
        self.normalize = normalize
        key = stem(path)
        names = getattr(m, "class_names", None)
        self.names = tuple(names) if names else CLASSES.get(key, tuple(str(k) for k in range(self.n_out)))
        self.target = TARGETS.get(key)
        # softmax of the int8 logits: p_k = exp(beta * scale * (l_k - l_max)) / sum
        self.k = (getattr(m, "softmax_beta", 1.0) or 1.0) * getattr(m, "scores_scale", 0.0)

    def preprocess(self, frame, fw, fh):
        image.resize(frame, fw, fh, self.small, self.w, self.h)
        n = self.w * self.h
        if self.normalize == "meanstd":
            image.normalize_meanstd(self.small, n, TARGET_MEAN, TARGET_STD)
        elif self.normalize == "minmax":
            image.normalize_minmax(self.small, n)
        self.model.quantize_input(self.small, self.x)

    def classify(self):
        """Index of the largest logit (the first one on a tie)."""
        self.model.scores(self.x, self.logits)
        lg = self.logits
        best = 0
        i = 1
        while i < self.n_out:
            if lg[i] > lg[best]:
                best = i
            i += 1
        return best

    def probability(self, k):
        """Softmax probability of class ``k`` from the logits (None without the logits' scale)."""
        if not self.k:
            return None
        import math

        lg = self.logits
        top = max(lg)
        s = 0.0
        for v in lg:
            s += math.exp(self.k * (v - top))
        return math.exp(self.k * (lg[k] - top)) / s


def main(argv):
    opts = options(argv)
    replay = bool(opts["images"])
    clock = sleep.ReplayClock() if replay else sleep.Clock(light=LIGHT_SLEEP)
    cam, cam_what = open_camera(opts)
    clf = Classifier(opts["model"], opts["normalize"])
    m = clf.model
    led = open_led()
    frame = bytearray(cam.frame_bytes)
    print("image classifier: %s; model %s: %dx%d input, %d classes, %d layers, arena %d bytes; "
          "normalize %s; sleep: %s" % (cam_what, opts["model"], clf.w, clf.h, clf.n_out, m.n_layers,
                                       m.arena_bytes, opts["normalize"], clock.mode))
    count = detected = misses = 0
    t_prep = t_inf = 0
    while not opts["count"] or count < opts["count"]:
        t0 = clock.ticks_ms()
        try:
            if not replay and count:
                for _ in range(STALE_FRAMES):
                    cam.capture_into(frame)
            size = cam.capture_into(frame)
        except OSError as e:  # the driver gave no frame (or a short one): skip this period, try again
            misses += 1
            print("frame skipped: %s" % (e,))
            if misses >= MAX_MISSES:
                fail("no frame from the camera %d times in a row (%s)" % (misses, e))
            clock.sleep_until(t0, opts["period"])
            continue
        misses = 0
        if size is None:
            break
        fw, fh = size
        a = time.ticks_us()
        clf.preprocess(frame, fw, fh)
        b = time.ticks_us()
        k = clf.classify()
        c = time.ticks_us()
        count += 1
        prep, inf = time.ticks_diff(b, a), time.ticks_diff(c, b)
        t_prep += prep
        t_inf += inf
        p = clf.probability(k)
        hit = False
        if clf.target is not None:
            pt = clf.probability(clf.target)
            hit = (k == clf.target) if pt is None else pt >= opts["threshold"]
        if hit:
            detected += 1
        if led is not None:
            led.value(1 if hit else 0)
        if not opts["quiet"]:
            name = basename(cam.name) if replay else "camera"
            print("frame %d %s %dx%d -> %s (class %d) p=%s%s  logits [%s]  prep %d us  infer %d us" % (
                count, name, fw, fh, clf.names[k] if k < len(clf.names) else str(k), k,
                "-" if p is None else "%.3f" % p, " DETECTED" if hit else "",
                ", ".join(str(v) for v in clf.logits), prep, inf))
        clock.sleep_until(t0, opts["period"])
    if count:
        print("end: %d frames, %d detected; mean prep %d us, inference %d us per frame" % (
            count, detected, t_prep // count, t_inf // count))
    else:
        print("end: no frames")


if __name__ == "__main__":
    main(sys.argv)
