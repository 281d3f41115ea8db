"""Motion windows on the MicroPython unix port: feature extraction and classification per window.

    python benchmarks/bench_motion.py [--rounds 3] [--readme README.md]

Run with CPython, this script prepares the data (features of the exercise recordings in
data/har_exercises with tinysense.features, a random forest trained on them and written with
tinysense.convert.save, k-NN samples), then runs itself with the unix-port ``micropython``
twice (tinysense as ``.py`` sources and as the x64 ``.mpy`` build) and prints markdown tables.

Windows of 3 axes: 25 samples (1 s at 25 Hz), 100 samples (1 s at 100 Hz) and 128 samples
(1.28 s at 100 Hz), the 56 default features (docs/features.md). The references, written here,
are what a MicroPython user would write without tinysense for the same features: the same
statistics in floating point with ``sorted()`` for the quantiles and a float radix-2 FFT for
the band energies (plain Python, and the same source with ``@micropython.native``); a forest
walked from Python lists; a k-NN that sorts the squared distances. Every reference is checked
against tinysense before it is timed. Times are the best of ``--rounds`` rounds, each the mean
over enough calls to last ~50 ms (``benchmarks/device/timing.py``).

The microcontroller estimate divides Cortex-M3 instruction counts of the same tinysense
extraction and forest (measured once on an emulator, ``M3_FEATURES`` below) by 240 instructions
per microsecond: a 240 MHz core at one instruction per cycle (ESP32-S3 class).
"""

import sys

SIZES = ((25, 25), (100, 100), (128, 100))  # (samples per window, rate in Hz)
N_WINDOWS = 6  # windows of each size timed (real recording windows, mixed activities)
KNN_SIZES = (100, 1000)
KNN_K = 5

# Cortex-M3 instructions per window (mean over this benchmark's windows, .mpy for armv7m):
# tinysense.features.Extractor.compute (3 axes, 56 features) and the forest's predict, counted
# instruction-exactly on an emulated Cortex-M3 (QEMU mps2-an385, MicroPython's qemu port) with
# the same code and data. Estimated microseconds on a microcontroller = instructions / MCU_MHZ,
# i.e. one instruction per cycle (an ESP32-S3-class 240 MHz core; flash-cache misses and the
# different instruction set are not modelled, so read it as +-50 %). Re-measure after changing
# the kernels.
M3_FEATURES = {25: 207_600, 100: 534_700, 128: 630_100}
M3_FOREST = {25: 6_000, 100: 5_700, 128: 5_800}
MCU_MHZ = 240

# ---------------------------------------------------------------- the MicroPython side
# Plain-Python features: the same 56 names in the same order (docs/features.md), in float.
PLAIN = """
def fft_float(re, im, rev, cs, sn):
    # in-place complex radix-2 FFT of len(re) points; rev: bit-reversal, cs/sn: cos/sin tables
    n = len(re)
    for i in range(n):
        j = rev[i]
        if j > i:
            re[i], re[j] = re[j], re[i]
            im[i], im[j] = im[j], im[i]
    span = 1
    step = n // 2
    while span < n:
        for j in range(span):
            c = cs[j * step]
            s = sn[j * step]
            for i in range(j, n, 2 * span):
                k = i + span
                tr = c * re[k] + s * im[k]
                ti = c * im[k] - s * re[k]
                re[k] = re[i] - tr
                im[k] = im[i] - ti
                re[i] += tr
                im[i] += ti
        span *= 2
        step //= 2


def signal_features(sig, n, out, k, re, im, tabs, bands):
    total = 0
    mn = sig[0]
    mx = sig[0]
    for v in sig:
        total += v
        if v < mn:
            mn = v
        if v > mx:
            mx = v
    mean = total / n
    ss = 0.0
    sq = 0
    cross = 0
    prev = sig[0] >= mean
    for v in sig:
        d = v - mean
        ss += d * d
        sq += v * v
        up = d >= 0
        if up != prev:
            cross += 1
        prev = up
    srt = sorted(sig)

    def q(p):
        pos = (n - 1) * p
        i = int(pos)
        j = i + 1 if i + 1 < n else i
        return srt[i] + (srt[j] - srt[i]) * (pos - i)

    med = q(0.5)
    q25 = q(0.25)
    q75 = q(0.75)
    out[k] = round(mean)
    out[k + 1] = min(32767, round(math.sqrt(ss / n)))
    out[k + 2] = mn
    out[k + 3] = mx
    out[k + 4] = round(med)
    out[k + 5] = round(q25)
    out[k + 6] = round(q75)
    out[k + 7] = min(32767, round(q75 - q25))
    out[k + 8] = min(32767, round(math.sqrt(sq / n)))
    out[k + 9] = round(cross * 1000 / (n - 1)) if n > 1 else 0
    nfft = len(re)
    m = round(mean)
    for i in range(nfft):
        re[i] = float((sig[i] - m) // 2) if i < n else 0.0
        im[i] = 0.0
    fft_float(re, im, tabs[0], tabs[1], tabs[2])
    for b in range(len(bands)):
        first, last = bands[b]
        e = 0.0
        for i in range(first, last):
            e += re[i] * re[i] + im[i] * im[i]
        out[k + 10 + b] = max(0, min(32767, int(16 * math.log(e) / math.log(2)))) if e >= 1 else 0


def features_plain(win, n, out, re, im, tabs, bands, mag):
    for s in range(3):
        signal_features(win[s * n:(s + 1) * n], n, out, 14 * s, re, im, tabs, bands)
    for i in range(n):
        x = win[i]
        y = win[n + i]
        z = win[2 * n + i]
        mag[i] = int(math.sqrt(x * x + y * y + z * z) / 2)
    signal_features(mag, n, out, 42, re, im, tabs, bands)


def forest_plain(forest, x):
    votes = None
    for feat, thr, left, right, value in forest:
        i = 0
        while left[i] >= 0:
            if x[feat[i]] <= thr[i]:
                i = left[i]
            else:
                i = right[i]
        p = value[i]
        if votes is None:
            votes = list(p)
        else:
            for c in range(len(p)):
                votes[c] += p[c]
    best = 0
    for c in range(len(votes)):
        if votes[c] > votes[best]:
            best = c
    return best


def knn_plain(samples, labels, x, k):
    dist = []
    nf = len(x)
    for j in range(len(samples)):
        s = samples[j]
        d = 0
        for f in range(nf):
            t = s[f] - x[f]
            d += t * t
        dist.append((d, j))
    dist.sort()
    votes = {}
    for d, j in dist[:k]:
        c = labels[j]
        votes[c] = votes.get(c, 0) + 1
    top = max(votes.values())
    return min(c for c in votes if votes[c] == top)
"""


