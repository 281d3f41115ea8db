"""Features of int16 sensor windows: statistics per channel and of the magnitude, band energies.

    ex = features.load("features.tsm")                       # kind-5 layout from the host
    ex = features.Extractor(channels=3, length=128, rate=100)  # or the default 56 features
    ex.compute(win, feats)    # win: planar array('h', 3 * 128); feats: array('h', ex.n_features)

Names are ``<signal>_<feature>``: signals ``x y z u v w`` and ``mag`` (floor(sqrt(x**2 + y**2 +
z**2) / 2), with >= 3 channels); features ``mean std min max median q25 q75 iqr rms mcr`` and
``e<lo>_<hi>`` (16 * log2 of the band energy, lo <= f < hi Hz). Integer definitions, identical
on the host (``tinysense.features``): docs/features.md. ``compute`` allocates nothing.
"""

from array import array
from typing import IO, Sequence

KIND_FEATURES: int
"""Model-file kind of a feature layout (5)."""

DEFINITIONS: int
"""Version of the feature definitions this module computes (1)."""

CHANNEL_NAMES: str
"""Signal names of the channels in order: ``"xyzuvw"``."""

MAG: str
"""Name of the magnitude signal: ``"mag"``."""

STATS: tuple[str, ...]
"""The statistics: mean std min max median q25 q75 iqr rms mcr."""

DEFAULT_BANDS: tuple[tuple[int, int], ...]
"""Default energy bands in Hz: (0, 1), (1, 3), (3, 6), (6, 12)."""

MAX_LENGTH: int
"""Longest window (1024 samples)."""

MAX_CHANNELS: int
"""Most channels (6)."""

MAX_BANDS: int
"""Most energy bands per signal (16)."""

def signal_names(channels: int) -> list[str]:
    """``x``, ``y``, ... one per channel, and ``mag`` when there are 3 or more."""

def default_names(channels: int = 3, bands: Sequence[tuple[int, int]] = ...) -> list[str]:
    """Every statistic and band energy of every signal, signal by signal."""

class Extractor:
    """Features ``names`` of windows of ``length`` (1..1024) samples of ``channels`` (1..6)
    int16 channels at ``rate`` Hz; ``hop`` (default ``length // 2``) is carried for the app.

    Raises ``TypeError``/``ValueError`` naming a bad parameter or feature name, ``ImportError``
    on a port without the viper emitter."""

    names: list[str]
    n_features: int
    channels: int
    length: int
    hop: int
    rate: int
    nfft: int

    def __init__(self, channels: int = 3, length: int = 128, rate: int = 100,
                 names: Sequence[str] | None = None, hop: int | None = None) -> None:
        """Validate the names and make every buffer (about 10 * length bytes + the FFT's)."""

    def compute(self, window: array[int], out: array[int]) -> array[int]:
        """Features of ``window`` (``array('h')``, channels * length, planar) into ``out``
        (``array('h')``, n_features) in the order of ``names``; returns ``out``.

        Raises ``TypeError`` for a buffer of the wrong typecode or length."""

def load(source: str | bytes | IO[bytes]) -> Extractor:
    """An :class:`Extractor` for a kind-5 layout file written by the host's
    ``tinysense.features.save_layout``; ``ValueError`` for a wrong, damaged or newer file."""
