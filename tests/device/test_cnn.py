# fixtures: cnn, cnn_kernels
# int8 CNNs on MicroPython against LiteRT's reference kernels (converted .tflite models, made by
# tests/fixtures/cnn.py) and against TFLite's integer arithmetic in numpy for single operators
# (tests/fixtures/cnn_kernels.py). Every comparison is exact: the int8 outputs must be equal
# element for element, no tolerance.
import array
import gc
import io
import tsenv
from tinysense import cnn
from expect import expect_damaged_files_refused, expect_error

LITERT = tsenv.FIXTURES + "/cnn/"
KERNELS = tsenv.FIXTURES + "/cnn_kernels/"


def cases(folder):
    with open(folder + "cases.txt") as f:
        for line in f:
            if line.strip():
                name, n, nl, nout = line.split()
                yield name, int(n), int(nl), int(nout)


def layer_output(model, k, out):
    # Layer k's output (unpadded int8) from the arena after a run: its buffer holds it until
    # layer k + 2 writes there, so the caller runs layers 0..k first (see run_to).
    r = model._plan[k][1]
    oh, ow, oc, row = r[5], r[6], r[7], r[12]
    i = 0
    for y in range(oh):
        p = r[1] + y * row
        for j in range(ow * oc):
            out[i] = model._a[p + j] ^ 0x80
            i += 1


def run_to(model, x, k):
    from tinysense.cnn_viper import put

    put(x, model._a, model._gin)
    for f, r in model._plan[:k + 1]:
        f(model._a, model._w, r)


def first_bad_layer(folder, name, model, x, n_in, index):
    # Name the first layer whose output differs from the reference (files NAME.lK).
    for k in range(model.n_layers):
        r = model._plan[k][1]
        size = r[5] * r[6] * r[7]
        with open(folder + "%s.l%d" % (name, k), "rb") as f:
            f.seek(index * size)
            want = f.read(size)
        got = bytearray(size)
        run_to(model, x, k)
        layer_output(model, k, got)
        if got != want:
            bad = [i for i in range(size) if got[i] != want[i]]
            return "layer %d (%s): %d of %d differ, first at %d: %d != %d" % (
                k, model.layer_names[k], len(bad), size, bad[0], (got[bad[0]] ^ 0x80) - 128, (want[bad[0]] ^ 0x80) - 128)
    return "no single layer differs"


def check_folder(folder, only_first=0):
    count = 0
    for name, n, nl, nout in cases(folder):
        model = cnn.load(folder + name + ".tsm")
        assert model.n_layers == nl and model.output_shape == (nout,), (name, model.n_layers, model.output_shape)
        size = model.input_size
        x = array.array("b", bytearray(size))
        out = array.array("b", bytearray(nout))
        want = bytearray(nout)
        classes = None
        try:
            with open(folder + name + ".cls", "rb") as f:
                classes = array.array("i", f.read())
        except OSError:
            pass
        fx = open(folder + name + ".x", "rb")
        fy = open(folder + name + ".y", "rb")
        for k in range(only_first or n):
            fx.readinto(x)
            fy.readinto(want)
            label = model.scores(x, out)
            if bytes(out) != bytes(want):
                raise AssertionError("%s input %d: scores differ; %s" % (name, k, first_bad_layer(folder, name, model, x, n, k)))
            assert model.predict(x) == label, (name, k)
            if classes is not None:
                assert label == classes[k], (name, k, label, classes[k])
        fx.close()
        fy.close()
        count += 1
    return count


def test_litert_models_are_bit_exact():
    # every converted model, every input: the scores tensor equals LiteRT's reference kernels'
    # and predict() equals LiteRT's argmax of it (first index of the maximum)
    assert check_folder(LITERT) >= 5


def test_single_operators_are_bit_exact():
    # each op and geometry (non-square kernels, stride 2 in one axis, uneven SAME padding,
    # depth multipliers, ReLU/ReLU6 clamps, per-tensor and per-channel weights, left shifts,
    # multipliers near 2**31, accumulators near the int32 limit, the requantization sweep), and
    # 60 random chains of one to three layers (tests/fixtures/cnn_kernels.py: random_cases)
    n = check_folder(KERNELS)
    assert n >= 39 + 60, n


def test_worst_case_inputs():
    # the first two inputs of every case are all -128 and all 127: the extremes of every
    # accumulator (32-bit bounds: see tinysense/cnn_viper.py)
    for folder in (LITERT, KERNELS):
        for name, n, nl, nout in cases(folder):
            with open(folder + name + ".x", "rb") as f:
                model = cnn.load(folder + name + ".tsm")
                first = f.read(2 * model.input_size)
            assert first == b"\x80" * model.input_size + b"\x7f" * model.input_size, name
        check_folder(folder, only_first=2)


