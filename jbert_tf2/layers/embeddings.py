"""Embeddings: word + position + token type, then LayerNorm and dropout (BERT paper, sec. 3)."""

from __future__ import annotations

from jbert_tf2.backend import keras, ops
from jbert_tf2.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="jbert_tf2")
class Embeddings(keras.layers.Layer):
    """Sum of word, absolute position and token-type embeddings, layer-normalised.

    Args:
        vocab_size, max_position_embeddings, type_vocab_size: table sizes.
        embedding_size: width of every table (ELECTRA-small: 128 while hidden is 256).
        layer_norm_eps: 1e-12 as in Google's code.
        dropout_rate: applied to the output when training.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        max_position_embeddings: int,
        type_vocab_size: int,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        dropout_rate: float = 0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        init = keras.initializers.TruncatedNormal(stddev=initializer_range)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.dropout_rate = dropout_rate
        self.word_embeddings = keras.layers.Embedding(
            vocab_size, embedding_size, embeddings_initializer=init, name="word_embeddings"
        )
        self.position_embeddings = keras.layers.Embedding(
            max_position_embeddings,
            embedding_size,
            embeddings_initializer=init,
            name="position_embeddings",
        )
        self.token_type_embeddings = keras.layers.Embedding(
            type_vocab_size,
            embedding_size,
            embeddings_initializer=init,
            name="token_type_embeddings",
        )
        self.layer_norm = LayerNorm(epsilon=layer_norm_eps, name="LayerNorm")
        self.dropout = keras.layers.Dropout(dropout_rate)

    def build(self, input_shape):
        self.word_embeddings.build(input_shape)
        self.position_embeddings.build((1, None))
        self.token_type_embeddings.build(input_shape)
        self.layer_norm.build((None, None, self.word_embeddings.output_dim))
        self.built = True

    @property
    def embedding_table(self):
        """The word-embedding matrix [vocab, embedding_size]; MLM heads are tied to it."""
        return self.word_embeddings.embeddings

    def call(self, input_ids, segment_ids, training=None):
        seq_length = ops.shape(input_ids)[1]
        positions = ops.expand_dims(ops.arange(seq_length, dtype="int32"), 0)
        x = (
            self.word_embeddings(input_ids)
            + self.token_type_embeddings(segment_ids)
            + self.position_embeddings(positions)
        )
        x = self.layer_norm(x)
        return self.dropout(x, training=training)

    def canonical_weights(self) -> dict:
        return {
            "word_embeddings": self.word_embeddings.embeddings,
            "token_type_embeddings": self.token_type_embeddings.embeddings,
            "position_embeddings": self.position_embeddings.embeddings,
            "LayerNorm/gamma": self.layer_norm.gamma,
            "LayerNorm/beta": self.layer_norm.beta,
        }

    def get_config(self) -> dict:
        """The constructor's arguments, so the layer saves and reloads on its own."""
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_size": self.embedding_size,
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "initializer_range": self.initializer_range,
            "layer_norm_eps": self.layer_norm_eps,
            "dropout_rate": self.dropout_rate,
        }
