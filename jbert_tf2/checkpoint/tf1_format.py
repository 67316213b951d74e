"""TF1 (V2 "tensor bundle") checkpoints read without TensorFlow, tensor by tensor.

A checkpoint ``prefix`` is ``prefix.index``, a LevelDB-style table mapping each variable name to
a ``BundleEntryProto`` (dtype, shape, shard, offset, size), and ``prefix.data-NNNNN-of-MMMMM``
files holding the raw little-endian tensor bytes. Reading the index directly lets the converter
list every variable with its shape without importing TensorFlow, and map each tensor from its
data file only when it is needed, so memory stays near one copy of the model.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jbert_tf2.errors import CheckpointError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5  # compression type byte + crc32
# tensorflow/core/framework/types.proto
DTYPES = {
    1: np.float32,
    2: np.float64,
    3: np.int32,
    4: np.uint8,
    5: np.int16,
    6: np.int8,
    9: np.int64,
    10: np.bool_,
    17: np.uint16,
    19: np.float16,
    22: np.uint32,
    23: np.uint64,
}
DT_STRING, DT_BFLOAT16 = 7, 14


class UnsupportedCheckpoint(Exception):
    """A valid checkpoint this reader does not handle (compressed index, sliced variables)."""


@dataclass(frozen=True)
class TensorEntry:
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int

    @property
    def is_floating(self) -> bool:
        return self.dtype in (1, 2, 19, DT_BFLOAT16)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes):
    """(field number, wire type, value) of a protobuf message; value is int or bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _shape(buf: bytes) -> tuple[int, ...]:
    dims = []
    for number, _, value in _fields(buf):
        if number == 2:  # Dim
            size = 0
            for dim_number, _, dim_value in _fields(value):
                if dim_number == 1:
                    size = dim_value
            dims.append(size)
        elif number == 3 and value:
            raise UnsupportedCheckpoint("a tensor of unknown rank")
    return tuple(dims)


def _entry(buf: bytes) -> TensorEntry:
    dtype = shard = offset = size = 0
    shape: tuple[int, ...] = ()
    for number, _, value in _fields(buf):
        if number == 1:
            dtype = value
        elif number == 2:
            shape = _shape(value)
        elif number == 3:
            shard = value
        elif number == 4:
            offset = value
        elif number == 5:
            size = value
        elif number == 7:
            raise UnsupportedCheckpoint("partitioned (sliced) variables")
    return TensorEntry(dtype, shape, shard, offset, size)


def _block(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """The (key, value) entries of one table block."""
    if offset + size + BLOCK_TRAILER_SIZE > len(data):
        raise ValueError("block beyond the end of the file")
    if data[offset + size] != 0:
        raise UnsupportedCheckpoint("a compressed checkpoint index")
    block = data[offset : offset + size]
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * restarts
    entries, key, pos = [], b"", 0
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        entries.append((key, block[pos : pos + length]))
        pos += length
    return entries


def read_index(index_file: Path) -> tuple[int, dict[str, TensorEntry]]:
    """(number of data shards, {variable name: entry}) from ``prefix.index``."""
    data = index_file.read_bytes()
    if len(data) < FOOTER_SIZE:
        raise ValueError("shorter than a table footer")
    footer = data[-FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)
    if magic != TABLE_MAGIC:
        raise ValueError("no table magic number at the end")
    _, pos = _varint(footer, 0)  # metaindex handle: offset
    _, pos = _varint(footer, pos)  # and size
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    shards, entries = 1, {}
    for _, handle in _block(data, index_offset, index_size):
        block_offset, pos = _varint(handle, 0)
        block_size, _ = _varint(handle, pos)
        for key, value in _block(data, block_offset, block_size):
            if key == b"":  # BundleHeaderProto
                for number, _, field in _fields(value):
                    if number == 1:
                        shards = field
                    elif number == 2 and field != 0:
                        raise UnsupportedCheckpoint("a big-endian checkpoint")
                continue
            if key.startswith(b"\x00"):  # the slice keys of a partitioned variable
                raise UnsupportedCheckpoint("partitioned (sliced) variables")
            entries[key.decode("utf-8")] = _entry(value)
    return shards, entries


class TF1CheckpointReader:
    """Variables of a TF1 checkpoint: names and shapes at once, values on demand (memory-mapped)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        index = Path(f"{prefix}.index")
        try:
            self.shards, self.entries = read_index(index)
        except OSError as exc:
            raise CheckpointError(
                f"{index}: cannot be read ({exc.strerror or exc}); a TF1 checkpoint is "
                "PREFIX.index plus PREFIX.data-*: pass the prefix of files that exist"
            ) from None
        except (ValueError, IndexError, struct.error, UnicodeDecodeError) as exc:
            raise CheckpointError(
                f"{index}: cannot read the checkpoint index ({exc}); the file is truncated or "
                "not a TF checkpoint: copy it again"
            ) from None

    def shape(self, name: str) -> tuple[int, ...]:
        return self.entries[name].shape

    def tensor(self, name: str) -> np.ndarray:
        """The variable's value: a read-only array mapped from the data file."""
        entry = self.entries[name]
        data_file = Path(f"{self.prefix}.data-{entry.shard:05d}-of-{self.shards:05d}")
        if entry.dtype not in DTYPES:
            raise UnsupportedCheckpoint(f"variable {name} has TensorFlow dtype {entry.dtype}")
        dtype = np.dtype(DTYPES[entry.dtype]).newbyteorder("<")
        count = int(np.prod(entry.shape, dtype=np.int64))
        if count * dtype.itemsize != entry.size:
            raise CheckpointError(
                f"{self.prefix}: variable {name} has {entry.size} bytes for shape "
                f"{list(entry.shape)}; the index is corrupt: copy the checkpoint again"
            )
        try:
            available = data_file.stat().st_size
        except OSError:
            raise CheckpointError(
                f"{data_file}: missing; a TF1 checkpoint needs its .index and .data files "
                "together: copy them again"
            ) from None
        if entry.offset + entry.size > available:
            raise CheckpointError(
                f"{self.prefix}: variable {name} cannot be read (needs bytes up to "
                f"{entry.offset + entry.size}, the .data file has {available}); the .data file "
                "is truncated or corrupt: copy the checkpoint again"
            )
        if count == 0:
            return np.zeros(entry.shape, dtype)
        return np.memmap(data_file, dtype, mode="r", offset=entry.offset, shape=entry.shape)
