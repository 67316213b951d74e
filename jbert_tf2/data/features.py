"""Features: examples turned into unpadded model inputs with their labels aligned to tokens.

Classification examples become ``[CLS] a [SEP] (b [SEP])`` ids with Google's truncation. Tagged
sentences are tokenized word by word (as HF does with ``is_split_into_words``): the first
sub-token of each word carries the word's label and a weight of 1; the other sub-tokens and the
specials carry weight 0, so they count in neither the loss nor the metrics. ``word_ids`` maps
every token back to its word (-1 for [CLS] / [SEP]), which decoding uses to return words and
character spans. Padding happens later, per batch (`jbert_tf2.data.pipeline`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from jbert_tf2.data.examples import TaggedSentence, TextExample
from jbert_tf2.errors import DataError, JbertError


@dataclass
class Features:
    """Unpadded inputs of ``len(input_ids)`` examples and their targets.

    ``labels``: class ids [n] (single-label), multi-hot float32 [n, num_labels] (multi-label),
    or one int32 array per example aligned with its tokens (tagging), or None.
    ``label_weights``: tagging only, 1.0 where a token carries its word's label.
    ``word_ids``: tagging only, each token's word index (-1 for specials).
    ``num_truncated``: examples that lost tokens to ``max_seq_length``; ``truncated_rows``:
    their indexes.
    """

    input_ids: list[np.ndarray]
    segment_ids: list[np.ndarray]
    labels: np.ndarray | list[np.ndarray] | None = None
    label_weights: list[np.ndarray] | None = None
    word_ids: list[np.ndarray] | None = None
    num_truncated: int = 0
    truncated_rows: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.input_ids), np.int64, len(self.input_ids))

    def padded(self, rows: Sequence[int], width: int) -> dict[str, np.ndarray]:
        """The model inputs of examples ``rows``: int32 [len(rows), width] ``input_ids``,
        ``input_mask`` and ``segment_ids`` (Google's names), zero-padded to ``width``."""
        batch = {
            key: np.zeros((len(rows), width), np.int32)
            for key in ("input_ids", "input_mask", "segment_ids")
        }
        for row, i in enumerate(rows):
            n = len(self.input_ids[i])
            batch["input_ids"][row, :n] = self.input_ids[i]
            batch["input_mask"][row, :n] = 1
            batch["segment_ids"][row, :n] = self.segment_ids[i]
        return batch


def _label_index(labels: Sequence[str]) -> dict[str, int]:
    index = {label: i for i, label in enumerate(labels)}
    if len(index) != len(labels):
        raise JbertError(f"labels has duplicates: {list(labels)}; list each label once")
    return index


def _unknown_label(label: str, example, labels: Sequence[str]) -> DataError:
    where = f"{example.source}: " if getattr(example, "source", "") else ""
    return DataError(
        f"{where}label {label!r} is not one of the model's labels {list(labels)}; "
        "fix the data or create the model with this label"
    )


def _warn_truncated(count: int, total: int, max_seq_length: int) -> None:
    if count:
        warnings.warn(
            f"{count} of {total} examples were longer than max_seq_length={max_seq_length} "
            "and were truncated",
            stacklevel=3,
        )


def encode_classification(
    tokenizer,
    examples: Sequence[TextExample],
    labels: Sequence[str] | None,
    max_seq_length: int = 128,
    multi_label: bool = False,
    warn: bool = True,
) -> Features:
    """Features of text (or text-pair) examples; labels become ids (or multi-hot rows). With
    ``warn``, a warning counts the examples truncated to ``max_seq_length`` (``False``: the
    caller reports `Features.truncated_rows` itself)."""
    texts = [e.text for e in examples]
    pairs = [e.text_b or "" for e in examples] if any(e.text_b for e in examples) else None
    input_ids, segment_ids, truncated_rows = [], [], []
    for row, (first, second) in enumerate(tokenizer.id_rows(texts, pairs, None)):
        a, b = first[1:-1], second[:-1] or None
        kept_a, kept_b = tokenizer._truncate(a, b, max_seq_length)
        if len(kept_a) + len(kept_b or ()) < len(a) + len(b or ()):
            truncated_rows.append(row)
        first = [first[0], *kept_a, first[-1]]
        second = [*kept_b, second[-1]] if kept_b else []
        input_ids.append(np.asarray(first + second, np.int32))
        segment_ids.append(
            np.concatenate([np.zeros(len(first), np.int32), np.ones(len(second), np.int32)])
        )
    truncated = len(truncated_rows)
    if warn:
        _warn_truncated(truncated, len(examples), max_seq_length)
    target = None
    if labels is not None and any(e.label is not None for e in examples):
        index = _label_index(labels)
        if multi_label:
            target = np.zeros((len(examples), len(labels)), np.float32)
        else:
            target = np.zeros(len(examples), np.int32)
        for row, example in enumerate(examples):
            given = example.label
            if given is None:
                raise DataError(f"{example.source or f'example {row}'}: has no label")
            for label in (given,) if isinstance(given, str) else given:
                if label not in index:
                    raise _unknown_label(label, example, labels)
                if multi_label:
                    target[row, index[label]] = 1.0
                else:
                    target[row] = index[label]
    return Features(
        input_ids, segment_ids, target, num_truncated=truncated, truncated_rows=truncated_rows
    )


class WordTokenizer:
    """Tokenizes words one at a time (cached) into ``(ids, spans within the word)``."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self._cache: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}

    def __call__(self, word: str) -> tuple[list[int], list[tuple[int, int]]]:
        got = self._cache.get(word)
        if got is None:
            pieces = self.tokenizer.tokenize_with_offsets(word)
            ids = self.tokenizer.convert_tokens_to_ids([t for t, _, _ in pieces])
            got = self._cache[word] = (ids, [(s, e) for _, s, e in pieces])
        return got


def encode_words(
    word_tokenizer: WordTokenizer, words: Sequence[str], max_seq_length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """``[CLS] word-1 pieces ... word-n pieces [SEP]`` as (ids, first-token mask, word ids,
    truncated). Words that do not fit are dropped whole from the end."""
    tok = word_tokenizer.tokenizer
    ids = [tok.vocab[tok.cls_token]]
    first = [0]
    word_ids = [-1]
    truncated = False
    for index, word in enumerate(words):
        pieces, _ = word_tokenizer(word)
        if len(ids) + len(pieces) > max_seq_length - 1:
            truncated = True
            break
        ids += pieces
        first += [1] + [0] * (len(pieces) - 1) if pieces else []
        word_ids += [index] * len(pieces)
    ids.append(tok.vocab[tok.sep_token])
    first.append(0)
    word_ids.append(-1)
    return (
        np.asarray(ids, np.int32),
        np.asarray(first, np.int32),
        np.asarray(word_ids, np.int32),
        truncated,
    )


def encode_tagging(
    tokenizer,
    sentences: Sequence[TaggedSentence],
    labels: Sequence[str] | None,
    max_seq_length: int = 128,
) -> Features:
    """Features of tagged sentences: each word's tag on its first sub-token (weight 1)."""
    if max_seq_length < 3:
        raise JbertError(f"max_seq_length={max_seq_length}: needs room for [CLS], a word, [SEP]")
    index = None if labels is None else _label_index(labels)
    words_tokenizer = WordTokenizer(tokenizer)
    input_ids, segment_ids, targets, weights, word_ids = [], [], [], [], []
    truncated = 0
    for sentence in sentences:
        ids, first, owners, cut = encode_words(words_tokenizer, sentence.words, max_seq_length)
        truncated += cut
        input_ids.append(ids)
        segment_ids.append(np.zeros_like(ids))
        word_ids.append(owners)
        weights.append(first.astype(np.float32))
        if index is not None and sentence.tags is not None:
            target = np.zeros_like(ids)
            for position in np.flatnonzero(first):
                tag = sentence.tags[owners[position]]
                if tag not in index:
                    raise _unknown_label(tag, sentence, labels)
                target[position] = index[tag]
            targets.append(target)
    _warn_truncated(truncated, len(sentences), max_seq_length)
    return Features(
        input_ids,
        segment_ids,
        targets if targets else None,
        weights,
        word_ids,
        num_truncated=truncated,
    )
