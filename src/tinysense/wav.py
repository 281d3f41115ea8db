"""WAV files for the device's replay microphone (``tinysense.sensors.mic.ReplayI2S``).

The device replays 16-bit PCM mono at the application's rate. :func:`read` accepts any WAV that
scipy reads (8/16/24/32-bit PCM, 32/64-bit float; any channel count) and :func:`to_device`
converts it: channels averaged, resampled with a polyphase filter, scaled to int16. A file that
is not a WAV, or a WAV in a compressed format, raises ``ValueError`` naming what it is.
"""

from __future__ import annotations

import struct
import warnings
from math import gcd
from pathlib import Path

import numpy as np

FORMAT_NAMES = {1: "PCM", 2: "MS ADPCM", 3: "IEEE float", 6: "A-law", 7: "mu-law", 0x11: "IMA ADPCM",
                0x55: "MP3", 0xFFFE: "extensible"}


def describe(path) -> str:
    """One line saying what a WAV file holds, e.g. ``PCM 24-bit stereo at 44100 Hz``; raises
    ``ValueError`` if it is not a RIFF/WAVE file."""
    if not Path(path).is_file():
        raise ValueError(f"WAV file {str(path)!r} does not exist")
    data = Path(path).read_bytes()[:4096]
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a WAV file (no RIFF/WAVE header)")
    i = 12
    while i + 8 <= len(data):
        tag, size = data[i:i + 4], struct.unpack_from("<I", data, i + 4)[0]
        if tag == b"fmt " and i + 24 <= len(data):
            fmt, ch, rate = struct.unpack_from("<HHI", data, i + 8)
            (bits,) = struct.unpack_from("<H", data, i + 22)
            if fmt == 0xFFFE and i + 34 <= len(data):
                (fmt,) = struct.unpack_from("<H", data, i + 32)
            chans = {1: "mono", 2: "stereo"}.get(ch, f"{ch} channels")
            return f"{FORMAT_NAMES.get(fmt, f'format {fmt}')} {bits}-bit {chans} at {rate} Hz"
        i += 8 + size + (size & 1)
    raise ValueError(f"{path}: WAV file has no fmt chunk")


def read(path) -> tuple[int, np.ndarray]:
    """``(rate, samples)`` of a WAV file; samples as scipy gives them (int or float, one
    column per channel)."""
    from scipy.io import wavfile

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"WAV file {str(path)!r} does not exist")
    what = describe(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)
            rate, x = wavfile.read(path)
    except ValueError as e:
        raise ValueError(f"{path}: cannot read a WAV file that is {what} ({e})") from None
    if x.size == 0:
        raise ValueError(f"{path}: WAV file ({what}) holds no samples")
    return rate, x


def to_float(x: np.ndarray) -> np.ndarray:
    """Samples as float64 mono with full scale at +-1 (channels averaged)."""
    if x.dtype.kind == "f":
        y = x.astype(np.float64)
    elif x.dtype == np.uint8:
        y = (x.astype(np.float64) - 128) / 128
    else:
        y = x.astype(np.float64) / float(2 ** (8 * x.dtype.itemsize - 1))
    return y.mean(axis=1) if y.ndim == 2 else y


def to_device(x: np.ndarray, rate: int, target_rate: int = 16000) -> np.ndarray:
    """``x`` (as :func:`read` returns it) as int16 mono at ``target_rate``."""
    from scipy import signal

    if x.dtype == np.int16 and x.ndim == 1 and rate == target_rate:
        return x
    y = to_float(x)
    if rate != target_rate:
        g = gcd(int(rate), int(target_rate))
        up, down = target_rate // g, rate // g
        if max(up, down) > 1000:
            raise ValueError(f"cannot resample {rate} Hz to {target_rate} Hz (ratio {up}/{down} too complex)")
        y = signal.resample_poly(y, up, down)
    return np.clip(np.round(y * 32768), -32768, 32767).astype(np.int16)


def write(path, x: np.ndarray, rate: int) -> Path:
    """Write int16 mono samples as a 16-bit PCM WAV file."""
    from scipy.io import wavfile

    x = np.asarray(x)
    if x.dtype != np.int16 or x.ndim != 1:
        raise ValueError(f"write() takes int16 mono samples, not {x.dtype} with shape {x.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, int(rate), x)
    return path


def prepare(path, out_dir, target_rate: int = 16000) -> tuple[Path, str]:
    """A WAV file the device can replay: ``path`` itself if it is already 16-bit PCM mono at
    ``target_rate``, else a converted copy in ``out_dir``. Returns ``(path, note)``; the note
    says what was converted (empty when nothing was)."""
    what = describe(path)
    rate, x = read(path)
    if x.dtype == np.int16 and x.ndim == 1 and rate == target_rate:
        return Path(path), ""
    y = to_device(x, rate, target_rate)
    out = write(Path(out_dir) / (Path(path).stem + f"_{target_rate // 1000}k_mono16.wav"), y, target_rate)
    return out, f"converted {what} to PCM 16-bit mono at {target_rate} Hz"
