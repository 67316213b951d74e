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
from jbert_tf2.models.pretraining_heads import MaskedLMHead, ReplacedTokenHead
from jbert_tf2.models.with_heads import EncoderWithHeads


@keras.saving.register_keras_serializable(package="jbert_tf2")
class ElectraModel(TransformerEncoder):
    """ELECTRA's encoder (the discriminator body): outputs as `BertModel`, pooled = [CLS]."""

    scope = "electra"
    has_pooler = False


@keras.saving.register_keras_serializable(package="jbert_tf2")
class ElectraDiscriminator(EncoderWithHeads):
    """ELECTRA encoder + replaced-token-detection head; adds ``discriminator_logits`` [batch, seq]."""

    HEADS = (("discriminator_logits", "head", "sequence_output"),)

    def __init__(
        self, config: BertConfig, output_hidden_states=False, output_attentions=False, **kw
    ):
        super().__init__(config, output_hidden_states, output_attentions, **kw)
        self.encoder = ElectraModel(config, output_hidden_states, output_attentions)
        self.head = ReplacedTokenHead(
            config.hidden_size,
            config.hidden_act,
            config.initializer_range,
            name="discriminator_predictions",
        )


@keras.saving.register_keras_serializable(package="jbert_tf2")
class ElectraGenerator(EncoderWithHeads):
    """ELECTRA's generator: a small encoder under ``generator/`` + masked-LM head.

    Args:
        config: the generator's sizes (`BertConfig.generator_config` gives ELECTRA's rule);
            its ``embedding_size`` is the discriminator's when embeddings are shared.
        embeddings: the discriminator's `Embeddings` layer to share during pretraining; a fresh
            layer under ``electra/embeddings`` (loaded from the same weights) when ``None``.
        untied_embeddings: the generator has its own ``generator/embeddings``.

    Adds ``generator_logits`` [batch, seq, vocab] to the encoder outputs.
    """

    HEADS = (("generator_logits", "head", "sequence_output"),)

    def __init__(
        self,
        config: BertConfig,
        embeddings: Embeddings | None = None,
        untied_embeddings: bool = False,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        **kw,
    ):
        super().__init__(config, output_hidden_states, output_attentions, **kw)
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
            scope="generator_predictions",
            transform_scope="",
            name="generator_predictions",
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "untied_embeddings": self.untied_embeddings}
