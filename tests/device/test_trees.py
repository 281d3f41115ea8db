# fixtures: trees
# Tree ensembles on MicroPython against scikit-learn's answers (made by tests/fixtures/trees.py).
import array
import gc
import io
import tsenv
from tinysense import trees
from expect import expect_damaged_files_refused, expect_error

DIR = tsenv.FIXTURES + "/trees/"


def cases():
    with open(DIR + "cases.txt") as f:
        for line in f:
            name, kind, n, nf, nout, tol = line.split()
            yield name, kind, int(n), int(nf), int(nout), float(tol)


def read(name, ext, typecode):
    with open(DIR + name + "." + ext, "rb") as f:
        return array.array(typecode, f.read())


def check_case(name, kind, n, nf, nout, tol):
    model = trees.load(DIR + name + ".tsm")
    assert model.n_features == nf, (name, model.n_features)
    X = read(name, "x", "h")
    x = array.array("h", bytearray(2 * nf))
    if kind == "reg":
        want = read(name, "val", "f")
        for k in range(n):
            for j in range(nf):
                x[j] = X[k * nf + j]
            got = model.predict(x)
            assert abs(got - want[k]) <= tol, (name, k, got, want[k], tol)
        return
    labels = read(name, "lab", "i")
    prob = read(name, "prob", "f")
    out = array.array("f", bytearray(4 * nout))
    assert model.n_classes == nout
    mismatches = 0
    if kind == "fclf":
        XF = read(name, "xf", "f")
        xf = array.array("f", bytearray(4 * nf))
    for k in range(n):
        if kind == "fclf":
            for j in range(nf):
                xf[j] = XF[k * nf + j]
            model.quantize(xf, x)
            for j in range(nf):
                # The host's Int16Scaler rounds in float32; this port computes in double and
                # MCUs in float32, so a value on a rounding boundary may differ by one count.
                assert abs(x[j] - X[k * nf + j]) <= 1, (name, k, j, x[j], X[k * nf + j])
            idx = model.predict_proba(x, out)
            if idx != labels[k]:
                mismatches += 1
            continue
        for j in range(nf):
            x[j] = X[k * nf + j]
        idx = model.predict_proba(x, out)
        assert idx == labels[k], (name, k, idx, labels[k])
        assert model.predict(x) == model.classes[labels[k]]
        for c in range(nout):
            assert abs(out[c] - prob[k * nout + c]) <= tol, (name, k, c, out[c], prob[k * nout + c])
    return mismatches


def test_every_case_matches_sklearn():
    # Labels: identical to sklearn's predict on every test sample. Probabilities: within 1e-3
    # (leaf weights carry >= 11 bits, so the mean's error is <= 2**-12). Regression: within half
    # a leaf-code step plus float rounding (tolerance written by the fixture builder).
    count = 0
    for case in cases():
        if case[0] != "deep200":
            mismatches = check_case(*case)
            if case[1] == "fclf":
                print(case[0], "float model: labels differing from sklearn:", mismatches, "of", case[2])
                # A float model's label can only differ where a feature lies within one
                # quantization step (1/65536 of twice its training range) of a threshold.
                assert mismatches <= case[2] // 100, mismatches
            count += 1
    assert count >= 30, count


def test_deep_forest_200_trees():
    for case in cases():
        if case[0] == "deep200":
            model = trees.load(DIR + "deep200.tsm")
            assert model.n_trees == 200 and model.n_nodes >= 200000, model.n_nodes
            check_case(*case)
            return
    raise AssertionError("deep200 case missing")


def test_single_leaf_tree():
    model = trees.load(DIR + "single_leaf.tsm")
    assert model.n_nodes == 1 and model.classes == (7,)
    assert model.predict(array.array("h", [-32768, 32767])) == 7


def test_string_labels():
    model = trees.load(DIR + "iris_names.tsm")
    assert model.classes == ("setosa", "versicolor", "virginica")
    assert model.predict(array.array("h", [51, 35, 14, 2])) == "setosa"


def test_predict_allocates_nothing():
    model = trees.load(DIR + "digits_rfc.tsm")
    x = array.array("h", range(64))
    out = array.array("f", bytearray(40))
    model.predict(x)
    model.predict_proba(x, out)
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(200):
        model.predict(x)
        model.predict_proba(x, out)
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before