def test_chain_layers_match_reference():
    # every intermediate tensor of the multi-layer cases (NAME.lK), not only the scores
    for folder in (LITERT, KERNELS):
        for name, n, nl, nout in cases(folder):
            if nl < 2:
                continue
            model = cnn.load(folder + name + ".tsm")
            x = array.array("b", bytearray(model.input_size))
            with open(folder + name + ".x", "rb") as f:
                for k in range(min(n, 3)):
                    f.readinto(x)
                    msg = first_bad_layer(folder, name, model, x, n, k)
                    assert msg == "no single layer differs", (name, k, msg)


def test_attributes():
    model = cnn.load(KERNELS + "chain_conv_pool_conv_mean_fc.tsm")
    assert model.input_shape == (16, 16, 1) and model.input_size == 256
    assert model.output_shape == (5,)
    assert model.n_layers == 5
    assert model.layer_names == ["CONV_2D 3x3 s1 8ch", "MAX_POOL_2D 2x2 s2 8ch", "CONV_2D 3x3 s2 16ch",
                                 "MEAN 4x4", "FULLY_CONNECTED 16->5"], model.layer_names
    # buffer 0: the 16x16x1 input padded to 18x18 for layer 0, 8x8x8 padded to 9x9x8 for
    # layer 2 (3x3 stride 2 SAME pads 0 before, 1 after); buffer 1: layer 0's 16x16x8; then a
    # scratch window of the largest convolution (3x3x8)
    assert model.arena_bytes == max(18 * 18, 9 * 9 * 8) + 16 * 16 * 8 + 3 * 3 * 8, model.arena_bytes
    assert model.class_names == ("c0", "c1", "c2", "c3", "c4")
    assert abs(model.input_scale - 0.02) < 1e-7
    assert -128 <= model.input_zero_point <= 127
    assert cnn.load(KERNELS + "conv1x1.tsm").class_names is None


def test_quantize_input():
    model = cnn.load(KERNELS + "bench_32x32.tsm")
    n = model.input_size
    pixels = bytearray(i * 7 % 256 for i in range(n))
    x = array.array("b", bytearray(n))
    assert model.quantize_input(pixels, x) is x
    scale, zp = model.input_scale, model.input_zero_point
    for i in range(n):
        v = pixels[i] / 255 / scale
        q = int(v + 0.5) + zp  # v >= 0: half away from zero
        q = -128 if q < -128 else (127 if q > 127 else q)
        assert abs(x[i] - q) <= (1 if abs(v - int(v) - 0.5) < 1e-4 else 0), (i, pixels[i], x[i], q)
    assert x[0] == max(-128, min(127, zp))
    xb = bytearray(n)
    model.quantize_input(pixels, xb)
    assert bytes(xb) == bytes(x)
    expect_error(ValueError, model.quantize_input, bytearray(n - 1), x, words=("%d" % (n - 1), "%d" % n))
    expect_error(TypeError, model.quantize_input, array.array("b", bytearray(n)), x, words=("uint8", "array('b')"))
    expect_error(ValueError, model.quantize_input, pixels, bytearray(n + 1), words=("%d" % (n + 1),))


def test_profile():
    model = cnn.load(KERNELS + "bench_32x32.tsm")
    x = array.array("b", bytearray(model.input_size))
    us = array.array("i", [-1] * model.n_layers)
    label = model.profile(x, us)
    assert label == model.predict(x)
    assert all(t >= 0 for t in us) and sum(us) > 0, us
    expect_error(TypeError, model.profile, x, array.array("i", [0] * 3), words=("n_layers",))
    expect_error(TypeError, model.profile, x, array.array("h", [0] * model.n_layers), words=("'i'",))


def test_uint8_pixels_are_quantized_on_the_way_in():
    # predict / scores / profile take array('B') pixels as quantize_input would map them
    model = cnn.load(KERNELS + "bench_32x32.tsm")
    n, nout = model.input_size, model.output_shape[0]
    pixels = array.array("B", (i * 37 % 256 for i in range(n)))
    x = array.array("b", bytearray(n))
    model.quantize_input(pixels, x)
    want = array.array("b", bytearray(nout))
    got = array.array("b", bytearray(nout))
    label = model.scores(x, want)
    assert model.scores(pixels, got) == label and got == want
    assert model.predict(pixels) == label
    us = array.array("i", [0] * model.n_layers)
    assert model.profile(pixels, us) == label
    # the same buffer read as int8 afterwards, and back: each call reads the buffer it is given
    other = array.array("b", bytes(n))
    model.scores(other, got)
    assert model.scores(pixels, got) == label and got == want
    assert model.quantize_input(pixels, x) is x  # x checked as int8 although the model last saw pixels


