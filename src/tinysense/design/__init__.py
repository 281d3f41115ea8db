"""Filter design on the host: frequency weightings and IIR filters for the device ``iir`` kernel.

>>> from tinysense import design
>>> sos = design.weighting.design("A", 16000)        # float second-order sections
>>> design.sos.save(sos, "aweight16k.tsm", fs=16000)   # quantized, as a kind-4 file
"""

from . import sos, weighting

__all__ = ["sos", "weighting"]