def test_full_scale_inputs():
    # every int16 extreme goes down the tree without overflow (the kernel sign-extends)
    model = trees.load(DIR + "fullscale.tsm")
    for v in (-32768, -1, 0, 1, 32767):
        model.predict(array.array("h", [v] * 70))


def test_bad_inputs_raise_clear_errors():
    model = trees.load(DIR + "digits_rfc.tsm")
    expect_error(TypeError, model.predict, [0] * 64, words=("array",))
    expect_error(TypeError, model.predict, bytearray(64), words=("array",))
    expect_error(ValueError, model.predict, array.array("h", [0] * 63), words=("63", "64"))
    expect_error(TypeError, model.predict, array.array("i", [0] * 64), words=("'h'",))
    expect_error(TypeError, model.predict, array.array("f", [0] * 64), words=("'h'",))
    expect_error(TypeError, model.predict, array.array("H", [0] * 64), words=("'h'",))
    x = array.array("h", [0] * 64)
    expect_error(ValueError, model.predict_proba, x, array.array("f", [0] * 9), words=("10",))
    for tc in "bhi":  # an integer out array would be overrun or filled with float bit patterns
        expect_error(TypeError, model.predict_proba, x, array.array(tc, [0] * 10), words=("'f'",))
    expect_error(TypeError, model.quantize, [0.0] * 64, array.array("i", [0] * 64), words=("'h'",))
    expect_error(ValueError, model.quantize, [0.0] * 63, x, words=("63",))
    reg = trees.load(DIR + "digits_rfr.tsm")
    expect_error(ValueError, reg.predict_proba, x, array.array("f", [0]), words=("regressor",))


def model_bytes():
    with open(DIR + "digits_rfc.tsm", "rb") as f:
        return bytearray(f.read())


def load_bytes(data):
    return trees.load(io.BytesIO(bytes(data)))


def test_corrupt_files_raise_value_error():
    good = model_bytes()
    expect_damaged_files_refused(good, load_bytes, 2, ("kind", "tree ensemble"), cuts=(30, 60, 61, 100),
                                 flips=(40, 100, 700))
    bad = bytearray(good)
    bad[4] = 9
    expect_error(ValueError, load_bytes, bad, words=("version 9",))
    expect_error(ValueError, load_bytes, good + b"xxxx")


def test_crafted_files_with_valid_crc_are_refused():
    # a writer bug or a hostile file must not reach the viper kernel (tests/fixtures/trees.py)
    for name, words in (("feature", "feature 64 of 64"), ("jump", "misses a later node"),
                        ("misaligned", "misses a later node"), ("weight", "distribution"), ("offset", "offsets")):
        msg = expect_error(ValueError, trees.load, DIR + "crafted_" + name + ".tsm")
        assert "corrupted tree model" in msg and words in msg, (name, msg)


def test_missing_file():
    expect_error(OSError, trees.load, DIR + "no_such_file.tsm")


def test_plain_python_twin_gives_the_same_results():
    # ports without the native emitters run tinysense.trees_python: same integers, same labels
    from tinysense import trees_python, trees_viper

    for name in ("digits_rfc", "digits_rfr", "wide40", "iris_names", "single_leaf"):
        model = trees.load(DIR + name + ".tsm")
        nf = model.n_features
        X = read(name, "x", "h")
        x = array.array("h", bytearray(2 * nf))
        out_v = array.array("f", bytearray(4 * max(model.n_classes, 1)))
        out_p = array.array("f", bytearray(4 * max(model.n_classes, 1)))
        for k in range(min(60, len(X) // nf)):
            for j in range(nf):
                x[j] = X[k * nf + j]
            v = trees_viper.run(model._m, x)
            if model.n_classes:
                trees_viper.proba(model._m, out_v)
            p = trees_python.run(model._m, x)
            assert p == v, (name, k, p, v)
            if model.n_classes:
                trees_python.proba(model._m, out_p)
                for c in range(model.n_classes):
                    assert abs(out_p[c] - out_v[c]) < 1e-6, (name, k, c, out_p[c], out_v[c])


def test_load_from_bytes_and_refuse_other_sources():
    model = trees.load(model_bytes())
    assert model.n_trees == 10
    expect_error(TypeError, trees.load, [1, 2, 3], words=("path", "list"))