def test_inference_allocates_nothing():
    model = cnn.load(KERNELS + "chain_dw_pw_avg_fc.tsm")
    x = array.array("b", bytearray(model.input_size))
    out = array.array("b", bytearray(model.output_shape[0]))
    us = array.array("i", [0] * model.n_layers)
    pixels = array.array("B", bytearray(model.input_size))  # the frame loop: uint8 pixels -> x -> scores
    xq = bytearray(model.input_size)  # a quantized input that is not the buffer predict() last saw
    model.predict(x)
    model.scores(x, out)
    model.profile(x, us)
    model.quantize_input(pixels, xq)
    model.quantize_input(pixels, x)
    model.predict(pixels)  # uint8 pixels straight in: the first call makes the quantized buffer
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(30):
        model.predict(x)
        model.scores(x, out)
        model.profile(x, us)
        model.quantize_input(pixels, xq)
        model.quantize_input(pixels, x)
        model.scores(pixels, out)
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before


def test_bad_inputs_raise_clear_errors():
    model = cnn.load(KERNELS + "conv3x3_s1_same.tsm")  # 9 x 11 x 3 in, 9 x 11 x 5 out
    n = model.input_size
    out = array.array("b", bytearray(model.output_shape[0]))
    expect_error(TypeError, model.predict, [0] * n, words=("array('b')", "list"))
    expect_error(TypeError, model.predict, bytes(n), words=("array('b')",))
    expect_error(TypeError, model.predict, array.array("h", [0] * n), words=("array('b')", "array('B')", "'h'"))
    expect_error(ValueError, model.predict, array.array("B", bytearray(n + 2)), words=("%d" % (n + 2),))
    expect_error(TypeError, model.scores, array.array("B", bytearray(n)), array.array("B", bytearray(495)),
                 words=("out", "'B'"))  # the scores are int8: an array('B') out is refused
    expect_error(ValueError, model.predict, array.array("b", bytearray(n - 1)), words=("%d" % (n - 1), "%d" % n, "9 x 11 x 3"))
    expect_error(ValueError, model.predict, bytearray(n + 1), words=("%d" % (n + 1),))
    x = array.array("b", bytearray(n))
    expect_error(ValueError, model.scores, x, array.array("b", bytearray(3)), words=("out", "495"))
    expect_error(TypeError, model.scores, x, array.array("i", [0] * 495), words=("out",))
    model.scores(x, out)
    model.scores(bytearray(n), bytearray(495))
    # a buffer that passed once and then shrank (slice assignment) is checked again
    xs = bytearray(n)
    os = bytearray(495)
    model.scores(xs, os)
    xs[n - 1:] = b""
    expect_error(ValueError, model.predict, xs, words=("%d" % (n - 1),))
    expect_error(ValueError, model.profile, xs, array.array("i", [0] * model.n_layers), words=("%d" % (n - 1),))
    xs.append(0)
    model.scores(xs, os)
    os[494:] = b""
    expect_error(ValueError, model.scores, xs, os, words=("out", "494"))


def file_bytes(path):
    with open(path, "rb") as f:
        return bytearray(f.read())


def load_bytes(data):
    return cnn.load(io.BytesIO(bytes(data)))


