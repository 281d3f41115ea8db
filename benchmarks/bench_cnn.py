"""int8 CNNs on the MicroPython unix port: time per layer and per inference, image preprocessing,
memory, and an estimate for a 240 MHz microcontroller.

    python benchmarks/bench_cnn.py [--rounds 5] [--out out/bench_cnn.md]

Run with CPython, this script runs ``benchmarks/device/bench_cnn_model.py`` with the unix-port
``micropython`` twice (tinysense as ``.py`` sources and as the x64 ``.mpy`` build) on:

- ``face``: the image classifier's CNN (32x32x1, conv 3x3 8/16/32 channels with 2x2 max pools,
  dense 512 -> 2);
- ``digits``: the app's second model (16x16x1, the same layers, dense 128 -> 10);
- ``cnn32``: a wider 3-layer 32x32 CNN of the kind shown in talks on TinyML (16/32/64 channels,
  about 4x the face model's multiply-accumulates).

It prints markdown tables: per model (file and arena bytes, RAM once loaded, microseconds per
inference, an estimate of milliseconds and frames per second on a 240 MHz MCU, correctness);
per layer (``model.profile``: microseconds of each layer, best of the rounds); and the
preprocessing of a 96x96 camera frame (3x3 block means to 32x32, mean/std normalisation,
quantization; RGB565 -> gray for a colour camera). Every time is the fastest of ``10 x --rounds``
single calls timed with ``time.ticks_us`` (on a busy PC other processes only ever add time, so
the minimum is the figure that repeats; per layer, the fastest of as many ``profile`` runs).

**Correctness.** Each model's int8 scores on the benchmark's input (a preprocessed sample frame)
are compared with a NumPy model of the int8 arithmetic on CPython
(``tinysense.convert.tflite.reference_run``) and with LiteRT's reference kernels; the table says
whether both agree with the device. They are not timed: they are references, not peers.

**The 240 MHz estimate.** The unix port on a PC says little about a microcontroller. The
estimate uses instruction counts of the same ``.mpy`` code measured on an emulated Cortex-M3
(QEMU ``mps2-an385`` with MicroPython's qemu port, ``-march=armv7m``; see ``M3_INSTRUCTIONS``)
and assumes one instruction per clock cycle at 240 MHz (an ESP32's LX6/LX7 or a Cortex-M4 reach
roughly that on this integer code, minus cache and flash wait states). A model without a
measured count is scaled from the face model by its x64 ``.mpy`` time. Frames per second include
the preprocessing (block means, normalisation, quantization) but not the camera: an OV2640
delivers about 12 frames/s at 96x96.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "apps" / "image_classifier"
MODELS = {"face": APP / "models" / "face.tsm", "digits": APP / "models" / "digits.tsm",
          "cnn32": APP / "models" / "cnn32.tsm"}
FRAME = APP / "images" / "faces" / "face_1.pgm"
MHZ = 240
# Instructions per call on the emulated Cortex-M3 (.mpy, armv7m), measured once for the committed
# models with the device kernels of the same commit (the counts depend on the layer shapes, not on
# the trained weights; a faster kernel makes them stale: measure again).
M3_INSTRUCTIONS = {
    "face": 14_761_228,  # model.scores, 32x32x1 input, 8/16/32 channels
    "digits": 3_759_975,  # model.scores, 16x16x1 input
    "cnn32": 41_951_820,  # model.scores, 32x32x1 input, 16/32/64 channels
    "area_96_to_32": 241_080,  # image.downscale_area 96x96 -> 32x32
    "meanstd_32x32": 159_052,  # image.normalize_meanstd, 1024 pixels
    "quantize_32x32": 54_626,  # model.quantize_input, 1024 pixels
    "rgb565_96x96": 1_058_790,  # image.gray_from_rgb565, 9216 pixels
}


def macs(layer) -> int:
    """Multiply-accumulates (or comparisons, for pools) of one converter layer."""
    from tinysense.convert import tflite as t

    oh, ow, oc = layer.out_shape
    ic = layer.in_shape[2]
    if layer.op == t.CONV_2D:
        return oh * ow * oc * layer.kh * layer.kw * ic
    if layer.op in (t.DEPTHWISE_CONV_2D, t.MAX_POOL_2D, t.AVERAGE_POOL_2D):
        return oh * ow * oc * layer.kh * layer.kw
    if layer.op == t.FULLY_CONNECTED:
        return layer.in_shape[2] * oc
    return int(np.prod(layer.in_shape))


def run_device(libdir: Path, rounds: int, frame_path: Path, models: list[Path]):
    from tinysense import unixport

    proc = unixport.run(ROOT / "benchmarks" / "device" / "bench_cnn_model.py",
                        [str(rounds), str(frame_path)] + [str(m) for m in models],
                        libdirs=[libdir, ROOT / "benchmarks" / "device"], heapsize="8M", timeout=1800, check=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    prep = next(r["prep"] for r in rows if "prep" in r)
    return {Path(r["model"]).stem: r for r in rows if "model" in r}, prep


def litert_scores(tflite: Path, x: np.ndarray) -> np.ndarray:
    from tinysense.run_image import LiteRT

    rt = LiteRT(tflite)
    rt.it.set_tensor(rt.inp["index"], x.astype(np.int8).reshape((1,) + rt.input_shape))
    rt.it.invoke()
    return rt.it.get_tensor(rt.logits_index).reshape(-1).astype(np.int64)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5,
                    help="10 x ROUNDS timed calls per figure, the fastest kept (default 5)")
    ap.add_argument("--out", metavar="FILE", help="also write the tables to this markdown file")
    args = ap.parse_args(argv)
    from tinysense import build
    from tinysense.convert import tflite
    from tinysense.paths import DEVICE_DIR
    from tinysense.image import read_pgm

    models = {k: p for k, p in MODELS.items() if p.is_file()}
    missing = sorted(set(MODELS) - set(models))
    tmp = Path(tempfile.mkdtemp(prefix="bench_cnn_"))
    frame = tmp / "frame.u8"
    read_pgm(FRAME).tofile(frame)
    results, notes = {}, []
    if missing:
        notes.append(f"missing model files (run `make train-image`): {', '.join(missing)}")
    for variant in ("py", "mpy"):
        if variant == "py":
            libdir = DEVICE_DIR
        else:
            libdir = tmp / "mpy"
            failed = []
            for rel in build.device_sources():
                try:
                    build.compile_file(DEVICE_DIR / rel, libdir / rel.with_suffix(".mpy"), "x64")
                except RuntimeError:
                    failed.append(str(rel))
            needed = [f for f in failed if Path(f).stem.split("_")[0] in ("__init__", "arrays", "modelfile", "image",
                                                                            "cnn", "timing")]
            if needed:
                notes.append(f"no .mpy column: mpy-cross failed for {', '.join(needed)}")
                continue
        print(f"running the {variant} variant on the unix port...", file=sys.stderr)
        results[variant] = run_device(libdir, args.rounds, frame, list(models.values()))
    ref = "mpy" if "mpy" in results else "py"
    dev = results[ref][0]

    header = ("| model | input | MACs | model file | arena | RAM loaded | µs / inference (.py) | µs (.mpy) "
              "| Cortex-M3 instructions | est. ms at 240 MHz | est. frames/s with preprocessing "
              "| scores = NumPy ref = LiteRT |")
    lines = ["### int8 CNN inference (MicroPython unix port, x64)", "", header,
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    face_us = dev.get("face", {}).get("us")
    layer_lines = []
    for name, path in models.items():
        r = dev[name]
        ir = tflite.load(path.with_suffix(".tflite"))
        total_macs = sum(macs(L) for L in ir.layers)
        x = np.array(r["input"], dtype=np.int64)
        ref_np = np.asarray(tflite.reference_run(ir, x.astype(np.int8).reshape(ir.input_shape))).reshape(-1)
        ref_rt = litert_scores(path.with_suffix(".tflite"), x)
        same = list(map(int, ref_np)) == r["scores"] and list(map(int, ref_rt)) == r["scores"]
        h, w, c = ir.input_shape
        if name in M3_INSTRUCTIONS:
            instr, how = M3_INSTRUCTIONS[name], f"{M3_INSTRUCTIONS[name] / 1e6:.1f} M"
        elif face_us:
            instr = M3_INSTRUCTIONS["face"] * r["us"] / face_us
            how = f"~{instr / 1e6:.0f} M (scaled)"
        else:
            instr, how = None, "–"
        q = M3_INSTRUCTIONS["quantize_32x32"] * (h * w) / 1024  # a table lookup per pixel
        pre = (M3_INSTRUCTIONS["area_96_to_32"] + M3_INSTRUCTIONS["meanstd_32x32"] * (h * w) / 1024 + q)
        ms = instr / (MHZ * 1e3) if instr else None
        fps = MHZ * 1e6 / (instr + pre) if instr else None
        py_us = results.get("py", ({}, {}))[0].get(name, {}).get("us")
        mpy_us = results.get("mpy", ({}, {}))[0].get(name, {}).get("us")
        alloc = "" if r["alloc"] == 0 else f" (allocates {r['alloc']} B per 5 calls)"
        lines.append(
            f"| {name} | {h}x{w}x{c} | {total_macs:,} | {r['file'] / 1024:.1f} kB | {r['arena'] / 1024:.1f} kB "
            f"| {r['ram'] / 1024:.1f} kB | {py_us:,.0f} | {'–' if mpy_us is None else f'{mpy_us:,.0f}'} | {how} "
            f"| {'–' if ms is None else f'{ms:.0f}'} | {'–' if fps is None else f'{fps:.1f}'} "
            f"| {'yes' if same else 'NO: ' + str(r['scores'])}{alloc} |")
        if not same:
            notes.append(f"{name}: device {r['scores']}, NumPy {list(map(int, ref_np))}, "
                         f"LiteRT {list(map(int, ref_rt))}")
        layer_lines += [f"#### {name}: time per layer (`model.profile`, {ref} build)", "",
                        "| # | layer | MACs | µs | share | ns / MAC |", "|---:|---|---:|---:|---:|---:|"]
        tot = sum(r["layers"]) or 1
        for k, (lname, us) in enumerate(zip(r["layer_names"], r["layers"], strict=True)):
            m = macs(ir.layers[k]) if k < len(ir.layers) else 0
            layer_lines.append(f"| {k} | {lname} | {m:,} | {us:,} | {100 * us / tot:.0f}% | "
                               f"{1000 * us / m if m else 0:.1f} |")
        layer_lines.append(f"| | total | {total_macs:,} | {sum(r['layers']):,} | | "
                           f"{1000 * tot / total_macs:.1f} |")
        layer_lines.append("")
    lines += ["", *layer_lines]
    lines += ["### Preprocessing of a 96x96 camera frame", "",
              "| step | µs (.py) | µs (.mpy) | Cortex-M3 instructions | est. µs at 240 MHz |",
              "|---|---:|---:|---:|---:|"]
    py_prep = results.get("py", ({}, {}))[1]
    mpy_prep = results.get("mpy", ({}, {}))[1]

    def us(d, k):
        if k == "meanstd":
            return d["meanstd_32x32_with_copy"] - d["copy_1024"] if d else None
        return d.get(k) if d else None

    for label, key, m3 in (("3x3 block means 96x96 -> 32x32 (`downscale_area`)", "area_96_to_32", "area_96_to_32"),
                           ("mean/std normalisation, 32x32 (`normalize_meanstd`)", "meanstd", "meanstd_32x32"),
                           ("RGB565 -> gray, 96x96 (`gray_from_rgb565`), colour cameras only",
                            "rgb565_to_gray_96x96", "rgb565_96x96")):
        a, b = us(py_prep, key), us(mpy_prep, key)
        n = M3_INSTRUCTIONS.get(m3) if m3 else None
        lines.append(f"| {label} | {'–' if a is None else f'{a:,.0f}'} | {'–' if b is None else f'{b:,.0f}'} "
                     f"| {'–' if n is None else f'{n:,}'} | {'–' if n is None else f'{n / MHZ:,.0f}'} |")
    qa = results.get("py", ({}, {}))[0].get("face", {}).get("quantize_us")
    qb = results.get("mpy", ({}, {}))[0].get("face", {}).get("quantize_us")
    lines.append(f"| int8 quantization, 32x32 (`model.quantize_input`) | {'–' if qa is None else f'{qa:,.0f}'} "
                 f"| {'–' if qb is None else f'{qb:,.0f}'} "
                 f"| {M3_INSTRUCTIONS['quantize_32x32']:,} | {M3_INSTRUCTIONS['quantize_32x32'] / MHZ:,.0f} |")
    lines += ["", ("Estimates at 240 MHz: Cortex-M3 instruction counts of the .mpy code at one instruction per "
                   "cycle (module docstring); frames/s = 240e6 / (inference + block means + normalisation + "
                   "quantization instructions). NumPy ref: `tinysense.convert.tflite.reference_run` on CPython; "
                   "LiteRT: reference kernels (BUILTIN_REF).")]
    lines += [f"- {n}" for n in notes]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0 if all(dev[n]["alloc"] == 0 for n in models) and not any(n.startswith(tuple(models)) for n in notes) else 1


if __name__ == "__main__":
    sys.exit(main())
