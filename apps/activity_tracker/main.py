"""Activity tracker: which exercise the wearer is doing, from a wrist accelerometer.

The IMU samples into its FIFO by itself while the CPU sleeps. When the FIFO holds at least
``FILL`` of its capacity (at most 3/4, so a late wake-up still loses nothing), the frames are
read in one burst and pushed into a sliding window; every complete window (``length`` samples,
every ``hop``) is reduced to int16 features and classified by a random forest, and the activity
is printed with the sensor time at the window's end, raw and smoothed (majority of the last
``SMOOTH`` windows).

    IMU FIFO (x, y, z int16)  --read when >= FILL full-->  window.Window (ring, planar)
      --> features.Extractor.compute (int16 features) --> trees predict --> majority of SMOOTH

The model (``model.tsm``, from ``tinysense train har``) and its feature layout
(``features.tsm``: window length, hop, sample rate, feature names) are files; the IMU is set to
the rate the layout was made for.

A second mode records labelled examples for training: ``--collect LABEL`` (or ``MODE =
"collect"``) waits for the button (where there is one) or counts down, then writes
``SECONDS`` of FIFO data at 100 Hz to ``recNNN_LABEL.npy`` (``tinysense.npyfile``), the format
and rate ``tinysense train har`` reads.

On the unix port the same file runs with the IMU's replay twin, ``--replay`` selecting it as
``--trace`` does for the temperature logger; time is simulated unless ``--realtime``:

    micropython main.py --replay a.npy[,b.npy...]|list.txt [--model model.tsm] [--layout features.tsm]
                        [--smooth 5] [--fill 0.5] [--features] [--realtime] [--quiet]
    micropython main.py --collect squat [--seconds 10] [--countdown 3] [--out recordings]
                        [--count 1] [--replay source.npy]

Each replayed file starts with an empty window, as after a reset. On a
board the same options apply (``tinysense run activity_tracker --port PORT --board-args ...``),
plus ``--light-sleep``; Ctrl-C stops tracking, or a recording keeping the rows made so far.
(``tinysense run activity_tracker`` does this from the PC and checks every window against the
host's prediction.)
"""

import array
import gc
import sys

from tinysense import features, trees, window
from tinysense.sensors import imu as imu_mod

# Board set-up: change these for your wiring. Defaults: M5StickC PLUS2 (internal MPU6886).
I2C_BUS = (0, 22, 21)  # (id, scl pin, sda pin)
I2C_FREQ = 400000
IMU_ADDRESS = 0x68
HOLD_PIN = 4  # M5StickC PLUS2: GPIO4 high keeps the board powered on battery (None: no such pin)
BUTTON_PIN = 37  # M5StickC PLUS2 front button (active low) starts a recording (None: countdown only)
MODEL = "model.tsm"
LAYOUT = "features.tsm"
RATE = None  # IMU sample rate in Hz (25 or 100); None: the rate the feature layout was made for
FILL = 0.5  # read the FIFO when it holds this fraction of its capacity (at most 0.75)
LIGHT_SLEEP = False  # machine.lightsleep while the FIFO fills: less current, but the USB console pauses
SMOOTH = 5  # majority of the last SMOOTH windows (1: no smoothing)
MODE = "track"  # or "collect": record labelled examples
COLLECT_LABEL = "other"
COLLECT_SECONDS = 10
COLLECT_COUNTDOWN = 3  # seconds counted down before a recording starts
COLLECT_COUNT = 0  # recordings to make in collect mode (0: until stopped)
COLLECT_DIR = "recordings"
COLLECT_RATE = 100  # Hz: the rate of data/har_exercises, which the trainer assumes for every recording


