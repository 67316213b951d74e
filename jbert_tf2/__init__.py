"""jbert_tf2: Google's TF1 BERT and ELECTRA checkpoints on TensorFlow 2 / Keras 3.

The public names are loaded on first use (PEP 562), so ``import jbert_tf2`` is cheap and a
command such as ``jbert-convert`` can pick its Keras backend before Keras is imported.
"""

from __future__ import annotations

from jbert_tf2.lazy_exports import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "BertConfig": "jbert_tf2.config",
    "BertModel": "jbert_tf2.models",
    "BertPretrainingModel": "jbert_tf2.models",
    "BertTokenizer": "jbert_tf2.tokenization",
    "CheckpointError": "jbert_tf2.errors",
    "ConfigError": "jbert_tf2.errors",
    "DataError": "jbert_tf2.errors",
    "ElectraDiscriminator": "jbert_tf2.models",
    "ElectraGenerator": "jbert_tf2.models",
    "ElectraModel": "jbert_tf2.models",
    "JbertError": "jbert_tf2.errors",
    "Embedder": "jbert_tf2.tasks",
    "MultiLabelClassifier": "jbert_tf2.tasks",
    "SentencePieceTokenizer": "jbert_tf2.tokenization",
    "SequenceClassifier": "jbert_tf2.tasks",
    "TokenClassifier": "jbert_tf2.tasks",
    "Trainer": "jbert_tf2.training",
    "create_optimizer": "jbert_tf2.training",
    "load_task": "jbert_tf2.tasks",
    "resolve_strategy": "jbert_tf2.training",
    "load": "jbert_tf2.model_dir",
    "load_generator": "jbert_tf2.model_dir",
    "load_pretraining": "jbert_tf2.model_dir",
    "load_tokenizer": "jbert_tf2.model_dir",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
