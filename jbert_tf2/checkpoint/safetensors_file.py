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
from typing import BinaryIO

import numpy as np

from jbert_tf2.atomic_files import write_with

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

    def write(handle: BinaryIO) -> None:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for name in names:
            array = np.ascontiguousarray(tensors[name]).astype(
                tensors[name].dtype.newbyteorder("<"), copy=False
            )
            handle.write(memoryview(array).cast("B"))

    write_with(path, write)


SAFETENSORS_DTYPES = {name: dtype for dtype, name in DTYPE_NAMES.items()}


class StoredTensor:
    """A tensor in a safetensors file: shape and dtype at once, values read from the file when
    converted to an array (``np.asarray``). Reads go through ordinary file reads, not a memory
    map, so a loaded tensor's memory is freed once it has been copied into the model."""

    __slots__ = ("path", "name", "shape", "dtype", "offset")

    def __init__(self, path: Path, name: str, shape, dtype: np.dtype, offset: int):
        self.path, self.name, self.shape, self.dtype, self.offset = path, name, shape, dtype, offset

    def __array__(self, dtype=None, copy=None):
        count = int(np.prod(self.shape, dtype=np.int64))
        value = np.fromfile(self.path, self.dtype.newbyteorder("<"), count, offset=self.offset)
        if value.size != count:
            raise ValueError(f"{self.path}: {self.name} is truncated")
        value = value.reshape(self.shape)
        return value if dtype is None else value.astype(dtype, copy=False)

    @property
    def T(self) -> np.ndarray:  # noqa: N802  (numpy's name)
        return np.asarray(self).T

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def stored_tensors(path: Path) -> dict[str, StoredTensor]:
    """``{name: StoredTensor}`` for every tensor of a safetensors file (only the header read)."""
    path = Path(path)
    with open(path, "rb") as handle:
        raw = handle.read(8)
        if len(raw) != 8:
            raise ValueError("shorter than a safetensors header")
        (length,) = struct.unpack("<Q", raw)
        if length > 100_000_000:
            raise ValueError("implausible header length")
        header = json.loads(handle.read(length))
    size = path.stat().st_size
    start = 8 + length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if start + end > size:
            raise ValueError(f"{name} lies beyond the end of the file (truncated)")
        dtype = np.dtype(SAFETENSORS_DTYPES[info["dtype"]])
        tensors[name] = StoredTensor(path, name, tuple(info["shape"]), dtype, start + begin)
    return tensors
