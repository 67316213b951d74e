"""Compiled inference with bucketed shapes: XLA on TensorFlow, ``jax.jit`` on JAX.

A compiled function is specialised to its input shapes; feeding it every batch's own length
would recompile for each batch. `CompiledPredictor` trims each batch to its longest sequence
(dynamic padding), rounds that length up to a bucket and the batch size up to a power of two, so
a whole corpus compiles at most ``len(length_buckets) × log2(batch)`` times, and then runs
cached programs. Outputs come back as numpy arrays, sequence outputs padded back to the input
length with zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jbert_tf2.backend import keras, tensorflow
from jbert_tf2.data.buckets import DEFAULT_LENGTH_BUCKETS, bucket
from jbert_tf2.errors import JbertError

# Outputs with one entry per token (axis 1), padded back to the input length; attention
# probabilities stay at the trimmed length.
SEQUENCE_OUTPUTS = (
    "sequence_output",
    "hidden_states",
    "mlm_logits",
    "discriminator_logits",
    "generator_logits",
)


def _batch_bucket(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


class CompiledPredictor:
    """Runs ``model`` on dicts of Google's inputs with compiled, shape-bucketed programs.

    Args:
        model: a jbert_tf2 encoder or pretraining model (any Keras model taking
            ``{"input_ids", "input_mask", "segment_ids"}``).
        length_buckets: sequence lengths to round up to.
        jit_compile: compile with XLA on TensorFlow (``tf.function`` only when False); JAX
            always compiles with ``jax.jit``.

    Examples:
        >>> predict = CompiledPredictor(jbert_tf2.load("ja-bert"))
        >>> outputs = predict(tok(texts, max_seq_length=128))
    """

    def __init__(
        self,
        model,
        length_buckets: Sequence[int] = DEFAULT_LENGTH_BUCKETS,
        jit_compile: bool = True,
    ):
        self.model = model
        self.length_buckets = tuple(sorted(length_buckets))
        self.jit_compile = jit_compile
        self.traces = 0  # how many programs were built (one per new bucketed shape)
        if hasattr(model, "ensure_built"):
            model.ensure_built()
        self._run = self._compile()

    def _compile(self):
        backend = keras.backend.backend()
        if backend == "tensorflow":
            tf = tensorflow()

            def forward(inputs):
                self.traces += 1
                return self.model(inputs, training=False)

            return tf.function(forward, jit_compile=self.jit_compile)
        if backend == "jax":
            import jax

            def stateless(trainable, non_trainable, inputs):
                self.traces += 1
                outputs, _ = self.model.stateless_call(
                    trainable, non_trainable, inputs, training=False
                )
                return outputs

            jitted = jax.jit(stateless)

            def run(inputs):
                return jitted(
                    [v.value for v in self.model.trainable_variables],
                    [v.value for v in self.model.non_trainable_variables],
                    inputs,
                )

            return run
        raise JbertError(
            f"CompiledPredictor supports the tensorflow and jax backends, not {backend}"
        )

    def __call__(self, inputs: dict) -> dict[str, np.ndarray]:
        if "input_ids" not in inputs:
            raise JbertError("CompiledPredictor expects a dict with input_ids (and input_mask)")
        ids = np.asarray(inputs["input_ids"], np.int32)
        if ids.ndim != 2:
            raise JbertError(f"input_ids must be [batch, seq], got shape {ids.shape}")
        batch, width = ids.shape
        mask = np.asarray(inputs.get("input_mask", np.ones_like(ids)), np.int32)
        segments = np.asarray(inputs.get("segment_ids", np.zeros_like(ids)), np.int32)
        longest = int(mask.sum(axis=1).max()) if batch else 0
        length = min(width, bucket(max(longest, 1), self.length_buckets))
        rows = _batch_bucket(max(batch, 1))
        feed = {}
        for key, array in (("input_ids", ids), ("input_mask", mask), ("segment_ids", segments)):
            padded = np.zeros((rows, length), np.int32)
            padded[:batch] = array[:, :length]
            feed[key] = padded
        outputs = self._run(feed)
        return {
            key: _restore(value, batch, width if key in SEQUENCE_OUTPUTS else None)
            for key, value in outputs.items()
        }


def _restore(value, batch: int, width: int | None):
    """Drop the batch padding; pad per-token outputs back to the input length with zeros."""
    if isinstance(value, (tuple, list)):
        return tuple(_restore(v, batch, width) for v in value)
    array = np.asarray(value)[:batch]
    if width is not None and array.shape[1] < width:
        pad = [(0, 0)] * array.ndim
        pad[1] = (0, width - array.shape[1])
        array = np.pad(array, pad)
    return array
