"""Layer normalization over the last axis (Ba et al. 2016), in float32.

Same variables and results as `keras.layers.LayerNormalization` (``gamma``, ``beta``, last axis),
computed as mean, centred variance, ``rsqrt``: faster per call on TensorFlow's CPU kernels
(docs/performance.md), and one place to keep the float32 rule under mixed precision.
"""

from __future__ import annotations

from jbert_tf2.backend import keras, ops


@keras.saving.register_keras_serializable(package="jbert_tf2")
class LayerNorm(keras.layers.LayerNormalization):
    """``keras.layers.LayerNormalization(axis=-1)`` with a leaner computation; float32 by default."""

    def __init__(self, epsilon: float = 1e-12, dtype="float32", **kwargs):
        kwargs.setdefault("axis", -1)
        super().__init__(epsilon=epsilon, dtype=dtype, **kwargs)

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        mean = ops.mean(x, axis=-1, keepdims=True)
        centred = x - mean
        variance = ops.mean(centred * centred, axis=-1, keepdims=True)
        return centred * ops.rsqrt(variance + self.epsilon) * self.gamma + self.beta
