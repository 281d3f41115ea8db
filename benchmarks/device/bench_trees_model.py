# Times one tree-ensemble model on MicroPython and prints one result line "RESULT {...}".
#
# Usage: micropython bench_trees_model.py KIND MODEL TESTDATA REPEATS
#   KIND      tinysense | everywhereml | m2cgen
#   MODEL     tinysense: path of the model file; peers: name of the generated module
#             (its folder, holding either the .py or the .mpy, must be on MICROPYPATH)
#   TESTDATA  binary file of int16 little-endian values:
#             n_rows, n_features, then n_rows*n_features features, then n_rows labels
#   REPEATS   how many timed passes over the whole test set
#
# Every model gets the same input: one array('h') per test row.
import array
import gc
import json
import sys
import time

kind = sys.argv[1]
model_arg = sys.argv[2]
data_path = sys.argv[3]
repeats = int(sys.argv[4])


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

predictions = [predict(x) for x in rows]
correct = 0
for i in range(len(rows)):
    if predictions[i] == labels[i]:
        correct += 1

times = []
for _ in range(repeats):
    gc.collect()
    t0 = time.ticks_us()
    for x in rows:
        predict(x)
    times.append(time.ticks_diff(time.ticks_us(), t0))
times.sort()
n = len(times)
median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2

result = {
    "kind": kind,
    "origin": origin,
    "n_rows": len(rows),
    "correct": correct,
    "accuracy": correct / len(rows),
    "ram_total": ram,
    "ram_code": ram_code,
    "pass_us_median": median,
    "pass_us_min": times[0],
    "pass_us_max": times[-1],
    "us_per_inference": median / len(rows),
    "repeats": repeats,
    "modules": modules,
    "predictions": [int(p) for p in predictions],
}
print("RESULT " + json.dumps(result))