def test_corrupt_and_foreign_files():
    good = file_bytes(KERNELS + "chain_dw_pw_avg_fc.tsm")
    expect_damaged_files_refused(good, load_bytes, 1, ("kind 1", "CNN"), cuts=(40, 100, 200),
                                 flips=(100, 300, len(good) - 40))
    # a damaged header (shapes, counts, zero points) is reported as damage, not as a model
    # that needs a gigabyte of RAM or has a broken layer chain: the CRC is checked first
    for field in range(16):
        for bit in (4, 30):
            bad = bytearray(good)
            bad[12 + 4 * field + bit // 8] ^= 1 << (bit % 8)
            expect_error(ValueError, load_bytes, bad, words=("CRC",))
    expect_error(ValueError, load_bytes, good + b"xxxx")
    expect_error(OSError, cnn.load, KERNELS + "no_such_file.tsm")
    expect_error(TypeError, cnn.load, [1, 2, 3], words=("path",))


def test_crafted_files_are_refused():
    # valid CRC, inconsistent content (tests/fixtures/cnn_kernels.py: crafted): refused at load
    for name, words in (("acc_bound", ("accumulator", "exceeds int32")),
                        ("shift_overflow", ("accumulator", "2**2", "exceeds int32")),
                        ("bad_op", ("unknown op 9",)),
                        ("bad_shape", ("layer 0", "windows")),
                        ("weights_past_end", ("outside the file",)),
                        ("bad_shift", ("outside the file",)),
                        ("broken_chain", ("layer 1", "expects input")),
                        ("counts", ("1073741824 weights", "the file has"))):
        msg = expect_error(ValueError, cnn.load, KERNELS + "crafted_" + name + ".tsm")
        for w in words:
            assert w in msg, (name, w, msg)


def test_model_too_large_for_ram():
    # a 3000 x 3000 x 3 input needs two 27 MB activation buffers: refused before allocating,
    # saying how much it needs and how much is free
    gc.collect()
    msg = expect_error(ValueError, cnn.load, KERNELS + "crafted_too_big.tsm", words=("bytes of RAM", "free"))
    assert "arena %d" % (3000 * 3000 * 3 + 1500 * 1500 * 3) in msg, msg
    cnn.load(KERNELS + "conv1x1.tsm")  # the heap is still usable


def test_plain_python_twin_gives_the_same_results():
    # ports without the native emitters run tinysense.cnn_python: same records, same integers
    # (its requantization uses unbounded integers, so this also checks the viper 16-bit halves)
    from tinysense import cnn_python, cnn_viper

    twin = {cnn_viper.conv: cnn_python.conv, cnn_viper.pool: cnn_python.pool, cnn_viper.mean: cnn_python.mean}
    for name in ("chain_conv_pool_conv_mean_fc", "chain_dw_pw_avg_fc", "dw2x2_dm3_s2", "avgpool3x3_s2_same_uneven",
                 "requant_sweep", "fc_acc_near_int32", "conv_left_shift"):
        model = cnn.load(KERNELS + name + ".tsm")
        n, nout = model.input_size, model.output_shape[0]
        x = array.array("b", bytearray(n))
        want = array.array("b", bytearray(nout))
        got = array.array("b", bytearray(nout))
        with open(KERNELS + name + ".x", "rb") as f:
            for k in range(3):
                f.readinto(x)
                label = model.scores(x, want)
                cnn_python.put(x, model._a, model._gin)
                for fn, r in model._plan:
                    twin[fn](model._a, model._w, r)
                cnn_python.get(model._a, got, model._gout)
                assert bytes(got) == bytes(want), (name, k)
                assert cnn_python.argmax(model._a, model._gout) == label
        pixels = bytearray(i * 13 % 256 for i in range(n))
        xv = bytearray(n)
        xp = bytearray(n)
        cnn_viper.lookup(pixels, xv, model._pixl, n)
        cnn_python.lookup(pixels, xp, model._pixl, n)
        assert xv == xp, name


def test_model_runs_on_the_plain_python_kernels():
    # what cnn.load builds on a port without the native emitters (cnn_viper fails to import):
    # the same public API on tinysense.cnn_python, same scores
    from tinysense import cnn_python

    names = ("_conv", "_pool", "_mean", "_put", "_get", "_argmax", "_lookup", "_flip")
    saved = [getattr(cnn, n) for n in names]
    try:
        for n in names:
            setattr(cnn, n, getattr(cnn_python, n[1:]))
        for name in ("chain_conv_pool_conv_mean_fc", "chain_dw_pw_avg_fc", "fc_from_image"):
            model = cnn.load(KERNELS + name + ".tsm")
            n, nout = model.input_size, model.output_shape[0]
            x = array.array("b", bytearray(n))
            out = bytearray(nout)
            want = bytearray(nout)
            with open(KERNELS + name + ".x", "rb") as fx, open(KERNELS + name + ".y", "rb") as fy:
                for k in range(3):
                    fx.readinto(x)
                    fy.readinto(want)
                    label = model.scores(x, out)
                    assert out == want, (name, k)
                    assert label == model.predict(x)
            pixels = bytearray(i % 256 for i in range(n))
            model.quantize_input(pixels, x)
    finally:
        for n, f in zip(names, saved):
            setattr(cnn, n, f)
    model = cnn.load(KERNELS + "fc_from_image.tsm")
    xv = array.array("b", bytearray(model.input_size))
    model.quantize_input(bytearray(i % 256 for i in range(model.input_size)), xv)
    assert xv == x
