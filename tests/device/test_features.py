# fixtures: motion
# tinysense.features against the host reference (tinysense.features, numpy) on every window of
# every readable exercise recording and on worst-case synthetic windows (tests/fixtures/motion.py).
# Tolerance 0: every feature is defined in integers and the host mirrors the device FFT bit for
# bit (docs/features.md), so any difference at all is a bug (the contract allows 1 count).
import array
import gc
import tsenv
from tinysense import features, window
from expect import expect_error as raises

DIR = tsenv.FIXTURES + "/motion/"


def read_h(name):
    with open(DIR + name, "rb") as f:
        return array.array("h", f.read())


def lines(name):
    with open(DIR + name) as f:
        return [line.split() for line in f if line.strip()]


def run_recording(ex, w, rec, ref, seed):
    # push rec (interleaved) through w in pseudo-random blocks, compute every window; returns
    # (windows, worst |device - host|)
    out = array.array("h", bytearray(2 * ex.n_features))
    win = array.array("h", bytearray(2 * ex.channels * ex.length))
    nf = ex.n_features
    frames = len(rec) // 3
    i = 0
    k = 0
    worst = 0
    s = seed
    while i < frames:
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF
        n = min((s >> 16) % 80 + 1, frames - i)
        j = 0
        while j < n:
            j += w.push(rec, n - j, i + j)
            while w.pop(win):
                ex.compute(win, out)
                for f in range(nf):
                    d = abs(out[f] - ref[k * nf + f])
                    if d > worst:
                        worst = d
                        assert d == 0, (k, ex.names[f], out[f], ref[k * nf + f])
                k += 1
        i += n
    return k, worst


def test_every_recording_window_matches_the_host():
    recs = lines("recordings.txt")
    assert len(recs) >= 100, len(recs)  # 134 files, one empty
    for tag, ch, ln, hop, rate, nf in lines("layouts.txt"):
        ex = features.load(DIR + tag + ".tsm")
        assert (ex.channels, ex.length, ex.hop, ex.rate, ex.n_features) == (int(ch), int(ln), int(hop), int(rate), int(nf))
        total = 0
        for idx, rows in recs:
            rec = read_h("rec%s.h" % idx)
            assert len(rec) == 3 * int(rows)
            ref = read_h("%s_%s.f" % (tag, idx))
            w = window.Window(ex.channels, ex.length, ex.hop)
            k, worst = run_recording(ex, w, rec, ref, int(idx) + 1)
            assert k * ex.n_features == len(ref), (tag, idx, k)
            assert worst == 0
            total += k
        assert total > 1000, (tag, total)


def test_worst_case_windows_match_the_host():
    count = 0
    for name, ch, ln, rate, k in lines("cases.txt"):
        ch, ln, rate, k = int(ch), int(ln), int(rate), int(k)
        ex = features.Extractor(ch, ln, rate)
        w = read_h(name + ".w")
        ref = read_h(name + ".f")
        nf = ex.n_features
        out = array.array("h", bytearray(2 * nf))
        win = array.array("h", bytearray(2 * ch * ln))
        for i in range(k):
            for j in range(ch * ln):
                win[j] = w[i * ch * ln + j]
            ex.compute(win, out)
            for f in range(nf):
                assert out[f] == ref[i * nf + f], (name, i, ex.names[f], out[f], ref[i * nf + f])
            count += 1
    assert count >= 80, count


def test_known_values():
    ex = features.Extractor(3, 1024, 100)
    win = array.array("h", bytearray(2 * 3 * 1024))
    for i in range(3 * 1024):
        win[i] = 32767
    out = array.array("h", bytearray(2 * ex.n_features))
    ex.compute(win, out)
    f = dict(zip(ex.names, out))
    assert f["x_mean"] == 32767 and f["x_std"] == 0 and f["x_min"] == 32767 and f["x_median"] == 32767
    assert f["x_iqr"] == 0 and f["x_mcr"] == 0 and f["x_e1_3"] == 0
    assert f["x_rms"] == 32767  # isqrt(32767**2) in steps of 2**k: saturates at 32767
    assert f["mag_mean"] == 28377  # floor(sqrt(3) * 32767 / 2)
    for i in range(3 * 1024):
        win[i] = 32767 if i & 1 else -32768
    ex.compute(win, out)
    f = dict(zip(ex.names, out))
    assert f["x_mean"] == 0 and f["x_mcr"] == 1000 and f["x_iqr"] == 32767  # 65535 saturated
    assert f["x_std"] == 32767 and f["x_min"] == -32768 and f["x_max"] == 32767


