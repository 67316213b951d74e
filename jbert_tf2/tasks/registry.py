"""`load_task`: the fine-tuned task model a directory holds, whichever task it is."""

from __future__ import annotations

import os
from pathlib import Path

from jbert_tf2.errors import JbertError
from jbert_tf2.model_dir import TASK_FILE, read_task_settings
from jbert_tf2.tasks.base import TaskModel
from jbert_tf2.tasks.embedder import Embedder
from jbert_tf2.tasks.multi_label_classifier import MultiLabelClassifier
from jbert_tf2.tasks.sequence_classifier import SequenceClassifier
from jbert_tf2.tasks.token_classifier import TokenClassifier

TASKS = {
    cls.task: cls for cls in (SequenceClassifier, MultiLabelClassifier, TokenClassifier, Embedder)
}


def load_task(path: str | os.PathLike, backend: str = "keras") -> TaskModel:
    """The task model ``save_pretrained`` wrote to ``path``, with its labels and tokenizer;
    ``backend="onnxruntime"`` predicts on ONNX Runtime (`TaskModel.set_backend`)."""
    saved = read_task_settings(path)
    if saved is None:
        raise JbertError(
            f"{path}: has no {TASK_FILE}, so it holds no fine-tuned task; load a pretrained "
            "directory with e.g. SequenceClassifier.from_pretrained(path, labels=[...])"
        )
    if saved.task not in TASKS:
        raise JbertError(
            f"{Path(path) / TASK_FILE}: unknown task {saved.task!r}; one of {list(TASKS)}"
        )
    return TASKS[saved.task].from_pretrained(path, backend=backend)
