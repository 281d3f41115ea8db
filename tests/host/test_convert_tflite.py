"""The TFLite converter: fixed-point arithmetic against TFLite's definitions, padding, the kind-3 file
layout (docs/cnn.md), every refusal, and the NumPy reference against LiteRT's reference kernels,
which must agree bit for bit on every layer of every committed model."""

from __future__ import annotations

import importlib.util
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tinysense import modelfile
from tinysense.cli import main
from tinysense.convert import tflite

DATA = Path(__file__).resolve().parent.parent / "data" / "tflite"
_spec = importlib.util.spec_from_file_location("_cnn_fixture", DATA.parent.parent / "fixtures" / "cnn.py")
cnn_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cnn_fixture)

MODELS = [p.stem for p in cnn_fixture.models()]
I32_MIN, I32_MAX = -(2**31), 2**31 - 1


# --------------------------------------------------------------------------- fixed point
def tfl_quantize_multiplier(real):
    """QuantizeMultiplier written out from quantization_util.cc with Python integers."""
    if real == 0:
        return 0, 0
    q, shift = math.frexp(real)
    scaled = q * 2**31  # exact: a power-of-two scaling of a double
    q_fixed = math.floor(scaled + 0.5) if scaled >= 0 else -math.floor(-scaled + 0.5)
    if q_fixed == 2**31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def tfl_mbqm(x, m, shift):
    """MultiplyByQuantizedMultiplier (gemmlowp double rounding), Python integers."""
    left, right = max(shift, 0), max(-shift, 0)
    a = x * 2**left
    if a == m == I32_MIN:
        h = I32_MAX
    else:
        p = a * m
        nudge = 2**30 if p >= 0 else 1 - 2**30
        n = p + nudge
        h = abs(n) // 2**31 * (1 if n >= 0 else -1)  # C division truncates
    mask = (1 << right) - 1
    rem = h & mask
    threshold = (mask >> 1) + (1 if h < 0 else 0)
    return (h >> right) + (1 if rem > threshold else 0)


@pytest.mark.parametrize("real, expected", [
    (0.0, (0, 0)),
    (1.0, (2**30, 1)),
    (0.5, (2**30, 0)),
    (0.75, (3 * 2**29, 0)),
    (1 - 2**-40, (2**30, 1)),            # q rounds up to 2**31: halved, shift + 1
    (2**-32, (2**30, -31)),               # the smallest shift kept
    (2**-33, (0, 0)),                     # shift < -31: zero
    ((2**30 + 0.5) / 2**31, (2**30 + 1, 0)),  # exact half rounds away from zero
    (3.0, (3 * 2**29, 2)),
])
def test_quantize_multiplier_edge_cases(real, expected):
    assert tflite.quantize_multiplier(real) == expected
    assert tfl_quantize_multiplier(real) == expected


def test_quantize_multiplier_random_scales():
    rng = np.random.default_rng(1)
    for real in np.exp(rng.uniform(np.log(1e-9), np.log(1e3), 2000)):
        m, s = tflite.quantize_multiplier(float(real))
        assert (m, s) == tfl_quantize_multiplier(float(real))
        assert 2**30 <= m < 2**31
        # the Q31 value is within half a unit of its last place of the real scale
        assert abs(m * 2.0 ** (s - 31) - real) <= 2.0 ** (s - 32)
    with pytest.raises(ValueError, match="finite positive"):
        tflite.quantize_multiplier(-0.5)


def test_mbqm_matches_the_integer_definition():
    rng = np.random.default_rng(2)
    cases = [(I32_MIN, I32_MIN, 0), (I32_MAX, I32_MAX, 0), (-3, 2**30, 0), (3, 2**30, 0), (100, 2**30, 0),
             (-1, 2**30, -1), (1, 2**30, -1), (12345, 2**31 - 1, -31), (-7, 1518500250, 3), (0, 2**30, -5)]
    for _ in range(3000):
        s = int(rng.integers(-31, 8))
        m = int(rng.integers(2**30, 2**31))
        lim = I32_MAX >> max(s, 0)
        cases.append((int(rng.integers(-lim, lim)), m, s))
    acc = np.array([c[0] for c in cases])
    got = tflite.mbqm(acc, [c[1] for c in cases], [c[2] for c in cases])
    want = [tfl_mbqm(*c) for c in cases]
    assert got.tolist() == want


