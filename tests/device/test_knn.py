# fixtures: knn
# k-NN on MicroPython against scikit-learn's answers (made by tests/fixtures/knn.py).
import array
import gc
import io
import tsenv
from tinysense import knn
from expect import expect_damaged_files_refused, expect_error

DIR = tsenv.FIXTURES + "/knn/"


def cases():
    with open(DIR + "cases.txt") as f:
        for line in f:
            name, n, nf, k, nc, ntr = line.split()
            yield name, int(n), int(nf), int(k), int(nc), int(ntr)


def read(name, ext, typecode):
    with open(DIR + name + "." + ext, "rb") as f:
        return array.array(typecode, f.read())


def row(X, k, nf, x):
    j = 0
    while j < nf:
        x[j] = X[k * nf + j]
        j += 1
    return x


def check(model, name, n, nf, k):
    # every test input: scikit-learn's label, and its k neighbours (by distance, then index)
    X = read(name, "x", "h")
    lab = read(name, "lab", "i")
    nb = read(name, "nb", "i")
    x = array.array("h", bytearray(2 * nf))
    got = array.array("i", bytearray(4 * k))
    for i in range(n):
        row(X, i, nf, x)
        assert model.predict(x) == model.classes[lab[i]], (name, i, model.predict(x), lab[i])
        model.neighbors(got)
        for j in range(k):
            assert got[j] == nb[i * k + j], (name, i, list(got), list(nb[i * k:i * k + k]))


def test_every_case_matches_sklearn():
    # Identical labels and neighbour sets on every test input: iris, wine, digits (two int16
    # scales), full-range random data, all-extreme data, 32767 features, crafted ties, 256 classes.
    count = 0
    for name, n, nf, k, nc, ntr in cases():
        model = knn.load(DIR + name + ".tsm")
        assert (model.n_features, model.k, len(model.classes), len(model)) == (nf, k, nc, ntr), name
        check(model, name, n, nf, k)
        count += 1
    assert count == 14, count


def test_learning_on_the_device_gives_the_same_model_and_file():
    # add() the training set in order: same predictions, and save() writes the converter's bytes
    for name, n, nf, k, nc, ntr in cases():
        if nf > 1000:
            continue
        ref = knn.load(DIR + name + ".tsm")
        m = knn.KNN(nf, ref.capacity, k)
        X = read(name, "xtr", "h")
        y = read(name, "ytr", "i")
        x = array.array("h", bytearray(2 * nf))
        for i in range(ntr):
            assert m.add(row(X, i, nf, x), ref.classes[y[i]]) == i
        assert m.classes == ref.classes and len(m) == ntr
        check(m, name, min(n, 60), nf, k)
        s = io.BytesIO()
        size = m.save(s)
        with open(DIR + name + ".tsm", "rb") as f:
            want = f.read()
        if name != "wine":  # the converter stores wine's float scaling too
            assert s.getvalue() == want and size == len(want), name


def test_removing_samples_leaves_sklearns_model_of_the_rest():
    # digits minus 200 training samples, removed on the device, equals scikit-learn fitted
    # without them: remove() keeps the order of the others
    m = knn.load(DIR + "digits.tsm")
    gone = read("digits_rm", "rm", "i")
    i = len(gone) - 1
    while i >= 0:
        m.remove(gone[i])
        i -= 1
    assert len(m) == 1257 - 200
    check(m, "digits_rm", 150, 64, 3)
    X = read("digits_rm", "xtr", "h")
    y = read("digits_rm", "ytr", "i")
    out = array.array("h", bytearray(128))
    for i in (0, 1, 500, len(m) - 1):
        assert m.sample(i, out) == y[i] and out == X[i * 64:i * 64 + 64], i


def test_labels_arrive_in_any_order():
    # the class table stays sorted (scikit-learn's vote tie rule); stored samples are renumbered
    m = knn.KNN(1, 10, 2)
    for v, lab in ((0, "walk"), (10, "run"), (20, "idle"), (30, "walk")):
        m.add(array.array("h", [v]), lab)
    assert m.classes == ("idle", "run", "walk")
    out = array.array("h", [0])
    assert [m.sample(i, out) for i in range(4)] == ["walk", "run", "idle", "walk"]
    assert m.predict(array.array("h", [5])) == "run"  # one vote each: the smaller label
    m = knn.KNN(1, 10, 2, classes=(5, 3))
    assert m.classes == (3, 5)
    m.add(array.array("h", [0]), 9)
    m.add(array.array("h", [1]), 5)
    assert m.predict(array.array("h", [0])) == 5  # a vote tie: 5 < 9
    m.clear()
    assert m.classes == (3, 5) and len(m) == 0


