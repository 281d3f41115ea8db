"""Temperature logger: a low-power sensor node that measures, advertises BTHome and logs.

Every ``PERIOD`` seconds: read the sensor ``SAMPLES`` times ``SPACING`` ms apart into a
preallocated array, take the median (a spike from a radio burst or a motor is ignored), convert
it to degrees C, advertise it as BTHome v2 (Home Assistant reads it), append it to a crash-safe
log on flash, and light-sleep until the next measurement. Measurements are counted (sent as
BTHome ``count``).

Sensors: an analog TMP36/LM35/MCP9700... on an ADC pin (``machine.ADC.read_u16``), or an
SHT3x/SHT4x on I2C (temperature and humidity, CRC-checked; a reading with a bad CRC is skipped).

On the unix port the same file replays a recording through the sensors' twins and a replay
clock (no waiting unless ``--realtime``); BTHome payloads are printed as hex:

    micropython main.py --trace adc.csv [--sensor TMP36] [--vref 3.3] [--samples 9]
                        [--period 60] [--count 0] [--log temperature.tslog] [--realtime]
    micropython main.py --sensor SHT3X --sht-trace sht.csv

(``tinysense run temperature_logger [--trace FILE]`` does this from the PC and plots the result.)
"""

import array
import sys
import time

from tinysense import median, sleep
from tinysense.sensors import adc

# Board set-up: change these for your wiring.
SENSOR = "TMP36"  # an analog sensor of tinysense.sensors.adc.SENSORS, or "SHT3X" / "SHT4X"
PIN = 26  # ADC pin (RP2040: GP26 = ADC0; ESP32: 32..39 on ADC1)
VREF = 3.3  # volts at read_u16() == 65535
TWO_POINT = None  # or (raw1, t1, raw2, t2): your own two-point calibration, overrides VREF
I2C_BUS = (0, 22, 21)  # (id, scl pin, sda pin) for an SHT3x/SHT4x
SAMPLES = 9  # readings per measurement (odd: the median is one of them)
SPACING = 20  # ms between two readings
PERIOD = 60  # s from one measurement to the next
ADVERTISE_MS = 1500  # ms to stay awake after a new payload so receivers catch it
LOG = "temperature.tslog"  # crash-safe log on flash ("none": no log)
LOG_CAPACITY = 4096  # records kept (16 bytes each for one value)
NAME = "ts-temp"  # BLE local name (with temperature, humidity and count, at most 7 bytes fit in 31)


def options(argv):
    opts = {"trace": None, "column": "0", "sensor": SENSOR, "vref": VREF, "two-point": TWO_POINT,
            "sht-trace": None, "samples": SAMPLES, "spacing": SPACING, "period": PERIOD, "count": 0,
            "log": LOG, "realtime": False, "quiet": False}
    i = 1
    while i < len(argv):
        a = argv[i]
        key = a[2:]
        if a in ("--trace", "--column", "--sensor", "--vref", "--two-point", "--sht-trace", "--samples",
                 "--spacing", "--period", "--count", "--log"):
            if i + 1 >= len(argv):
                fail("main.py: %s needs a value" % a)
            v = argv[i + 1]
            try:
                if key in ("samples", "spacing", "count"):
                    v = int(v)
                elif key in ("vref", "period"):
                    v = float(v)
                elif key == "two-point":
                    v = tuple(float(x) for x in v.split(","))
                    if len(v) != 4:
                        raise ValueError
            except ValueError:
                fail("main.py: bad value %r for %s" % (argv[i + 1], a))
            opts[key] = v
            i += 2
        elif a in ("--realtime", "--quiet"):
            opts[key] = True
            i += 1
        else:
            fail("main.py: unknown option %s" % a)
    n = opts["samples"]
    if n < 1 or n > 255 or not n & 1:
        fail("main.py: --samples must be odd, 1..255, not %d" % n)
    if opts["period"] <= 0 or opts["spacing"] < 0 or opts["spacing"] * (n - 1) > opts["period"] * 1000:
        fail("main.py: need --period > 0 and SAMPLES readings SPACING ms apart within it")
    opts["sensor"] = opts["sensor"].upper()
    return opts