def test_mul_round_is_round_half_up():
    rng = np.random.default_rng(3)
    for _ in range(2000):
        m, s = int(rng.integers(2**30, 2**31)), int(rng.integers(-31, 31))
        acc = int(rng.integers(-(2**31), 2**31))
        exact = Fraction(acc * m, 2 ** (31 - s))
        assert int(tflite.mul_round(acc, m, s)) == math.floor(exact + Fraction(1, 2))


@pytest.mark.parametrize("n, k, s, expected", [
    (16, 3, 2, (8, 0, 1)),   # even input, stride 2: the extra row goes after
    (11, 2, 1, (11, 0, 1)),  # even kernel: uneven padding
    (9, 3, 2, (5, 1, 1)),
    (12, 3, 1, (12, 1, 1)),
    (8, 1, 2, (4, 0, 0)),    # kernel smaller than the stride: no padding
    (5, 5, 1, (5, 2, 2)),
    (8, 3, 2, (4, 0, 1)),
])
def test_same_padding(n, k, s, expected):
    assert tflite.same_padding(n, k, s) == expected


def test_padding_and_shapes_of_the_test_models():
    ir = tflite.load(DATA / "conv_s2_valid_pt.tflite")
    conv0, conv1, fc = ir.layers
    assert (conv0.kh, conv0.kw, conv0.sh, conv0.sw, conv0.pad_top, conv0.pad_left) == (3, 3, 2, 2, 0, 0)
    assert conv0.out_shape == (8, 8, 6)
    assert (conv1.kh, conv1.kw, conv1.pad_top, conv1.pad_left, conv1.out_shape) == (2, 4, 0, 0, (7, 5, 8))
    assert fc.in_shape == (1, 1, 280) and not fc.per_channel  # Flatten became a no-op; per-tensor dense
    ir = tflite.load(DATA / "conv_even_strides.tflite")
    assert [(L.pad_top, L.pad_left) for L in ir.layers[:3]] == [(0, 0), (1, 0), (0, 0)]
    assert [(L.sh, L.sw) for L in ir.layers[:3]] == [(1, 1), (1, 2), (2, 1)]
    ir = tflite.load(DATA / "pools.tflite")
    assert [(L.pad_top, L.pad_left) for L in ir.layers] == [(1, 1), (0, 0), (0, 1), (0, 0), (0, 1), (0, 0), (0, 0)]
    ir = tflite.load(DATA / "depthwise.tflite")
    assert [L.depth_multiplier for L in ir.layers[:3]] == [1, 2, 1]


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("name, words", [
    ("bad_float", ["float model", "supported: int8"]),
    ("bad_uint8_io", ["uint8", "supported: int8"]),
    ("bad_add", ["unsupported operators: ADD", "supported: int8 CONV_2D"]),
    ("bad_concat", ["not a single chain", "CONCATENATION", "supported:"]),
    ("bad_dilation", ["dilation 2x2 is not supported", "supported: dilation 1"]),
    ("bad_dilation_keras", ["SPACE_TO_BATCH_ND", "dilation is not supported", "supported:"]),
])
def test_unsupported_models_are_refused_by_name(name, words):
    with pytest.raises(ValueError) as e:
        tflite.load(DATA / f"{name}.tflite")
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_not_a_tflite_file(tmp_path):
    with pytest.raises(ValueError, match="not a TensorFlow Lite"):
        tflite.load(b"TSMF" + bytes(100))
    with pytest.raises(ValueError, match="too short"):
        tflite.load(b"abc")


def test_a_graph_with_a_cycle_is_refused():
    # conv_s2_valid_pt's RESHAPE rewired to write its own input: the chain walk must not loop
    import struct

    import tflite as tfl

    data = bytearray((DATA / "conv_s2_valid_pt.tflite").read_bytes())
    g = tfl.Model.GetRootAsModel(data, 0).Subgraphs(0)
    op = g.Operators(5)  # RESHAPE [11, 14] -> [15]
    assert [op.Inputs(j) for j in range(op.InputsLength())] == [11, 14]
    outputs = op._tab.Vector(op._tab.Offset(8))  # Operator field 2 (outputs): vtable slot 8
    struct.pack_into("<i", data, outputs, op.Inputs(0))  # outputs[0] = 11, its own input
    with pytest.raises(ValueError, match="cycle"):
        tflite.load(bytes(data))