def test_distance_ties_follow_sklearns_heap():
    # k=1: the first of equally near samples wins
    m = knn.KNN(1, 8, 1)
    for v, lab in ((-2, 7), (2, 3), (2, 1)):
        m.add(array.array("h", [v]), lab)
    assert m.predict(array.array("h", [0])) == 7
    # k=3, samples -1, -1, 0, 0 around 0: scikit-learn keeps 1, 2, 3 (its heap evicts sample 0
    # when sample 2 arrives), where a stable sort would keep 0, 2, 3 and vote the other way
    m = knn.KNN(1, 8, 3)
    for v, lab in ((-1, 1), (-1, 2), (0, 2), (0, 1)):
        m.add(array.array("h", [v]), lab)
    assert m.predict(array.array("h", [0])) == 2
    nb = [0, 0, 0]
    assert m.neighbors(nb) == [2, 3, 1], nb
    # a vote tie goes to the smallest label, whatever the order of arrival
    m = knn.KNN(1, 8, 2)
    m.add(array.array("h", [-1]), "b")
    m.add(array.array("h", [1]), "a")
    assert m.predict(array.array("h", [0])) == "a"


def test_full_scale_distances_are_exact():
    # differences of 65535 (17 bits), squares of 2**32 - 2**17 + 1: nearer by one count wins
    m = knn.KNN(3, 4, 1)
    m.add(array.array("h", [-32768, -32768, -32768]), 0)
    m.add(array.array("h", [32767, 32767, 32766]), 1)
    assert m.predict(array.array("h", [32767, 32767, 32767])) == 1
    m.add(array.array("h", [32767, 32767, 32767]), 2)
    assert m.predict(array.array("h", [-32768, -32768, -32767])) == 0
    assert m.predict(array.array("h", [32767, 32767, 32767])) == 2
    # distances of 2 * 65535**2 (above 2**33) that differ by one: the nearer wins either way
    m = knn.KNN(3, 4, 1)
    m.add(array.array("h", [-32768, -32768, 1]), 6)
    m.add(array.array("h", [-32768, -32768, 0]), 5)
    assert m.predict(array.array("h", [32767, 32767, 0])) == 5
    assert m.predict(array.array("h", [32767, 32767, 1])) == 6
    # the kernel keeps a distance as H = D >> 16 and L = D & 0xFFFF, both below 2**31
    d = 2 * 65535 * 65535
    assert (m._w[8], m._w[9], m._w[10]) == (d >> 16, d & 0xFFFF, 0), list(m._w[8:11])
    m.remove(0)
    m.add(array.array("h", [-32768, -32768, 1]), 6)
    assert m.predict(array.array("h", [32767, 32767, 0])) == 5
    assert m.predict(array.array("h", [32767, 32767, 1])) == 6


def test_most_features_at_full_scale_are_exact():
    # the documented bound: 32767 features of differences 65535 (each half-sum <= 32767 * 65535,
    # just below 2**31); distances ~2**47 that differ by one count are told apart
    n = knn.MAX_FEATURES
    lo = array.array("h", [-32768] * n)
    hi = array.array("h", [32767] * n)
    m = knn.KNN(n, 2, 1)
    lo[n - 1] = 32766  # one count off in the last feature: distance D + 1
    m.add(lo, 1)
    lo[n - 1] = 32767  # D = (n - 1) * 65535**2
    m.add(lo, 2)
    assert m.predict(hi) == 2
    d = (n - 1) * 65535 * 65535
    assert (m._w[8], m._w[9]) == (d >> 16, d & 0xFFFF), list(m._w[8:10])
    hi[n - 1] = 32765  # now the first row is nearer: 1 against 4 in the last feature
    assert m.predict(hi) == 1
    m = knn.KNN(n, 2, 1)  # every feature at the far end: the largest distance, n * 65535**2
    hi[n - 1] = 32767
    m.add(hi, 3)
    lo[n - 1] = -32768
    assert m.predict(lo) == 3
    d = n * 65535 * 65535  # the largest distance there is
    assert (m._w[8], m._w[9]) == (d >> 16, d & 0xFFFF), list(m._w[8:10])
    m.add(lo, 4)
    assert m.predict(hi) == 3 and m.predict(lo) == 4
    assert m.predict(array.array("h", [0] * n)) == 3  # n * 32767**2 < n * 32768**2


