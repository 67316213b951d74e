"""The Transformer encoder shared by BERT and ELECTRA: Embeddings -> TransformerBlock x N -> Pooler.

`BertModel` and `ElectraModel` differ only in their variable scope (``bert/`` or ``electra/``),
ELECTRA's ``embeddings_project`` when the embedding size differs from the hidden size, and the
pooler (BERT: tanh dense over [CLS]; ELECTRA: [CLS] itself).
"""

from __future__ import annotations

from typing import Any

from jbert_tf2.backend import keras, ops
from jbert_tf2.config import BertConfig
from jbert_tf2.errors import JbertError
from jbert_tf2.layers.attention import attention_bias
from jbert_tf2.layers.embeddings import Embeddings
from jbert_tf2.layers.pooler import Pooler
from jbert_tf2.layers.transformer_block import TransformerBlock
from jbert_tf2.models.configured import ConfiguredModel

INPUT_KEYS = ("input_ids", "input_mask", "segment_ids")


def unpack_inputs(inputs: Any) -> tuple[Any, Any, Any]:
    """Accept Google's dict keys, a (ids, mask, segments) tuple or bare ids; fill the defaults."""
    if isinstance(inputs, dict):
        unknown = set(inputs) - set(INPUT_KEYS)
        if unknown or "input_ids" not in inputs:
            raise JbertError(
                f"model inputs have keys {sorted(inputs)}; expected input_ids and optionally "
                "input_mask and segment_ids (Google's names)"
            )
        input_ids = inputs["input_ids"]
        input_mask = inputs.get("input_mask")
        segment_ids = inputs.get("segment_ids")
    elif isinstance(inputs, (list, tuple)):
        input_ids, input_mask, segment_ids = (list(inputs) + [None, None])[:3]
    else:
        input_ids, input_mask, segment_ids = inputs, None, None
    input_ids = ops.cast(input_ids, "int32")
    input_mask = ops.ones_like(input_ids) if input_mask is None else ops.cast(input_mask, "int32")
    segment_ids = (
        ops.zeros_like(input_ids) if segment_ids is None else ops.cast(segment_ids, "int32")
    )
    return input_ids, input_mask, segment_ids


class TransformerEncoder(ConfiguredModel):
    """Embeddings -> [embeddings_project] -> TransformerBlock x N -> [Pooler].

    Args:
        config: the encoder's `BertConfig`.
        output_hidden_states: also return every layer's output, embedding output first.
        output_attentions: also return every layer's attention probabilities.
        embeddings: an `Embeddings` layer to share (ELECTRA's generator shares the
            discriminator's); built here when ``None``.
        embeddings_scope: canonical scope of the embeddings (default ``{scope}/embeddings``).
    """

    scope = "encoder"
    has_pooler = True

    def __init__(
        self,
        config: BertConfig,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        embeddings: Embeddings | None = None,
        embeddings_scope: str | None = None,
        scope: str | None = None,
        **kwargs,
    ):
        super().__init__(config, output_hidden_states, output_attentions, **kwargs)
        if scope is not None:
            self.scope = scope
        self.embeddings_scope = embeddings_scope or f"{self.scope}/embeddings"
        init = keras.initializers.TruncatedNormal(stddev=config.initializer_range)

        # Layers, in the order a token meets them.
        self.embeddings = embeddings or Embeddings(
            vocab_size=config.vocab_size,
            embedding_size=config.embedding_size,
            max_position_embeddings=config.max_position_embeddings,
            type_vocab_size=config.type_vocab_size,
            initializer_range=config.initializer_range,
            layer_norm_eps=config.layer_norm_eps,
            dropout_rate=config.hidden_dropout_prob,
            name="embeddings",
        )
        self.embeddings_project = None
        if config.embedding_size != config.hidden_size:
            self.embeddings_project = keras.layers.Dense(
                config.hidden_size, kernel_initializer=init, name="embeddings_project"
            )
        self.blocks = [
            TransformerBlock(
                hidden_size=config.hidden_size,
                num_heads=config.num_attention_heads,
                intermediate_size=config.intermediate_size,
                hidden_act=config.hidden_act,
                hidden_dropout_rate=config.hidden_dropout_prob,
                attention_dropout_rate=config.attention_probs_dropout_prob,
                initializer_range=config.initializer_range,
                layer_norm_eps=config.layer_norm_eps,
                name=f"layer_{i}",
            )
            for i in range(config.num_hidden_layers)
        ]
        self.pooler = (
            Pooler(config.hidden_size, config.initializer_range, name="pooler")
            if self.has_pooler
            else None
        )

    def build(self, input_shape=None):
        """Create every variable from the config alone (inputs may have any length)."""
        if not self.embeddings.built:
            self.embeddings.build((None, None))
        width = self.config.hidden_size
        if self.embeddings_project is not None:
            self.embeddings_project.build((None, None, self.config.embedding_size))
        for block in self.blocks:
            block.build((None, None, width))
        if self.pooler is not None:
            self.pooler.build((None, None, width))
        self.built = True

    def _check_length(self, input_ids) -> None:
        length = input_ids.shape[1]
        if isinstance(length, int) and length > self.config.max_position_embeddings:
            raise JbertError(
                f"input length {length} exceeds max_position_embeddings "
                f"{self.config.max_position_embeddings}; truncate to at most that many tokens"
            )

    def call(self, inputs, training=None, pooled_only=False):
        """The encoder's outputs (a dict, see the class). ``pooled_only=True`` returns only
        ``pooled_output``, and the last block computes only the [CLS] position it needs: the
        same numbers for about 7% less work in a 12-layer model (sentence classifiers)."""
        input_ids, input_mask, segment_ids = unpack_inputs(inputs)
        self._check_length(input_ids)
        x = self.embeddings(input_ids, segment_ids, training=training)
        if self.embeddings_project is not None:
            x = self.embeddings_project(x)
        x = ops.cast(x, self.compute_dtype)
        bias = attention_bias(input_mask)
        first_only = pooled_only and not (self.output_hidden_states or self.output_attentions)
        last = len(self.blocks) - 1
        hidden_states, attentions = [x], []
        for i, block in enumerate(self.blocks):
            x, probs = block(
                x,
                bias=bias,
                training=training,
                return_probs=self.output_attentions,
                first_token_only=first_only and i == last,
            )
            hidden_states.append(x)
            attentions.append(probs)
        pooled = self.pooler(x) if self.pooler is not None else x[:, 0]
        if first_only:
            return {"pooled_output": pooled}
        outputs = {"sequence_output": x, "pooled_output": pooled}
        if self.output_hidden_states:
            outputs["hidden_states"] = tuple(hidden_states)
        if self.output_attentions:
            outputs["attentions"] = tuple(attentions)
        return outputs

    def canonical_weights(self) -> dict:
        """``{TF1 checkpoint name: variable}`` for every variable of this encoder."""
        self.ensure_built()
        weights = {
            f"{self.embeddings_scope}/{k}": v
            for k, v in self.embeddings.canonical_weights().items()
        }
        if self.embeddings_project is not None:
            weights[f"{self.scope}/embeddings_project/kernel"] = self.embeddings_project.kernel
            weights[f"{self.scope}/embeddings_project/bias"] = self.embeddings_project.bias
        for i, block in enumerate(self.blocks):
            for k, v in block.canonical_weights().items():
                weights[f"{self.scope}/encoder/layer_{i}/{k}"] = v
        if self.pooler is not None:
            for k, v in self.pooler.canonical_weights().items():
                weights[f"{self.scope}/pooler/{k}"] = v
        return weights

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "embeddings_scope": self.embeddings_scope,
            "scope": self.scope,
        }