def fail(msg):
    """Stop with one line on stderr and exit status 1: a problem with the set-up, no traceback."""
    print("temperature logger: " + msg, file=sys.stderr)
    sys.exit(1)


def fmt_centi(c):
    """Hundredths as a decimal string, exactly (no float): -123 -> "-1.23"."""
    s = "-" if c < 0 else ""
    c = -c if c < 0 else c
    return "%s%d.%02d" % (s, c // 100, c % 100)


class Analog:
    """An analog sensor: SAMPLES ADC readings -> median -> degrees C (hundredths)."""

    def __init__(self, src, cal, n, spacing, wait):
        self.src = src
        self.cal = cal
        self.buf = array.array("h", bytearray(2 * n))  # raw - CENTER, made once
        self.spacing = spacing
        self.wait = wait
        self.raw = 0
        self.rh_centi = None
        self.crc_errors = 0

    def measure(self):
        """Fill the buffer and reduce it; None at the end of a replay."""
        if self.src.read_into(self.buf, self.spacing, self.wait) < len(self.buf):
            return None
        self.raw = median.median(self.buf) + adc.CENTER
        return self.cal.centi(self.raw)


class Digital:
    """An SHT3x/SHT4x: SAMPLES CRC-checked measurements -> medians of temperature and humidity."""

    def __init__(self, dev, n, spacing, wait):
        self.dev = dev
        self.t = array.array("h", bytearray(2 * n))  # 0.01 C: -4500..13000 fits int16
        self.h = array.array("h", bytearray(2 * n))  # 0.01 %: 0..10000
        self.spacing = spacing
        self.wait = wait
        self.raw = None
        self.rh_centi = None
        self.crc_errors = 0

    def measure(self):
        dev = self.dev
        t, h = self.t, self.h
        got = 0
        i = 0
        while i < len(t):
            if i and self.spacing:
                self.wait(self.spacing)
            try:
                ok = dev.measure()
            except EOFError:  # the replay has ended
                return None
            if ok:
                t[got] = dev.t_centi
                h[got] = dev.rh_centi
                got += 1
            i += 1
        self.crc_errors = dev.crc_errors
        if not got:
            return False  # every reading had a bad CRC: nothing to report
        if got < len(t):  # some skipped: the median of the good ones (allocates, rarely)
            t, h = t[:got], h[:got]
        self.rh_centi = int(median.median(h))
        return int(median.median(t))


def open_sensor(opts, wait):
    name = opts["sensor"]
    n, spacing = opts["samples"], opts["spacing"]
    if name in ("SHT3X", "SHT4X"):
        from tinysense.sensors import sht3x

        if opts["sht-trace"]:
            bus = sht3x.ReplayI2C(opts["sht-trace"], sht4x=name == "SHT4X")
        else:
            try:
                from machine import I2C, Pin
            except ImportError:
                fail("no machine.I2C on this port: give --sht-trace FILE (recorded temperature_c,humidity_pct)")
            bus = I2C(I2C_BUS[0], scl=Pin(I2C_BUS[1]), sda=Pin(I2C_BUS[2]), freq=100000)
        cls = sht3x.SHT4x if name == "SHT4X" else sht3x.SHT3x
        return Digital(cls(bus, sleep_ms=wait), n, spacing, wait), "%s on %r" % (name, bus)
    if opts["two-point"]:
        cal = adc.Linear.two_point(*opts["two-point"])
        how = "two-point calibration %r" % (opts["two-point"],)
    else:
        cal = adc.Linear.for_sensor(name, opts["vref"])
        how = "%s at %g V" % (name, opts["vref"])
    if opts["trace"]:
        col = opts["column"]
        src = adc.ReplayADC(opts["trace"], column=int(col) if col.isdigit() else col)
        where = "replaying %s (%d readings)" % (opts["trace"], src.n_readings)
    else:
        try:
            src = adc.ADCSource(PIN)
        except ImportError:
            fail("no machine.ADC on this port: give --trace FILE (recorded read_u16 values)")
        where = "ADC pin %r" % (PIN,)
    return Analog(src, cal, n, spacing, wait), "%s, %s" % (how, where)


def open_radio():
    try:
        from tinysense import bthome
    except ImportError:
        return None, "no tinysense.bthome: not advertised"
    ad = bthome.Advertiser(name=NAME)
    return ad, "BTHome v2 over BLE" if ad.available else "BTHome v2 payloads printed as hex (no bluetooth module)"


def open_log(path, humidity):
    if path == "none":
        return None, "no log"
    try:
        from tinysense import logstore
    except ImportError:
        return None, "no tinysense.logstore: not logged"
    names = ("temperature_c", "humidity_pct") if humidity else ("temperature_c",)
    try:
        log = logstore.Log(path, names=names, decimals=(2,) * len(names), capacity=LOG_CAPACITY)
    except ValueError as e:  # a log of another layout (another sensor) at that path
        fail("%s: %s (give another --log)" % (path, e))
    return log, "log %s (%d records, next #%d%s)" % (path, len(log), log.next_seq,
                                                   ", %d torn records dropped" % log.dropped if log.dropped else "")


def main(argv):
    opts = options(argv)
    replay = bool(opts["trace"] or opts["sht-trace"])
    clock = sleep.ReplayClock(opts["realtime"]) if replay else sleep.Clock()
    try:
        sensor, what = open_sensor(opts, clock.wait_ms)
    except (OSError, ValueError) as e:  # no device at address 0x44 on I2C(...), a bad trace file
        fail(str(e))
    radio, radio_what = open_radio()
    log, log_what = open_log(opts["log"], isinstance(sensor, Digital))
    period_ms = int(opts["period"] * 1000)
    print("temperature logger: %s; %d readings %d ms apart every %g s, median; sleep: %s" % (
        what, opts["samples"], opts["spacing"], opts["period"], clock.mode))
    print("  %s; %s" % (radio_what, log_what))
    count = 0
    start = clock.ticks_ms()
    while not opts["count"] or count < opts["count"]:
        t0 = clock.ticks_ms()
        centi = sensor.measure()
        if centi is None:
            break
        t_s = time.ticks_diff(t0, start) // 1000 if not replay else (t0 - start) // 1000
        if centi is False:
            print("measurement skipped at %d s: every reading had a bad CRC (%d so far)" % (t_s, sensor.crc_errors))
        else:
            count += 1
            rh = sensor.rh_centi
            if radio is not None:
                radio.advertise(temperature=centi / 100, humidity=None if rh is None else rh / 100,
                                count=count)
            if log is not None:
                stamp = t_s if replay else int(time.time())
                log.append(stamp, (centi,) if rh is None else (centi, rh))
            if not opts["quiet"]:
                print("measurement %d  t %d s  raw %s  %s C%s" % (
                    count, t_s, "-" if sensor.raw is None else sensor.raw, fmt_centi(centi),
                    "" if rh is None else "  %s %%RH  crc errors %d" % (fmt_centi(rh), sensor.crc_errors)))
            if radio is not None and ADVERTISE_MS:
                clock.wait_ms(ADVERTISE_MS)  # awake while the payload goes out
        clock.sleep_until(t0, period_ms)
    if log is not None:
        log.close()
    print("end: %d measurements, %d s; bad CRCs %d" % (count, (clock.ticks_ms() - start) // 1000 if replay
                                                      else time.ticks_diff(clock.ticks_ms(), start) // 1000,
                                                      sensor.crc_errors))


if __name__ == "__main__":
    main(sys.argv)