def test_predict_and_add_allocate_nothing():
    m = knn.load(DIR + "digits.tsm", capacity=2000)
    x = array.array("h", range(64))
    m.predict(x)
    m.add(x, 3)
    gc.collect()
    before = gc.mem_alloc()
    i = 0
    while i < 100:
        m.predict(x)
        m.add(x, 3)
        i += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
    q = array.array("h", range(1, 65))  # learn from one buffer, query with another
    m.predict(q)
    gc.collect()
    before = gc.mem_alloc()
    i = 0
    while i < 100:
        m.add(x, 3)
        m.predict(q)
        i += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before
    y = array.array("h", [32767] * 64)  # the exact (wide) path too
    m.predict(y)
    gc.collect()
    before = gc.mem_alloc()
    i = 0
    while i < 100:
        m.predict(y)
        i += 1
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before


def test_remove_and_clear():
    m = knn.KNN(2, 5, 1)
    for i in range(5):
        m.add(array.array("h", [i * 100, -i]), i)
    expect_error(ValueError, m.add, array.array("h", [0, 0]), 1, words=("full", "5"))
    m.remove(0)
    assert len(m) == 4
    out = array.array("h", [0, 0])
    assert m.sample(0, out) == 1 and list(out) == [100, -1]
    assert m.predict(array.array("h", [0, 0])) == 1
    m.remove(3)
    assert [m.sample(i, out) for i in range(len(m))] == [1, 2, 3]
    m.add(array.array("h", [0, 0]), 0)
    assert m.predict(array.array("h", [0, 0])) == 0
    expect_error(ValueError, m.remove, 4, words=("out of range", "4"))
    expect_error(ValueError, m.remove, -1, words=("out of range",))
    m.clear()
    assert len(m) == 0
    expect_error(ValueError, m.predict, array.array("h", [0, 0]), words=("k=1", "0"))


def test_save_and_load_round_trip():
    m = knn.KNN(3, 10, 3)
    s = io.BytesIO()
    m.save(s)  # an empty model is a valid file
    e = knn.load(s.getvalue())
    assert len(e) == 0 and e.capacity == 10 and e.k == 3 and e.classes == ()
    for i in range(4):
        m.add(array.array("h", [i, -i, 32767 - i]), -5 if i & 1 else 70000)
    path = DIR + "saved.tsm"
    m.save(path)
    for cap in (None, 4, 50):
        b = knn.load(path, capacity=cap)
        assert b.capacity == (10 if cap is None else cap) and len(b) == 4 and b.classes == (-5, 70000)
        x = array.array("h", [2, -2, 32765])
        assert b.predict(x) == m.predict(x) == -5  # samples 1 and 3 (-5) against 2 (70000)
        if cap == 4:
            expect_error(ValueError, b.add, x, 1, words=("full",))
        else:
            b.add(x, -5)
    expect_error(ValueError, knn.load, path, 3, words=("capacity 3", "4 samples"))
    # saving again gives the same file; loaded at its exact size (no copy of the samples), the
    # same but for the capacity field (bytes 28..31) and the CRC
    with open(path, "rb") as f:
        raw = f.read()
    for cap, same in ((None, True), (4, False)):
        s = io.BytesIO()
        knn.load(raw, capacity=cap).save(s)
        new = s.getvalue()
        assert len(new) == len(raw) and new[:28] == raw[:28] and new[32:-4] == raw[32:-4]
        assert (new == raw) == same, cap


