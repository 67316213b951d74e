"""ELECTRA (Clark et al. 2020): the encoder, the discriminator and the generator.

The discriminator's encoder lives under ``electra/`` with ``embeddings_project`` when the
embedding size differs from the hidden size; its pooled output is [CLS] itself. The generator is a
smaller encoder under ``generator/`` that shares ``electra/embeddings`` (unless trained with untied
embeddings) and predicts tokens against the shared word-embedding table.
"""

from __future__ import annotations

from jbert_tf2.backend import keras
from jbert_tf2.config import BertConfig
from jbert_tf2.layers.embeddings import Embeddings
from jbert_tf2.models.encoder import TransformerEncoder
from jbert_tf2.models.heads import MaskedLMHead, ReplacedTokenHead


class ElectraModel(TransformerEncoder):
    """ELECTRA's encoder (the discriminator body): outputs as `BertModel`, pooled = [CLS]."""

    scope = "electra"
    has_pooler = False


class ElectraDiscriminator(keras.Model):
    """ELECTRA encoder + replaced-token-detection head; adds ``discriminator_logits`` [batch, seq]."""

    def __init__(
        self, config: BertConfig, output_hidden_states=False, output_attentions=False, **kw
    ):
        kw.setdefault("name", "electra_discriminator")
        super().__init__(**kw)
        self.config = config
        self.encoder = ElectraModel(config, output_hidden_states, output_attentions)
        self.head = ReplacedTokenHead(
            config.hidden_size,
            config.hidden_act,
            config.initializer_range,
            name="discriminator_predictions",
        )

    def call(self, inputs, training=None):
        outputs = dict(self.encoder(inputs, training=training))
        outputs["discriminator_logits"] = self.head(outputs["sequence_output"])
        return outputs

    def build(self, input_shape=None):
        self.encoder.ensure_built()
        self.head.build((None, None, self.config.hidden_size))
        self.built = True

    def ensure_built(self) -> None:
        if not self.built:
            self.build()

    def canonical_weights(self) -> dict:
        self.ensure_built()
        weights = self.encoder.canonical_weights()
        for layer in ("dense", "dense_1"):
            dense = getattr(self.head, layer)
            weights[f"discriminator_predictions/{layer}/kernel"] = dense.kernel
            weights[f"discriminator_predictions/{layer}/bias"] = dense.bias
        return weights


class ElectraGenerator(keras.Model):
    """ELECTRA's generator: a small encoder under ``generator/`` + masked-LM head.

    Args:
        config: the generator's sizes (`BertConfig.generator_config` gives ELECTRA's rule);
            its ``embedding_size`` is the discriminator's when embeddings are shared.
        embeddings: the discriminator's `Embeddings` layer to share during pretraining; a fresh
            layer under ``electra/embeddings`` (loaded from the same weights) when ``None``.
        untied_embeddings: the generator has its own ``generator/embeddings``.

    Adds ``generator_logits`` [batch, seq, vocab] to the encoder outputs.
    """

    def __init__(
        self,
        config: BertConfig,
        embeddings: Embeddings | None = None,
        untied_embeddings: bool = False,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        **kw,
    ):
        kw.setdefault("name", "electra_generator")
        super().__init__(**kw)
        self.config = config
        self.untied_embeddings = untied_embeddings
        self.encoder = ElectraModel(
            config,
            output_hidden_states,
            output_attentions,
            embeddings=embeddings,
            embeddings_scope="generator/embeddings" if untied_embeddings else "electra/embeddings",
            scope="generator",
        )
        self.head = MaskedLMHead(
            self.encoder.embeddings,
            config.hidden_act,
            config.layer_norm_eps,
            config.initializer_range,
            name="generator_predictions",
        )

    def call(self, inputs, training=None):
        outputs = dict(self.encoder(inputs, training=training))
        outputs["generator_logits"] = self.head(outputs["sequence_output"])
        return outputs

    def build(self, input_shape=None):
        self.encoder.ensure_built()
        self.head.build((None, None, self.config.hidden_size))
        self.built = True

    def ensure_built(self) -> None:
        if not self.built:
            self.build()

    def canonical_weights(self) -> dict:
        self.ensure_built()
        weights = self.encoder.canonical_weights()
        weights.update(
            {
                "generator_predictions/dense/kernel": self.head.dense.kernel,
                "generator_predictions/dense/bias": self.head.dense.bias,
                "generator_predictions/LayerNorm/gamma": self.head.layer_norm.gamma,
                "generator_predictions/LayerNorm/beta": self.head.layer_norm.beta,
                "generator_predictions/output_bias": self.head.output_bias,
            }
        )
        return weights
