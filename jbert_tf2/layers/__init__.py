"""Building blocks of the encoder: Embeddings -> TransformerBlock x N -> Pooler."""

from jbert_tf2.layers.attention import MultiHeadSelfAttention
from jbert_tf2.layers.embeddings import Embeddings
from jbert_tf2.layers.pooler import Pooler
from jbert_tf2.layers.transformer_block import TransformerBlock

__all__ = ["Embeddings", "MultiHeadSelfAttention", "Pooler", "TransformerBlock"]
