"""`BertPretrainingModel`: BERT + masked-LM head (tied to the embeddings) + next-sentence head."""

from __future__ import annotations

from jbert_tf2.backend import keras
from jbert_tf2.config import BertConfig
from jbert_tf2.models.bert import BertModel
from jbert_tf2.models.pretraining_heads import MaskedLMHead, NextSentenceHead
from jbert_tf2.models.with_heads import EncoderWithHeads


@keras.saving.register_keras_serializable(package="jbert_tf2")
class BertPretrainingModel(EncoderWithHeads):
    """Google's ``run_pretraining.py`` model: adds ``mlm_logits`` [batch, seq, vocab] and
    ``nsp_logits`` [batch, 2] to the encoder outputs (logits at every position; gather the
    masked positions for the loss).

    Args:
        heads: which heads to build, ``("mlm", "nsp")`` by default; checkpoints trained
            without next-sentence prediction have only ``("mlm",)``.
    """

    ALL_HEADS = {
        "mlm": ("mlm_logits", "mlm", "sequence_output"),
        "nsp": ("nsp_logits", "nsp", "pooled_output"),
    }

    def __init__(
        self,
        config: BertConfig,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        heads: tuple[str, ...] = ("mlm", "nsp"),
        **kw,
    ):
        unknown = set(heads) - set(self.ALL_HEADS)
        if unknown or not heads:
            raise ValueError(f"heads must be a non-empty subset of ('mlm', 'nsp'), got {heads!r}")
        super().__init__(config, output_hidden_states, output_attentions, **kw)
        self.heads = tuple(h for h in self.ALL_HEADS if h in heads)
        self.HEADS = tuple(self.ALL_HEADS[h] for h in self.heads)
        self.encoder = BertModel(config, output_hidden_states, output_attentions)
        if "mlm" in self.heads:
            self.mlm = MaskedLMHead(
                self.encoder.embeddings,
                config.hidden_act,
                config.layer_norm_eps,
                config.initializer_range,
                name="predictions",
            )
        if "nsp" in self.heads:
            self.nsp = NextSentenceHead(config.initializer_range, name="seq_relationship")

    def get_config(self) -> dict:
        return {**super().get_config(), "heads": list(self.heads)}
