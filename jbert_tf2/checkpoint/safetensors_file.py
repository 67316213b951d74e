"""Writing safetensors files one tensor at a time.

`safetensors.numpy.save_file` serializes every tensor into one buffer first, a second copy of
the model in memory. The format is simple (an 8-byte header length, a JSON header with each
tensor's dtype, shape and byte range, then the bytes), so this writer streams each tensor, which
may be memory-mapped from a TF1 checkpoint, straight to the file. Reading stays with the
`safetensors` library.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

DTYPE_NAMES = {
    np.dtype(np.float32): "F32",
    np.dtype(np.float64): "F64",
    np.dtype(np.float16): "F16",
    np.dtype(np.int64): "I64",
    np.dtype(np.int32): "I32",
    np.dtype(np.int16): "I16",
    np.dtype(np.int8): "I8",
    np.dtype(np.uint8): "U8",
    np.dtype(np.bool_): "BOOL",
}


def write_safetensors(path: Path, tensors: dict, metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` ({name: array}) to ``path`` in name order, one tensor at a time."""
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    names = sorted(tensors)
    for name in names:
        array = tensors[name]
        dtype = np.dtype(array.dtype)
        if dtype not in DTYPE_NAMES:
            raise ValueError(f"{name}: dtype {dtype} cannot be stored in safetensors")
        size = int(np.prod(array.shape, dtype=np.int64)) * dtype.itemsize
        header[name] = {
            "dtype": DTYPE_NAMES[dtype],
            "shape": [int(d) for d in array.shape],
            "data_offsets": [offset, offset + size],
        }
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for name in names:
            array = np.ascontiguousarray(tensors[name]).astype(
                tensors[name].dtype.newbyteorder("<"), copy=False
            )
            handle.write(memoryview(array).cast("B"))
