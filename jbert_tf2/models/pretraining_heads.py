"""Pretraining heads: masked-LM (tied to the word embeddings), next-sentence, replaced-token."""

from __future__ import annotations

from jbert_tf2.backend import keras, ops
from jbert_tf2.layers.activations import get_activation
from jbert_tf2.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="jbert_tf2")
class MaskedLMHead(keras.layers.Layer):
    """dense + activation + LayerNorm, then logits against the (shared) word-embedding table.

    BERT's ``cls/predictions`` (dense to hidden, under ``transform/``) and ELECTRA's
    ``generator_predictions`` (dense to the embedding size) are this layer; only their
    checkpoint names differ, set by ``scope`` and ``transform_scope``. Saved on its own, the
    head keeps a copy of ``embeddings`` (as KerasHub's ``MaskedLMHead`` does); inside a model the
    tie comes from the model's constructor.
    """

    def __init__(
        self,
        embeddings,
        hidden_act: str,
        layer_norm_eps: float = 1e-12,
        initializer_range: float = 0.02,
        scope: str = "cls/predictions",
        transform_scope: str = "transform/",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.scope = scope
        self.transform_scope = transform_scope
        self.embeddings = embeddings
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        width = embeddings.word_embeddings.output_dim
        self.vocab_size = embeddings.word_embeddings.input_dim
        self.dense = keras.layers.Dense(
            width,
            activation=get_activation(hidden_act),
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            name="dense",
        )
        self.layer_norm = LayerNorm(epsilon=layer_norm_eps, name="LayerNorm")
        self.width = width

    def build(self, input_shape):
        if not self.embeddings.built:  # in a model, the encoder has built them already
            self.embeddings.build((None, None))
        self.dense.build(input_shape)
        self.layer_norm.build((None, None, self.width))
        self.output_bias = self.add_weight(
            shape=(self.vocab_size,), initializer="zeros", name="output_bias"
        )
        self.built = True

    def call(self, sequence_output):
        x = self.layer_norm(self.dense(sequence_output))
        table = ops.cast(self.embeddings.embedding_table, "float32")
        logits = ops.matmul(ops.cast(x, "float32"), ops.transpose(table))
        return logits + ops.cast(self.output_bias, "float32")

    def canonical_weights(self) -> dict:
        t = self.transform_scope
        return {
            f"{t}dense/kernel": self.dense.kernel,
            f"{t}dense/bias": self.dense.bias,
            f"{t}LayerNorm/gamma": self.layer_norm.gamma,
            f"{t}LayerNorm/beta": self.layer_norm.beta,
            "output_bias": self.output_bias,
        }

    def get_config(self) -> dict:
        """The constructor's arguments (``embeddings`` serialized), so the head saves on its own."""
        return {
            **super().get_config(),
            "embeddings": keras.saving.serialize_keras_object(self.embeddings),
            "hidden_act": self.hidden_act,
            "layer_norm_eps": self.layer_norm_eps,
            "initializer_range": self.initializer_range,
            "scope": self.scope,
            "transform_scope": self.transform_scope,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["embeddings"] = keras.saving.deserialize_keras_object(config["embeddings"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="jbert_tf2")
class NextSentenceHead(keras.layers.Layer):
    """Two-way classifier over the pooled output; TF1 stores its weights as [2, hidden]."""

    scope = "cls/seq_relationship"

    def __init__(self, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.initializer_range = initializer_range

    def build(self, input_shape):
        self.output_weights = self.add_weight(
            shape=(2, input_shape[-1]),
            initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range),
            name="output_weights",
        )
        self.output_bias = self.add_weight(shape=(2,), initializer="zeros", name="output_bias")
        self.built = True

    def call(self, pooled_output):
        weights = ops.cast(self.output_weights, "float32")
        logits = ops.matmul(ops.cast(pooled_output, "float32"), ops.transpose(weights))
        return logits + ops.cast(self.output_bias, "float32")

    def canonical_weights(self) -> dict:
        return {"output_weights": self.output_weights, "output_bias": self.output_bias}

    def get_config(self) -> dict:
        """The constructor's arguments, so the head saves and reloads on its own."""
        return {**super().get_config(), "initializer_range": self.initializer_range}


@keras.saving.register_keras_serializable(package="jbert_tf2")
class ReplacedTokenHead(keras.layers.Layer):
    """ELECTRA's discriminator head: dense + activation, then one logit per token."""

    scope = "discriminator_predictions"

    def __init__(self, hidden_size: int, hidden_act: str, initializer_range: float = 0.02, **kw):
        super().__init__(**kw)
        init = keras.initializers.TruncatedNormal(stddev=initializer_range)
        self.dense = keras.layers.Dense(
            hidden_size,
            activation=get_activation(hidden_act),
            kernel_initializer=init,
            name="dense",
        )
        self.dense_1 = keras.layers.Dense(1, kernel_initializer=init, name="dense_1")
        self.hidden_size = hidden_size
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.dense_1.build((None, None, self.hidden_size))
        self.built = True

    def call(self, sequence_output):
        logits = self.dense_1(self.dense(sequence_output))
        return ops.cast(ops.squeeze(logits, -1), "float32")

    def canonical_weights(self) -> dict:
        return {
            f"{name}/{kind}": getattr(getattr(self, name), kind)
            for name in ("dense", "dense_1")
            for kind in ("kernel", "bias")
        }

    def get_config(self) -> dict:
        """The constructor's arguments, so the head saves and reloads on its own."""
        return {
            **super().get_config(),
            "hidden_size": self.hidden_size,
            "hidden_act": self.hidden_act,
            "initializer_range": self.initializer_range,
        }
