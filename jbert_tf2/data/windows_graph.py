"""`window_inputs`: `jbert_tf2.data.windows`' cut of long texts into windows, in TensorFlow core
ops (no tensorflow_text), for the raw-text signatures of an exported model.

It takes each text's token ids (ragged, before ``[CLS]`` / ``[SEP]``), and the pair's, and returns
one padded row per window plus the window -> text index, the same windows `plan_windows` makes in
Python (tests compare them). The windows' logits go back to one row per text with
`jbert_tf2.tasks.long_text.aggregate_by_text`.
"""

from __future__ import annotations

from jbert_tf2.backend import tensorflow


def window_inputs(
    ids_a,
    ids_b=None,
    *,
    cls_id: int,
    sep_id: int,
    max_seq_length: int,
    doc_stride: int,
):
    """``(inputs, text_index)``: ``inputs`` holds int32 [windows, max_seq_length]
    ``input_ids``, ``input_mask`` and ``segment_ids``; ``text_index`` int32 [windows] the text of
    each window (a text's windows are consecutive, in order).

    Args:
        ids_a: int32 `tf.RaggedTensor` [texts, (tokens)], each text's token ids.
        ids_b: the same for the pair's second texts, or None.
        cls_id: the id of ``[CLS]``.
        sep_id: the id of ``[SEP]``.
        max_seq_length: tokens per window, specials included.
        doc_stride: tokens between the starts of consecutive windows (checked by the caller,
            `jbert_tf2.data.windows.check_long_text`).
    """
    tf = tensorflow()
    ids_a = tf.cast(ids_a, tf.int32)
    texts = ids_a.nrows(out_type=tf.int32)
    len_a = tf.cast(ids_a.row_lengths(), tf.int32)
    if ids_b is None:
        ids_b = tf.RaggedTensor.from_row_lengths(
            tf.zeros([0], tf.int32), tf.zeros([texts], tf.int64)
        )
    ids_b = tf.cast(ids_b, tf.int32)
    len_b = tf.cast(ids_b.row_lengths(), tf.int32)
    pair = tf.cast(len_b > 0, tf.int32)  # an empty second text makes a single-text example
    specials = 2 + pair
    room = max_seq_length - specials
    fits = len_a + len_b <= room
    second = (pair > 0) & ~fits & (len_b >= len_a)
    other = tf.where(second, len_a, len_b)
    kept = tf.where(fits | (pair == 0), other, tf.minimum(other, room // 2))
    windowed = tf.where(second, len_b, len_a)
    room_w = room - kept
    stride = tf.minimum(doc_stride, room_w)
    over = tf.maximum(windowed - room_w, 0)
    counts = 1 + (over + stride - 1) // stride

    text_index = tf.repeat(tf.range(texts), counts)
    k = tf.ragged.range(counts).flat_values
    gathered = [tf.gather(v, text_index) for v in (len_a, len_b, pair, second, kept, windowed)]
    w_len_a, w_len_b, w_pair, w_second, w_kept, w_windowed = gathered
    start = k * tf.gather(stride, text_index)
    length = tf.minimum(tf.gather(room_w, text_index), w_windowed - start)
    b_start = w_len_a + 2
    a0 = tf.where(w_second, 1, 1 + start)
    an = tf.where(w_second, w_kept, length)
    b0 = tf.where(w_second, b_start + start, b_start)
    bn = tf.where(w_second, length, w_kept * w_pair)
    last = b_start + w_len_b
    zeros = tf.zeros_like(a0)
    positions = tf.concat(
        [
            tf.ragged.range(zeros, zeros + 1),
            tf.ragged.range(a0, a0 + an),
            tf.ragged.range(w_len_a + 1, w_len_a + 2),
            tf.ragged.range(b0, b0 + bn),
            tf.ragged.range(last, last + w_pair),
        ],
        axis=1,
    )
    cls = tf.fill([texts, 1], cls_id)
    sep = tf.fill([texts, 1], sep_id)
    sep_b = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(pair)], sep_id), tf.cast(pair, tf.int64)
    )
    full = tf.concat([cls, ids_a, sep, ids_b, sep_b], axis=1)
    row_starts = tf.cast(tf.gather(full.row_starts(), text_index), tf.int32)
    flat_positions = positions + tf.expand_dims(row_starts, 1)
    ids = tf.gather(full.flat_values, flat_positions)
    segments = tf.cast(positions > tf.expand_dims(w_len_a + 1, 1), tf.int32)
    shape = [None, max_seq_length]
    inputs = {
        "input_ids": ids.to_tensor(0, shape=shape),
        "input_mask": tf.ones_like(ids).to_tensor(0, shape=shape),
        "segment_ids": segments.to_tensor(0, shape=shape),
    }
    return inputs, text_index
