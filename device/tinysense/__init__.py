"""tinysense: sensor DSP and machine learning kernels for MicroPython."""

__version__ = "0.1.0"
