"""`ClassificationHead`: dropout then a dense layer to one logit per label, in float32.

Google's run_classifier adds exactly this on the pooled output (dropout 0.1 in training,
weights from a truncated normal with stddev 0.02, zero bias); token classification applies it to
every token. Logits stay float32 under mixed precision so softmax and losses are stable.
"""

from __future__ import annotations

from jbert_tf2.backend import keras


class ClassificationHead(keras.layers.Layer):
    """[..., hidden] -> [..., num_labels] logits."""

    def __init__(
        self,
        num_labels: int,
        dropout: float = 0.1,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_labels = num_labels
        self.rate = dropout
        self.initializer_range = initializer_range
        self.dropout = keras.layers.Dropout(dropout)
        self.dense = keras.layers.Dense(
            num_labels,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            dtype="float32",
            name="dense",
        )

    def build(self, input_shape):
        self.dense.build(tuple(input_shape))
        self.built = True

    def call(self, x, training=None):
        return self.dense(self.dropout(x, training=training))

    def canonical_weights(self) -> dict:
        return {"dense/kernel": self.dense.kernel, "dense/bias": self.dense.bias}

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_labels": self.num_labels,
            "dropout": self.rate,
            "initializer_range": self.initializer_range,
        }
