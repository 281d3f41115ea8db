"""A tiny application for the deployment tests: library modules with native code, a data file
listed in deploy.txt, and its arguments."""

import array
import sys

from tinysense import median, rms

DATA = "numbers.csv"


def main(argv):
    with open(DATA) as f:
        values = [int(line) for line in f if line.strip() and not line.startswith("#")]
    x = array.array("h", values)
    print("args", " ".join(argv[1:]))
    print("median", median.median(x))
    print("mean square", rms.mean_square(x))
    print("module", median.__file__)
    print("done")


if __name__ == "__main__":
    main(sys.argv)
