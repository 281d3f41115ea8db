# Prints the MicroPython build the benchmarks ran on as one line "INFO {...}".
import gc
import json
import sys

impl = sys.implementation
mpy = getattr(impl, "_mpy", 0)
print("INFO " + json.dumps({
    "version": ".".join(str(v) for v in impl.version[:3]),
    "machine": getattr(impl, "_machine", sys.platform),
    "mpy_version": mpy & 0xFF,
    "mpy_arch": mpy >> 10,
    "heap_free": gc.mem_free(),
}))
