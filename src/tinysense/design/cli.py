"""``tinysense design``: frequency-weighting filters for the device ``iir`` kernel.

    tinysense design aweighting --rate 16000 aweight16k.tsm [--plot aweight16k.png]
    tinysense design cweighting --rate 48000 cweight48k.tsm

Designs the sections (:mod:`tinysense.design.weighting`), quantizes them for the kernel and
writes a kind-4 tinysense file (:mod:`tinysense.design.sos`), then prints the largest deviation
from IEC 61672-1 from 20 Hz to 0.35 fs — of the float design and of the quantized filter the
device runs — and saves a PNG plot of the deviation up to fs/2 (default: OUT with ``.png``).
"""

from __future__ import annotations

import math
from pathlib import Path

KINDS = {"aweighting": "A", "cweighting": "C"}


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="weighting", metavar="FILTER", required=True)
    for name, kind in KINDS.items():
        p = sub.add_parser(name, help=f"{kind}-weighting (IEC 61672-1) as second-order sections",
                           description=f"Design the {kind}-frequency weighting for the device iir kernel "
                           "and write it as a tinysense file.")
        p.add_argument("out", metavar="OUT", help="tinysense file to write (e.g. aweight16k.tsm)")
        p.add_argument("--rate", type=float, default=16000, metavar="HZ",
                       help="sample rate in Hz, 8000..48000 (default 16000)")
        p.add_argument("--plot", metavar="PNG", help="where to save the deviation plot (default: OUT with .png)")
        p.add_argument("--no-plot", action="store_true", help="do not save a plot")


def run(args) -> int:
    from . import sos as sosmod
    from . import weighting

    kind = KINDS[args.weighting]
    fs = float(args.rate)
    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"output {str(out)!r} is a folder; give a file name such as aweight16k.tsm")
    sections = weighting.design(kind, fs)  # ValueError for a bad rate
    q = sosmod.save(sections, out, name=f"{kind}-weighting", fs=fs)
    designed = weighting.max_deviation(sections, kind, fs)
    device = weighting.max_deviation(q.sos_quantized(), kind, fs)
    print(f"wrote {out}: {kind}-weighting at {fs:g} Hz, {len(sections)} sections, {out.stat().st_size} bytes")
    print(f"  max deviation from IEC 61672-1, 20 Hz .. {weighting.BAND_TOP * fs:g} Hz: "
          f"{designed:.3f} dB (design), {device:.3f} dB (quantized for the device); "
          f"plain bilinear: {weighting.max_deviation(weighting.bilinear(kind, fs), kind, fs):.2f} dB")
    print(f"  fixed point: fractional bits per section {', '.join(str(int(f)) for f in q.table[:, 10])}; "
          f"largest intermediate 2**{math.log2(q.worst):.2f} < 2**31 (int32 safe)")
    if not args.no_plot:
        png = Path(args.plot) if args.plot else out.with_suffix(".png")
        weighting.plot(png, {"tinysense (device, quantized)": q.sos_quantized(),
                             "plain bilinear transform": weighting.bilinear(kind, fs)}, kind, fs)
        print(f"  deviation plot: {png}")
    return 0
