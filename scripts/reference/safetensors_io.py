"""Minimal, dependency-free (torch only) safetensors writer and reader.

Format (https://github.com/huggingface/safetensors):
  8 bytes   little-endian uint64 N = header length
  N bytes   UTF-8 JSON: {"__metadata__": {str: str}, "<name>": {"dtype": "F32"|"F64"|"I32"|...|"BOOL",
            "shape": [...], "data_offsets": [begin, end]}, ...}, padded with spaces so that
            N is a multiple of 8. Offsets are relative to the first byte after the header.
  data      tensors packed back to back, little-endian, row-major, in header order.

The writer is deterministic: the same tensors (same order) and metadata give the same bytes.
"""

from __future__ import annotations

import json
import struct
import sys

import torch

_DTYPES = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.int32: "I32",
    torch.int64: "I64",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.uint8: "U8",
    torch.bool: "BOOL",  # 1 byte per element, 0 or 1 (as safetensors stores it)
}
_TORCH = {v: k for k, v in _DTYPES.items()}


def _tensor_bytes(t: torch.Tensor) -> bytes:
    assert sys.byteorder == "little", "writer assumes a little-endian host"
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save(tensors: "dict[str, torch.Tensor]", path: str, metadata: "dict[str, str] | None" = None):
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    off = 0
    for name, t in tensors.items():
        if t.dtype not in _DTYPES:
            raise ValueError(f"{name}: unsupported dtype {t.dtype}")
        b = _tensor_bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def load(path: str) -> "tuple[dict[str, torch.Tensor], dict[str, str]]":
    """Returns (tensors in file order, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = _TORCH[info["dtype"]]
        raw = bytearray(data[base + b:base + e])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    return out, meta
