"""Multi-head self-attention with the input mask (Vaswani et al. 2017, sec. 3.2)."""

from __future__ import annotations

import math

from jbert_tf2.backend import keras, ops

# Google's code adds -10000 to masked scores; exp() of it is 0 in float32, and it fits float16.
MASK_ADDER = -10000.0


def attention_bias(input_mask):
    """[batch, seq] 0/1 mask -> additive bias [batch, 1, 1, seq] (0 to keep, -10000 to drop)."""
    mask = ops.cast(input_mask, "float32")
    # expand_dims, not [:, None, None, :]: LiteRT has no strided slice that adds axes
    return ops.expand_dims(ops.expand_dims(1.0 - mask, 1), 1) * MASK_ADDER


@keras.saving.register_keras_serializable(package="jbert_tf2")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Query, key and value projections, scaled dot-product attention per head, heads concatenated.

    Returns the context [batch, seq, hidden] and the attention probabilities
    [batch, heads, seq, seq] (None with ``return_probs=False``). With probabilities asked for, or
    attention dropout active, `scaled_dot_product` computes them explicitly (scores, mask and
    softmax in float32 under mixed precision); otherwise ``keras.ops.dot_product_attention``
    does, so each backend can use its fused kernel. With ``first_query_only`` only the first
    position ([CLS]) attends (to every position): all a pooled output needs from the last block.
    """

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        dropout_rate: float = 0.1,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.dropout_rate = dropout_rate
        self.initializer_range = initializer_range
        self.head_size = hidden_size // num_heads
        init = keras.initializers.TruncatedNormal(stddev=initializer_range)
        self.query = keras.layers.Dense(hidden_size, kernel_initializer=init, name="query")
        self.key = keras.layers.Dense(hidden_size, kernel_initializer=init, name="key")
        self.value = keras.layers.Dense(hidden_size, kernel_initializer=init, name="value")
        self.dropout = keras.layers.Dropout(dropout_rate)

    def build(self, input_shape):
        for dense in (self.query, self.key, self.value):
            dense.build(input_shape)
        self.built = True

    def _split_heads(self, x):
        batch, seq = ops.shape(x)[0], ops.shape(x)[1]
        x = ops.reshape(x, (batch, seq, self.num_heads, self.head_size))
        return ops.transpose(x, (0, 2, 1, 3))

    def scaled_dot_product(self, q, k, v, bias, training=None):
        """softmax(q k^T / sqrt(d) + bias) v, per head; returns (context, probabilities)."""
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))
        scores = ops.cast(scores, "float32") * (1.0 / math.sqrt(float(self.head_size)))
        if bias is not None:
            scores = scores + ops.cast(bias, "float32")
        probs = ops.softmax(scores, axis=-1)
        dropped = self.dropout(probs, training=training)
        context = ops.matmul(ops.cast(dropped, v.dtype), v)
        return context, probs

    def call(self, x, bias=None, training=None, return_probs=True, first_query_only=False):
        batch, seq = ops.shape(x)[0], ops.shape(x)[1]
        queries = x[:, :1] if first_query_only else x
        query_len = 1 if first_query_only else seq
        if not return_probs and not (training and self.dropout.rate > 0):
            # Fused path: no probabilities to return and none to drop out, so the backend's
            # attention kernel (cuDNN flash attention on GPU with JAX) computes the context.
            heads = (batch, seq, self.num_heads, self.head_size)
            context = ops.dot_product_attention(
                ops.reshape(self.query(queries), (batch, query_len) + heads[2:]),
                ops.reshape(self.key(x), heads),
                ops.reshape(self.value(x), heads),
                bias=None if bias is None else ops.cast(bias, self.compute_dtype),
                scale=1.0 / math.sqrt(float(self.head_size)),
            )
            return ops.reshape(context, (batch, query_len, self.num_heads * self.head_size)), None
        q = self._split_heads(self.query(queries))
        k = self._split_heads(self.key(x))
        v = self._split_heads(self.value(x))
        context, probs = self.scaled_dot_product(q, k, v, bias, training=training)
        context = ops.transpose(context, (0, 2, 1, 3))
        context = ops.reshape(context, (batch, query_len, self.num_heads * self.head_size))
        return context, probs

    def canonical_weights(self) -> dict:
        weights = {}
        for name, dense in (("query", self.query), ("key", self.key), ("value", self.value)):
            weights[f"{name}/kernel"] = dense.kernel
            weights[f"{name}/bias"] = dense.bias
        return weights

    def get_config(self) -> dict:
        """The constructor's arguments, so the layer saves and reloads on its own."""
        return {
            **super().get_config(),
            "hidden_size": self.hidden_size,
            "num_heads": self.num_heads,
            "dropout_rate": self.dropout_rate,
            "initializer_range": self.initializer_range,
        }
