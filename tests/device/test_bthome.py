# BTHome v2 payloads (tinysense.bthome): byte layout, rounding, ranges, allocation, and the
# Advertiser with and without a radio. tests/host/test_bthome.py decodes them with bthome-ble.
import gc
from tinysense import bthome
from expect import expect_error as raises


def test_layout_of_a_full_payload():
    enc = bthome.Encoder()
    adv = bytes(enc.encode(packet_id=7, battery=87, temperature=21.37, humidity=45.2))
    assert adv == bytes([2, 1, 6, 14, 0x16, 0xD2, 0xFC, 0x40,
                         0x00, 7, 0x01, 87, 0x02, 0x59, 0x08, 0x03, 0xA8, 0x11]), adv
    assert enc.service_data(temperature=-1) == b"\x40\x02\x9c\xff"


def test_objects_in_ascending_id_order():
    adv = bytes(bthome.Encoder().encode(count=5, voltage=3.3, pressure=1013.25, humidity=50, temperature=20,
                                        battery=100, packet_id=1))
    ids = []
    i = 8
    while i < len(adv):
        ids.append(adv[i])
        i += 1 + [o[2] for o in bthome.OBJECTS if o[1] == adv[i]][0]
    assert ids == [0x00, 0x01, 0x02, 0x03, 0x04, 0x0C, 0x3E], ids
    assert len(adv) == 30 and adv[3] == 26


def test_name_is_appended():
    adv = bytes(bthome.Encoder(name="ts-1").encode(temperature=0))
    assert adv[-6:] == b"\x05\x09ts-1"
    assert bthome.advertising_payload("ts-1", temperature=0) == adv


def test_rounding_and_range_edges():
    enc = bthome.Encoder()
    assert enc.service_data(temperature=-327.68) == b"\x40\x02\x00\x80"
    assert enc.service_data(temperature=327.67) == b"\x40\x02\xff\x7f"
    assert enc.service_data(temperature=0.005) == b"\x40\x02\x01\x00"  # half away from zero
    assert enc.service_data(temperature=-0.005) == b"\x40\x02\xff\xff"
    assert enc.service_data(humidity=655.35) == b"\x40\x03\xff\xff"
    assert enc.service_data(voltage=3.001) == b"\x40\x0c\xb9\x0b"
    assert enc.service_data(count=2 ** 30 - 1) == b"\x40\x3e\xff\xff\xff\x3f"


def test_bad_values_are_refused_with_the_range():
    enc = bthome.Encoder()
    raises(ValueError, enc.encode, temperature=327.68, words=("temperature", "-327.68..327.67", "0.01"))
    raises(ValueError, enc.encode, temperature=-400, words=("temperature",))
    raises(ValueError, enc.encode, humidity=-0.1, words=("humidity", "0..655.35"))
    raises(ValueError, enc.encode, battery=101, words=("battery", "0..100"))
    raises(ValueError, enc.encode, packet_id=256, words=("packet_id", "0..255"))
    raises(ValueError, enc.encode, temperature=float("nan"), words=("temperature",))
    raises(ValueError, enc.encode, temperature=float("inf"), words=("temperature",))
    raises(TypeError, enc.encode, temperature="21.3", words=("temperature", "number"))
    raises(TypeError, enc.encode, battery=True, words=("battery",))
    raises(ValueError, bthome.Encoder, "x" * 22, words=("name", "31"))
    long_name = bthome.Encoder("x" * 20)
    raises(ValueError, long_name.encode, temperature=1, humidity=2, words=("31", "shorter name"))
    raises(ValueError, bthome.Advertiser, interval_ms=5, words=("interval_ms",))


def test_encode_allocates_nothing_with_int_values():
    enc = bthome.Encoder(name="ts")
    enc.encode(packet_id=1, battery=50, temperature=21, humidity=40)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for i in range(100):
            enc.encode(packet_id=i, battery=50, temperature=21, humidity=40)
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    assert used == 0, used


class FakeBLE:
    def __init__(self):
        self.calls = []

    def gap_advertise(self, interval_us, adv_data=None, connectable=True):
        self.calls.append((interval_us, None if adv_data is None else bytes(adv_data), connectable))


def test_advertiser_uses_the_radio_and_counts_packets():
    ble = FakeBLE()
    ad = bthome.Advertiser(name="ts", interval_ms=500, ble=ble)
    assert ad.available
    ad.advertise(temperature=20.5)
    ad.advertise(temperature=20.6, humidity=41)
    ad.stop()
    (i1, a1, c1), (i2, a2, c2), stop = ble.calls
    assert i1 == i2 == 500000 and not c1 and not c2
    assert a1 == bthome.advertising_payload("ts", packet_id=1, temperature=20.5)
    assert a2 == bthome.advertising_payload("ts", packet_id=2, temperature=20.6, humidity=41)
    assert stop[0] is None and ad.packet_id == 2
    ad.packet_id = 255
    assert bytes(ad.advertise(battery=9))[8:10] == b"\x00\x00"  # wraps to 0


def test_advertiser_without_a_radio_logs_hex():
    import binascii

    lines = []
    try:
        import bluetooth  # noqa: F401 - only ports without it log
        return
    except ImportError:
        pass
    ad = bthome.Advertiser(log=lines.append)
    assert not ad.available
    adv = bytes(ad.advertise(temperature=1.5))
    assert lines == [binascii.hexlify(adv).decode()]
    ad.stop()
