"""`BertModel`: Google's BERT encoder under the ``bert/`` scope, with its tanh pooler."""

from __future__ import annotations

from jbert_tf2.backend import keras
from jbert_tf2.models.encoder import TransformerEncoder


@keras.saving.register_keras_serializable(package="jbert_tf2")
class BertModel(TransformerEncoder):
    """BERT (Devlin et al. 2019): embeddings, N Transformer blocks and the [CLS] pooler.

    Outputs a dict: ``sequence_output`` [batch, seq, hidden], ``pooled_output`` [batch, hidden],
    and, when asked, ``hidden_states`` (num_layers + 1, embeddings first) and ``attentions``
    (num_layers of [batch, heads, seq, seq] probabilities).

    Examples:
        >>> from jbert_tf2 import BertConfig, BertModel
        >>> model = BertModel(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
        ...                              num_attention_heads=4, intermediate_size=64))
        >>> out = model({"input_ids": [[2, 5, 3]], "input_mask": [[1, 1, 1]],
        ...              "segment_ids": [[0, 0, 0]]})
        >>> tuple(out["sequence_output"].shape), tuple(out["pooled_output"].shape)
        ((1, 3, 32), (1, 32))
    """

    scope = "bert"
    has_pooler = True
