# fixtures: image
# tinysense.image on MicroPython against numpy under the same integer definitions
# (tests/fixtures/image.py). Every comparison is exact: the definitions are integer arithmetic
# with stated rounding, so there is no tolerance to justify.
import gc
import tsenv
from tinysense import image
from expect import expect_error as raises

DIR = tsenv.FIXTURES + "/image/"


def read(name, ext=".u8"):
    with open(DIR + name + ext, "rb") as f:
        return bytearray(f.read())


def cases(op=None):
    with open(DIR + "cases.txt") as f:
        for line in f:
            c = line.split()
            if op is None or c[0] == op:
                args = () if c[6] == "-" else tuple(int(v) for v in c[6].split(","))
                yield c[0], c[1], int(c[2]), int(c[3]), int(c[4]), int(c[5]), args, c[7]


def first_diff(got, want):
    for i in range(min(len(got), len(want))):
        if got[i] != want[i]:
            return i, got[i], want[i]
    return len(got), len(want)


def check(op, fn, count):
    n = 0
    for _, src, sw, sh, dw, dh, args, refname in cases(op):
        s = read(src)
        want = read(refname)
        dst = bytearray(dw * dh + 3)  # room past the end must stay untouched
        dst[-3:] = b"\xa5\xa5\xa5"
        fn(s, sw, sh, dst, dw, dh, args)
        assert dst[:dw * dh] == want, (op, src, sw, sh, dw, dh, first_diff(dst, want))
        assert dst[-3:] == b"\xa5\xa5\xa5", (op, src, "wrote past the end")
        n += 1
    assert n == count, (op, n)


def test_downscale_area_matches_numpy():
    check("area", lambda s, sw, sh, d, dw, dh, a: image.downscale_area(s, sw, sh, d, dw, dh), 31)


def test_area_worst_case_block():
    # 256x256 white block: sum 255 * 65536 = 16,711,680 (< 2**24)
    s = bytearray(b"\xff" * 65536)
    d = bytearray(1)
    image.downscale_area(s, 256, 256, d, 1, 1)
    assert d[0] == 255
    # rounding half up: block [0, 1] -> (1 + 1) // 2 = 1; [0, 0, 1] -> (1 + 1) // 3 = 0
    d = bytearray(1)
    image.downscale_area(bytes([0, 1]), 2, 1, d, 1, 1)
    assert d[0] == 1
    image.downscale_area(bytes([0, 0, 1]), 3, 1, d, 1, 1)
    assert d[0] == 0


def test_resize_nearest_matches_numpy():
    check("nearest", lambda s, sw, sh, d, dw, dh, a: image.resize_nearest(s, sw, sh, d, dw, dh), 29)


def test_resize_bilinear_matches_numpy():
    check("bilinear", lambda s, sw, sh, d, dw, dh, a: image.resize_bilinear(s, sw, sh, d, dw, dh), 28)


def test_resize_picks_area_or_bilinear():
    check("resize", lambda s, sw, sh, d, dw, dh, a: image.resize(s, sw, sh, d, dw, dh), 28)


def test_crop_matches_numpy():
    check("crop", lambda s, sw, sh, d, dw, dh, a: image.crop(s, sw, sh, a[0], a[1], d, dw, dh), 4)


def test_normalize_minmax_matches_numpy():
    n = 0
    for _, src, sw, sh, dw, dh, args, refname in cases("minmax"):
        b = read(src)
        image.normalize_minmax(b, sw * sh)
        assert b == read(refname), (src, first_diff(b, read(refname)))
        n += 1
    assert n == 9


def test_normalize_meanstd_matches_numpy():
    n = 0
    for _, src, sw, sh, dw, dh, args, refname in cases("meanstd"):
        b = read(src)
        image.normalize_meanstd(b, sw * sh, args[0], args[1])
        assert b == read(refname), (src, args, first_diff(b, read(refname)))
        n += 1
    assert n == 45


