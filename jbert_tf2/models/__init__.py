"""Encoders and pretraining models: BERT, ELECTRA discriminator and generator."""

from jbert_tf2.models.bert import BertModel
from jbert_tf2.models.bert_pretraining import BertPretrainingModel
from jbert_tf2.models.electra import ElectraDiscriminator, ElectraGenerator, ElectraModel
from jbert_tf2.models.encoder import TransformerEncoder

__all__ = [
    "BertModel",
    "BertPretrainingModel",
    "ElectraDiscriminator",
    "ElectraGenerator",
    "ElectraModel",
    "TransformerEncoder",
]
