"""Real FFT on the MicroPython unix port: tinysense's fixed-point viper kernel against float FFTs.

    python benchmarks/bench_fft.py [--rounds 7]

Run with CPython, this script runs itself with the unix-port ``micropython`` twice (tinysense as
``.py`` sources and as the x64 ``.mpy`` build) and prints a markdown table: microseconds per
real FFT of 256, 512 and 1024 int16 samples, and the ratios. The references, written here, are
what a MicroPython user would write without tinysense: the same algorithm (an n/2-point
complex radix-2 FFT of the packed samples and a split pass, tables made once, ``array('f')``
buffers) in floating point, as plain Python and with ``@micropython.native``. Every
implementation is checked against the others before it is timed. Times are the best of
``--rounds`` rounds, each the mean over enough calls to last ~50 ms (the best, not the median,
because other processes on a busy PC only ever add time).
"""

import sys

SIZES = (256, 512, 1024)

# ---------------------------------------------------------------- the MicroPython side
FLOAT_FFT = """
def rfft_float(x, re, im, rev, cs, sn):
    # x: n samples; re, im: n/2 + 1 outputs (also the work buffers); rev, cs, sn: tables
    h = len(rev)
    for j in range(h):
        k = rev[j]
        re[j] = x[2 * k]
        im[j] = x[2 * k + 1]
    span = 1
    step = h
    while span < h:
        for j in range(span):
            c = cs[j * step]
            s = sn[j * step]
            for i in range(j, h, 2 * span):
                k = i + span
                tr = c * re[k] + s * im[k]
                ti = c * im[k] - s * re[k]
                re[k] = re[i] - tr
                im[k] = im[i] - ti
                re[i] += tr
                im[i] += ti
        span *= 2
        step //= 2
    a = re[0]
    b = im[0]
    re[0] = a + b
    im[0] = 0.0
    re[h] = a - b
    im[h] = 0.0
    im[h // 2] = -im[h // 2]
    for k in range(1, h // 2):
        ar, ai, br, bi = re[k], im[k], re[h - k], im[h - k]
        fr = ar + br
        fi = ai - bi
        gr = ar - br
        gi = ai + bi
        c = cs[k] * 0.5
        s = sn[k] * 0.5
        tr = s * gr - c * gi
        ti = s * gi + c * gr
        re[k] = fr * 0.5 - tr
        im[k] = fi * 0.5 - ti
        re[h - k] = fr * 0.5 + tr
        im[h - k] = -fi * 0.5 - ti
"""


def micropython_main(rounds):
    import array
    import math

    import micropython
    from tinysense import fft

    space = {}
    exec(FLOAT_FFT, space)
    plain = space["rfft_float"]
    exec("@micropython.native" + FLOAT_FFT, {"micropython": micropython}, space)
    native = space["rfft_float"]

    def tables(n):
        h = n // 2
        bits = 0
        while (1 << bits) < h:
            bits += 1
        rev = array.array("H", bytearray(2 * h))
        for j in range(h):
            for b in range(bits):
                rev[j] |= ((j >> b) & 1) << (bits - 1 - b)
        # cs, sn: cos, sin of 2*pi*k/n for k < n/2 (the complex stages use every other one)
        cs = array.array("f", [math.cos(2 * math.pi * k / n) for k in range(h)])
        sn = array.array("f", [math.sin(2 * math.pi * k / n) for k in range(h)])
        return rev, cs, sn

    from timing import best as best_of

    def best(fn, args):
        return best_of(fn, args, rounds)

    for n in SIZES:
        h = n // 2
        x = array.array("h", [int(20000 * math.sin(2 * math.pi * 37.3 * i / n) + 9000 * math.sin(1.7 * i)) for i in range(n)])
        xf = array.array("f", x)
        rev, cs, sn = tables(n)
        outs = []
        for fn in (plain, native):
            re = array.array("f", bytearray(4 * (h + 1)))
            im = array.array("f", bytearray(4 * (h + 1)))
            fn(xf, re, im, rev, cs, sn)
            outs.append((re, im))
        f = fft.RFFT(n)
        spec = array.array("h", bytearray(2 * n + 4))
        pw = array.array("i", bytearray(4 * (h + 1)))
        e = f.forward(x, spec)
        f.power(x, pw)
        # every implementation agrees with the others (float references to float rounding;
        # tinysense to its documented tolerance, -66 dB of the input level)
        lev = 29000 * h
        for re, im in outs:
            for k in range(h + 1):
                assert abs(re[k] - outs[0][0][k]) + abs(im[k] - outs[0][1][k]) < 1e-3 * lev
                err = math.sqrt((spec[2 * k] * 2.0 ** e - re[k]) ** 2 + (spec[2 * k + 1] * 2.0 ** e - im[k]) ** 2)
                assert err < 5e-4 * lev, (n, k, err)
        args = (xf, outs[0][0], outs[0][1], rev, cs, sn)
        t_plain = best(plain, args)
        t_native = best(native, args)
        t_fwd = best(f.forward, (x, spec))
        t_pow = best(f.power, (x, pw))
        print("@@ %d %.2f %.2f %.2f %.2f" % (n, t_fwd, t_pow, t_plain, t_native))


# ---------------------------------------------------------------- the host side
def host_main(argv=None):
    import argparse
    import tempfile
    from pathlib import Path

    from tinysense import build as tsbuild
    from tinysense import unixport
    from tinysense.paths import DEVICE_DIR

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds per implementation (the best is shown)")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        mpy = Path(tmp) / "mpy"
        tsbuild.build("x64", mpy)  # the whole library: a module list goes stale when imports change
        for variant, libdir in (("py", DEVICE_DIR), ("mpy", mpy)):
            timing = Path(__file__).parent / "device"  # timing.py, shared by the device-side benchmarks
            proc = unixport.run(Path(__file__), ["--micropython", str(args.rounds)],
                                libdirs=[libdir, timing], heapsize="8M", check=True)
            for line in proc.stdout.splitlines():
                if line.startswith("@@ "):
                    n, *times = line.split()[1:]
                    results[variant, int(n)] = [float(t) for t in times]
    print("Real FFT of int16 samples, MicroPython unix port (x64), µs per call (best of %d rounds)\n" % args.rounds)
    print("| n | tinysense forward (.py) | tinysense forward (.mpy) | tinysense power (.mpy) "
          "| plain Python float | `@micropython.native` float | plain / tinysense | native / tinysense |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in SIZES:
        fpy = results["py", n][0]
        fwd, pw, plain, native = results["mpy", n]
        print(f"| {n} | {fpy:.1f} | {fwd:.1f} | {pw:.1f} | {plain:.0f} | {native:.0f} | "
              f"{plain / fwd:.0f}x | {native / fwd:.0f}x |")
    return 0


if __name__ == "__main__":
    if sys.implementation.name == "micropython":
        micropython_main(int(sys.argv[sys.argv.index("--micropython") + 1]))
    else:
        sys.exit(host_main())