def test_layout_file_with_a_subset_of_features():
    ex = features.load(DIR + "subset.tsm")
    assert ex.names == lines("subset.txt")[0]
    assert (ex.channels, ex.length, ex.hop, ex.rate, ex.n_features) == (3, 50, 25, 50, 7)
    with open(DIR + "subset.tsm", "rb") as f:
        assert features.load(f).names == ex.names  # a stream
        f.seek(0)
        assert features.load(f.read()).names == ex.names  # bytes
    rec = read_h("rec0.h")
    ref = read_h("subset_0.f")
    k, worst = run_recording(ex, window.Window(3, 50, 25), rec, ref, 9)
    assert k * 7 == len(ref) and worst == 0


def test_compute_allocates_nothing():
    for ln, rate in ((128, 100), (25, 25), (1024, 100)):
        ex = features.Extractor(3, ln, rate)
        win = array.array("h", [(i * 2654435761) % 65536 - 32768 for i in range(3 * ln)])
        out = array.array("h", bytearray(2 * ex.n_features))
        ex.compute(win, out)
        gc.collect()
        before = gc.mem_alloc()
        for _ in range(5):
            ex.compute(win, out)
        assert gc.mem_alloc() - before == 0, (ln, gc.mem_alloc() - before)
        # two windows and two outs in turn: each buffer is checked once
        win2 = array.array("h", win)
        out2 = array.array("h", bytearray(2 * ex.n_features))
        ex.compute(win2, out2)
        gc.collect()
        before = gc.mem_alloc()
        for _ in range(3):
            ex.compute(win, out)
            ex.compute(win2, out2)
        assert gc.mem_alloc() - before == 0, (ln, gc.mem_alloc() - before)
        assert out == out2


def test_bad_parameters_and_names():
    raises(ValueError, features.Extractor, 0, 128, 100, words=("channels", "1..6"))
    raises(ValueError, features.Extractor, 7, 128, 100, words=("channels",))
    raises(ValueError, features.Extractor, 3, 0, 100, words=("length", "1..1024"))
    raises(ValueError, features.Extractor, 3, 1025, 100, words=("length",))
    raises(ValueError, features.Extractor, 3, 128, 0, words=("rate",))
    raises(ValueError, features.Extractor, 3, 128, 100, None, 0, words=("hop",))
    raises(TypeError, features.Extractor, 3, 128.0, 100, words=("length", "int"))
    raises(ValueError, features.Extractor, 3, 128, 100, ["x_mean", "x_kurtosis"], words=("kurtosis", "mean"))
    raises(ValueError, features.Extractor, 2, 128, 100, ["mag_mean"], words=("mag", "2 channels", "x y"))
    raises(ValueError, features.Extractor, 3, 128, 100, ["w_mean"], words=("w",))
    raises(ValueError, features.Extractor, 3, 128, 100, ["xmean"], words=("<signal>_<feature>",))
    raises(ValueError, features.Extractor, 3, 128, 100, ["x_e3_1"], words=("e<lo>_<hi>",))
    raises(ValueError, features.Extractor, 3, 128, 100, ["x_mean", "y_max", "x_mean"], words=("twice",))
    raises(TypeError, features.Extractor, 3, 128, 100, [], words=("names",))
    raises(TypeError, features.Extractor, 3, 128, 100, "x_mean", words=("names",))


def test_bad_buffers():
    ex = features.Extractor(3, 32, 25)
    out = array.array("h", bytearray(2 * ex.n_features))
    raises(TypeError, ex.compute, array.array("h", bytearray(2 * 95)), out, words=("window", "96"))
    raises(TypeError, ex.compute, array.array("i", [0] * 96), out, words=("array('h')",))
    raises(TypeError, ex.compute, bytearray(192), out, words=("window",))
    win = array.array("h", bytearray(2 * 96))
    raises(TypeError, ex.compute, win, array.array("h", bytearray(2 * 55)), words=("out", "56"))
    raises(TypeError, ex.compute, win, array.array("b", bytearray(56)), words=("out",))


def test_bad_layout_files():
    raises(ValueError, features.load, DIR + "future.tsm", words=("version 2",))
    raises(ValueError, features.load, DIR + "miscount.tsm", words=("2 features", "says 3"))
    raises(ValueError, features.load, DIR + "badname.tsm", words=("kurtosis",))
    with open(DIR + "w128.tsm", "rb") as f:
        data = f.read()
    raises(ValueError, features.load, data[:len(data) - 9], words=("truncated",))
    bad = bytearray(data)
    bad[-6] ^= 1
    raises(ValueError, features.load, bytes(bad), words=("CRC",))
    raises(ValueError, features.load, b"XXXX" + data[4:], words=("not a tinysense model file",))
    with open(DIR + "rec0.h", "rb") as f:
        raises(ValueError, features.load, f, words=("not a tinysense model file",))
