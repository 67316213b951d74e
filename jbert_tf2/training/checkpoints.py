"""Training checkpoints as single ``.npz`` files, written so that a kill at any instant leaves the
previous one usable.

Each checkpoint is one file (arrays plus a JSON state record), written durably through
`jbert_tf2.atomic_files` (a partial beside it, fsynced, renamed into place); the ``checkpoint``
pointer file is replaced the same way, last. Reading falls back to the previous checkpoint, with a
warning, when the newest one is unreadable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import warnings
import zipfile
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from jbert_tf2.atomic_files import remove_stale_partials_in, write_text, write_with
from jbert_tf2.errors import JbertError

logger = logging.getLogger(__name__)

POINTER = "checkpoint"
_NAME = re.compile(r"^ckpt-\d+\.npz$")
_STATE_KEY = "__state__"


class CheckpointFiles:
    """The checkpoints of one training run in ``directory``: save, rotate, find the newest."""

    def __init__(self, directory: str | PathLike, keep: int = 3) -> None:
        if keep < 1:
            raise JbertError(f"keep_checkpoints={keep}: keep at least 1 checkpoint")
        self.directory = Path(directory)
        self.keep = keep

    def save(self, step: int, arrays: dict[str, np.ndarray], state: dict[str, Any]) -> Path:
        """Write ``ckpt-<step>.npz`` atomically, point ``checkpoint`` at it, drop the oldest."""
        self.directory.mkdir(parents=True, exist_ok=True)
        remove_stale_partials_in(self.directory, "ckpt-*.npz")  # other steps' too
        name = f"ckpt-{step:09d}.npz"
        payload = dict(arrays)
        payload[_STATE_KEY] = np.frombuffer(json.dumps(state).encode("utf-8"), dtype=np.uint8)
        write_with(self.directory / name, lambda f: np.savez(f, **payload), durable=True)
        names = [n for n in self.names() if n != name] + [name]
        kept, dropped = names[-self.keep :], names[: -self.keep]
        pointer = {"latest": name, "checkpoints": kept, "epoch": state.get("epoch")}
        pointer["step_in_epoch"] = state.get("step_in_epoch")
        text = json.dumps(pointer, indent=1)
        write_text(self.directory / POINTER, text, durable=True)
        for old in dropped:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / old).unlink()
        return self.directory / name

    def names(self) -> list[str]:
        """Checkpoint file names, oldest first: the pointer's list, else those on disk."""
        try:
            listed = json.loads((self.directory / POINTER).read_text("utf-8"))["checkpoints"]
            names = [n for n in listed if isinstance(n, str) and _NAME.match(n)]
        except (OSError, ValueError, KeyError, TypeError):
            names = []
        on_disk = sorted(p.name for p in self.directory.glob("ckpt-*.npz") if _NAME.match(p.name))
        return sorted(set(names) | set(on_disk)) if on_disk else names

    def load_latest(self) -> tuple[dict[str, np.ndarray], dict[str, Any], Path] | None:
        """The newest readable checkpoint as (arrays, state, path); None when there is none.

        An unreadable newest file (truncated, bad CRC) is reported with a warning naming it and the
        previous one is used; if none is readable, the run stops rather than start over.
        """
        names = [n for n in self.names() if (self.directory / n).exists()]
        if not names:
            return None
        problems = []
        for name in reversed(names):
            path = self.directory / name
            try:
                arrays, state = read_checkpoint(path)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                problems.append(f"{path}: {exc}")
                message = f"checkpoint {path} is unreadable ({exc}); trying the previous one"
                logger.warning(message)
                warnings.warn(message, RuntimeWarning, stacklevel=2)
                continue
            return arrays, state, path
        raise JbertError(
            f"no readable checkpoint in {self.directory} ({'; '.join(problems)}); move that "
            "directory away to start over, or pass a new --output_dir"
        )


def read_checkpoint(path: str | PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read every array of a checkpoint (which checks each member's CRC) and its state record."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: np.array(data[key]) for key in data.files}
    state = json.loads(arrays.pop(_STATE_KEY).tobytes().decode("utf-8"))
    return arrays, state
