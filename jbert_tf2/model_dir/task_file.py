"""``task.json``: which fine-tuned task a model directory holds, with its labels and options; its
one reader and writer (``save_pretrained`` and the SavedModel export's assets both write it)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jbert_tf2.atomic_files import write_text
from jbert_tf2.errors import JbertError
from jbert_tf2.model_dir.json_file import read_json
from jbert_tf2.model_dir.layout import TASK_FILE


@dataclass
class TaskSettings:
    """The contents of ``task.json``.

    Args:
        task: the task's name (``SequenceClassifier.task``, ...; `load_task` picks the class by it).
        labels: the label names in output order, or None (`Embedder`).
        options: the constructor options beyond encoder and labels (``max_seq_length``, ...).
        tf1_task_name: the ELECTRA task whose ``task_specific/<name>/`` head a converted TF1
            checkpoint held (`jbert-convert --to tf1` writes the head back under it).
    """

    task: str
    labels: list[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    tf1_task_name: str | None = None

    @classmethod
    def from_dict(cls, data: Any, source: str | os.PathLike) -> TaskSettings:
        """The settings of a ``task.json`` object read from ``source`` (which errors name)."""
        if not isinstance(data, dict) or not isinstance(data.get("task"), str):
            raise JbertError(f"{source}: expected an object with 'task'; save the model again")
        labels, options = data.get("labels"), data.get("options", {})
        if labels is not None and not (
            isinstance(labels, list) and all(isinstance(label, str) for label in labels)
        ):
            raise JbertError(f"{source}: 'labels' is not a list of names; save the model again")
        if not isinstance(options, dict):
            raise JbertError(f"{source}: 'options' is not an object; save the model again")
        tf1_task_name = data.get("tf1_task_name")
        if tf1_task_name is not None and not isinstance(tf1_task_name, str):
            raise JbertError(f"{source}: 'tf1_task_name' is not a name; convert the model again")
        return cls(data["task"], labels, options, tf1_task_name)

    def to_dict(self) -> dict[str, Any]:
        data = {"task": self.task, "labels": self.labels, "options": self.options}
        if self.tf1_task_name is not None:
            data["tf1_task_name"] = self.tf1_task_name
        return data


def read_task_settings(directory: str | os.PathLike) -> TaskSettings | None:
    """``directory/task.json``, checked; None for a directory with no fine-tuned task."""
    path = Path(directory) / TASK_FILE
    if not path.is_file():
        return None
    data = read_json(path, "save the model again")
    return TaskSettings.from_dict(data, source=path)


def write_task_settings(directory: str | os.PathLike, settings: TaskSettings) -> None:
    """Write ``directory/task.json``."""
    text = json.dumps(settings.to_dict(), indent=2, ensure_ascii=False)
    write_text(Path(directory) / TASK_FILE, text + "\n")
