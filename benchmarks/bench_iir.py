"""A-weighting IIR on the MicroPython unix port: tinysense's fixed-point viper kernel against a float biquad cascade.

    python benchmarks/bench_iir.py [--rounds 7]

Run with CPython, this script designs the A-weighting filter at 16 kHz (``tinysense design``),
then runs itself with the unix-port ``micropython`` twice (tinysense as ``.py`` sources and as
the x64 ``.mpy`` build) and prints a markdown table: microseconds per 2000-sample block (125 ms
at 16 kHz) and the ratios. The reference is what the talk's noise monitor does without
tinysense: the same three sections in float (transposed direct form II, ``array('f')``
coefficients and state), as plain Python and with ``@micropython.native``. The outputs are
checked against each other before timing. Times are the best of ``--rounds`` rounds, each the
mean over enough calls to last ~50 ms.
"""

import sys

BLOCK = 2000

# ---------------------------------------------------------------- the MicroPython side
FLOAT_SOS = """
def sosfilt_float(sos, zi, x, y):
    # sos: 6 floats per section (b0 b1 b2 1 a1 a2); zi: 2 floats per section; x, y: array('h')
    ns = len(sos) // 6
    for i in range(len(x)):
        v = float(x[i])
        for s in range(ns):
            k = 6 * s
            j = 2 * s
            out = sos[k] * v + zi[j]
            zi[j] = sos[k + 1] * v - sos[k + 4] * out + zi[j + 1]
            zi[j + 1] = sos[k + 2] * v - sos[k + 5] * out
            v = out
        v = int(v + 0.5) if v >= 0 else -int(0.5 - v)
        y[i] = 32767 if v > 32767 else (-32768 if v < -32768 else v)
"""


def micropython_main(rounds, path):
    import array
    import math

    import micropython
    from tinysense import iir

    space = {}
    exec(FLOAT_SOS, space)
    plain = space["sosfilt_float"]
    exec("@micropython.native" + FLOAT_SOS, {"micropython": micropython}, space)
    native = space["sosfilt_float"]

    from timing import best as best_of

    def best(fn, args):
        return best_of(fn, args, rounds)

    f = iir.load(path)
    sos = f.sos
    zi = array.array("f", bytearray(8 * f.n_sections))
    x = array.array("h", [int(8000 * math.sin(2 * math.pi * 1000 * i / 16000) + 3000 * math.sin(0.05 * i))
                          for i in range(BLOCK)])
    ys = [array.array("h", bytearray(2 * BLOCK)) for _ in range(3)]
    # from the same (zero) state, the three agree to float32's rounding (a few LSB)
    plain(sos, zi, x, ys[0])
    for j in range(len(zi)):
        zi[j] = 0.0
    native(sos, zi, x, ys[1])
    f.process(x, ys[2])
    for i in range(BLOCK):
        assert abs(ys[0][i] - ys[1][i]) <= 1 and abs(ys[2][i] - ys[1][i]) <= 4, (i, ys[0][i], ys[1][i], ys[2][i])
    t_ts = best(f.process, (x, ys[2]))
    wide = array.array("i", bytearray(4 * BLOCK))
    t_wide = best(f.process, (x, wide))
    t_plain = best(plain, (sos, zi, x, ys[0]))
    t_native = best(native, (sos, zi, x, ys[1]))
    print("@@ %.2f %.2f %.2f %.2f" % (t_ts, t_wide, t_plain, t_native))


# ---------------------------------------------------------------- the host side
def host_main(argv=None):
    import argparse
    import tempfile
    from pathlib import Path

    from tinysense import build as tsbuild
    from tinysense import unixport
    from tinysense.design import sos as S
    from tinysense.design import weighting as W
    from tinysense.paths import DEVICE_DIR

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds per implementation (the best is shown)")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "aweight16k.tsm"
        S.save(W.design("A", 16000), path, name="A-weighting", fs=16000)
        mpy = Path(tmp) / "mpy"
        tsbuild.build("x64", mpy)  # the whole library: a module list goes stale when imports change
        for variant, libdir in (("py", DEVICE_DIR), ("mpy", mpy)):
            timing = Path(__file__).parent / "device"  # timing.py, shared by the device-side benchmarks
            proc = unixport.run(Path(__file__), ["--micropython", str(args.rounds), str(path)],
                                libdirs=[libdir, timing], heapsize="8M", check=True)
            for line in proc.stdout.splitlines():
                if line.startswith("@@ "):
                    results[variant] = [float(t) for t in line.split()[1:]]
    print(f"A-weighting at 16 kHz (3 sections), MicroPython unix port (x64), µs per {BLOCK}-sample block "
          f"(best of {args.rounds} rounds)\n")
    print("| tinysense (.py) | tinysense (.mpy) | tinysense, int32 out (.mpy) | plain Python float "
          "| `@micropython.native` float | plain / tinysense | native / tinysense |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    py = results["py"][0]
    ts, wide, plain, native = results["mpy"]
    print(f"| {py:.0f} | {ts:.0f} | {wide:.0f} | {plain:.0f} | {native:.0f} | {plain / ts:.0f}x | {native / ts:.0f}x |")
    return 0


if __name__ == "__main__":
    if sys.implementation.name == "micropython":
        i = sys.argv.index("--micropython")
        micropython_main(int(sys.argv[i + 1]), sys.argv[i + 2])
    else:
        sys.exit(host_main())