def test_quantize_then_predict_a_float_model():
    # wine: the file stores the uniform scaling; quantized float inputs give the host's labels
    m = knn.load(DIR + "wine.tsm")
    XF = read("wine", "xf", "f")
    X = read("wine", "x", "h")
    lab = read("wine", "lab", "i")
    xf = array.array("f", bytearray(52))
    x = array.array("h", bytearray(26))
    wrong = 0
    for i in range(len(lab)):
        for j in range(13):
            xf[j] = XF[i * 13 + j]
        m.quantize(xf, x)
        for j in range(13):
            # float32 on the host, double on this port: a rounding boundary may differ by one
            assert abs(x[j] - X[i * 13 + j]) <= 1, (i, j, x[j], X[i * 13 + j])
        wrong += m.predict(x) != m.classes[lab[i]]
    assert wrong <= 1, wrong
    # clipping and rounding at the edges: half away from zero, +-inf clip like any large value
    m = knn.KNN(5, 2, 1)
    x = array.array("h", bytearray(10))
    inf = float("inf")
    assert list(m.quantize([inf, -inf, 32766.5, -32767.5, -2.5], x)) == [32767, -32768, 32767, -32768, -3]
    assert list(m.quantize([1e30, -1e30, 32766.49, -32767.49, 2.5], x)) == [32767, -32768, 32766, -32767, 3]
    expect_error(ValueError, m.quantize, [0.0, float("nan"), 0.0, 0.0, 0.0], x, words=("xf[1]", "NaN"))


def test_bad_inputs_raise_clear_errors():
    expect_error(ValueError, knn.KNN, 0, 10, words=("n_features",))
    expect_error(ValueError, knn.KNN, 32768, 10, words=("n_features", "32767"))
    expect_error(ValueError, knn.KNN, 4, 0, words=("capacity",))
    expect_error(ValueError, knn.KNN, 4, 10, 0, words=("k",))
    expect_error(ValueError, knn.KNN, 4, 10, 256, words=("k", "255"))
    expect_error(ValueError, knn.KNN, 4, 2, 3, words=("k=3", "capacity"))
    expect_error(TypeError, knn.KNN, 4, 10, 3, [1, "a"], words=("int",))
    expect_error(MemoryError, knn.KNN, 32767, 30000, words=("1966050000 bytes",))
    m = knn.KNN(4, 300, 3)
    x = array.array("h", [0] * 4)
    expect_error(TypeError, m.add, [0] * 4, 1, words=("array",))
    expect_error(ValueError, m.add, array.array("h", [0] * 3), 1, words=("3", "4"))
    for tc in "bBHiIf":
        expect_error(TypeError, m.add, array.array(tc, [0] * 4), 1, words=("'h'",))
        expect_error(TypeError, m.predict, array.array(tc, [0] * 4), words=("'h'",))
    expect_error(TypeError, m.add, x, 1.5, words=("int or a str",))
    expect_error(ValueError, m.add, x, 2**31, words=("int32",))
    # a newline would split the label in two in the file (saved, then refused at load)
    expect_error(ValueError, knn.KNN(4, 2, 1).add, x, "walk\nrun", words=("newline",))
    m.add(x, 1)
    expect_error(TypeError, m.add, x, "one", words=("ints",))
    expect_error(ValueError, m.predict, x, words=("k=3", "holds 1"))
    for c in range(2, 257):
        m.add(x, c)
    expect_error(ValueError, m.add, x, 999, words=("256 classes",))
    expect_error(ValueError, m.predict, array.array("h", [0] * 5), words=("5", "4"))
    expect_error(ValueError, m.neighbors, [0] * 2, words=("k=3",))
    expect_error(ValueError, m.sample, 300, x, words=("out of range",))
    expect_error(ValueError, m.quantize, [0.0] * 3, x, words=("3",))
    expect_error(TypeError, m.save, 42, words=("path",))
    expect_error(TypeError, knn.load, [1, 2], words=("path", "list"))
    expect_error(OSError, knn.load, DIR + "no_such_file.tsm")


def good_bytes():
    with open(DIR + "iris.tsm", "rb") as f:
        return bytearray(f.read())


def load_bytes(data):
    return knn.load(io.BytesIO(bytes(data)))


def test_corrupt_files_raise_value_error():
    good = good_bytes()
    expect_damaged_files_refused(good, load_bytes, 1, ("kind 1", "k-NN"), cuts=(30, 36, 40, 100),
                                 flips=(40, 100, 700))
    bad = bytearray(good)
    bad[4] = 9
    expect_error(ValueError, load_bytes, bad, words=("version 9",))
    bad = bytearray(good)
    bad[100] ^= 1  # inside the data: only the CRC can tell
    expect_error(ValueError, load_bytes, bad, words=("CRC",))
    expect_error(ValueError, load_bytes, good + b"xxxx", words=("unexpected",))
    # a damaged capacity field (header word 4) must meet the CRC before any room is allocated
    for cap in (0x10000000, 0x01000000):
        bad = bytearray(good)
        bad[28:32] = cap.to_bytes(4, "little")
        expect_error(ValueError, load_bytes, bad, words=("CRC",))


