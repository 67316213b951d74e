"""Google's input layout in the graph: ragged token ids -> padded ``input_ids``, ``input_mask``,
``segment_ids``, exactly as `base.Tokenizer.__call__` lays them out (``[CLS] a [SEP]`` or
``[CLS] a [SEP] b [SEP]``, pairs truncated longest-first, an empty second text making a
single-text example). Shared by both in-graph twins (`in_graph`, `core_ops`), with what else
they share: the keys a ``graph_spec()`` needs, the check of a batch of texts, and the spec as
Keras config.
"""

from __future__ import annotations

from typing import Protocol

from jbert_tf2.errors import JbertError

SPEC_KEYS = ("tokens", "cls_id", "sep_id", "unk_id", "do_lower_case", "kind")
KIND_KEYS = {  # what each kind of graph_spec() needs beyond SPEC_KEYS
    "wordpiece": ("max_chars_per_word", "hf_control_chars", "specials"),
    "character": ("hf_control_chars", "specials"),
    "sentencepiece": ("model_proto",),
}


def spec_kind(spec: dict) -> str:
    """The ``kind`` of a ``graph_spec()``, refused when no twin runs it."""
    kind = spec.get("kind")
    if kind not in KIND_KEYS:
        raise JbertError(
            f"graph_spec: kind={kind!r} has no in-graph twin; use one of {', '.join(KIND_KEYS)}"
        )
    return kind


def missing_spec_keys(spec: dict, kind: str) -> list[str]:
    """The keys ``spec`` (of a kind in `KIND_KEYS`) lacks."""
    return [key for key in (*SPEC_KEYS, *KIND_KEYS[kind]) if key not in spec]


def text_batch(tf, texts, name: str):
    """``texts`` as a tf.string tensor of shape [batch] ([batch, 1] is squeezed); anything
    else is refused naming the argument ``name``."""
    texts = tf.convert_to_tensor(texts)
    if texts.dtype != tf.string:
        raise JbertError(f"{name}: expected a tf.string tensor of texts, got {texts.dtype.name}")
    if texts.shape.rank == 2 and texts.shape[-1] == 1:
        texts = tf.squeeze(texts, -1)
    if texts.shape.rank != 1:
        raise JbertError(f"{name}: expected a batch of texts (shape [batch]), got {texts.shape}")
    return texts


def spec_to_config(spec: dict) -> dict:
    """``spec`` as JSON-able Keras config: the SentencePiece model's bytes as hex."""
    spec = dict(spec)
    if "model_proto" in spec:
        spec["model_proto"] = spec["model_proto"].hex()
    return spec


def spec_from_config(spec: dict) -> dict:
    """The inverse of `spec_to_config`."""
    spec = dict(spec)
    if "model_proto" in spec:
        spec["model_proto"] = bytes.fromhex(spec["model_proto"])
    return spec


def truncated_pair_lengths(tf, len_a, len_b, budget: int):
    """Google's `_truncate_seq_pair` in closed form: pop from the longer (``b`` on a tie)."""
    shorter = tf.minimum(len_a, len_b)
    fits = len_a + len_b <= budget
    shorter_kept = 2 * shorter <= budget
    new_a = tf.where(
        fits,
        len_a,
        tf.where(
            shorter_kept,
            tf.where(len_a <= len_b, len_a, budget - len_b),
            (budget + 1) // 2,
        ),
    )
    new_b = tf.where(
        fits,
        len_b,
        tf.where(shorter_kept, tf.where(len_a <= len_b, budget - len_a, len_b), budget // 2),
    )
    return new_a, new_b


def model_inputs(tf, a, b, cls_id: int, sep_id: int, max_len: int) -> dict:
    """Padded int32 [batch, max_len] model inputs from ragged int32 ids ``a`` (and ``b`` for
    pairs, or None): each kept token scattered to its position, so the work is a few dense
    ops whether it runs eagerly or in a graph."""
    batch = tf.cast(a.nrows(), tf.int32)
    len_a = tf.cast(a.row_lengths(), tf.int32)
    if b is None:
        len_b = tf.zeros_like(len_a)
        has_b = tf.zeros_like(len_a, tf.bool)
        len_a = tf.minimum(len_a, max_len - 2)
    else:
        len_b = tf.cast(b.row_lengths(), tf.int32)
        has_b = len_b > 0  # an empty second text makes a single-text example (Google)
        budget = tf.where(has_b, max_len - 3, max_len - 2)
        len_a, len_b = truncated_pair_lengths(tf, len_a, len_b, budget)
    rows = tf.range(batch)
    second_start = len_a + 2
    total = second_start + len_b + tf.cast(has_b, tf.int32)
    updates = [tf.fill([batch], cls_id), tf.fill([batch], sep_id)]
    indices = [tf.stack([rows, tf.zeros_like(rows)], 1), tf.stack([rows, len_a + 1], 1)]
    for part, offset, kept in ((a, 1, len_a), (b, second_start, len_b)):
        if part is None:
            continue
        row = tf.cast(part.value_rowids(), tf.int32)
        within = tf.range(tf.size(row)) - tf.gather(tf.cast(part.row_splits, tf.int32), row)
        keep = within < tf.gather(kept, row)
        updates.append(tf.boolean_mask(tf.cast(part.flat_values, tf.int32), keep))
        position = tf.boolean_mask(within + tf.gather(offset + tf.zeros_like(kept), row), keep)
        indices.append(tf.stack([tf.boolean_mask(row, keep), position], 1))
    if b is not None:
        closing = tf.boolean_mask(rows, has_b)
        updates.append(tf.fill(tf.shape(closing), sep_id))
        indices.append(tf.stack([closing, tf.boolean_mask(total - 1, has_b)], 1))
    shape = tf.stack([batch, max_len])
    input_ids = tf.scatter_nd(tf.concat(indices, 0), tf.concat(updates, 0), shape)
    positions = tf.range(max_len)[None, :]
    input_mask = tf.cast(positions < total[:, None], tf.int32)
    segment_ids = tf.cast((positions >= second_start[:, None]) & has_b[:, None], tf.int32)
    return {
        "input_ids": tf.ensure_shape(input_ids, [None, max_len]),
        "input_mask": tf.ensure_shape(input_mask, [None, max_len]),
        "segment_ids": tf.ensure_shape(segment_ids * input_mask, [None, max_len]),
    }


class DescribesGraphTwin(Protocol):
    """Anything with a ``graph_spec()``: the tokenizers, or a user's own class."""

    def graph_spec(self) -> dict: ...


class SpecTwinConfig:
    """What both in-graph twins share as Keras layers built from a ``graph_spec()``: the
    constructor from a tokenizer and the JSON config (the spec, bytes as hex)."""

    spec: dict
    max_seq_length: int

    @classmethod
    def from_tokenizer(cls, tokenizer: DescribesGraphTwin, max_seq_length: int = 128, **kwargs):
        """The twin of ``tokenizer``, from its own description, ``tokenizer.graph_spec()``."""
        return cls(tokenizer.graph_spec(), max_seq_length=max_seq_length, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(spec=spec_to_config(self.spec), max_seq_length=self.max_seq_length)
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        return cls(spec_from_config(config.pop("spec")), **config)
