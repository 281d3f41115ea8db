"""The temperature logger (apps/temperature_logger/main.py) on the MicroPython unix port: replaying
ADC traces, its printed temperatures equal numpy's medians and float64 calibration; the BTHome
payloads and the crash-safe log carry the same values; the SHT3x path and set-up errors; and
the `tinysense run temperature_logger` command."""

from __future__ import annotations

import csv
import os
import subprocess

import numpy as np
import pytest

from tinysense import run_temperature as rt
from tinysense import unixport
from tinysense.cli import main
from tinysense.paths import DEVICE_DIR


def run_app(args, cwd):
    env = dict(os.environ)
    env["MICROPYPATH"] = unixport.micropython_path_env([DEVICE_DIR])
    return subprocess.run([unixport.micropython_path(), str(rt.APP_DIR / "main.py"), *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300, check=False)


def service_objects(payload: bytes) -> dict:
    """BTHome v2 objects of an advertising payload, decoded here from the specification."""
    i, objs = 0, {}
    while i < len(payload):
        n, kind = payload[i], payload[i + 1]
        if kind == 0x16 and payload[i + 2:i + 4] == b"\xd2\xfc":
            data = payload[i + 5:i + 1 + n]
            j = 0
            sizes = {0x00: (1, False), 0x01: (1, False), 0x02: (2, True), 0x03: (2, False), 0x3E: (4, False)}
            while j < len(data):
                size, signed = sizes[data[j]]
                objs[data[j]] = int.from_bytes(data[j + 1:j + 1 + size], "little", signed=signed)
                j += 1 + size
        i += 1 + n
    return objs


def read_log(path, cwd):
    script = cwd / "readlog.py"
    script.write_text("from tinysense import logstore\nimport sys\n"
                      "for seq, t, v in logstore.Log(sys.argv[1], names=('temperature_c',), decimals=(2,)):\n"
                      "    print(seq, t, v[0])\n")
    proc = unixport.run(script, [str(path)], libdirs=[DEVICE_DIR], check=True)
    return [tuple(int(x) for x in line.split()) for line in proc.stdout.split("\n") if line.strip()]


def test_replayed_temperatures_equal_numpy(tmp_path):
    raw = rt.load_trace(rt.TRACE)
    log = tmp_path / "t.tslog"
    res = rt.replay(rt.TRACE, log=log, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    med, centi = rt.reference(raw, 9)
    assert len(res.measurements) == len(raw) // 9 == 120
    got = np.array([m[2] for m in res.measurements])
    got_c = np.array([round(m[3] * 100) for m in res.measurements])
    assert np.array_equal(got, med)
    assert np.array_equal(got_c, centi)
    assert [m[0] for m in res.measurements] == list(range(1, 121))
    assert [m[1] for m in res.measurements] == list(range(0, 120 * 60, 60))  # one a minute on the replay clock
    # the median ignores the spikes: the mean would not
    blocks = raw.reshape(-1, 9)
    scale, offset = rt.tmp36_line()
    mean_err = np.abs(blocks.mean(axis=1) * scale + offset - centi / 100).max()
    assert mean_err > 1.0 and np.abs(np.diff(centi)).max() < 100, mean_err

    # BTHome: one payload per measurement, the same temperature, count and a new packet id each time
    assert len(res.payloads) == 120
    for k, (p, c) in enumerate(zip(res.payloads, centi)):
        objs = service_objects(p)
        assert objs[0x02] == c and objs[0x3E] == k + 1 and objs[0x00] == (k + 1) & 0xFF, (k, objs)
        assert len(p) <= 31

    # the crash-safe log holds every measurement, stamped with the replay clock
    records = read_log(log, tmp_path)
    assert [r[2] for r in records] == list(centi)
    assert [r[1] for r in records] == list(range(0, 120 * 60, 60))


def test_bthome_payloads_decode_with_bthome_ble(tmp_path):
    """Home Assistant's parser reads the app's payloads: temperature, count and the name."""
    pytest.importorskip("bthome_ble")
    from bleak.backends.device import BLEDevice
    from bluetooth_data_tools import parse_advertisement_data
    from bthome_ble import BTHomeBluetoothDeviceData
    from habluetooth import BluetoothServiceInfoBleak

    res = rt.replay(rt.TRACE, count=4, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert len(res.payloads) == 4
    parser = BTHomeBluetoothDeviceData()
    for k, (p, m) in enumerate(zip(res.payloads, res.measurements)):
        ad = parse_advertisement_data([p])
        address = "A4:C1:38:00:00:02"
        info = BluetoothServiceInfoBleak(
            name=ad.local_name or address, address=address, rssi=-60, manufacturer_data=ad.manufacturer_data,
            service_data=ad.service_data, service_uuids=ad.service_uuids, source="local",
            device=BLEDevice(address, ad.local_name, None), advertisement=None, connectable=False, time=float(k),
            tx_power=None,
        )
        values = {e.key: v.native_value for e, v in parser.update(info).entity_values.items()}
        assert ad.local_name == "ts-temp"
        assert values["temperature"] == pytest.approx(m[3], abs=1e-6), (values, m)
        assert values["count"] == k + 1


def test_log_continues_after_a_restart(tmp_path):
    log = tmp_path / "t.tslog"
    a = rt.replay(rt.TRACE, log=log, count=5, cwd=tmp_path)
    b = rt.replay(rt.TRACE, log=log, count=3, cwd=tmp_path)
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    assert "next #6" in b.lines[1], b.lines[1]
    records = read_log(log, tmp_path)
    assert [r[0] for r in records] == list(range(1, 9))


def test_other_sensor_and_settings(tmp_path):
    trace = tmp_path / "lm35.csv"
    raw, truth = rt.make_trace(trace, minutes=20, samples=5, sensor="LM35", vref=1.1, seed=4)
    res = rt.replay(trace, sensor="LM35", vref=1.1, samples=5, period=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    _, centi = rt.reference(raw, 5, "LM35", 1.1)
    assert [round(m[3] * 100) for m in res.measurements] == list(centi)
    assert [m[1] for m in res.measurements] == list(range(0, 20 * 300, 300))
    assert np.abs(np.array([m[3] for m in res.measurements]) - truth).max() < 0.2


def test_sht3x_replay(tmp_path):
    trace = tmp_path / "sht.csv"
    rows = [(21.5 + 0.01 * i, 40 + i % 7) for i in range(15)]
    rows[4] = (85.0, 99.0)  # a spike in one of three readings
    trace.write_text("temperature_c,humidity_pct\n" + "".join(f"{t},{h}\n" for t, h in rows))
    proc = run_app(["--sensor", "SHT3X", "--sht-trace", str(trace), "--samples", "3", "--log",
                    str(tmp_path / "sht.tslog")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("measurement ")]
    assert len(lines) == 5
    want = np.median(np.array(rows).reshape(5, 3, 2), axis=1)
    for line, (t, h) in zip(lines, want):
        parts = line.split()
        assert float(parts[7]) == pytest.approx(t, abs=0.006) and float(parts[9]) == pytest.approx(h, abs=0.006), line
    assert "bad CRCs 0" in proc.stdout


@pytest.mark.parametrize("args, words", [
    ([], "no machine.ADC on this port: give --trace FILE"),
    (["--sensor", "SHT3X"], "no machine.I2C on this port: give --sht-trace FILE"),
    (["--trace", "missing.csv"], "temperature logger:"),
    (["--trace", "x.csv", "--samples", "4"], "--samples must be odd"),
    (["--trace", "x.csv", "--sensor", "PT100"], "unknown analog sensor 'PT100'"),
])
def test_setup_errors_are_one_line(tmp_path, args, words):
    (tmp_path / "x.csv").write_text("100\n")
    proc = run_app(args + ["--log", "none"], tmp_path)
    assert proc.returncode == 1
    assert words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_run_command_writes_csv_and_plot(tmp_path, capsys):
    code = main(["run", "temperature_logger", "-o", str(tmp_path), "-q"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "numpy agrees on 120/120 medians and 120/120 temperatures" in out
    with open(tmp_path / "trace_tmp36_temperatures.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0][:4] == ["measurement", "t_s", "raw_median", "temperature_c"] and len(rows) == 121
    assert all(r[3] == r[4] for r in rows[1:])
    assert (tmp_path / "trace_tmp36_temperatures.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["run", "temperature_logger", "--trace", str(tmp_path / "none.csv"), "-o", str(tmp_path)]) == 2
