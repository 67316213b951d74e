"""`tf.data` pipelines over `Features`: length-bucketed batches, padded per batch, seeded order.

Short sentences are not padded to 512. Examples are grouped by length bucket (16, 32, 64, ...
up to ``max_seq_length``) and batched within their bucket; when shuffled, each window of
`SORT_WINDOW` batches is sorted by length first, so a batch holds examples of nearly one length.
On the TensorFlow backend each batch is padded to its longest example (a step without XLA runs
any length without retracing, and every padded token is work thrown away); on JAX, or with
``pad_to_multiple_of=None``, to its bucket's length, so a compiled step (``jax.jit``, XLA, TPUs)
sees only a handful of shapes. The order is
a pure function of ``(seed, epoch)``: `batch_indices` computes it in numpy, and the dataset
gathers the rows in-graph from ragged tensors (no Python generator, so it shards across workers
and runs on TPU hosts).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jbert_tf2.data.buckets import DEFAULT_LENGTH_BUCKETS, bucket
from jbert_tf2.data.features import Features
from jbert_tf2.data.windows import WindowedFeatures
from jbert_tf2.errors import JbertError

# Shuffled batches are formed from length-sorted windows of this many batches (within a bucket):
# little padding, while the window still mixes examples from across the epoch.
SORT_WINDOW = 32
# Documents read through windows are batched with others of a similar number of windows.
WINDOW_COUNT_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


def batch_indices(
    lengths: Sequence[int],
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    epoch: int = 0,
    length_buckets: Sequence[int] | None = DEFAULT_LENGTH_BUCKETS,
    drop_remainder: bool = False,
) -> list[np.ndarray]:
    """The example indices of each batch. Without ``shuffle``: input order within each bucket,
    buckets shortest first. With it: examples shuffled within buckets, each window of
    `SORT_WINDOW` batches sorted by length (stable), and the batches shuffled, deterministically
    from ``(seed, epoch)``. ``length_buckets=None``: one bucket."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise JbertError(f"batch_size={batch_size!r}: expected a positive int")
    lengths = np.asarray(lengths)
    rng = np.random.default_rng([seed, epoch])
    if length_buckets is None:
        groups = [np.arange(len(lengths))]
    else:
        keys = np.array([bucket(int(n), length_buckets) for n in lengths])
        groups = [np.flatnonzero(keys == key) for key in np.unique(keys)]
    batches = []
    for group in groups:
        if shuffle:
            group = rng.permutation(group)
            window = SORT_WINDOW * batch_size
            group = np.concatenate(
                [
                    chunk[np.argsort(lengths[chunk], kind="stable")]
                    for chunk in np.split(group, range(window, len(group), window))
                ]
            )
        for start in range(0, len(group), batch_size):
            chunk = group[start : start + batch_size]
            if drop_remainder and len(chunk) < batch_size:
                continue
            batches.append(chunk)
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def steps_per_epoch(
    features: Features,
    batch_size: int,
    max_seq_length: int | None = None,
    length_buckets: Sequence[int] | None = DEFAULT_LENGTH_BUCKETS,
    drop_remainder: bool = False,
) -> int:
    """The number of batches `make_dataset` gives per epoch (batches are formed within length
    buckets, so there can be a few more than ``ceil(n / batch_size)``): the count to base
    ``create_optimizer``'s ``num_train_steps`` on. Windowed features count batches of
    documents."""
    if isinstance(features, WindowedFeatures):
        counts = features.window_counts
        return len(
            batch_indices(counts, batch_size, False, 0, 0, WINDOW_COUNT_BUCKETS, drop_remainder)
        )
    lengths = features.lengths
    cap = int(max_seq_length or (lengths.max() if len(lengths) else 1))
    buckets = (
        None if length_buckets is None else sorted({min(b, cap) for b in length_buckets} | {cap})
    )
    return len(batch_indices(lengths, batch_size, False, 0, 0, buckets, drop_remainder))


def _ragged(rows: list[np.ndarray], dtype):
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    lengths = np.fromiter((len(r) for r in rows), np.int64, len(rows))
    values = np.concatenate(rows) if rows else np.zeros(0)
    return tf.RaggedTensor.from_row_lengths(values.astype(dtype), lengths)


