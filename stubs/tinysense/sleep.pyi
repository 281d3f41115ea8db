"""Sleeping between measurements: ``machine.lightsleep`` where the port has it, ``time.sleep_ms``
where it does not (the unix port), so one ``main.py`` runs on both; and a replay clock on which
time passes at once."""

HAVE_LIGHTSLEEP: bool
"""True when ``machine.lightsleep`` exists on this port."""
MODE: str
"""``"machine.lightsleep"`` or ``"time.sleep_ms"``: how :func:`sleep_ms` waits here."""
MIN_LIGHT_MS: int
"""Waits shorter than this (10 ms) use ``time.sleep_ms``."""
MAX_MS: int
"""The longest wait, 0x3FFFFFFF ms (about 12.4 days)."""

def sleep_ms(ms: int, light: bool = True) -> None:
    """Wait ``ms`` (0..``MAX_MS``) milliseconds, in light sleep when ``light``, the port has it and
    ``ms >= MIN_LIGHT_MS``; 0 returns at once. ``TypeError``/``ValueError`` for a bad ``ms``."""

class Clock:
    """The system clock (``time.ticks_ms``) with light sleep where the port has it."""

    light: bool
    """True when waits use ``machine.lightsleep``."""
    mode: str
    """How this clock waits, for a log line."""
    slept_ms: int
    """Total milliseconds asked for in waits."""

    def __init__(self, light: bool = True) -> None:
        """``light=False``: always ``time.sleep_ms``."""

    def ticks_ms(self) -> int:
        """``time.ticks_ms()``."""

    def sleep_ms(self, ms: int) -> None:
        """Wait ``ms`` milliseconds (0..``MAX_MS``)."""

    def wait_ms(self, ms: int) -> None:
        """Wait ``ms`` milliseconds awake (``time.sleep_ms``)."""

    def sleep_until(self, start: int, period_ms: int) -> int:
        """Wait until ``period_ms`` after ``start`` (a ``ticks_ms()`` value); return the ms waited
        (0 if that time is past)."""

class ReplayClock:
    """A clock on which ``sleep_ms`` moves a counter on at once (``realtime=True``: and waits)."""

    realtime: bool
    """Also wait on the wall clock."""
    mode: str
    """How this clock waits, for a log line."""
    now: int
    """Milliseconds since the clock was made."""
    slept_ms: int
    """Total milliseconds asked for in waits."""

    def __init__(self, realtime: bool = False) -> None:
        """A clock at 0 ms."""

    def ticks_ms(self) -> int:
        """Milliseconds since the clock was made."""

    def sleep_ms(self, ms: int) -> None:
        """Let ``ms`` milliseconds (0..``MAX_MS``) pass on the counter."""

    def wait_ms(self, ms: int) -> None:
        """As :meth:`sleep_ms`."""

    def sleep_until(self, start: int, period_ms: int) -> int:
        """Let time pass until ``start + period_ms``; return the ms that passed."""
