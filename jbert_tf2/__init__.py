"""jbert_tf2: Google's TF1 BERT and ELECTRA checkpoints on TensorFlow 2 / Keras 3."""

from jbert_tf2 import backend as _backend  # noqa: F401  (sets the Keras backend first)
from jbert_tf2.checkpoint.model_dir import load, load_generator, load_pretraining
from jbert_tf2.config import BertConfig
from jbert_tf2.errors import CheckpointError, ConfigError, JbertError
from jbert_tf2.models import (
    BertModel,
    BertPretrainingModel,
    ElectraDiscriminator,
    ElectraGenerator,
    ElectraModel,
)
from jbert_tf2.tokenization import BertTokenizer, SentencePieceTokenizer, load_tokenizer

__version__ = "0.1.0"

__all__ = [
    "BertConfig",
    "BertModel",
    "BertPretrainingModel",
    "BertTokenizer",
    "CheckpointError",
    "ConfigError",
    "ElectraDiscriminator",
    "ElectraGenerator",
    "ElectraModel",
    "JbertError",
    "SentencePieceTokenizer",
    "load",
    "load_generator",
    "load_pretraining",
    "load_tokenizer",
]
