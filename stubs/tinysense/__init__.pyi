"""tinysense: sensor DSP and machine learning kernels for MicroPython.

Type stubs for the device library (``device/tinysense``), for IDEs and type checkers on the
PC. Submodules: :mod:`tinysense.trees` (tree ensembles), :mod:`tinysense.modelfile` (the
model file reader). Reference: docs/device-api.md.
"""

__version__: str
