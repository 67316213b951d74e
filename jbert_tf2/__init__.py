"""jbert_tf2: Google's TF1 BERT and ELECTRA checkpoints on TensorFlow 2 / Keras 3.

The public names are loaded on first use (PEP 562), so ``import jbert_tf2`` is cheap and a
command such as ``jbert-convert`` can pick its Keras backend before Keras is imported.
"""

from __future__ import annotations

from jbert_tf2.lazy_exports import install_moved_modules, lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "BertConfig": "jbert_tf2.config",
    "BertModel": "jbert_tf2.models",
    "BertPretrainingModel": "jbert_tf2.models",
    "BertTokenizer": "jbert_tf2.tokenization",
    "CheckpointError": "jbert_tf2.errors",
    "ConfigError": "jbert_tf2.errors",
    "CoreOpsTokenizer": "jbert_tf2.tokenization.core_ops",
    "DataError": "jbert_tf2.errors",
    "ElectraDiscriminator": "jbert_tf2.models",
    "ElectraGenerator": "jbert_tf2.models",
    "ElectraModel": "jbert_tf2.models",
    "JbertError": "jbert_tf2.errors",
    "Embedder": "jbert_tf2.tasks",
    "MultiLabelClassifier": "jbert_tf2.tasks",
    "OnnxRuntimePredictor": "jbert_tf2.onnx_inference",
    "SentencePieceTokenizer": "jbert_tf2.tokenization",
    "SequenceClassifier": "jbert_tf2.tasks",
    "TokenClassifier": "jbert_tf2.tasks",
    "TokenizerWarning": "jbert_tf2.conversion.tokenizer_files",
    "Trainer": "jbert_tf2.training",
    "convert": "jbert_tf2.conversion.convert",
    "create_optimizer": "jbert_tf2.training",
    "load_task": "jbert_tf2.tasks",
    "resolve_strategy": "jbert_tf2.training",
    "load": "jbert_tf2.model_dir",
    "load_generator": "jbert_tf2.model_dir",
    "load_pretraining": "jbert_tf2.model_dir",
    "load_tokenizer": "jbert_tf2.model_dir",
}

__all__ = sorted(_EXPORTS)

# Modules moved in 0.2 (docs/architecture.md), importable at their old path for one release;
# each name taken from one warns with its new path.
_MOVED = {
    "jbert_tf2.checkpoint.model_dir": ("jbert_tf2.model_dir",),
    "jbert_tf2.checkpoint.convert": ("jbert_tf2.conversion.convert",),
    "jbert_tf2.tokenization.loading": ("jbert_tf2.model_dir.tokenizer_file",),
    "jbert_tf2.tokenization.encoding": (
        "jbert_tf2.tokenization.base",
        "jbert_tf2.tokenization.text",
    ),
    "jbert_tf2.tasks.loading": ("jbert_tf2.tasks.registry",),
    "jbert_tf2.models.pretraining": ("jbert_tf2.models.bert_pretraining",),
    "jbert_tf2.pretraining.models": ("jbert_tf2.pretraining.pretrainers",),
}
install_moved_modules(_MOVED)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
