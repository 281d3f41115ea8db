"""WAV handling for the replay microphone: conversion on the host (tinysense.wav) and the
device reader's clear errors (tinysense.sensors.mic on the unix port)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from scipy.io import wavfile

from tinysense import unixport, wav
from tinysense.paths import DEVICE_DIR


def test_16k_mono_int16_is_used_as_is(tmp_path):
    x = (np.arange(4000) % 100 - 50).astype(np.int16)
    wavfile.write(tmp_path / "a.wav", 16000, x)
    path, note = wav.prepare(tmp_path / "a.wav", tmp_path / "out")
    assert path == tmp_path / "a.wav" and note == ""


@pytest.mark.parametrize("dtype,scale", [(np.int16, 32767), (np.int32, 2**31 - 1), (np.float32, 1.0), (np.uint8, 127)])
def test_other_wavs_are_converted(tmp_path, dtype, scale):
    t = np.arange(44100) / 44100
    s = 0.5 * np.sin(2 * np.pi * 1000 * t)
    x = np.stack([s, s], axis=1) * scale
    if dtype == np.uint8:
        x = x + 128
    wavfile.write(tmp_path / "b.wav", 44100, x.astype(dtype))
    path, note = wav.prepare(tmp_path / "b.wav", tmp_path / "out")
    assert "stereo at 44100 Hz" in note and "16-bit mono at 16000 Hz" in note
    rate, y = wavfile.read(path)
    assert rate == 16000 and y.dtype == np.int16 and y.ndim == 1 and abs(len(y) - 16000) <= 1
    rms = np.sqrt(np.mean(y[1000:-1000].astype(float) ** 2))
    assert abs(20 * np.log10(rms / (0.5 * 32768 / np.sqrt(2)))) < 0.1


def test_not_a_wav(tmp_path):
    (tmp_path / "c.wav").write_bytes(b"hello, not audio")
    with pytest.raises(ValueError, match="not a WAV file"):
        wav.prepare(tmp_path / "c.wav", tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        wav.read(tmp_path / "missing.wav")


def _wav_header(fmt, channels, rate, bits, n=100):
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    data = bytes(n * block)
    return b"RIFF" + struct.pack("<I", 4 + 8 + 16 + 8 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) \
        + fmt_chunk + b"data" + struct.pack("<I", len(data)) + data


DEVICE_SCRIPT = """
import sys
from tinysense.sensors import mic
try:
    mic.ReplayI2S(sys.argv[1], rate=16000)
    print("OK")
except ValueError as e:
    print("ERR", e)
"""


@pytest.mark.parametrize("header,expect", [
    ((1, 1, 16000, 16), "OK"),
    ((1, 2, 16000, 16), "PCM 16-bit 2 channels at 16000 Hz; the replay microphone needs 16-bit PCM mono"),
    ((1, 1, 16000, 24), "PCM 24-bit mono"),
    ((3, 1, 16000, 32), "IEEE float 32-bit mono"),
    ((7, 1, 8000, 8), "mu-law 8-bit mono at 8000 Hz"),
    ((1, 1, 44100, 16), "at 44100 Hz; the application runs at 16000 Hz"),
])
def test_device_reader_names_what_a_wav_is(tmp_path, header, expect):
    (tmp_path / "x.wav").write_bytes(_wav_header(*header))
    (tmp_path / "s.py").write_text(DEVICE_SCRIPT)
    proc = unixport.run(tmp_path / "s.py", [str(tmp_path / "x.wav")], libdirs=[DEVICE_DIR], check=True)
    assert expect in proc.stdout, proc.stdout


def test_device_reader_rejects_non_wav(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"ID3\x03not a wav at all")
    (tmp_path / "s.py").write_text(DEVICE_SCRIPT)
    proc = unixport.run(tmp_path / "s.py", [str(tmp_path / "x.wav")], libdirs=[DEVICE_DIR], check=True)
    assert "not a WAV file" in proc.stdout, proc.stdout
