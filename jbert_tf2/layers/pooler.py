"""BERT's pooler: a tanh dense layer over the first ([CLS]) token."""

from __future__ import annotations

from jbert_tf2.backend import keras


@keras.saving.register_keras_serializable(package="jbert_tf2")
class Pooler(keras.layers.Layer):
    """pooled = tanh(W h_[CLS] + b); ELECTRA has none and uses h_[CLS] itself."""

    def __init__(self, hidden_size: int, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(
            hidden_size,
            activation="tanh",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            name="dense",
        )

    def build(self, input_shape):
        self.dense.build((input_shape[0], input_shape[-1]))
        self.built = True

    def call(self, sequence_output):
        return self.dense(sequence_output[:, 0])

    def canonical_weights(self) -> dict:
        return {"dense/kernel": self.dense.kernel, "dense/bias": self.dense.bias}

    def get_config(self) -> dict:
        """The constructor's arguments, so the layer saves and reloads on its own."""
        return {
            **super().get_config(),
            "hidden_size": self.hidden_size,
            "initializer_range": self.initializer_range,
        }
