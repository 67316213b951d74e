"""One Transformer encoder block: self-attention and feed-forward, each with residual + LayerNorm."""

from __future__ import annotations

from jbert_tf2.backend import keras, ops
from jbert_tf2.layers.activations import get_activation
from jbert_tf2.layers.attention import MultiHeadSelfAttention
from jbert_tf2.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="jbert_tf2")
class TransformerBlock(keras.layers.Layer):
    """Post-LayerNorm block as in BERT: x = LN(x + Attn(x)); x = LN(x + FFN(x)).

    Returns the block output and the attention probabilities. With ``first_token_only`` the
    block computes only the first position's output (its attention still reads every
    position): the [CLS] vector a pooled output needs, for about a sixth of the block's work.
    """

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        intermediate_size: int,
        hidden_act: str = "gelu_approx",
        hidden_dropout_rate: float = 0.1,
        attention_dropout_rate: float = 0.1,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        **kwargs,
    ):
        super().__init__(**kwargs)
        init = keras.initializers.TruncatedNormal(stddev=initializer_range)
        self.attention = MultiHeadSelfAttention(
            hidden_size, num_heads, attention_dropout_rate, initializer_range, name="self"
        )
        self.attention_output = keras.layers.Dense(
            hidden_size, kernel_initializer=init, name="dense"
        )
        self.attention_dropout = keras.layers.Dropout(hidden_dropout_rate)
        self.attention_layer_norm = LayerNorm(epsilon=layer_norm_eps, name="attention_LayerNorm")
        self.intermediate = keras.layers.Dense(
            intermediate_size,
            activation=get_activation(hidden_act),
            kernel_initializer=init,
            name="intermediate",
        )
        self.output_dense = keras.layers.Dense(hidden_size, kernel_initializer=init, name="output")
        self.output_dropout = keras.layers.Dropout(hidden_dropout_rate)
        self.output_layer_norm = LayerNorm(epsilon=layer_norm_eps, name="output_LayerNorm")
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_rate = hidden_dropout_rate
        self.attention_dropout_rate = attention_dropout_rate
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps

    def build(self, input_shape):
        self.attention.build(input_shape)
        self.attention_output.build(input_shape)
        self.attention_layer_norm.build(input_shape)
        self.intermediate.build(input_shape)
        self.output_dense.build((None, None, self.intermediate_size))
        self.output_layer_norm.build(input_shape)
        self.built = True

    def call(self, x, bias=None, training=None, return_probs=True, first_token_only=False):
        context, probs = self.attention(
            x,
            bias=bias,
            training=training,
            return_probs=return_probs,
            first_query_only=first_token_only,
        )
        attended = self.attention_dropout(self.attention_output(context), training=training)
        residual = x[:, :1] if first_token_only else x
        # LayerNorm runs in float32; the residual stream stays in the compute dtype.
        x = ops.cast(self.attention_layer_norm(attended + residual), self.compute_dtype)
        ffn = self.output_dropout(self.output_dense(self.intermediate(x)), training=training)
        x = ops.cast(self.output_layer_norm(ffn + x), self.compute_dtype)
        return x, probs

    def canonical_weights(self) -> dict:
        weights = {f"attention/self/{k}": v for k, v in self.attention.canonical_weights().items()}
        weights.update(
            {
                "attention/output/dense/kernel": self.attention_output.kernel,
                "attention/output/dense/bias": self.attention_output.bias,
                "attention/output/LayerNorm/gamma": self.attention_layer_norm.gamma,
                "attention/output/LayerNorm/beta": self.attention_layer_norm.beta,
                "intermediate/dense/kernel": self.intermediate.kernel,
                "intermediate/dense/bias": self.intermediate.bias,
                "output/dense/kernel": self.output_dense.kernel,
                "output/dense/bias": self.output_dense.bias,
                "output/LayerNorm/gamma": self.output_layer_norm.gamma,
                "output/LayerNorm/beta": self.output_layer_norm.beta,
            }
        )
        return weights

    def get_config(self) -> dict:
        """The constructor's arguments, so the layer saves and reloads on its own."""
        return {
            **super().get_config(),
            "hidden_size": self.hidden_size,
            "num_heads": self.num_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": self.hidden_act,
            "hidden_dropout_rate": self.hidden_dropout_rate,
            "attention_dropout_rate": self.attention_dropout_rate,
            "initializer_range": self.initializer_range,
            "layer_norm_eps": self.layer_norm_eps,
        }
