"""Noise monitor: an A-weighted sound level meter on a microcontroller with an I2S microphone.

The microphone (machine.I2S, non-blocking) fills a 125 ms buffer and calls ``on_block``, which
A-weights the block and updates the meter (tinysense.soundlevel, no allocation) and re-arms the
read. The main loop shows the Fast level (console, and a framebuf display if one is set up) and
logs one line per interval: Leq, Lmax and Lmin.

On the unix port the same file replays a WAV file through tinysense.sensors.mic.ReplayI2S:

    micropython main.py --wav street.wav [--realtime] [--interval S] [--filter FILE] [--verbose]

(``tinysense run noise_monitor --wav FILE`` does this from the PC, and plots the levels.)
"""

import array
import sys
import time

from tinysense import soundlevel
from tinysense.sensors import mic as mics

RATE = 16000  # samples per second
BLOCK = 2000  # samples per block: 125 ms, the Fast time constant
SENSITIVITY = -26.0  # microphone: dBFS read at 94 dB SPL (INMP441, ICS-43434: -26)
INTERVAL = 60  # seconds per logged line
FILTER = "aweighting.tsf"  # made on the PC: tinysense design aweighting --rate 16000 aweighting.tsf
PINS = {"sck": 32, "ws": 25, "sd": 33}  # ESP32 example wiring
DISPLAY = None  # e.g. ssd1306.SSD1306_I2C(128, 64, machine.I2C(0)): any framebuf with show()


def options(argv):
    opts = {"wav": None, "realtime": False, "interval": INTERVAL, "filter": FILTER, "verbose": False,
            "sensitivity": SENSITIVITY, "display": False}
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("--wav", "--interval", "--filter", "--sensitivity"):
            if i + 1 >= len(argv):
                raise SystemExit("main.py: %s needs a value" % a)
            v = argv[i + 1]
            opts[a[2:]] = float(v) if a in ("--interval", "--sensitivity") else v
            i += 2
        elif a in ("--realtime", "--verbose", "--display"):
            opts[a[2:]] = True
            i += 1
        else:
            raise SystemExit("main.py: unknown option %s" % a)
    return opts


def load_weighting(path):
    """The A-weighting filter from ``path``, or None (unweighted levels) with the reason."""
    if path == "none":
        return None, "no weighting filter asked for"
    try:
        from tinysense import iir
    except ImportError:
        return None, "no tinysense.iir on this board"
    try:
        return iir.load(path), None
    except OSError:
        return None, "no filter file %s (make it with: tinysense design aweighting --rate %d %s)" % (
            path, RATE, path)


def draw(fb, laf, leq, unit):
    """Draw the Fast level as a number and a bar (30..110 dB) on a 128x64 framebuf."""
    fb.fill(0)
    fb.text("%s %5.1f" % ("LAF" if unit == "dB(A)" else "LZF", laf), 0, 0, 1)
    fb.text("Leq %5.1f %s" % (leq, unit), 0, 12, 1)
    w = int((laf - 30) * 128 / 80) if laf > 30 else 0
    fb.fill_rect(0, 28, min(w, 128), 12, 1)
    fb.rect(0, 28, 128, 12, 1)
    if hasattr(fb, "show"):
        fb.show()


def main(argv):
    opts = options(argv)
    weighting, why = load_weighting(opts["filter"])
    unit = "dB(A)" if weighting is not None else "dB(Z)"
    if weighting is None:
        print("unweighted levels:", why)

    if opts["wav"]:
        mic = mics.ReplayI2S(opts["wav"], rate=RATE, realtime=opts["realtime"])
    else:
        mic = mics.open_i2s(rate=RATE, block=BLOCK, **PINS)
    buf = array.array("h", bytearray(2 * BLOCK))
    mv = memoryview(buf)
    meter = soundlevel.Meter(RATE, sensitivity=opts["sensitivity"], weighting=weighting,
                             interval=opts["interval"])
    blocks = array.array("i", (0,))

    def on_block(arg):
        # Runs once per 125 ms block, as a scheduled callback: weight, measure, re-arm.
        meter.process(buf)
        blocks[0] += 1
        arg.readinto(mv)

    display = DISPLAY
    if display is None and opts["display"]:
        import framebuf

        display = framebuf.FrameBuffer(bytearray(128 * 64 // 8), 128, 64, framebuf.MONO_VLSB)

    mic.irq(on_block)
    mic.readinto(mv)
    sleep = getattr(mic, "sleep_ms", time.sleep_ms)
    seen = 0
    leq = -1e9
    print("noise monitor: %d Hz, %d-sample blocks, sensitivity %.1f dBFS, interval %g s, %s" % (
        RATE, BLOCK, opts["sensitivity"], opts["interval"], unit))
    while not getattr(mic, "finished", False):
        sleep(BLOCK * 1000 // RATE)
        n = blocks[0]
        if n == seen:
            continue
        seen = n
        t = n * BLOCK / RATE
        laf = meter.fast()
        if opts["verbose"]:
            print("%.3f s  Leq %.2f  LF %.2f  LS %.2f %s" % (t, meter.leq_block(), laf, meter.slow(), unit))
        elif not opts["wav"]:
            print("%6.1f %s" % (laf, unit), end="\r")
        iv = meter.interval()
        if iv is not None:
            leq = iv[0]
            print("interval %.3f s  Leq %.2f  Lmax %.2f  Lmin %.2f %s  (%.1f s)" % (t, iv[0], iv[1], iv[2], unit, iv[3]))
        if display is not None:
            draw(display, laf, leq, unit)
    mic.deinit()
    print("end of recording: %d blocks, %.3f s" % (seen, seen * BLOCK / RATE))


if __name__ == "__main__":
    main(sys.argv)
