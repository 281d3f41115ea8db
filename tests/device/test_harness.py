# The harness itself: a module runs on MicroPython, against the .py sources or the .mpy build.
import sys
import tsenv
import tinysense


def test_runs_on_micropython():
    assert sys.implementation.name == "micropython"


def test_library_variant_is_the_one_asked_for():
    path = tinysense.__file__
    assert path.endswith("." + tsenv.VARIANT), (path, tsenv.VARIANT)
