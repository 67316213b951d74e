"""`BertPretrainingModel`: BERT + masked-LM head (tied to the embeddings) + next-sentence head."""

from __future__ import annotations

from jbert_tf2.config import BertConfig
from jbert_tf2.models.bert import BertModel
from jbert_tf2.models.heads import MaskedLMHead, NextSentenceHead
from jbert_tf2.models.with_heads import EncoderWithHeads


class BertPretrainingModel(EncoderWithHeads):
    """Google's ``run_pretraining.py`` model: adds ``mlm_logits`` [batch, seq, vocab] and
    ``nsp_logits`` [batch, 2] to the encoder outputs (logits at every position; gather the
    masked positions for the loss)."""

    HEADS = (
        ("mlm_logits", "mlm", "sequence_output"),
        ("nsp_logits", "nsp", "pooled_output"),
    )

    def __init__(
        self, config: BertConfig, output_hidden_states=False, output_attentions=False, **kw
    ):
        kw.setdefault("name", "bert_pretraining")
        super().__init__(config, **kw)
        self.encoder = BertModel(config, output_hidden_states, output_attentions)
        self.mlm = MaskedLMHead(
            self.encoder.embeddings,
            config.hidden_act,
            config.layer_norm_eps,
            config.initializer_range,
            name="predictions",
        )
        self.nsp = NextSentenceHead(config.initializer_range, name="seq_relationship")
