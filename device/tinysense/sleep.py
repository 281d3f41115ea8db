"""Sleeping between measurements: ``machine.lightsleep`` where the port has it, ``time.sleep_ms``
where it does not (the unix port), so one ``main.py`` runs on both.

    from tinysense import sleep
    clock = sleep.Clock()              # a board: light sleep; the unix port: time.sleep_ms
    clock = sleep.ReplayClock()        # a replay: time passes at once, on a counter
    t0 = clock.ticks_ms()
    ...                                # measure; clock.wait_ms(20) waits awake
    clock.sleep_until(t0, 60000)       # one measurement every 60 s, whatever measuring took

In light sleep the CPU stops and RAM is kept; the program goes on after the call, as after
``time.sleep_ms``. How deep that is depends on the port: an ESP32 draws about 0.8 mA instead of
tens of mA, but its USB serial console and Wi-Fi/BLE connections pause (advertise before you
sleep); an RP2040 stops its clocks except the RTC/timer. ``machine.lightsleep()`` with no
argument sleeps until an interrupt, so a wait of 0 ms never calls it. Short waits (below
``MIN_LIGHT_MS``, 10 ms) use ``time.sleep_ms``: waking costs more than it saves there.

The fallback: on a port without ``machine.lightsleep`` (``MODE`` says which is used) the same
calls wait with ``time.sleep_ms``: the program behaves alike, it only draws more current.
"""

import time

try:
    from machine import lightsleep as _lightsleep
except ImportError:  # the unix port, or a port built without it
    _lightsleep = None

HAVE_LIGHTSLEEP = _lightsleep is not None
MODE = "machine.lightsleep" if HAVE_LIGHTSLEEP else "time.sleep_ms"
MIN_LIGHT_MS = 10
MAX_MS = 0x3FFFFFFF  # the largest wait, about 12.4 days: a small int on every port


def _check(ms):
    if type(ms) is not int:
        raise TypeError("ms must be an int (milliseconds), not %s" % type(ms).__name__)
    if ms < 0 or ms > MAX_MS:
        raise ValueError("ms must be 0..%d milliseconds, not %d" % (MAX_MS, ms))


def sleep_ms(ms, light=True):
    """Wait ``ms`` milliseconds (int, 0..``MAX_MS``): ``machine.lightsleep(ms)`` when ``light``
    and the port has it and ``ms >= MIN_LIGHT_MS``, else ``time.sleep_ms(ms)``. 0 returns at once."""
    _check(ms)
    if not ms:
        return
    if light and _lightsleep is not None and ms >= MIN_LIGHT_MS:
        _lightsleep(ms)
    else:
        time.sleep_ms(ms)


class Clock:
    """The system clock (``time.ticks_ms``) with :func:`sleep_ms`: light sleep where the port has
    it (``light=False``: always ``time.sleep_ms``)."""

    def __init__(self, light=True):
        self.light = light and HAVE_LIGHTSLEEP
        self.mode = MODE if self.light else "time.sleep_ms"
        self.slept_ms = 0  # total asked-for waits, ms

    def ticks_ms(self):
        """``time.ticks_ms()``: wrapping milliseconds; compare with ``time.ticks_diff``."""
        return time.ticks_ms()

    def sleep_ms(self, ms):
        """Wait ``ms`` milliseconds (0..``MAX_MS``), in light sleep when possible."""
        sleep_ms(ms, self.light)
        self.slept_ms += ms

    def wait_ms(self, ms):
        """Wait ``ms`` milliseconds (0..``MAX_MS``) awake, with ``time.sleep_ms``: for short
        gaps, and while the radio must keep advertising."""
        _check(ms)
        time.sleep_ms(ms)

    def sleep_until(self, start, period_ms):
        """Wait until ``period_ms`` (0..``MAX_MS``) after ``start`` (a ``ticks_ms()`` value);
        return at once if that is past. Returns the milliseconds waited."""
        left = time.ticks_diff(time.ticks_add(start, period_ms), self.ticks_ms())
        if left <= 0:
            return 0
        self.sleep_ms(left)
        return left


class ReplayClock:
    """A clock for replays at full speed: ``sleep_ms`` waits for nothing and moves the count of
    ``ticks_ms`` on instead, so an hour of once-a-minute measurements replays in moments with
    the timestamps it would have had. ``realtime=True`` also waits with ``time.sleep_ms``."""

    def __init__(self, realtime=False):
        self.realtime = realtime
        self.mode = "replay clock" + (" (real time)" if realtime else "")
        self.now = 0  # ms since the start
        self.slept_ms = 0

    def ticks_ms(self):
        """Milliseconds since the clock was made (an int that grows; no wrap below ``MAX_MS``)."""
        return self.now

    def sleep_ms(self, ms):
        """Let ``ms`` milliseconds (0..``MAX_MS``) pass on the counter (and the wall clock when
        ``realtime``)."""
        _check(ms)
        if self.realtime and ms:
            time.sleep_ms(ms)
        self.now += ms
        self.slept_ms += ms

    def wait_ms(self, ms):
        """As :meth:`sleep_ms`: a replay has nothing to keep awake."""
        self.sleep_ms(ms)

    def sleep_until(self, start, period_ms):
        """As :meth:`Clock.sleep_until`, on the counter."""
        left = start + period_ms - self.now
        if left <= 0:
            return 0
        self.sleep_ms(left)
        return left
