"""Random forest on MicroPython: tinysense against everywhereml and m2cgen generated code.

The same as ``tinysense bench trees`` (see benchmarks/README.md); the options are the same too:

    python benchmarks/bench_trees.py --out-dir out --rounds 5
"""

import sys

from tinysense.bench import main

if __name__ == "__main__":
    sys.exit(main())