def _natived(src):
    # the same source with every function compiled by the native emitter
    return src.replace("\ndef ", "\n@micropython.native\ndef ")


def micropython_main(rounds, data):
    import array
    import math

    import micropython
    from timing import best as best_of
    from tinysense import features, knn, trees

    space = {"math": math}
    exec(PLAIN, space)
    nspace = {"math": math, "micropython": micropython}
    exec(_natived(PLAIN), nspace)

    def best(fn, args):
        return best_of(fn, args, rounds)

    def read(name, typecode):
        with open(data + "/" + name, "rb") as f:
            return array.array(typecode, f.read())

    def tables(nfft):
        bits = 0
        while (1 << bits) < nfft:
            bits += 1
        rev = array.array("H", bytearray(2 * nfft))
        for j in range(nfft):
            for b in range(bits):
                rev[j] |= ((j >> b) & 1) << (bits - 1 - b)
        cs = array.array("f", [math.cos(2 * math.pi * k / nfft) for k in range(nfft // 2)])
        sn = array.array("f", [math.sin(2 * math.pi * k / nfft) for k in range(nfft // 2)])
        return rev, cs, sn

    for n, rate in SIZES:
        ex = features.Extractor(3, n, rate)
        nf = ex.n_features
        allw = read("win%d.h" % n, "h")
        wins = [allw[i * 3 * n:(i + 1) * 3 * n] for i in range(N_WINDOWS)]
        out = array.array("h", bytearray(2 * nf))
        ref = array.array("h", bytearray(2 * nf))
        nfft = ex.nfft
        re = array.array("f", bytearray(4 * nfft))
        im = array.array("f", bytearray(4 * nfft))
        tabs = tables(nfft)
        bands = []
        for lo, hi in features.DEFAULT_BANDS:
            first = max(1, -(-lo * nfft // rate))
            bands.append((first, max(first, min(nfft // 2 + 1, -(-hi * nfft // rate)))))
        mag = [0] * n
        # the references compute the same features: float rounding differs from the integer
        # definitions by a count or two (std, rms: up to 1 % + 2; bands: the 1/16-octave log is
        # 0..2.4 steps below 16 log2, float FFT vs fixed point)
        for w in wins:
            ex.compute(w, ref)
            for fn in (space["features_plain"], nspace["features_plain"]):
                fn(w, n, out, re, im, tabs, bands, mag)
                for j in range(nf):
                    name = ex.names[j]
                    d = abs(out[j] - ref[j])
                    if "_e" in name:
                        assert d <= 4 or ref[j] < 160, (n, name, out[j], ref[j])
                    else:
                        assert d <= 2 + abs(ref[j]) // 100, (n, name, out[j], ref[j])

        # each call gets the same buffers every time, as in an application's loop (tinysense
        # checks a buffer once and remembers it); the time is the mean over the windows
        def per_window(fn, argsets):
            return sum(best(fn, a) for a in argsets) / len(argsets)

        t_ts = per_window(ex.compute, [(w, ref) for w in wins])
        plain_args = [(w, n, out, re, im, tabs, bands, mag) for w in wins]
        t_plain = per_window(space["features_plain"], plain_args)
        t_native = per_window(nspace["features_plain"], plain_args)

        # random forest: tinysense file vs the same forest as Python lists
        model = trees.load(data + "/rf%d.tsm" % n)
        fspace = {}
        with open(data + "/rf%d.py" % n) as f:
            exec(f.read(), fspace)
        forest = fspace["FOREST"]
        feats = []
        for w in wins:
            x = array.array("h", bytearray(2 * nf))
            ex.compute(w, x)
            feats.append(x)
        for x in feats:
            assert model.predict(x) == space["forest_plain"](forest, x) == nspace["forest_plain"](forest, x)
        r_ts = per_window(model.predict, [(x,) for x in feats])
        r_plain = per_window(space["forest_plain"], [(forest, x) for x in feats])
        r_native = per_window(nspace["forest_plain"], [(forest, x) for x in feats])
        print("@@feat %d %.2f %.2f %.2f %.2f %.2f %.2f" % (n, t_ts, t_plain, t_native, r_ts, r_plain, r_native))

        # k-NN with 100 and 1000 stored samples
        samples = read("knn%d.h" % n, "h")
        labels = read("knn%d.lab" % n, "B")
        for size in KNN_SIZES:
            model = knn.KNN(nf, size, KNN_K)
            rows = []
            for i in range(size):
                x = samples[i * nf:(i + 1) * nf]
                model.add(x, labels[i])
                rows.append(list(x))
            labs = list(labels[:size])
            for x in feats:
                got = model.predict(x)
                assert got == space["knn_plain"](rows, labs, x, KNN_K) == nspace["knn_plain"](rows, labs, x, KNN_K)

            k_ts = per_window(model.predict, [(x,) for x in feats])
            k_plain = per_window(space["knn_plain"], [(rows, labs, x, KNN_K) for x in feats])
            k_native = per_window(nspace["knn_plain"], [(rows, labs, x, KNN_K) for x in feats])
            print("@@knn %d %d %.2f %.2f %.2f" % (n, size, k_ts, k_plain, k_native))


# ---------------------------------------------------------------- the host side
def prepare(out):
    """Write the windows, forests and k-NN samples the device side reads into ``out``."""
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    from tinysense import convert, features, har
    from tinysense.paths import ROOT

    ds = har.load(ROOT / "data" / "har_exercises")
    classes = ds.classes
    info = {}
    for n, rate in SIZES:
        layout = features.Layout(3, n, n // 2, rate, features.default_names(3))
        W = har.make_windows(ds, layout)
        y = np.array([classes.index(c) for c in W.y])
        rf = RandomForestClassifier(n_estimators=10, max_leaf_nodes=32, random_state=0, n_jobs=1).fit(W.X, y)
        convert.save(rf, out / f"rf{n}.tsm")
        trees = []
        for est in rf.estimators_:
            t = est.tree_
            value = t.value[:, 0, :] / t.value[:, 0, :].sum(axis=1, keepdims=True)
            full = np.zeros((t.node_count, len(classes)))
            full[:, est.classes_.astype(int)] = value
            trees.append((t.feature.tolist(), t.threshold.tolist(), t.children_left.tolist(),
                          t.children_right.tolist(), [list(map(float, v)) for v in full]))
        (out / f"rf{n}.py").write_text("FOREST = " + repr(trees) + "\n")
        # timed windows: N_WINDOWS from different recordings and activities, planar
        rng = np.random.default_rng(n)
        pick = rng.choice(len(W.y), N_WINDOWS, replace=False)
        wins = []
        for i in pick:
            rec = har.at_rate(ds.recordings[W.groups[i]], rate)
            s = int(W.start[i])
            wins.append(np.ascontiguousarray(rec[s:s + n].T))
        np.array(wins).astype("<i2").tofile(out / f"win{n}.h")
        order = rng.permutation(len(W.y))[:max(KNN_SIZES)]
        W.X[order].astype("<i2").tofile(out / f"knn{n}.h")
        y[order].astype(np.uint8).tofile(out / f"knn{n}.lab")
        info[n] = (len(W.y), len(ds.recordings), rf.score(W.X, y))
    return info


def host_main(argv=None):
    import argparse
    import tempfile
    from pathlib import Path

    from tinysense import build as tsbuild
    from tinysense import unixport
    from tinysense.paths import DEVICE_DIR

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds per implementation (the best is shown)")
    parser.add_argument("--readme", type=Path, help="replace the table between the README's "
                        "<!-- bench_motion --> and <!-- /bench_motion --> markers (if it has them)")
    args = parser.parse_args(argv)
    feat, kn = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        info = prepare(data)
        mpy = Path(tmp) / "mpy"
        tsbuild.build("x64", mpy)
        timing = Path(__file__).parent / "device"
        for variant, libdir in (("py", DEVICE_DIR), ("mpy", mpy)):
            proc = unixport.run(Path(__file__), ["--micropython", str(args.rounds), str(data)],
                                libdirs=[libdir, timing], heapsize="16M", check=True)
            for line in proc.stdout.splitlines():
                parts = line.split()
                if parts and parts[0] == "@@feat":
                    feat[variant, int(parts[1])] = [float(t) for t in parts[2:]]
                elif parts and parts[0] == "@@knn":
                    kn[variant, int(parts[1]), int(parts[2])] = [float(t) for t in parts[3:]]
    text = table(feat, kn, info, args.rounds)
    print(text)
    if args.readme:
        replace_in_readme(args.readme, text)
    return 0


def table(feat, kn, info, rounds):
    lines = [f"Motion windows (3 axes, 56 features), MicroPython unix port (x64), µs per window "
             f"(best of {rounds} rounds, mean over {N_WINDOWS} recording windows)", ""]
    lines += ["| window | tinysense features (.py) | tinysense features (.mpy) | plain Python | "
              "`@micropython.native` | plain / tinysense | native / tinysense | forest: tinysense | "
              "forest: plain | forest: native | features + forest, tinysense | share of the window |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, rate in SIZES:
        ts_py = feat["py", n][0]
        t, p, nat, r, rp, rn = feat["mpy", n]
        period = n / rate * 1e6
        lines.append(f"| {n} at {rate} Hz ({n / rate:g} s) | {ts_py:.0f} | {t:.0f} | {p:.0f} | {nat:.0f} | "
                     f"{p / t:.1f}x | {nat / t:.1f}x | {r:.1f} | {rp:.0f} | {rn:.0f} | {t + r:.0f} | "
                     f"{100 * (t + r) / period:.3f} % |")
    lines += ["", "k-NN predict (k = %d, 56 int16 features), µs per window" % KNN_K, "",
              "| window | stored samples | tinysense (.mpy) | plain Python | `@micropython.native` | "
              "plain / tinysense | native / tinysense |", "|---|---:|---:|---:|---:|---:|---:|"]
    for n, _ in SIZES:
        for size in KNN_SIZES:
            t, p, nat = kn["mpy", n, size]
            lines.append(f"| {n} | {size} | {t:.0f} | {p:.0f} | {nat:.0f} | {p / t:.0f}x | {nat / t:.0f}x |")
    lines += ["", f"Estimated on a {MCU_MHZ} MHz microcontroller (Cortex-M3 instruction counts / {MCU_MHZ} per µs), "
              "features + forest per window:", "",
              "| window | instructions | µs | share of the window | share with 50 % overlap | MCU / x64 time |",
              "|---|---:|---:|---:|---:|---:|"]
    for n, rate in SIZES:
        ins = M3_FEATURES[n] + M3_FOREST[n]
        us = ins / MCU_MHZ
        period = n / rate * 1e6
        x64 = feat["mpy", n][0] + feat["mpy", n][3]
        lines.append(f"| {n} at {rate} Hz | {ins:,} | {us:.0f} | {100 * us / period:.2f} % | "
                     f"{200 * us / period:.2f} % | {us / x64:.0f}x |")
    lines += ["", "Data: " + "; ".join(f"{n} samples: {w} windows of {r} recordings (forest training accuracy "
                                       f"{acc:.2f})" for n, (w, r, acc) in info.items())]
    return "\n".join(lines)


def replace_in_readme(path, text):
    start, end = "<!-- bench_motion -->", "<!-- /bench_motion -->"
    doc = path.read_text(encoding="utf-8")
    if start not in doc or end not in doc:
        print(f"{path}: no {start} ... {end} markers; the table was not inserted", file=sys.stderr)
        return
    head, rest = doc.split(start, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(head + start + "\n" + text + "\n" + end + tail, encoding="utf-8")


if __name__ == "__main__":
    if sys.implementation.name == "micropython":
        i = sys.argv.index("--micropython")
        micropython_main(int(sys.argv[i + 1]), sys.argv[i + 2])
    else:
        sys.exit(host_main())
