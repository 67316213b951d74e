"""Length buckets: the few padded lengths batches are rounded up to, so compiled programs (XLA,
TPUs, ``jax.jit``) see a handful of shapes instead of one per batch. Shared by the `tf.data`
pipelines (`jbert_tf2.data.pipeline`) and compiled inference (`jbert_tf2.inference`)."""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_LENGTH_BUCKETS = (16, 32, 64, 128, 256, 384, 512)


def bucket(value: int, buckets: Sequence[int]) -> int:
    """The smallest bucket >= ``value`` (``value`` itself when beyond the last bucket)."""
    for size in buckets:
        if size >= value:
            return size
    return value