def options(argv):
    opts = {"replay": None, "model": MODEL, "layout": LAYOUT, "rate": RATE, "fill": FILL, "smooth": SMOOTH,
            "collect": COLLECT_LABEL if MODE == "collect" else None, "seconds": COLLECT_SECONDS,
            "countdown": COLLECT_COUNTDOWN, "out": COLLECT_DIR, "count": COLLECT_COUNT,
            "realtime": False, "quiet": False, "features": False, "light-sleep": LIGHT_SLEEP}
    i = 1
    while i < len(argv):
        a = argv[i]
        key = a[2:]
        if a in ("--replay", "--model", "--layout", "--rate", "--fill", "--smooth", "--collect", "--seconds",
                 "--countdown", "--out", "--count"):
            if i + 1 >= len(argv):
                fail("%s needs a value" % a)
            v = argv[i + 1]
            try:
                if key in ("rate", "smooth", "seconds", "countdown", "count"):
                    v = int(v)
                elif key == "fill":
                    v = float(v)
                elif key == "replay":
                    v = replay_list(v)
            except ValueError:
                fail("bad value %r for %s" % (argv[i + 1], a))
            opts[key] = v
            i += 2
        elif a in ("--realtime", "--quiet", "--features", "--light-sleep"):
            opts[key] = True
            i += 1
        else:
            fail("unknown option %s" % a)
    if opts["rate"] is not None and opts["rate"] not in (25, 100):
        fail("--rate must be 25 or 100 Hz, not %d" % opts["rate"])
    if not 0 < opts["fill"] <= 0.75:
        fail("--fill must be in (0, 0.75]: a fuller FIFO may overflow before it is read")
    if not 1 <= opts["smooth"] <= 255:
        fail("--smooth must be 1..255 windows, not %d" % opts["smooth"])
    if opts["collect"] is not None:
        if not opts["collect"] or "_" in opts["collect"] or "/" in opts["collect"]:
            fail("--collect needs a label without '_' or '/' (it ends the file name), not %r" % opts["collect"])
        if opts["seconds"] < 1 or opts["countdown"] < 0 or opts["count"] < 0:
            fail("need --seconds >= 1, --countdown >= 0 and --count >= 0")
        if opts["rate"] not in (None, COLLECT_RATE):
            fail("recordings are made at %d Hz, the rate `tinysense train har` reads (a .npy carries no rate; "
                 "train with --rate 25 to get a 25 Hz model), not %d" % (COLLECT_RATE, opts["rate"]))
    return opts


def replay_list(arg):
    """Recordings to replay: ``a.npy,b.npy``, or ``list.txt`` naming one per line (paths relative
    to the list's folder, or absolute; ``#`` starts a comment)."""
    if not arg.endswith(".txt"):
        return [p for p in arg.split(",") if p]
    folder = arg.rsplit("/", 1)[0] + "/" if "/" in arg else ""
    out = []
    try:
        with open(arg) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    out.append(line if line.startswith("/") else folder + line)
    except OSError as e:
        fail("cannot read the list of recordings %s: %s" % (arg, e))
    if not out:
        fail("%s names no recordings" % arg)
    return out


def fail(msg):
    """Stop with one line on stderr and exit status 1: a problem with the set-up, no traceback."""
    print("activity tracker: " + msg, file=sys.stderr)
    sys.exit(1)


class Majority:
    """Majority vote over the last ``n`` class indices; a tie goes to the class seen most
    recently. Preallocated: ``push`` allocates nothing."""

    def __init__(self, n, n_classes):
        self.n = n
        self.ring = bytearray(n)
        self.counts = array.array("H", bytearray(2 * n_classes))
        self.reset()

    def reset(self):
        self.i = 0
        self.filled = 0
        c = self.counts
        for k in range(len(c)):
            c[k] = 0

    def push(self, k):
        ring, counts, n = self.ring, self.counts, self.n
        i = self.i
        if self.filled == n:
            counts[ring[i]] -= 1
        else:
            self.filled += 1
        ring[i] = k
        counts[k] += 1
        i += 1
        if i == n:
            i = 0
        self.i = i
        best, top = k, counts[k]
        j = i
        for _ in range(self.filled):  # newest first: strictly more votes wins, so ties keep the newer
            j = j - 1 if j else n - 1
            c = ring[j]
            if counts[c] > top:
                best, top = c, counts[c]
        return best


