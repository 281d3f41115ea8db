# Device side of benchmarks/bench_cnn.py (MicroPython): int8 CNN inference and image preprocessing.
# Usage: micropython bench_cnn_model.py ROUNDS FRAME.u8 MODEL.tsm [MODEL.tsm ...]
# Every time is the fastest of 10 x ROUNDS single calls (time.ticks_us), per layer for profile().
# FRAME.u8 is one 96x96 grayscale frame. Prints one JSON object per line:
#   {"prep": {...}}                            microseconds of each preprocessing step (96x96 -> 32x32)
#   {"model": path, "scores": [...], ...}      per model: best total us, per-layer us, bytes, int8 scores
import array
import gc
import json
import os
import sys
import time

from tinysense import cnn, image

rounds = int(sys.argv[1])
calls = max(10, 10 * rounds)


def best(fn, args):
    # The fastest of `calls` single calls, microseconds: on a busy PC other processes only ever
    # add time, so the minimum is the figure that repeats.
    fn(*args)
    b = 0x3FFFFFFF
    gc.collect()
    k = 0
    while k < calls:
        t0 = time.ticks_us()
        fn(*args)
        dt = time.ticks_diff(time.ticks_us(), t0)
        if dt < b:
            b = dt
        k += 1
    return b

with open(sys.argv[2], "rb") as f:
    frame = bytearray(f.read())
small = bytearray(32 * 32)
scratch = bytearray(32 * 32)


def area():
    image.downscale_area(frame, 96, 96, small, 32, 32)


def meanstd():
    scratch[:] = small  # the normalisation works in place: start from the same pixels each call
    image.normalize_meanstd(scratch, 1024)


def copy():
    scratch[:] = small


area()
prep = {"area_96_to_32": best(area, ()),
        "meanstd_32x32_with_copy": best(meanstd, ()),
        "copy_1024": best(copy, ())}
rgb = bytearray(2 * 96 * 96)
gray = bytearray(96 * 96)
prep["rgb565_to_gray_96x96"] = best(image.gray_from_rgb565, (rgb, gray, 96 * 96))

def allocated(fn, a, b):
    # Bytes allocated by 5 calls (in a function: new module globals would grow the globals dict).
    fn(a, b)
    gc.collect()
    a0 = gc.mem_alloc()
    k = 0
    while k < 5:
        fn(a, b)
        k += 1
    return gc.mem_alloc() - a0


m = None
for path in sys.argv[3:]:
    m = None  # the previous model is garbage before this one is measured
    gc.collect()
    before = gc.mem_alloc()
    m = cnn.load(path)
    gc.collect()
    ram = gc.mem_alloc() - before
    h, w, c = m.input_shape
    pixels = bytearray(h * w * c)
    image.resize(frame, 96, 96, pixels, w, h)  # one channel: the frame's preprocessed pixels
    image.normalize_meanstd(pixels, h * w)
    x = array.array("b", bytes(h * w * c))
    qi = best(m.quantize_input, (pixels, x))
    out = array.array("b", bytes(m.output_shape[0]))
    total = best(m.scores, (x, out))
    us = array.array("i", [0] * m.n_layers)
    fastest = [0x3FFFFFFF] * m.n_layers
    for _ in range(calls):
        m.profile(x, us)
        for k in range(m.n_layers):
            if us[k] < fastest[k]:
                fastest[k] = us[k]
    grew = allocated(m.scores, x, out)
    print(json.dumps({"model": path, "input": list(x), "scores": list(out), "us": total, "layers": fastest,
                      "layer_names": list(m.layer_names), "arena": m.arena_bytes, "file": os.stat(path)[6],
                      "ram": ram, "quantize_us": qi, "alloc": grew}))
print(json.dumps({"prep": prep}))
