# Times one tree-ensemble model on MicroPython and prints one result line "RESULT {...}".
#
# Usage: micropython bench_trees_model.py KIND MODEL TESTDATA REPEATS [MIN_MS]
#   KIND      tinysense | everywhereml | m2cgen
#   MODEL     tinysense: path of the model file; peers: name of the generated module
#             (its folder, holding either the .py or the .mpy, must be on MICROPYPATH)
#   TESTDATA  binary file of int16 little-endian values:
#             n_rows, n_features, then n_rows*n_features features, then n_rows labels
#   REPEATS   how many timed passes over the whole test set (at least)
#   MIN_MS    keep making passes until this many milliseconds have passed (default 0)
#
# Every model gets the same input, the way a sensor loop feeds it: each test row is copied into one
# reused array('h') buffer, which is then passed to predict. The copy is timed for every model alike.
import array
import gc
import json
import micropython
import sys
import time

kind = sys.argv[1]
model_arg = sys.argv[2]
data_path = sys.argv[3]
repeats = int(sys.argv[4])
min_ms = int(sys.argv[5]) if len(sys.argv) > 5 else 0


def read_testdata(path):
    with open(path, "rb") as f:
        head = array.array("h", [0, 0])
        f.readinto(head)
        n_rows, n_features = head[0] & 0xFFFF, head[1]
        rows = []
        for _ in range(n_rows):
            row = array.array("h", [0] * n_features)
            f.readinto(row)
            rows.append(row)
        labels = array.array("h", [0] * n_rows)
        f.readinto(labels)
    return rows, labels


rows, labels = read_testdata(data_path)
gc.collect()
ram0 = gc.mem_alloc()

if kind == "tinysense":
    from tinysense import trees

    gc.collect()
    ram_code = gc.mem_alloc() - ram0
    model = trees.load(model_arg)
    predict = model.predict
    origin = trees.__file__
elif kind == "everywhereml":
    mod = __import__(model_arg)
    gc.collect()
    ram_code = gc.mem_alloc() - ram0
    model = mod.clf
    predict = model.predict
    origin = mod.__file__
elif kind == "m2cgen":
    mod = __import__(model_arg)
    gc.collect()
    ram_code = gc.mem_alloc() - ram0
    score = mod.score

    def predict(x):
        p = score(x)
        best = 0
        for i in range(1, len(p)):
            if p[i] > p[best]:
                best = i
        return best

    origin = mod.__file__
else:
    raise ValueError("unknown KIND " + kind)

gc.collect()
ram = gc.mem_alloc() - ram0

# Which tinysense modules the model needed (their files are its code on flash).
modules = sorted(k for k in sys.modules if k == "tinysense" or k.startswith("tinysense."))

buf = array.array("h", rows[0])
n_cols = len(buf)



@micropython.viper
def copy_row(dst: ptr16, src: ptr16, n: int):
    # Copies one test row into the input buffer without allocating (a slice assignment
    # would allocate a slice object for every row and add garbage collection to the timing).
    i = 0
    while i < n:
        dst[i] = src[i]
        i += 1

def one_pass(collect):
    out = []
    for x in rows:
        copy_row(buf, x, n_cols)
        p = predict(buf)
        if collect:
            out.append(p)
    return out


predictions = one_pass(True)
correct = 0
for i in range(len(rows)):
    if predictions[i] == labels[i]:
        correct += 1

# Timed passes: at least REPEATS of them, and more until MIN_MS milliseconds have gone by, so that
# fast models get enough passes for a stable median on a busy machine.
times = []
started = time.ticks_ms()
while len(times) < repeats or time.ticks_diff(time.ticks_ms(), started) < min_ms:
    gc.collect()
    t0 = time.ticks_us()
    for x in rows:
        copy_row(buf, x, n_cols)
        predict(buf)
    times.append(time.ticks_diff(time.ticks_us(), t0))
ordered = sorted(times)
n = len(ordered)
median = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2

# Side measurement: a new input array on every call (tinysense then checks the input every time).
fresh = []
for _ in range(max(5, repeats // 4)):
    gc.collect()
    t0 = time.ticks_us()
    for x in rows:
        predict(x)
    fresh.append(time.ticks_diff(time.ticks_us(), t0))
fresh.sort()

result = {
    "kind": kind,
    "origin": origin,
    "n_rows": len(rows),
    "correct": correct,
    "accuracy": correct / len(rows),
    "ram_total": ram,
    "ram_code": ram_code,
    "pass_us_median": median,
    "pass_us_min": ordered[0],
    "pass_us_max": ordered[-1],
    "us_per_inference": median / len(rows),
    "repeats": n,
    "fresh_input_us_median": fresh[len(fresh) // 2] / len(rows),
    "pass_us": times,
    "modules": modules,
    "predictions": [int(p) for p in predictions],
}
print("RESULT " + json.dumps(result))