def crafted(fields, sections):
    s = io.BytesIO()
    knn._write(s, 2, fields, sections)
    return s.getvalue()


def test_crafted_files_with_valid_crc_are_refused():
    # a writer bug or a hostile file must not reach the kernel
    d = array.array("h", [1, 2, 3, 4])
    ok = [(b"data", b"h", d, 4), (b"cidx", b"B", bytes([0, 1]), 2), (b"labl", b"i", array.array("i", [4, 8]), 2)]
    m = knn.load(crafted((2, 2, 1, 2, 2, 0), ok))
    assert m.predict(array.array("h", [3, 4])) == 8
    for fields, secs, words in (
        ((2, 2, 1, 2, 2), ok, ("6",)),
        ((0, 2, 1, 2, 2, 0), ok, ("out of range",)),
        ((2, 2, 0, 2, 2, 0), ok, ("out of range",)),
        ((2, 3, 1, 2, 2, 0), ok, ("out of range",)),  # more samples than capacity
        ((2, 2, 1, 2, 2, 8), ok, ("out of range",)),  # unknown flag
        ((2, 2, 1, 2, 2, 0), ok[:1] + [(b"cidx", b"B", bytes([0, 2]), 2)] + ok[2:], ("class 2 of 2",)),
        ((2, 2, 1, 2, 2, 0), ok[:2] + [(b"labl", b"i", array.array("i", [8, 4]), 2)], ("sorted",)),
        ((2, 2, 1, 3, 2, 0), ok, ("2 class labels for 3",)),
        ((2, 2, 1, 2, 2, 0), [(b"data", b"h", array.array("h", [1, 2, 3]), 3)] + ok[1:], ("'data'", "3")),
        ((2, 2, 1, 2, 2, 0), [(b"data", b"i", array.array("i", [1, 2, 3, 4]), 4)] + ok[1:], ("'data'",)),
        ((2, 2, 1, 2, 2, 0), ok[1:], ("expected section 'data'",)),
        ((2, 2, 1, 2, 2, 2), ok, ("'scal'",)),  # scaling flagged, section missing
    ):
        expect_error(ValueError, knn.load, crafted(fields, secs), words=words)


def test_a_single_class_named_empty_loads():
    # its name section is empty: still one class, not none
    m = knn.KNN(2, 3, 1)
    m.add(array.array("h", [1, 2]), "")
    f = io.BytesIO()
    m.save(f)
    m2 = knn.load(f.getvalue())
    assert m2.classes == ("",) and m2.predict(array.array("h", [0, 0])) == ""


def test_k_more_than_stored_samples():
    # a file may hold fewer samples than k (saved while learning): loading works, predict refuses
    m = knn.KNN(2, 10, 5)
    m.add(array.array("h", [1, 1]), 0)
    s = io.BytesIO()
    m.save(s)
    b = knn.load(s.getvalue())
    expect_error(ValueError, b.predict, array.array("h", [1, 1]), words=("k=5", "holds 1"))


def test_plain_python_twin_gives_the_same_results():
    # ports without the native emitters run the plain-Python twins: same integers, same labels
    for name in ("iris", "fullrange", "extremes", "ties_k4", "ties_k6"):
        m = knn.load(DIR + name + ".tsm")
        nf = m.n_features
        X = read(name, "x", "h")
        x = array.array("h", bytearray(2 * nf))
        for i in range(min(25, len(X) // nf)):
            row(X, i, nf, x)
            v = m.predict(x)
            heap = list(m._w)
            c = knn._nearest_py(m._data, x, m._w, m._labels)
            assert m.classes[c] == v, (name, i)
            assert list(m._w)[8:8 + 3 * m.k] == heap[8:8 + 3 * m.k], (name, i)
    a = knn.KNN(3, 4, 1)
    b = bytearray(24)
    w = array.array("i", a._w)
    knn._copy_py(b, 3, array.array("h", [-32768, 5, 32767]), 0, 3, w)
    assert array.array("h", b)[3:6] == array.array("h", [-32768, 5, 32767])
    assert (w[3], w[4]) == (0, 0xFFFF)
    t = bytearray([1, 2, 3, 4])
    knn._shift8_py(t, 1, 4)
    assert t == bytearray([1, 3, 4, 4])
