"""``model.safetensors``: every weight by canonical TF1 name, read lazily (one tensor at a time
when assigned) and written one tensor at a time (`jbert_tf2.checkpoint.safetensors_file`)."""

from __future__ import annotations

import os
from pathlib import Path

from jbert_tf2.checkpoint.safetensors_file import StoredTensor, stored_tensors, write_safetensors
from jbert_tf2.config import FORMAT_TAG
from jbert_tf2.errors import CheckpointError
from jbert_tf2.model_dir.layout import WEIGHTS_FILE


def read_weights(directory: str | os.PathLike) -> dict[str, StoredTensor]:
    """``{name: tensor}`` of ``model.safetensors``; only its header is read now."""
    path = Path(directory) / WEIGHTS_FILE
    try:
        return stored_tensors(path)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(
            f"{path}: cannot be read ({exc}); the file is truncated or corrupt: "
            "convert the checkpoint again"
        ) from None


def write_weights(directory: str | os.PathLike, weights: dict) -> None:
    """Write ``model.safetensors`` ({canonical name: array}), tagged ``format: jbert_tf2``."""
    write_safetensors(Path(directory) / WEIGHTS_FILE, weights, metadata={"format": FORMAT_TAG})
