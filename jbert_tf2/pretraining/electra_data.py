"""ELECTRA pretraining data as google-research/electra's ``build_pretraining_dataset.py`` makes
it, and the masking ELECTRA applies at training time (``pretrain_helpers.mask``).

Consecutive sentences of a document are packed until they reach a target length
(``max_seq_length``; with probability 0.05 a random length from 5 up), then split in two
segments: the first takes sentences up to half the length (a sentence that would pass the half
goes in with probability 0.5 if the second segment is still empty), the second takes the rest;
with probability 0.1 everything goes in the first segment. The example is
``[CLS] first [SEP] (second [SEP])``, truncated to ``max_seq_length``; a document's last
sentences make a shorter example. Records hold ``input_ids``, ``input_mask`` and
``segment_ids`` (int64, zero-padded); no masks, no next-sentence labels.
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from jbert_tf2.errors import JbertError
from jbert_tf2.pretraining.bert_data import (
    CLS,
    MASK,
    SEP,
    as_rng,
    int_feature,
    parse_records,
    serialize_example,
    tfrecord_dataset,
    write_records,
)


@dataclass
class ElectraExample:
    """One packed example, unpadded: ``[CLS] first [SEP] (second [SEP])`` ids and segments."""

    input_ids: list[int]
    segment_ids: list[int]


def _token_ids(tokenizer, text: str) -> list[int]:
    if hasattr(tokenizer, "token_ids"):
        return tokenizer.token_ids(text)
    return tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))


def create_electra_examples(
    documents: Iterable[Sequence[str]],
    tokenizer,
    max_seq_length: int = 128,
    rng: random.Random | int = 12345,
    short_seq_prob: float = 0.05,
    single_segment_prob: float = 0.1,
) -> Iterator[ElectraExample]:
    """ELECTRA's `ExampleBuilder` over ``documents`` (lists of sentences, e.g. from
    `iter_documents`), one example at a time: it streams, whatever the corpus size.

    Examples:
        >>> docs = iter_documents(["corpus.txt"])
        >>> examples = list(create_electra_examples(docs, load_tokenizer("ja-electra")))
    """
    if not isinstance(max_seq_length, int) or max_seq_length < 5:
        raise JbertError(f"max_seq_length={max_seq_length!r}: must be an integer of at least 5")
    for name, value in (
        ("short_seq_prob", short_seq_prob),
        ("single_segment_prob", single_segment_prob),
    ):
        if not 0.0 <= value <= 1.0:
            raise JbertError(f"{name}={value!r}: must be a probability between 0 and 1")
    rng = as_rng(rng)
    cls_id, sep_id = tokenizer.vocab[CLS], tokenizer.vocab[SEP]
    target = max_seq_length
    for document in documents:
        sentences: list[list[int]] = []
        length = 0
        for line in document:
            ids = _token_ids(tokenizer, line)
            if not ids:
                continue
            sentences.append(ids)
            length += len(ids)
            if length >= target:
                yield _pack(
                    sentences, target, max_seq_length, single_segment_prob, rng, cls_id, sep_id
                )
                sentences, length = [], 0
                target = _next_target(max_seq_length, short_seq_prob, rng)
        if sentences:
            yield _pack(sentences, target, max_seq_length, single_segment_prob, rng, cls_id, sep_id)
            target = _next_target(max_seq_length, short_seq_prob, rng)


def _next_target(max_seq_length: int, short_seq_prob: float, rng: random.Random) -> int:
    if rng.random() < short_seq_prob:
        return rng.randint(5, max_seq_length)
    return max_seq_length


def _pack(sentences, target, max_seq_length, single_segment_prob, rng, cls_id, sep_id):
    """ELECTRA's `_create_example`: the sentences split in two segments, truncated."""
    first_target = 100_000 if rng.random() < single_segment_prob else (target - 3) // 2
    first: list[int] = []
    second: list[int] = []
    for sentence in sentences:
        if (
            not first
            or len(first) + len(sentence) < first_target
            or (not second and len(first) < first_target and rng.random() < 0.5)
        ):
            first += sentence
        else:
            second += sentence
    first = first[: max_seq_length - 2]
    second = second[: max(0, max_seq_length - len(first) - 3)]
    input_ids = [cls_id, *first, sep_id]
    segment_ids = [0] * len(input_ids)
    if second:
        input_ids += [*second, sep_id]
        segment_ids += [1] * (len(second) + 1)
    return ElectraExample(input_ids, segment_ids)


