"""`BertPretrainingModel`: BERT + masked-LM head (tied to the word embeddings) + next-sentence head."""

from __future__ import annotations

from jbert_tf2.backend import keras
from jbert_tf2.config import BertConfig
from jbert_tf2.models.bert import BertModel
from jbert_tf2.models.heads import MaskedLMHead, NextSentenceHead


class BertPretrainingModel(keras.Model):
    """Google's ``run_pretraining.py`` model: adds ``mlm_logits`` [batch, seq, vocab] and
    ``nsp_logits`` [batch, 2] to the encoder outputs (logits at every position; gather the
    masked positions for the loss)."""

    def __init__(
        self, config: BertConfig, output_hidden_states=False, output_attentions=False, **kw
    ):
        kw.setdefault("name", "bert_pretraining")
        super().__init__(**kw)
        self.config = config
        self.encoder = BertModel(config, output_hidden_states, output_attentions)
        self.mlm = MaskedLMHead(
            self.encoder.embeddings,
            config.hidden_act,
            config.layer_norm_eps,
            config.initializer_range,
            name="predictions",
        )
        self.nsp = NextSentenceHead(config.initializer_range, name="seq_relationship")

    def call(self, inputs, training=None):
        outputs = dict(self.encoder(inputs, training=training))
        outputs["mlm_logits"] = self.mlm(outputs["sequence_output"])
        outputs["nsp_logits"] = self.nsp(outputs["pooled_output"])
        return outputs

    def build(self, input_shape=None):
        self.encoder.ensure_built()
        self.mlm.build((None, None, self.config.hidden_size))
        self.nsp.build((None, self.config.hidden_size))
        self.built = True

    def ensure_built(self) -> None:
        if not self.built:
            self.build()

    def canonical_weights(self) -> dict:
        self.ensure_built()
        weights = self.encoder.canonical_weights()
        weights.update(
            {
                "cls/predictions/transform/dense/kernel": self.mlm.dense.kernel,
                "cls/predictions/transform/dense/bias": self.mlm.dense.bias,
                "cls/predictions/transform/LayerNorm/gamma": self.mlm.layer_norm.gamma,
                "cls/predictions/transform/LayerNorm/beta": self.mlm.layer_norm.beta,
                "cls/predictions/output_bias": self.mlm.output_bias,
                "cls/seq_relationship/output_weights": self.nsp.output_weights,
                "cls/seq_relationship/output_bias": self.nsp.output_bias,
            }
        )
        return weights
