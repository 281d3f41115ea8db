"""Filter design: A/C weighting against IEC 61672-1, the fixed-point quantizer and its bounds,
the kind-4 file, and ``tinysense design`` on the command line."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from tinysense import modelfile
from tinysense.cli import main
from tinysense.design import sos as S
from tinysense.design import weighting as W

RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000)

# IEC 61672-1:2013 Table 3: nominal frequency -> (A, C) weighting in dB, rounded to 0.1 dB,
# computed at the exact base-10 frequencies 1000 * 10**(n/10).
IEC_TABLE = {
    10: (-70.4, -14.3), 12.5: (-63.4, -11.2), 16: (-56.7, -8.5), 20: (-50.5, -6.2), 25: (-44.7, -4.4),
    31.5: (-39.4, -3.0), 40: (-34.6, -2.0), 50: (-30.2, -1.3), 63: (-26.2, -0.8), 80: (-22.5, -0.5),
    100: (-19.1, -0.3), 125: (-16.1, -0.2), 160: (-13.4, -0.1), 200: (-10.9, 0.0), 250: (-8.6, 0.0),
    315: (-6.6, 0.0), 400: (-4.8, 0.0), 500: (-3.2, 0.0), 630: (-1.9, 0.0), 800: (-0.8, 0.0),
    1000: (0.0, 0.0), 1250: (0.6, 0.0), 1600: (1.0, -0.1), 2000: (1.2, -0.2), 2500: (1.3, -0.3),
    3150: (1.2, -0.5), 4000: (1.0, -0.8), 5000: (0.5, -1.3), 6300: (-0.1, -2.0), 8000: (-1.1, -3.0),
    10000: (-2.5, -4.4), 12500: (-4.3, -6.2), 16000: (-6.6, -8.5), 20000: (-9.3, -11.2),
}


def exact_frequency(nominal):
    n = round(10 * np.log10(nominal / 1000))
    return 1000 * 10 ** (n / 10)


@pytest.mark.parametrize("kind", ["A", "C"])
def test_analog_formula_matches_iec_table(kind):
    # the table is the formula rounded to 0.1 dB
    col = 0 if kind == "A" else 1
    for nominal, values in IEC_TABLE.items():
        got = W.analog_db(kind, exact_frequency(nominal))
        assert abs(got - values[col]) <= 0.05 + 1e-9, (kind, nominal, got, values[col])


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("kind", ["A", "C"])
def test_design_follows_iec_within_half_a_db(kind, fs):
    # requirement: +-0.5 dB from 20 Hz to 0.35 fs; the fitted design stays within 0.1 dB, and so
    # does the quantized filter the device runs
    sos = W.design(kind, fs)
    assert W.max_deviation(sos, kind, fs) <= 0.1
    q = S.quantize(sos)
    assert W.max_deviation(q.sos_quantized(), kind, fs) <= 0.1
    # also at the IEC table's frequencies in the band
    for nominal, values in IEC_TABLE.items():
        f = exact_frequency(nominal)
        if 20 <= f <= 0.35 * fs:
            _, h = signal.sosfreqz(q.sos_quantized(), worN=[2 * np.pi * f / fs])
            assert abs(20 * np.log10(abs(h[0])) - values[0 if kind == "A" else 1]) <= 0.5 + 0.05


def test_plain_bilinear_droops_near_the_top():
    # why the design corrects the top section: the plain bilinear transform is off by ~2.8 dB at
    # 0.35 fs at 16 kHz
    assert W.max_deviation(W.bilinear("A", 16000), "A", 16000) > 2
    assert W.max_deviation(W.design("A", 16000), "A", 16000) < 0.1


def test_design_rejects_bad_arguments():
    with pytest.raises(ValueError, match="8000..48000"):
        W.design("A", 7999)
    with pytest.raises(ValueError, match="'A' or 'C'"):
        W.design("B", 16000)


def test_low_sections_have_exact_integer_numerators():
    # the four zeros at DC stay exactly at DC after quantization (else poles at 0.992 would turn
    # a tiny rounding of the numerator into a large gain at DC)
    for kind, fs in (("A", 16000), ("C", 44100), ("A", 8000)):
        q = S.quantize(W.design(kind, fs))
        assert q.table[0, :3].tolist() == [1, -2, 1] and q.table[0, 5:8].tolist() == [0, 0, 0]
        _, h = signal.sosfreqz(q.sos_quantized(), worN=[0.0])
        assert abs(h[0]) == 0


@pytest.mark.parametrize("kind,fs", [("A", 16000), ("C", 16000), ("A", 8000), ("A", 48000)])
def test_bounds_hold_on_worst_case_input(kind, fs):
    # quantize() bounds every intermediate by < 2**31; simulate() asserts them at every step.
    # Drive the cascade with the input that maximises its output, and with full-scale steps.
    sos = W.design(kind, fs)
    q = S.quantize(sos)
    assert q.worst < 2**31
    imp = np.zeros(6000)
    imp[0] = 1
    h = signal.sosfilt(q.sos_quantized(), imp)
    worst = np.where(h[::-1] >= 0, 32767, -32768).astype(np.int16)
    x = np.r_[worst, -worst.astype(int) - 1, np.full(500, 32767), np.full(500, -32768)].astype(np.int16)
    y = S.simulate(q, x, out_frac=True)
    assert np.abs(y).max() <= max(q.node_bounds)
    assert abs(y[len(worst) - 1]) / 256 > 32768 * np.abs(h).sum() * 0.99  # the bound is reached


def test_simulation_matches_float_filter():
    q = S.quantize(W.design("A", 16000))
    rng = np.random.default_rng(0)
    x = rng.integers(-20000, 20000, 4000).astype(np.int16)
    want = signal.sosfilt(q.sos_quantized(), x.astype(float))
    got = S.simulate(q, x, out_frac=True) / 256
    assert np.sqrt(np.mean((got - want) ** 2)) < 0.01  # noise floor ~0.003 LSB rms


def test_quantize_rejects_what_it_cannot_bound():
    with pytest.raises(ValueError, match="unstable"):
        S.quantize([[1, 0, 0, 1, -2.0, 1.01]])
    with pytest.raises(ValueError, match="too high"):
        S.quantize([[1e4, 0, 0, 1, 0, 0]])
    with pytest.raises(ValueError, match="shape"):
        S.quantize([[1, 0, 0, 1, 0]])
    with pytest.raises(ValueError, match="a0 = 1"):
        S.quantize([[1, 0, 0, 2, 0, 0]])
    # a general filter: a Butterworth high-pass quantizes and stays close to float
    sos = signal.butter(4, 50, "highpass", fs=16000, output="sos")
    q = S.quantize(sos)
    x = np.random.default_rng(1).integers(-30000, 30000, 3000).astype(np.int16)
    err = S.simulate(q, x, out_frac=True) / 256 - signal.sosfilt(sos, x.astype(float))
    assert np.sqrt(np.mean(err**2)) < 0.05


def test_file_round_trip(tmp_path):
    sos = W.design("C", 16000)
    q = S.save(sos, tmp_path / "c.tsm", name="C-weighting", fs=16000)
    mf = modelfile.load(tmp_path / "c.tsm", modelfile.KIND_SOS)
    assert mf.fields == [2, 8, 16000]
    assert mf.section("coef").tolist() == q.table.ravel().tolist()
    assert bytes(mf.section("name")) == b"C-weighting"
    back = S.load(tmp_path / "c.tsm")
    assert (back.table == q.table).all() and np.allclose(back.sos, sos, rtol=1e-6, atol=1e-7)


def test_cli_design_writes_file_plot_and_deviation(tmp_path, capsys):
    out = tmp_path / "a16.tsm"
    assert main(["design", "aweighting", "--rate", "16000", str(out)]) == 0
    text = capsys.readouterr().out
    assert "max deviation" in text and "dB" in text
    assert out.is_file() and (tmp_path / "a16.png").stat().st_size > 10000
    assert modelfile.load(out).kind == modelfile.KIND_SOS
    assert main(["design", "cweighting", "--rate", "48000", str(tmp_path / "c.tsm"), "--no-plot"]) == 0
    assert not (tmp_path / "c.png").exists()
    assert main(["info", str(out)]) == 0


def test_cli_design_errors_in_one_line(tmp_path, capsys):
    assert main(["design", "aweighting", "--rate", "96000", str(tmp_path / "x.tsm")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "8000..48000" in err.strip().splitlines()[-1]
    assert main(["design", "aweighting", str(tmp_path)]) == 2
    assert "folder" in capsys.readouterr().err


@pytest.mark.parametrize("kind,fs", [("A", 8000), ("C", 8000), ("A", 44100), ("C", 48000)])
def test_silence_after_loud_input_is_exactly_zero(kind, fs):
    # no zero-input limit cycle, also in the 8 fractional bits (these designs kept a constant
    # -1/256 LSB when the kernel floored instead of rounding)
    q = S.quantize(W.design(kind, fs))
    rng = np.random.default_rng(0)
    x = np.r_[rng.integers(-32768, 32768, 2000), np.full(500, 32767), np.zeros(int(0.75 * fs))].astype(np.int16)
    y = S.simulate(q, x, out_frac=True)
    assert not y[-fs // 8:].any()