def fmt_time(samples, rate):
    """Sensor time of ``samples`` at ``rate`` Hz as seconds with 2 decimals, exactly (no float)."""
    centi = samples * 100 // rate
    return "%d.%02d" % (centi // 100, centi % 100)


def open_imu(opts, rate, path=None):
    """The accelerometer: the replay twin over ``path`` (OSError/ValueError for a recording it
    cannot play), else the MPU6886 on I2C."""
    if path is not None:
        return imu_mod.ReplayIMU(path, rate=rate, realtime=opts["realtime"]), "replaying %s" % path
    try:
        from machine import I2C, Pin
    except ImportError:
        fail("no machine.I2C on this port: give --replay FILE.npy (a recording at %d Hz)" % rate)
    if HOLD_PIN is not None:
        Pin(HOLD_PIN, Pin.OUT, value=1)
    bus = I2C(I2C_BUS[0], scl=Pin(I2C_BUS[1]), sda=Pin(I2C_BUS[2]), freq=I2C_FREQ)
    try:
        dev = imu_mod.MPU6886(bus, address=IMU_ADDRESS, rate=rate, range_g=2, light_sleep=opts["light-sleep"])
    except imu_mod.WrongChip as e:  # another IMU answers: its name and the class to use
        fail("I2C address 0x%02x: %s" % (IMU_ADDRESS, e))
    except OSError as e:
        fail("no MPU6886 at I2C address 0x%02x on SCL %d / SDA %d: %s" % (IMU_ADDRESS, I2C_BUS[1], I2C_BUS[2], e))
    return dev, "MPU6886 at 0x%02x on I2C(%d, scl=%d, sda=%d)" % (IMU_ADDRESS, I2C_BUS[0], I2C_BUS[1], I2C_BUS[2])


def threshold_for(imu, fill):
    """Frames to wait for before a FIFO read: ``fill`` of the capacity, at most 3/4 of it."""
    cap = imu.fifo_capacity
    return max(1, min(int(cap * fill), cap * 3 // 4))


def wait_for(imu, want, rate):
    """Sleep until the FIFO holds ``want`` frames, or no more will come (the end of a replay),
    or it overflowed (``imu.overflows`` grew: the frames in it were lost); returns the frames
    waiting."""
    lost = imu.overflows
    while True:
        level = imu.fifo_level()
        if level >= want or imu.ended or imu.overflows != lost:
            return level
        imu.sleep_ms((want - level) * 1000 // rate + 1)


class Tracker:
    """The FIFO -> window -> features -> forest loop, with every buffer made once."""

    def __init__(self, model, ex, smooth, quiet=False, show_features=False):
        self.model = model
        self.ex = ex
        self.win = window.Window(channels=ex.channels, length=ex.length, hop=ex.hop)
        self.planar = array.array("h", bytearray(2 * ex.channels * ex.length))
        self.feats = array.array("h", bytearray(2 * ex.n_features))
        self.index = {}
        for k, c in enumerate(model.classes):
            self.index[c] = k
        self.vote = Majority(smooth, len(model.classes))
        self.quiet = quiet
        self.show_features = show_features
        self.counts = array.array("I", bytearray(4 * len(model.classes)))
        self.windows = 0

    def run(self, imu, threshold):
        """Track until the sensor stops (a replay ends); returns the number of windows.

        Timestamps are sensor time: frames received up to the end of the window, divided by
        the rate. After a FIFO overflow (frames lost) the window starts again empty."""
        buf = array.array("h", bytearray(2 * 3 * threshold))
        self.win.reset()
        self.vote.reset()
        self.windows = 0
        lost = imu.overflows
        imu.start()
        try:
            self._loop(imu, threshold, buf, lost)
        finally:  # also on Ctrl-C: the FIFO stops filling
            imu.stop()
        return self.windows

    def _loop(self, imu, threshold, buf, lost):
        rate, ex, win, planar, feats = imu.rate, self.ex, self.win, self.planar, self.feats
        predict, classes, index, vote, counts = self.model.predict, self.model.classes, self.index, self.vote, self.counts
        hop, length = ex.hop, ex.length
        received = 0  # frames read from the FIFO
        base = 0  # frames received when the window last started empty
        since = 0  # windows since then
        while not imu.done:
            level = wait_for(imu, threshold, rate)
            if imu.overflows != lost:
                lost = imu.overflows
                print("FIFO overflow at %s s: frames lost, the window starts again (read more often: a lower "
                      "FILL)" % fmt_time(received, rate))
                win.reset()
                base, since = received, 0
                continue
            if not level:
                continue
            n = imu.read_fifo(buf)
            received += n
            off = 0
            while off < n:
                k = win.push(buf, n - off, off)
                off += k
                popped = False
                while win.pop(planar):
                    popped = True
                    ex.compute(planar, feats)
                    label = predict(feats)
                    smooth = vote.push(index[label])
                    counts[smooth] += 1
                    i = self.windows
                    self.windows = i + 1
                    if not self.quiet:
                        print("window %d  t %s s  raw %s  smooth %s" % (
                            i, fmt_time(base + since * hop + length, rate), label, classes[smooth]))
                    since += 1
                    if self.show_features:
                        print("features %d %s" % (i, " ".join([str(v) for v in feats])))
                if not k and not popped:
                    fail("the window accepted no frames and had none to give (window %d)" % self.windows)


def load_model(opts):
    try:
        ex = features.load(opts["layout"])
    except (OSError, ValueError) as e:
        fail("feature layout %s: %s (make it with `tinysense train har`)" % (opts["layout"], e))
    try:
        model = trees.load(opts["model"])
    except (OSError, ValueError) as e:
        fail("model %s: %s (make it with `tinysense train har`)" % (opts["model"], e))
    if model.n_features != ex.n_features:
        fail("%s expects %d features; %s computes %d: train them together" % (
            opts["model"], model.n_features, opts["layout"], ex.n_features))
    if not model.classes or not isinstance(model.classes[0], str):
        fail("%s is not a classifier with named classes" % opts["model"])
    if opts["rate"] is not None and opts["rate"] != ex.rate:
        fail("the IMU rate %d Hz differs from the %d Hz the model was trained at: retrain with --rate %d" % (
            opts["rate"], ex.rate, opts["rate"]))
    return model, ex


def track(opts):
    model, ex = load_model(opts)
    rate = ex.rate
    tracker = Tracker(model, ex, opts["smooth"], opts["quiet"], opts["features"])
    print("activity tracker: %s (%d trees; %s), %d features of %d-sample windows every %d at %d Hz; "
          "smoothing over %d windows" % (opts["model"], model.n_trees, ", ".join(model.classes), ex.n_features,
                                         ex.length, ex.hop, rate, opts["smooth"]))
    sources = opts["replay"] or [None]
    total = 0
    skipped = 0
    for path in sources:
        try:
            imu, what = open_imu(opts, rate, path)
        except (OSError, ValueError) as e:  # an empty or damaged recording: the others still play
            print("skipped %s: %s" % (path, e))
            skipped += 1
            continue
        threshold = threshold_for(imu, opts["fill"])
        print("recording %s" % path if path else what)
        print("  FIFO: %d frames, read at %d (%d ms of data)" % (imu.fifo_capacity, threshold,
                                                                 threshold * 1000 // rate))
        gc.collect()
        try:
            n = tracker.run(imu, threshold)
        except KeyboardInterrupt:  # Ctrl-C on the console
            total += tracker.windows
            print("stopped after %d windows" % tracker.windows)
            break
        total += n
        print("end of %s: %d windows" % (path or "input", n))
    print("end: %d windows; smoothed: %s%s" % (total, ", ".join(
        "%s %d" % (c, tracker.counts[k]) for k, c in enumerate(model.classes)),
        "; %d recordings skipped" % skipped if skipped else ""))


def next_name(folder, label):
    """``folder/recNNN_LABEL.npy`` with the next free number."""
    import os

    try:
        os.mkdir(folder)
    except OSError:
        pass  # it exists
    top = 0
    for name in os.listdir(folder):
        if name.startswith("rec") and name.endswith(".npy") and name[3:6].isdigit():
            top = max(top, int(name[3:6]))
    return "%s/rec%03d_%s.npy" % (folder, top + 1, label)


def wait_button(imu):
    """Wait for a press of BUTTON_PIN (active low); False when there is no button."""
    if BUTTON_PIN is None:
        return False
    try:
        from machine import Pin
    except ImportError:
        return False
    pin = Pin(BUTTON_PIN, Pin.IN, Pin.PULL_UP)
    print("press the button to start")
    while pin.value():
        imu.sleep_ms(20)
    while not pin.value():
        imu.sleep_ms(20)
    return True


def collect(opts):
    """Record ``count`` labelled examples of ``seconds`` each into ``.npy`` files."""
    from tinysense import npyfile

    label, seconds = opts["collect"], opts["seconds"]
    rate = COLLECT_RATE
    path = opts["replay"][0] if opts["replay"] else None
    try:
        imu, what = open_imu(opts, rate, path)
    except (OSError, ValueError) as e:
        fail("%s: %s" % (path, e))
    threshold = threshold_for(imu, opts["fill"])
    buf = array.array("h", bytearray(2 * 3 * threshold))
    print("collect: %s, %d s of %s at %d Hz per recording into %s/" % (what, seconds, label, rate, opts["out"]))
    made = 0
    while not opts["count"] or made < opts["count"]:
        if path is None:
            wait_button(imu)
        for s in range(opts["countdown"], 0, -1):
            print("%s in %d" % (label, s))
            imu.sleep_ms(1000)
        name = next_name(opts["out"], label)
        rows = seconds * rate
        out = npyfile.Writer(name, "h", 3)
        got = 0
        imu.start()
        print("recording %s ..." % name)
        lost = imu.overflows
        stopped = False
        try:
            while got < rows and not imu.done:
                level = wait_for(imu, min(threshold, rows - got), rate)
                if not level:
                    continue
                n = imu.read_fifo(buf)
                take = min(n, rows - got)
                out.write(buf, take)
                out.flush()  # the header describes every row written so far: a power cut keeps them
                got += take
        except KeyboardInterrupt:  # Ctrl-C: keep what was recorded
            stopped = True
        imu.stop()
        out.close()
        made += 1
        print("saved %s: %d rows (%s s at %d Hz), label %s" % (name, got, fmt_time(got, rate), rate, label))
        if imu.overflows != lost:
            print("  the FIFO overflowed %d times: this recording has gaps (a lower FILL)" % (imu.overflows - lost))
        if stopped or got < rows:
            print("%s after %d of %d rows" % ("stopped" if stopped else "the input ended", got, rows))
            break
    print("end: %d recordings" % made)


def main(argv):
    opts = options(argv)
    if opts["collect"] is not None:
        collect(opts)
    else:
        track(opts)


if __name__ == "__main__":
    main(sys.argv)
