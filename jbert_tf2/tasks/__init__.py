"""Task models ready for compile / fit: sequence, multi-label and token classification, and
sentence embeddings; `load_task` loads whichever one a directory holds. Names load on first use,
so ``jbert_tf2.tasks.tagging`` imports without Keras."""

from __future__ import annotations

from jbert_tf2.lazy_exports import lazy_exports

_EXPORTS = {
    "Embedder": "jbert_tf2.tasks.embedder",
    "MultiLabelClassifier": "jbert_tf2.tasks.multi_label_classifier",
    "SequenceClassifier": "jbert_tf2.tasks.sequence_classifier",
    "TaskModel": "jbert_tf2.tasks.base",
    "TokenClassifier": "jbert_tf2.tasks.token_classifier",
    "load_task": "jbert_tf2.tasks.registry",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
