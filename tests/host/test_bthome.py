"""BTHome v2 payloads from the device encoder (device/tinysense/bthome.py, run on the MicroPython
unix port) decoded by bthome-ble, the parser Home Assistant uses, with the advertising data
structures split by bluetooth-data-tools: the same values come back."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("bthome_ble")

from bleak.backends.device import BLEDevice
from bluetooth_data_tools import parse_advertisement_data
from bthome_ble import BTHomeBluetoothDeviceData
from habluetooth import BluetoothServiceInfoBleak

from tinysense import unixport
from tinysense.paths import DEVICE_DIR

CASES = [
    dict(packet_id=1, temperature=21.37, humidity=45.2, battery=87),
    dict(packet_id=2, temperature=-12.5, humidity=0, battery=0),
    dict(packet_id=3, temperature=-327.68, humidity=655.35, battery=100),
    dict(packet_id=4, temperature=327.67),
    dict(packet_id=5, temperature=0.005, humidity=99.994),  # rounding, half away from zero
    dict(packet_id=6, temperature=-0.004, pressure=1013.25, voltage=3.141),
    dict(packet_id=7, battery=55, temperature=19, humidity=60, pressure=998.7, voltage=2.9, count=123456),
    dict(packet_id=255, count=2 ** 30 - 1),
]
NAME = "tinysense-t"

SCRIPT = """
import json, sys
from tinysense import bthome
named = bthome.Encoder(name=sys.argv[1])
plain = bthome.Encoder()
with open(sys.argv[2]) as f:
    cases = json.load(f)
out = []
for c in cases:
    try:
        with_name = bytes(named.encode(**c)).hex()
    except ValueError:  # no room for the name
        with_name = None
    out.append([with_name, bytes(plain.encode(**c)).hex()])
lines = []
ad = bthome.Advertiser(name=sys.argv[1], log=lines.append)
ad.advertise(temperature=22.5, humidity=40)
ad.advertise(temperature=22.6, humidity=41)
print(json.dumps([out, lines]))
"""


@pytest.fixture(scope="module")
def payloads(tmp_path_factory):
    d = tmp_path_factory.mktemp("bthome")
    src = d / "encode.py"
    src.write_text(SCRIPT)
    cases = d / "cases.json"  # a file: the unix port fails on a command-line argument of 256+ characters
    cases.write_text(json.dumps(CASES))
    proc = unixport.run(src, [NAME, cases], libdirs=[DEVICE_DIR], check=True)
    out, lines = json.loads(proc.stdout.strip().splitlines()[-1])
    return [[h and bytes.fromhex(h) for h in pair] for pair in out], [bytes.fromhex(h) for h in lines]


def decode(adv: bytes, t: float = 0.0):
    """Values bthome-ble reads from one advertising payload: {key: value}, and the parsed AD."""
    assert len(adv) <= 31
    ad = parse_advertisement_data([adv])
    address = "A4:C1:38:00:00:01"
    info = BluetoothServiceInfoBleak(
        name=ad.local_name or address, address=address, rssi=-60, manufacturer_data=ad.manufacturer_data,
        service_data=ad.service_data, service_uuids=ad.service_uuids, source="local",
        device=BLEDevice(address, ad.local_name, None), advertisement=None, connectable=False, time=t, tx_power=None,
    )
    parser = BTHomeBluetoothDeviceData()
    assert parser.supported(info)
    update = parser.update(info)
    return {k.key: v.native_value for k, v in update.entity_values.items()}, ad


EXPECT = {"temperature": ("temperature", 0.01), "humidity": ("humidity", 0.01), "battery": ("battery", 1),
          "pressure": ("pressure", 0.01), "voltage": ("voltage", 0.001), "count": ("count", 1),
          "packet_id": ("packet_id", 1)}


def rounded(value, step):
    q = abs(value) / step + 0.5
    return (1 if value >= 0 else -1) * int(q) * step


@pytest.mark.parametrize("i", range(len(CASES)))
@pytest.mark.parametrize("named", [True, False], ids=["named", "plain"])
def test_bthome_ble_reads_the_values_back(payloads, i, named):
    case = CASES[i]
    with_name, plain = payloads[0][i]
    if named and with_name is None:  # the device refused: the name would not fit
        assert len(plain) + 2 + len(NAME) > 31
        return
    values, ad = decode(with_name if named else plain)
    assert ad.local_name == (NAME if named else None)
    assert list(ad.service_data) == ["0000fcd2-0000-1000-8000-00805f9b34fb"]
    assert ad.service_data["0000fcd2-0000-1000-8000-00805f9b34fb"][0] == 0x40  # v2, unencrypted
    for key, value in case.items():
        name, step = EXPECT[key]
        assert name in values, (name, values)
        assert values[name] == pytest.approx(rounded(value, step), abs=step / 100), (key, value, values[name])
    sent = {EXPECT[k][0] for k in case}
    assert set(values) - {"signal_strength"} == sent


def ad_types(adv: bytes) -> list[int]:
    """The AD types of a payload, checking that its AD structures fill it exactly."""
    i, seen = 0, []
    while i < len(adv):
        seen.append(adv[i + 1])
        i += 1 + adv[i]
    assert i == len(adv)
    return seen


def test_payload_flags_and_lengths(payloads):
    for with_name, plain in payloads[0]:
        assert plain[:3] == b"\x02\x01\x06" and len(plain) <= 31
        assert ad_types(plain) == [0x01, 0x16]
        if with_name is not None:
            assert with_name[:len(plain)] == plain and len(with_name) <= 31
            assert ad_types(with_name) == [0x01, 0x16, 0x09]


def test_advertiser_log_lines_decode_with_rising_packet_ids(payloads):
    lines = payloads[1]
    assert len(lines) == 2
    first, _ = decode(lines[0])
    second, _ = decode(lines[1], t=1.0)
    assert (first["packet_id"], first["temperature"], first["humidity"]) == (1, 22.5, 40)
    assert (second["packet_id"], second["temperature"], second["humidity"]) == (2, 22.6, 41)
