# tinysense.sleep: time.sleep_ms on the unix port, machine.lightsleep where a port has it (a fake
# machine module here), never lightsleep() without an argument, and the replay clock.
import sys
import time
from tinysense import sleep
from expect import expect_error as raises


def test_unix_port_falls_back_to_sleep_ms():
    assert not sleep.HAVE_LIGHTSLEEP and sleep.MODE == "time.sleep_ms"
    c = sleep.Clock()
    assert c.mode == "time.sleep_ms" and not c.light
    t0 = time.ticks_ms()
    c.sleep_ms(30)
    c.wait_ms(0)
    took = time.ticks_diff(time.ticks_ms(), t0)
    assert 25 <= took < 1000, took
    assert c.slept_ms == 30


def test_sleep_until_keeps_the_period():
    c = sleep.Clock()
    t0 = c.ticks_ms()
    time.sleep_ms(20)  # "measuring"
    waited = c.sleep_until(t0, 60)
    assert 20 <= waited <= 41, waited
    assert time.ticks_diff(c.ticks_ms(), t0) >= 58
    assert c.sleep_until(t0, 10) == 0  # already past: no wait


def test_bad_waits():
    raises(ValueError, sleep.sleep_ms, -1, words=("0..",))
    raises(ValueError, sleep.sleep_ms, sleep.MAX_MS + 1)
    raises(TypeError, sleep.sleep_ms, 1.5, words=("int",))
    raises(ValueError, sleep.ReplayClock().sleep_ms, -5)


def test_lightsleep_where_the_port_has_it():
    calls = []

    class FakeMachine:
        @staticmethod
        def lightsleep(*args):
            calls.append(args)

    keep = sys.modules.get("machine")
    sys.modules["machine"] = FakeMachine
    sys.modules.pop("tinysense.sleep", None)
    try:
        import tinysense.sleep as s2
    finally:
        if keep is None:
            del sys.modules["machine"]
        else:
            sys.modules["machine"] = keep
        sys.modules.pop("tinysense.sleep", None)
    assert s2.HAVE_LIGHTSLEEP and s2.MODE == "machine.lightsleep"
    c = s2.Clock()
    assert c.light and c.mode == "machine.lightsleep"
    c.sleep_ms(5000)
    c.sleep_ms(0)  # never lightsleep(): that would sleep until an interrupt
    c.sleep_ms(3)  # short: time.sleep_ms
    c.wait_ms(20)  # awake on purpose
    s2.sleep_ms(100, light=False)
    assert calls == [(5000,)], calls
    assert not s2.Clock(light=False).light


def test_replay_clock_moves_on_without_waiting():
    c = sleep.ReplayClock()
    t0 = time.ticks_ms()
    start = c.ticks_ms()
    for _ in range(1000):
        c.wait_ms(160)
        c.sleep_until(c.ticks_ms() - 160, 60000)
    assert c.ticks_ms() - start == 1000 * 60000
    assert time.ticks_diff(time.ticks_ms(), t0) < 1000
    assert c.sleep_until(0, 10) == 0
    assert c.mode == "replay clock"