def electra_record(example: ElectraExample, max_seq_length: int) -> bytes:
    """One example as ELECTRA's serialized `tf.train.Example`, zero-padded."""
    length = len(example.input_ids)
    if length > max_seq_length:
        raise JbertError(
            f"an example has {length} tokens but max_seq_length={max_seq_length}; write with the "
            "value the examples were created with"
        )
    pad = [0] * (max_seq_length - length)
    return serialize_example(
        {
            "input_ids": int_feature(example.input_ids + pad),
            "input_mask": int_feature([1] * length + pad),
            "segment_ids": int_feature(example.segment_ids + pad),
        }
    )


def write_electra_tfrecords(
    examples: Iterable[ElectraExample],
    output_files: Sequence[str | os.PathLike],
    max_seq_length: int = 128,
) -> int:
    """Examples as records, round-robin over the output files (shards); the number written."""
    return write_records((electra_record(e, max_seq_length) for e in examples), output_files)


def electra_feature_spec(max_seq_length: int) -> dict:
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    names = ("input_ids", "input_mask", "segment_ids")
    return {name: tf.io.FixedLenFeature([max_seq_length], tf.int64) for name in names}


def parse_electra_tfrecord(serialized, max_seq_length: int = 128) -> dict:
    """``input_ids``, ``input_mask``, ``segment_ids`` (int32) of serialized ELECTRA records."""
    return parse_records(serialized, electra_feature_spec(max_seq_length))


def vocab_mapping(vocab) -> Mapping[str, int]:
    """Token -> id from a tokenizer, a mapping, or a vocabulary file (``vocab.txt``, or
    SentencePiece's ``*.vocab``)."""
    if isinstance(vocab, (str, os.PathLike)):
        from jbert_tf2.tokenization.vocab import load_vocab

        return load_vocab(vocab, (CLS, SEP, MASK), tab_separated=str(vocab).endswith(".vocab"))
    vocab = getattr(vocab, "vocab", vocab)
    if not isinstance(vocab, Mapping):
        raise JbertError(
            "vocab: expected a tokenizer, its vocab (a token -> id mapping) or a vocabulary file"
        )
    return vocab


def _special_ids(vocab) -> tuple[int, int, int, list[int]]:
    vocab = vocab_mapping(vocab)
    missing = [t for t in (CLS, SEP, MASK) if t not in vocab]
    if missing:
        raise JbertError(f"vocab: has no {', '.join(missing)}; masking needs all three")
    return vocab[CLS], vocab[SEP], vocab[MASK], sorted(vocab.values())


def _seed_tensor(seed):
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    if seed is None:
        return tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
    if isinstance(seed, int):
        return tf.constant([seed, 0], tf.int64)
    return tf.cast(tf.convert_to_tensor(seed), tf.int64)