def test_meanstd_of_a_narrow_bright_image():
    # std about 1.7 grey levels at mean about 202: the output spreads to std 48 (within 4%)
    b = bytearray(576)
    for i in range(576):
        b[i] = 200 + (i * 7 + i // 24) % 6
    image.normalize_meanstd(b, 576)
    mean = sum(b) / 576
    std = (sum((v - mean) ** 2 for v in b) / 576) ** 0.5
    assert abs(mean - 128) <= 1 and abs(std - 48) <= 2, (mean, std)


def test_normalize_only_touches_n_pixels():
    b = bytearray([10, 20, 30, 40, 99, 7])
    image.normalize_minmax(b, 4)
    assert b == bytearray([0, 85, 170, 255, 99, 7]), b
    b = bytearray([10, 20, 30, 40, 99])
    image.normalize_meanstd(b, 4, 128, 48)
    assert b[4] == 99 and sum(b[:4]) // 4 in (127, 128), b


def test_gray_from_rgb565_every_value():
    src = read("all", ".565")
    want = read(next(cases("rgb565"))[7])
    dst = bytearray(65536)
    image.gray_from_rgb565(src, dst, 65536)
    assert dst == want, first_diff(dst, want)
    # little-endian: swap the byte pairs
    le = bytearray(len(src))
    for i in range(0, len(src), 2):
        le[i] = src[i + 1]
        le[i + 1] = src[i]
    dst2 = bytearray(65536)
    image.gray_from_rgb565(le, dst2, 65536, big_endian=False)
    assert dst2 == want
    # in place, into the first half of the frame buffer
    image.gray_from_rgb565(src, src, 65536)
    assert src[:65536] == want
    # white, black, pure red/green/blue
    d = bytearray(5)
    image.gray_from_rgb565(bytes([0xFF, 0xFF, 0, 0, 0xF8, 0, 0x07, 0xE0, 0, 0x1F]), d, 5)
    assert list(d) == [255, 0, 77, 149, 29], list(d)


def test_memoryview_and_bytes_sources():
    s = bytes(range(16))
    d = bytearray(4)
    image.downscale_area(s, 4, 4, d, 2, 2)
    assert list(d) == [3, 5, 11, 13], list(d)  # (0+1+4+5+2)//4 = 3 ...
    big = bytearray(32)
    image.downscale_area(memoryview(bytearray(s)), 4, 4, memoryview(big)[8:12], 2, 2)
    assert list(big[8:12]) == [3, 5, 11, 13]


def test_no_allocation():
    frame = bytearray(96 * 96)
    for i in range(len(frame)):
        frame[i] = (i * 7) & 255
    rgb = bytearray(2 * 96 * 96)
    small = bytearray(32 * 32)
    other = bytearray(20 * 20)
    mv = memoryview(frame)
    small_mv = memoryview(small)

    def step():
        image.gray_from_rgb565(rgb, frame, 96 * 96)
        image.downscale_area(mv, 96, 96, small, 32, 32)
        image.downscale_area(frame, 96, 96, small_mv, 32, 32)  # a writable memoryview: probed each call
        image.normalize_meanstd(small, 1024)
        image.normalize_minmax(small, 1024)
        image.resize(frame, 96, 96, other, 20, 20)
        image.resize_nearest(frame, 96, 96, other, 20, 20)
        image.crop(frame, 96, 96, 10, 10, other, 20, 20)

    step()
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(20):
        step()
    assert gc.mem_alloc() - before == 0, gc.mem_alloc() - before


def test_plain_python_twin_gives_the_same_results():
    # the kernels a port without viper uses, on every fixture case (the first few of each kind)
    from tinysense import image_python

    keep = image._k
    image._k = image_python
    try:
        seen = {}
        for op, src, sw, sh, dw, dh, args, refname in cases():
            if seen.get(op, 0) >= 4 or op == "rgb565" or sw * sh > 20000:
                continue
            seen[op] = seen.get(op, 0) + 1
            s = read(src)
            want = read(refname)
            if op in ("minmax", "meanstd"):
                if op == "minmax":
                    image.normalize_minmax(s, sw * sh)
                else:
                    image.normalize_meanstd(s, sw * sh, args[0], args[1])
                assert s == want, (op, src, args)
                continue
            d = bytearray(dw * dh)
            if op == "crop":
                image.crop(s, sw, sh, args[0], args[1], d, dw, dh)
            else:
                fn = {"area": image.downscale_area, "nearest": image.resize_nearest,
                      "bilinear": image.resize_bilinear, "resize": image.resize}[op]
                fn(s, sw, sh, d, dw, dh)
            assert d == want, (op, src, dw, dh, first_diff(d, want))
        assert len(seen) == 7, seen
        d = bytearray(5)
        image.gray_from_rgb565(bytes([0xFF, 0xFF, 0, 0, 0xF8, 0, 0x07, 0xE0, 0, 0x1F]), d, 5)
        assert list(d) == [255, 0, 77, 149, 29], list(d)
        image.gray_from_rgb565(bytes([0, 0xF8]), d, 1, big_endian=False)
        assert d[0] == 77
    finally:
        image._k = keep


def test_bad_input():
    s = bytearray(96 * 96)
    d = bytearray(32 * 32)
    raises(ValueError, image.downscale_area, s, 96, 96, bytearray(1600), 40, 40, words=("whole factors", "96x96 -> 40x40"))
    raises(ValueError, image.downscale_area, s, 96, 96, bytearray(100), 32, 32, words=("dst", "100", "1024"))
    raises(ValueError, image.downscale_area, bytearray(100), 96, 96, d, 32, 32, words=("src", "9216"))
    raises(ValueError, image.downscale_area, s, 0, 96, d, 32, 32, words=("sw", "1..4096"))
    raises(ValueError, image.resize_nearest, s, 96, 96, d, 5000, 1, words=("dw", "4096"))
    raises(TypeError, image.downscale_area, s, 96.0, 96, d, 32, 32, words=("sw", "int"))
    raises(TypeError, image.downscale_area, [0] * 9216, 96, 96, d, 32, 32, words=("src", "list"))
    raises(TypeError, image.downscale_area, s, 96, 96, bytes(1024), 32, 32, words=("dst", "bytearray"))
    ro = bytes(1024)  # a memoryview of bytes is read-only: writing through it would change the bytes
    raises(TypeError, image.downscale_area, s, 96, 96, memoryview(ro), 32, 32, words=("dst", "read-only"))
    raises(TypeError, image.normalize_minmax, memoryview(ro), 1024, words=("buf", "read-only"))
    assert ro == bytes(1024)
    raises(ValueError, image.downscale_area, bytearray(300 * 300), 300, 300, d, 1, 1, words=("65536",))
    raises(ValueError, image.resize_bilinear, bytearray(4096), 4096, 1, bytearray(4096), 4096, 1,
           words=("too large",))
    raises(ValueError, image.crop, s, 96, 96, 70, 0, d, 32, 32, words=("outside", "(70, 0)"))
    raises(ValueError, image.crop, s, 96, 96, -1, 0, d, 32, 32, words=("outside",))
    raises(TypeError, image.crop, s, 96, 96, 1.5, 0, d, 32, 32, words=("x and y",))
    raises(ValueError, image.normalize_minmax, d, 2000, words=("buf", "2000"))
    raises(ValueError, image.normalize_minmax, bytearray(40000), 40000, words=("33025",))
    raises(ValueError, image.normalize_meanstd, d, 0, words=("n must be",))
    raises(ValueError, image.normalize_meanstd, d, 1024, 300, 48, words=("target_mean",))
    raises(ValueError, image.normalize_meanstd, d, 1024, 128, 0, words=("target_std",))
    raises(ValueError, image.gray_from_rgb565, bytearray(10), d, 6, words=("src", "12"))
    raises(ValueError, image.gray_from_rgb565, bytearray(12), bytearray(5), 6, words=("dst", "6"))
    raises(ValueError, image.gray_from_rgb565, bytearray(12), d, 0, words=("n_pixels",))