def _length_cap(lengths: np.ndarray, max_seq_length: int | None, row: str) -> int:
    """The padded width: ``max_seq_length`` (else the longest row), refused when ``row`` (an
    example, a window) is longer."""
    cap = int(max_seq_length or lengths.max())
    if lengths.max() > cap:
        raise JbertError(
            f"{row} has {lengths.max()} tokens, more than max_seq_length={cap}; encode the "
            "features with the same max_seq_length"
        )
    return cap


def make_dataset(
    features: Features,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    epoch: int = 0,
    length_buckets: Sequence[int] | None = DEFAULT_LENGTH_BUCKETS,
    max_seq_length: int | None = None,
    drop_remainder: bool = False,
    with_labels: bool = True,
    pad_to_multiple_of: int | str | None = "auto",
):
    """A `tf.data.Dataset` of ``(inputs, labels[, sample_weight])`` batches (``inputs`` only
    without labels) for ``model.fit`` / ``evaluate`` / ``predict``.

    ``inputs`` is ``{"input_ids", "input_mask", "segment_ids"}`` padded to the batch's longest
    example rounded up to ``pad_to_multiple_of`` (``None``: to the batch's length bucket, the
    few shapes an XLA-, ``jax.jit``- or TPU-compiled step needs; ``"auto"``: 1 on TensorFlow,
    ``None`` on other backends; compile a TensorFlow model with ``jit_compile=True``? pass
    ``None``), capped at ``max_seq_length`` (or at the longest example when None). Token-tagging
    features add per-token labels and their weights as ``sample_weight``. With ``shuffle``,
    examples are shuffled within buckets by ``(seed, epoch)`` and the batch order changes on
    every pass over the dataset (seeded, so runs repeat).

    `WindowedFeatures` (texts read through windows) give batches of ``batch_size`` whole
    documents: int32 ``[documents, windows, width]`` inputs (a document with fewer windows than
    the batch's most padded with empty windows) and one label per document, so a document's
    windows always meet in one batch and its loss is taken once (`_window_dataset`).
    """
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    if isinstance(features, WindowedFeatures) and len(features):
        return _window_dataset(
            features,
            batch_size,
            shuffle,
            seed,
            epoch,
            max_seq_length,
            drop_remainder,
            with_labels,
            pad_to_multiple_of,
        )
    if not len(features):
        raise JbertError("no examples to make a dataset from; check the input file")
    lengths = features.lengths
    cap = _length_cap(lengths, max_seq_length, "an example")
    buckets = None
    if length_buckets is not None:
        buckets = sorted({min(b, cap) for b in length_buckets} | {cap})
    order = batch_indices(lengths, batch_size, shuffle, seed, epoch, buckets, drop_remainder)
    if pad_to_multiple_of == "auto":
        from jbert_tf2.backend import keras

        pad_to_multiple_of = 1 if keras.backend.backend() == "tensorflow" else None
    if pad_to_multiple_of is None:
        widths = [bucket(int(lengths[b].max()), buckets or [cap]) for b in order]
    else:
        if isinstance(pad_to_multiple_of, bool) or not isinstance(pad_to_multiple_of, int):
            raise JbertError(
                f"pad_to_multiple_of={pad_to_multiple_of!r}: pass a positive int, None to pad to "
                "the length buckets, or 'auto'"
            )
        if pad_to_multiple_of < 1:
            raise JbertError(f"pad_to_multiple_of={pad_to_multiple_of}: pass 1 or more, or None")
        step = pad_to_multiple_of
        widths = [min(cap, -(-int(lengths[b].max()) // step) * step) for b in order]
    widths = np.array(widths, np.int32)
    if not order:
        raise JbertError(
            f"{len(features)} examples make no full batch of {batch_size} (drop_remainder)"
        )
    ids = _ragged(features.input_ids, np.int32)
    segments = _ragged(features.segment_ids, np.int32)
    tagging = features.label_weights is not None
    labels = None
    if with_labels and features.labels is not None:
        labels = _ragged(features.labels, np.int32) if tagging else tf.constant(features.labels)
    weights = (
        _ragged(features.label_weights, np.float32) if labels is not None and tagging else None
    )
    index = tf.ragged.constant([b.tolist() for b in order], dtype=tf.int64)

    def pad(rows, width):
        dense = rows.to_tensor()
        return tf.pad(dense, [[0, 0], [0, width - tf.shape(dense)[1]]])

    def gather(batch, width):
        row_ids = tf.gather(ids, batch)
        inputs = {
            "input_ids": pad(row_ids, width),
            "input_mask": pad(tf.ones_like(row_ids), width),
            "segment_ids": pad(tf.gather(segments, batch), width),
        }
        if labels is None:
            return inputs
        if not tagging:
            return inputs, tf.gather(labels, batch)
        return inputs, pad(tf.gather(labels, batch), width), pad(tf.gather(weights, batch), width)

    dataset = tf.data.Dataset.from_tensor_slices((index, widths))
    if shuffle:
        # A new batch order on each pass, so plain ``fit(dataset, epochs=n)`` reshuffles; the
        # first pass of a fresh dataset is fixed by (seed, epoch), which exact resume relies on.
        dataset = dataset.shuffle(len(order), seed=seed + epoch, reshuffle_each_iteration=True)
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(
        tf.data.AUTOTUNE
    )


def _window_dataset(
    features: WindowedFeatures,
    batch_size: int,
    shuffle: bool,
    seed: int,
    epoch: int,
    max_seq_length: int | None,
    drop_remainder: bool,
    with_labels: bool,
    pad_to_multiple_of: int | str | None,
):
    """`make_dataset` of windowed documents: batches of documents with similar window counts,
    in the order `batch_indices` gives for ``(seed, epoch)``."""
    from jbert_tf2.backend import keras, tensorflow

    tf = tensorflow()
    lengths = features.lengths
    cap = _length_cap(lengths, max_seq_length, "a window")
    counts = features.window_counts
    order = batch_indices(
        counts, batch_size, shuffle, seed, epoch, WINDOW_COUNT_BUCKETS, drop_remainder
    )
    if not order:
        raise JbertError(
            f"{features.num_documents} documents make no full batch of {batch_size} "
            "(drop_remainder)"
        )
    if pad_to_multiple_of == "auto":
        pad_to_multiple_of = 1 if keras.backend.backend() == "tensorflow" else None
    firsts = np.concatenate([[0], np.cumsum(counts)])
    widths, window_counts = [], []
    for batch in order:
        longest = max(int(lengths[firsts[d] : firsts[d + 1]].max()) for d in batch)
        most = int(counts[batch].max())
        if pad_to_multiple_of is None:  # the few shapes a compiled step sees
            widths.append(
                bucket(longest, sorted({min(b, cap) for b in DEFAULT_LENGTH_BUCKETS} | {cap}))
            )
            window_counts.append(bucket(most, WINDOW_COUNT_BUCKETS))
        else:
            step = int(pad_to_multiple_of)
            widths.append(min(cap, -(-longest // step) * step))
            window_counts.append(most)
    ids = _ragged(features.input_ids, np.int32)
    segments = _ragged(features.segment_ids, np.int32)
    windows_of = tf.RaggedTensor.from_row_lengths(
        np.arange(len(features), dtype=np.int64), counts.astype(np.int64)
    )
    labels = None
    if with_labels and features.labels is not None:
        labels = tf.constant(features.labels)
    index = tf.ragged.constant([b.tolist() for b in order], dtype=tf.int64)

    def pad(rows, count, width):
        dense = rows.to_tensor()
        shape = tf.shape(dense)
        return tf.pad(dense, [[0, 0], [0, count - shape[1]], [0, width - shape[2]]])

    def gather(batch, count, width):
        chosen = tf.gather(windows_of, batch)  # [documents, (windows)]
        row_ids = tf.gather(ids, chosen)  # [documents, (windows), (tokens)]
        inputs = {
            "input_ids": pad(row_ids, count, width),
            "input_mask": pad(tf.ones_like(row_ids), count, width),
            "segment_ids": pad(tf.gather(segments, chosen), count, width),
        }
        return inputs if labels is None else (inputs, tf.gather(labels, batch))

    dataset = tf.data.Dataset.from_tensor_slices(
        (index, np.array(window_counts, np.int32), np.array(widths, np.int32))
    )
    if shuffle:
        dataset = dataset.shuffle(len(order), seed=seed + epoch, reshuffle_each_iteration=True)
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(
        tf.data.AUTOTUNE
    )