def test_truncated_and_damaged_tflite_files():
    # a cut or damaged flatbuffer is a ValueError saying so, not a struct.error or TypeError from
    # deep inside the tflite package (the CLI turns ValueError into one line)
    data = (DATA / "small_cnn.tflite").read_bytes()
    for cut in (8, 16, 100, len(data) // 3, len(data) // 2, len(data) - 200):
        with pytest.raises(ValueError, match="not a|truncated or corrupted"):
            tflite.load(data[:cut])
    rng = np.random.default_rng(4)
    for _ in range(60):
        d = bytearray(data)
        for j in rng.integers(0, len(d), 3):
            d[j] = int(rng.integers(0, 256))
        try:
            tflite.load(bytes(d))  # a damaged weight byte may still convert: no checksum in TFLite
        except ValueError:
            pass


def test_accumulator_bound_is_enforced():
    L = tflite.Layer(op=tflite.CONV_2D, in_shape=(1, 1, 1), out_shape=(1, 1, 1), acc_bound=2**31,
                     shift=np.array([0], np.int32))
    with pytest.raises(ValueError, match="exceeds int32"):
        tflite._check_bound(L, "op 0 (CONV_2D)")
    L.acc_bound, L.shift = 2**29, np.array([3], np.int32)
    with pytest.raises(ValueError, match="left by 3 bits"):
        tflite._check_bound(L, "op 0 (CONV_2D)")


# --------------------------------------------------------------------------- the file
@pytest.mark.parametrize("name", MODELS)
def test_file_layout(name):
    ir = tflite.load(DATA / f"{name}.tflite", class_names=[f"c{i}" for i in range(3)])
    mf = modelfile.loads(tflite.dumps(ir), expect_kind=modelfile.KIND_CNN)
    f = mf.fields
    assert len(f) == tflite.N_FIELDS
    assert list(mf.sections) == ["layr", "wght", "bias", "mult", "shft", "thrs", "qprm", "pixl", "name"]
    assert f[0] == len(ir.layers) and tuple(f[1:4]) == ir.input_shape and f[4] == ir.n_out
    for tag, count in (("wght", 7), ("bias", 8), ("mult", 9), ("shft", 9), ("thrs", 10)):
        assert mf.section(tag).size == f[count], tag
    assert f[11] == ir.input_zp and f[12] == ir.scores_zp and f[15] == 3
    assert bytes(mf.section("name")).decode().split("\n") == ["c0", "c1", "c2"]
    rec = mf.section("layr").reshape(-1, tflite.RECORD)
    w, b, m, s = (mf.section(t).astype(np.int64) for t in ("wght", "bias", "mult", "shft"))
    sizes = [int(np.prod(ir.input_shape))]
    for k, (r, L) in enumerate(zip(rec, ir.layers)):
        assert tuple(r[1:4]) == L.in_shape and tuple(r[4:7]) == L.out_shape
        assert int(np.prod(r[1:4])) == sizes[-1]  # chained: a layer reads what the previous wrote
        sizes.append(int(np.prod(r[4:7])))
        assert -128 <= r[13] <= r[14] <= 127
        if r[0] in (tflite.CONV_2D, tflite.DEPTHWISE_CONV_2D, tflite.FULLY_CONNECTED):
            oc = r[6]
            assert r[17] % 4 == 0
            n_w = {tflite.CONV_2D: oc * r[7] * r[8] * r[3], tflite.DEPTHWISE_CONV_2D: r[7] * r[8] * oc,
                   tflite.FULLY_CONNECTED: oc * r[3]}[r[0]]
            wl = w[r[17]:r[17] + n_w]
            assert np.array_equal(wl, L.weights.ravel())
            # the worst-case accumulator, recomputed from the file alone
            xmax = max(abs(-128 - r[15]), abs(127 - r[15]))
            if r[0] == tflite.CONV_2D:
                wsum = np.abs(wl.reshape(oc, -1)).sum(axis=1)
            elif r[0] == tflite.DEPTHWISE_CONV_2D:
                wsum = np.abs(wl.reshape(-1, oc)).sum(axis=0)
            else:
                wsum = np.abs(wl.reshape(oc, -1)).sum(axis=1)
            assert r[21] == np.max(wsum * xmax + np.abs(b[r[18]:r[18] + oc]))
            assert np.all((m[r[19]:r[19] + oc] >= 0) & (m[r[19]:r[19] + oc] < 2**31))
            assert np.all((s[r[19]:r[19] + oc] >= -31) & (s[r[19]:r[19] + oc] <= 30))
            assert r[23] == (1 if r[0] == tflite.FULLY_CONNECTED else 0)
        else:
            assert r[17] == r[18] == r[19] == -1
        if r[0] == tflite.MEAN:
            t = mf.section("thrs")[r[22]:r[22] + 255]
            assert np.all(np.diff(t.astype(np.int64)) >= 0)
        else:
            assert r[22] == -1
    assert f[14] == rec[:, 21].max()
    assert (f[5], f[6]) == (max(sizes[0::2]), max(sizes[1::2]))


def test_pixel_table():
    ir = tflite.load(DATA / "small_cnn.tflite")
    table = ir.pixel_table()
    v = np.arange(256) / 255.0
    expect = np.clip(np.sign(v) * np.floor(np.abs(v / ir.input_scale) + 0.5) + ir.input_zp, -128, 127)
    assert np.array_equal(table, expect)
    assert np.all(np.diff(table.astype(int)) >= 0)
    ir.pixel_range = (-1.0, 1.0)
    assert ir.pixel_table()[0] <= ir.pixel_table()[255]


def test_mean_thresholds_follow_litert_formula():
    """Every possible sum, through the thresholds, gives LiteRT's integer MEAN."""
    for name in ("conv_relu_gap", "gap_keepdims_floatio", "small_cnn", "depthwise"):
        ir = tflite.load(DATA / f"{name}.tflite")
        for L in ir.layers:
            if L.op != tflite.MEAN:
                continue
            n = L.kh * L.kw
            m, s = tflite.mean_requant(n, L.in_scale, L.out_scale)
            sums = np.arange(-128 * n, 127 * n + 1)
            want = np.clip([tfl_mbqm(int(v) - n * L.in_zp, m, s) + L.out_zp for v in sums], -128, 127)
            got = -128 + (sums[:, None] >= L.thresholds[None, :].astype(np.int64)).sum(axis=1)
            assert np.array_equal(got, want), name


def test_fc_multipliers_reproduce_double_rounding():
    """Every unclamped accumulator of every FC channel: mul_round == C round(double(acc) * scale)."""
    for name in MODELS:
        ir = tflite.load(DATA / f"{name}.tflite")
        for L in ir.layers:
            if L.op != tflite.FULLY_CONNECTED:
                continue
            for o, (m, s) in enumerate(zip(L.multiplier, L.shift)):
                eff = float(np.float64(L.in_scale) * np.float64(_w_scale(name, L, o)) / np.float64(L.out_scale))
                lo = math.floor((L.act_min - 2 - L.out_zp) / eff)
                hi = math.ceil((L.act_max + 2 - L.out_zp) / eff)
                acc = np.arange(lo, hi + 1, dtype=np.int64)
                want = np.clip(np.sign(acc * eff) * np.floor(np.abs(acc * eff) + 0.5) + L.out_zp,
                               L.act_min, L.act_max)
                got = np.clip(tflite.mul_round(acc, int(m), int(s)) + L.out_zp, L.act_min, L.act_max)
                assert np.array_equal(got, want), (name, o)


def _w_scale(name, L, o):
    """The FC weight scale of output channel o, read back from the .tflite with the tflite package."""
    import tflite as tfl

    model = tfl.Model.GetRootAsModel((DATA / f"{name}.tflite").read_bytes(), 0)
    g = model.Subgraphs(0)
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        t = g.Tensors(op.Inputs(1)) if op.InputsLength() > 1 and op.Inputs(1) >= 0 else None
        if t is not None and t.ShapeLength() == 2 and tuple(t.ShapeAsNumpy()) == L.weights.shape:
            scales = t.Quantization().ScaleAsNumpy()
            return scales[o] if len(scales) > 1 else scales[0]
    raise AssertionError("FC weights not found")


# --------------------------------------------------------------------------- against LiteRT
@pytest.mark.parametrize("name", MODELS)
def test_reference_is_bit_exact_to_litert(name):
    """Each layer fed LiteRT's own input must give LiteRT's output (so a difference is pinned to
    its layer), and the chain from the model input must give LiteRT's scores: 0 differing elements
    allowed, on all -128, all 127 and 60 random inputs."""
    path = DATA / f"{name}.tflite"
    ir = tflite.load(path)
    xs = cnn_fixture.inputs(ir.input_shape, n=62, seed=11)
    scores, layers = cnn_fixture.litert_run(path, ir, xs)
    for i, x in enumerate(xs):
        prev = x
        for k, L in enumerate(ir.layers):
            out = tflite.run_layer(L, prev).ravel()
            assert np.array_equal(out, layers[k][i]), (name, i, k, L.name)
            prev = layers[k][i]
        assert np.array_equal(tflite.reference_run(ir, x), scores[i]), (name, i)


def test_fixture_files(tmp_path):
    cnn_fixture.build(tmp_path)
    lines = (tmp_path / "cases.txt").read_text().split("\n")[:-1]
    assert sorted(line.split()[0] for line in lines) == sorted(MODELS)
    for line in lines:
        name, n, nl, nout = line.split()
        n, nl, nout = int(n), int(nl), int(nout)
        ir = tflite.load(DATA / f"{name}.tflite")
        x = np.fromfile(tmp_path / f"{name}.x", np.int8).reshape(n, -1)
        y = np.fromfile(tmp_path / f"{name}.y", np.int8).reshape(n, nout)
        assert np.all(x[0] == -128) and np.all(x[1] == 127)
        assert np.array_equal(np.fromfile(tmp_path / f"{name}.cls", "<i4"), np.argmax(y, axis=1))
        for i in range(n):
            assert np.array_equal(tflite.reference_run(ir, x[i]), y[i])
        for k in range(nl):
            assert (tmp_path / f"{name}.l{k}").stat().st_size == n * int(np.prod(ir.layers[k].out_shape))
        assert modelfile.load(tmp_path / f"{name}.tsm", expect_kind=3).fields[0] == nl


def test_cli_convert(tmp_path, capsys):
    out = tmp_path / "m.tsm"
    assert main(["convert", str(DATA / "small_cnn.tflite"), str(out)]) == 0
    text = capsys.readouterr().out
    assert "CNN, input 32x32x1" in text and "MEAN 8x8 16ch" in text
    assert modelfile.load(out, expect_kind=modelfile.KIND_CNN).fields[0] == 7
    assert main(["info", str(out)]) == 0
    assert "max_acc_bound" in capsys.readouterr().out
    assert main(["convert", str(DATA / "bad_add.tflite"), str(tmp_path / "b.tsm")]) == 2
    err = capsys.readouterr().err
    assert "unsupported operators: ADD" in err and not (tmp_path / "b.tsm").exists()
    assert tflite.save(DATA / "pools.tflite", tmp_path / "p.tsm") == (tmp_path / "p.tsm").stat().st_size


def test_fc_multiplier_is_nudged_where_q31_moves_a_step():
    """A scale of 0.1: double(5) * 0.1 is exactly 0.5 and C rounds it to 1, but the Q31 multiplier
    TFLite's QuantizeMultiplier gives (0.1 rounded down) puts 5 * m just below a half; the
    converter moves the multiplier up one unit so that every step lands where LiteRT's is."""
    assert tflite.quantize_multiplier(0.1) == (1717986918, -3)
    m, s = tflite._fc_requant(0.1, [1.0], 1.0, 0, -128, 127, 1, "op 0 (FULLY_CONNECTED)")
    assert (int(m[0]), int(s[0])) == (1717986919, -3)
    acc = np.arange(-1300, 1301)
    want = np.clip(np.sign(acc * 0.1) * np.floor(np.abs(acc * 0.1) + 0.5), -128, 127)
    assert np.array_equal(np.clip(tflite.mul_round(acc, int(m[0]), -3), -128, 127), want)
    assert not np.array_equal(np.clip(tflite.mul_round(acc, 1717986918, -3), -128, 127), want)
