"""Write and read tinysense model files (the container described in ``docs/modelfile.md``)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"TSMF"
VERSION = 1

KIND_TREES = 1
KIND_KNN = 2
KIND_CNN = 3
KIND_SOS = 4
KIND_FEATURES = 5
KINDS = {KIND_TREES: "tree ensemble", KIND_KNN: "k-NN model", KIND_CNN: "CNN", KIND_SOS: "IIR filter (second-order sections)",
         KIND_FEATURES: "feature layout"}

_TYPECODES = {"b": np.int8, "B": np.uint8, "h": np.int16, "H": np.uint16, "i": np.int32, "I": np.uint32, "f": np.float32}


@dataclass
class ModelFile:
    """The decoded container: kind, int32 header fields and named sections (numpy arrays)."""

    kind: int
    fields: list[int]
    sections: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)

    def section(self, tag: str) -> np.ndarray:
        return self.sections[tag][1]


def _check_tag(tag: str) -> bytes:
    raw = tag.encode("ascii")
    if len(raw) != 4:
        raise ValueError(f"section tag must be 4 ASCII characters, got {tag!r}")
    return raw


def dumps(kind: int, fields, sections) -> bytes:
    """Encode a model file. ``sections`` is a sequence of ``(tag, typecode, array)``."""
    fields = [int(f) for f in fields]
    for f in fields:
        if not -(2**31) <= f < 2**31:
            raise ValueError(f"header field {f} does not fit int32")
    out = bytearray(MAGIC)
    out += struct.pack("<HHHH", VERSION, kind, len(fields), len(sections))
    out += struct.pack(f"<{len(fields)}i", *fields)
    for tag, typecode, data in sections:
        if typecode not in _TYPECODES:
            raise ValueError(f"unsupported typecode {typecode!r}; expected one of {''.join(_TYPECODES)}")
        arr = np.asarray(data)
        dtype = np.dtype(_TYPECODES[typecode]).newbyteorder("<")
        if arr.size and np.issubdtype(arr.dtype, np.integer):
            info = np.iinfo(dtype)
            if arr.min() < info.min or arr.max() > info.max:
                raise ValueError(f"section {tag!r} has values outside {typecode!r} range")
        raw = arr.astype(dtype).tobytes()
        out += _check_tag(tag) + typecode.encode() + b"\0\0\0" + struct.pack("<I", arr.size)
        out += raw + b"\0" * (-len(raw) % 4)
    out += struct.pack("<I", zlib.crc32(out) & 0xFFFFFFFF)
    return bytes(out)


def save(path, kind: int, fields, sections) -> int:
    """Write a model file to ``path``; returns its size in bytes."""
    data = dumps(kind, fields, sections)
    Path(path).write_bytes(data)
    return len(data)


def loads(data: bytes, expect_kind: int | None = None) -> ModelFile:
    """Decode and check a model file; raises ``ValueError`` saying what is wrong."""
    if len(data) < 16 or data[:4] != MAGIC:
        raise ValueError(f"not a tinysense model file: expected magic {MAGIC!r}, got {bytes(data[:4])!r}")
    version, kind, nf, ns = struct.unpack_from("<HHHH", data, 4)
    if version != VERSION:
        raise ValueError(f"unsupported model file version {version}; this reader supports version {VERSION}")
    if expect_kind is not None and kind != expect_kind:
        raise ValueError(
            f"wrong model kind {kind} ({KINDS.get(kind, 'unknown')}); expected {expect_kind} ({KINDS.get(expect_kind)})"
        )
    pos = 12
    if pos + 4 * nf > len(data):
        raise ValueError("model file is truncated in its header")
    fields = list(struct.unpack_from(f"<{nf}i", data, pos))
    pos += 4 * nf
    sections = {}
    for _ in range(ns):
        if pos + 12 > len(data):
            raise ValueError("model file is truncated in a section header")
        tag = bytes(data[pos:pos + 4]).decode("ascii", "replace")
        typecode = chr(data[pos + 4])
        (count,) = struct.unpack_from("<I", data, pos + 8)
        pos += 12
        if typecode not in _TYPECODES:
            raise ValueError(f"section {tag!r} has unknown typecode {typecode!r}")
        dtype = np.dtype(_TYPECODES[typecode]).newbyteorder("<")
        nbytes = count * dtype.itemsize
        if pos + nbytes + 4 > len(data):
            raise ValueError(f"model file is truncated: section {tag!r} needs {nbytes} bytes")
        sections[tag] = (typecode, np.frombuffer(data, dtype=dtype, count=count, offset=pos).copy())
        pos += nbytes + (-nbytes % 4)
    if pos + 4 != len(data):
        raise ValueError(f"model file has {len(data) - pos - 4} unexpected bytes before its CRC")
    (crc,) = struct.unpack_from("<I", data, pos)
    if crc != zlib.crc32(data[:pos]) & 0xFFFFFFFF:
        raise ValueError("model file is corrupted: CRC-32 mismatch")
    return ModelFile(kind, fields, sections)


def load(path, expect_kind: int | None = None) -> ModelFile:
    """Read and check the model file at ``path``."""
    return loads(Path(path).read_bytes(), expect_kind)
