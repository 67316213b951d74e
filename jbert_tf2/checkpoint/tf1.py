"""Reading and writing TF1 checkpoints (the ``.index`` + ``.data-*`` pairs Google's code uses)."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from jbert_tf2.atomic_files import write_text
from jbert_tf2.backend import tensorflow
from jbert_tf2.checkpoint.tf1_format import TF1CheckpointReader, UnsupportedCheckpoint
from jbert_tf2.errors import CheckpointError


def _listing(directory: Path) -> str:
    try:
        entries = sorted(p.name for p in directory.iterdir())
    except OSError:
        return "(cannot list it)"
    if not entries:
        return "(it is empty)"
    shown = ", ".join(entries[:20])
    return shown + (f", ... ({len(entries)} entries)" if len(entries) > 20 else "")


def _prefixes_in(directory: Path) -> list[str]:
    return sorted(str(p)[: -len(".index")] for p in directory.glob("*.index"))


def resolve_checkpoint(path: str | os.PathLike) -> str:
    """Turn what the user typed into a checkpoint prefix, or say what is there instead.

    Accepts a prefix (``model.ckpt-1400000``), a prefix with a file suffix
    (``model.ckpt-1400000.index``), or a directory with a ``checkpoint`` file or one ``*.index``.
    """
    path = Path(path)
    text = str(path)
    suffix = re.search(r"\.(index|meta|data-\d+-of-\d+)$", text)
    if suffix and not path.is_dir():
        path = Path(text[: suffix.start()])
    if path.is_dir():
        state = path / "checkpoint"
        if state.is_file():
            match = re.search(r'^model_checkpoint_path:\s*"(.*)"', state.read_text(), re.M)
            if match:
                named = Path(match.group(1))
                for candidate in (
                    named if named.is_absolute() else path / named,
                    path / named.name,
                ):
                    if Path(str(candidate) + ".index").is_file():
                        return str(candidate)
        prefixes = _prefixes_in(path)
        if len(prefixes) == 1:
            return prefixes[0]
        if prefixes:
            raise CheckpointError(
                f"{path}: holds several checkpoints ({', '.join(Path(p).name for p in prefixes)}); "
                "pass the prefix of the one to convert, e.g. "
                f"{prefixes[-1]}"
            )
        raise CheckpointError(
            f"{path}: no TF1 checkpoint here (no 'checkpoint' file, no *.index); it holds: "
            f"{_listing(path)}"
        )
    index = Path(str(path) + ".index")
    if index.is_file():
        data = list(path.parent.glob(glob.escape(path.name) + ".data-*"))
        if not data:
            raise CheckpointError(
                f"{path}: found {index.name} but no {path.name}.data-* file beside it; "
                "copy the data file(s) of this checkpoint too"
            )
        return str(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint; the folder {parent} does not exist")
    near = [Path(p).name for p in _prefixes_in(parent)]
    hint = (
        f"checkpoints in {parent}: {', '.join(near)}"
        if near
        else f"{parent} holds: {_listing(parent)}"
    )
    raise CheckpointError(
        f"{path}: no checkpoint with this prefix ({path.name}.index is absent); {hint}"
    )


def read_tf1_checkpoint(
    prefix: str, skip: Callable[[str], bool] | None = None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every variable of a TF1 checkpoint as float32 / int numpy arrays, by name, and the names
    for which ``skip`` (e.g. optimizer slots) said not to read the values.

    Float32 values are memory-mapped from the .data file (read on first use, never copied), so
    optimizer slots cost nothing and the model's weights are read once, tensor by tensor.
    TensorFlow is only imported for checkpoints the direct reader does not handle."""
    try:
        reader = TF1CheckpointReader(prefix)
    except UnsupportedCheckpoint:
        return _read_with_tensorflow(prefix, skip)
    skipped = sorted(n for n in reader.entries if skip is not None and skip(n))
    values: dict[str, np.ndarray] = {}
    for name in sorted(set(reader.entries) - set(skipped)):
        try:
            value = reader.tensor(name)
        except UnsupportedCheckpoint:
            return _read_with_tensorflow(prefix, skip)
        if reader.entries[name].is_floating and value.dtype != np.float32:
            value = np.asarray(value, dtype=np.float32)
        values[name] = value
    return values, skipped


def _read_with_tensorflow(
    prefix: str, skip: Callable[[str], bool] | None
) -> tuple[dict[str, np.ndarray], list[str]]:
    tf = tensorflow()
    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
        dtypes = reader.get_variable_to_dtype_map()
    except (tf.errors.OpError, ValueError) as exc:
        if any(ch in prefix for ch in "[]*?"):
            raise CheckpointError(
                f"{prefix}: TensorFlow cannot read checkpoints whose path contains [ ] * or ?; "
                "move or rename the folder and try again"
            ) from None
        raise CheckpointError(
            f"{prefix}.index: cannot read the checkpoint index ({_first_line(exc)}); the file is "
            "truncated or not a TF checkpoint: copy it again"
        ) from None
    values: dict[str, np.ndarray] = {}
    skipped = sorted(n for n in shapes if skip is not None and skip(n))
    for name in sorted(set(shapes) - set(skipped)):
        try:
            value = reader.get_tensor(name)
        except (tf.errors.OpError, ValueError, IndexError, RuntimeError) as exc:
            raise CheckpointError(
                f"{prefix}: variable {name} cannot be read ({_first_line(exc)}); the .data file is "
                "truncated or corrupt: copy the checkpoint again"
            ) from None
        if dtypes[name].is_floating:
            value = np.asarray(value, dtype=np.float32)
        values[name] = value
    return values, skipped


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "message", exc)).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def write_tf1_checkpoint(weights: dict[str, np.ndarray], prefix: str | os.PathLike) -> str:
    """Write ``weights`` as a TF1 (V2-format) checkpoint that ``tf.train.init_from_checkpoint``
    and ``tf.compat.v1.train.Saver`` read; also writes the directory's ``checkpoint`` file."""
    tf = tensorflow()
    prefix = str(prefix)
    names = sorted(weights)
    tensors = [tf.constant(np.asarray(weights[n])) for n in names]
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=tensors,
    )
    directory = Path(prefix).parent
    write_text(
        directory / "checkpoint",
        f'model_checkpoint_path: "{Path(prefix).name}"\n'
        f'all_model_checkpoint_paths: "{Path(prefix).name}"\n',
    )
    return prefix
