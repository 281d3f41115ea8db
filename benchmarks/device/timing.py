# Timing on MicroPython for the benchmarks: microseconds per call, best over rounds.
import gc
import time


def per_call(fn, args):
    """Microseconds per call of ``fn(*args)``, doubling the calls until they take >= 50 ms."""
    fn(*args)
    calls = 1
    while True:
        gc.collect()
        t0 = time.ticks_us()
        for _ in range(calls):
            fn(*args)
        dt = time.ticks_diff(time.ticks_us(), t0)
        if dt >= 50000:
            return dt / calls
        calls *= 2


def best(fn, args, rounds):
    """The fastest of ``rounds`` measurements of :func:`per_call`."""
    return min(per_call(fn, args) for _ in range(rounds))