def mask_for_mlm(
    input_ids,
    input_mask,
    vocab,
    mask_prob: float = 0.15,
    max_predictions_per_seq: int = 20,
    seed=None,
    mask_token_prob: float = 0.85,
    random_token_prob: float = 0.0,
) -> dict:
    """ELECTRA's dynamic masking of a batch ([batch, seq]; a single [seq] row works too).

    Per row, ``max(1, min(max_predictions_per_seq, round(mask_prob * real tokens)))`` positions
    are drawn uniformly, without repeats, among the real tokens other than [CLS], [SEP] and
    [MASK]; each becomes [MASK] with probability ``mask_token_prob`` (ELECTRA: 0.85), a random
    vocabulary id with ``random_token_prob`` (ELECTRA: 0; BERT's 0.8 / 0.1 / 0.1 is
    ``mask_token_prob=0.8, random_token_prob=0.1``) and otherwise stays.

    Args:
        vocab: a tokenizer, its vocab (token -> id) or a vocabulary file.
        seed: an int or a shape [2] int tensor (stateless: the same seed, the same masks), or
            None for fresh randomness.

    Returns: ``input_ids`` (masked), ``masked_lm_positions`` (ascending, int32),
        ``masked_lm_ids`` (the original ids) and ``masked_lm_weights`` (1.0 per prediction,
        float32), predictions padded with zeros to ``max_predictions_per_seq``.
    """
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    if (
        not 0.0 <= mask_token_prob + random_token_prob <= 1.0
        or min(mask_token_prob, random_token_prob) < 0.0
    ):
        raise JbertError(
            f"mask_token_prob={mask_token_prob}, random_token_prob={random_token_prob}: each "
            "must be 0 or more and together at most 1"
        )
    cls_id, sep_id, mask_id, vocab_ids = _special_ids(vocab)
    ids = tf.convert_to_tensor(input_ids)
    if ids.shape.rank == 1:
        out = mask_for_mlm(
            ids[None],
            tf.convert_to_tensor(input_mask)[None],
            vocab,
            mask_prob,
            max_predictions_per_seq,
            seed,
            mask_token_prob,
            random_token_prob,
        )
        return {name: value[0] for name, value in out.items()}
    n = max_predictions_per_seq
    seeds = tf.random.split(_seed_tensor(seed), 3)
    batch, length = tf.shape(ids)[0], tf.shape(ids)[1]
    real = tf.cast(input_mask, tf.bool)
    candidates = real & (ids != cls_id) & (ids != sep_id) & (ids != mask_id)
    num_tokens = tf.reduce_sum(tf.cast(real, tf.float32), axis=-1)
    wanted = tf.clip_by_value(tf.cast(tf.round(num_tokens * mask_prob), tf.int32), 1, n)
    wanted = tf.minimum(wanted, tf.reduce_sum(tf.cast(candidates, tf.int32), axis=-1))
    # distinct uniform positions: the candidates with the largest random scores
    scores = tf.where(candidates, tf.random.stateless_uniform([batch, length], seeds[0]), -1.0)
    k = tf.minimum(n, length)
    top = tf.math.top_k(scores, k).indices
    chosen = tf.sequence_mask(wanted, k)
    top = tf.sort(tf.where(chosen, top, length), axis=-1)
    positions = tf.where(chosen, top, 0)
    positions = tf.pad(positions, [[0, 0], [0, n - k]])
    weights = tf.sequence_mask(wanted, n)
    originals = tf.gather(ids, positions, batch_dims=1)
    masked_lm_ids = tf.where(weights, originals, tf.zeros_like(originals))
    draw = tf.random.stateless_uniform([batch, n], seeds[1])
    random_ids = tf.gather(
        tf.constant(vocab_ids, ids.dtype),
        tf.random.stateless_uniform([batch, n], seeds[2], 0, len(vocab_ids), tf.int32),
    )
    replacement = tf.where(
        draw < mask_token_prob,
        tf.fill([batch, n], tf.constant(mask_id, ids.dtype)),
        tf.where(draw < mask_token_prob + random_token_prob, random_ids, originals),
    )
    at = tf.one_hot(positions, length, dtype=ids.dtype) * tf.cast(weights, ids.dtype)[:, :, None]
    is_masked = tf.reduce_max(at, axis=1) > 0
    replaced = tf.reduce_sum(at * replacement[:, :, None], axis=1)
    return {
        "input_ids": tf.where(is_masked, replaced, ids),
        "masked_lm_positions": tf.ensure_shape(positions, [None, n]),
        "masked_lm_ids": tf.ensure_shape(masked_lm_ids, [None, n]),
        "masked_lm_weights": tf.ensure_shape(tf.cast(weights, tf.float32), [None, n]),
    }


def electra_dataset(
    files,
    max_seq_length: int = 128,
    batch_size: int = 32,
    vocab=None,
    mask_prob: float = 0.15,
    max_predictions_per_seq: int = 20,
    shuffle: bool = False,
    repeat: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
    shuffle_buffer: int = 100,
):
    """A `tf.data.Dataset` of batches from ELECTRA records (``files``: paths, globs or a
    comma-separated string; see `tfrecord_dataset`). With ``vocab`` (see `mask_for_mlm`) each
    batch is masked by `mask_for_mlm`, freshly per batch and epoch, from ``seed``."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    spec = electra_feature_spec(max_seq_length)
    data = tfrecord_dataset(
        files,
        lambda s: parse_records(s, spec),
        batch_size,
        shuffle,
        repeat,
        seed,
        drop_remainder,
        shuffle_buffer,
    )
    if vocab is None:
        return data
    vocab = vocab_mapping(vocab)
    _special_ids(vocab)
    base = secrets.randbelow(2**31) if seed is None else seed

    def mask(index, batch):
        masked = mask_for_mlm(
            batch["input_ids"],
            batch["input_mask"],
            vocab,
            mask_prob,
            max_predictions_per_seq,
            tf.stack([tf.constant(base, tf.int64), index]),
        )
        return {**batch, **masked}

    return data.enumerate().map(mask, num_parallel_calls=tf.data.AUTOTUNE)
