"""What every tokenizer shares: model inputs from text, with offsets, singly or in batches.

A subclass only says how text becomes tokens with spans (`tokenize_with_offsets`) and, when it
has a TensorFlow twin, describes that twin as plain data (`graph_spec`). This module adds Google's
input layout: ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]``, segment ids 0 then 1, pairs
truncated longest-first exactly as `_truncate_seq_pair` in google-research/bert (pop from the
longer, from the end; from ``b`` on a tie; a second text with no tokens makes a single-text
example), zero padding, and int32 numpy batches. Offsets of the second text's tokens are spans
into the second text.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.text import (
    Span,
    TokenWithSpan,
    check_batch,
    check_pairs,
    check_text,
)

if TYPE_CHECKING:
    from jbert_tf2.tokenization.in_graph import InGraphTokenizer

SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]")


@dataclass
class Encoding:
    """One example's model inputs. ``tokens`` and ``offsets`` line up with ``input_ids``
    (padding included: the token of id 0 and ``(0, 0)``); ``length`` counts the real tokens.
    Offsets index the text their segment came from: ``text`` where ``segment_ids`` is 0,
    ``text_pair`` where it is 1."""

    input_ids: list[int]
    input_mask: list[int]
    segment_ids: list[int]
    tokens: list[str]
    offsets: list[Span]
    length: int
    truncated: bool = False


def truncate_pair(a: list, b: list, max_length: int) -> bool:
    """Google's `_truncate_seq_pair`, in place; True when anything was removed."""
    truncated = False
    while len(a) + len(b) > max_length:
        (a if len(a) > len(b) else b).pop()
        truncated = True
    return truncated


class Tokenizer:
    """Base class: subclasses set ``vocab``, ``unk_id`` and implement `_tokenize_spans`."""

    vocab: dict[str, int]
    unk_id: int
    split_special_tokens: bool = True
    cls_token, sep_token, pad_token = "[CLS]", "[SEP]", "[PAD]"

    def _tokenize_spans(self, text: str) -> list[TokenWithSpan]:
        raise NotImplementedError

    @property
    def pad_token_shown(self) -> str:
        """The token padding shows as: the one whose id (0) padding uses."""
        return self.convert_ids_to_tokens([0])[0]

    def special_tokens_in_vocab(self) -> list[str]:
        """BERT's special tokens that this vocabulary has."""
        return [t for t in SPECIAL_TOKENS if t in self.vocab]

    def graph_spec(self) -> dict:
        """What the in-graph twin (`in_graph.InGraphTokenizer`) needs, as plain data: keys
        ``kind`` and `graph_vocabulary`'s, plus the kind's own (see `in_graph`). Subclasses
        with a twin override this; the base class has none."""
        raise JbertError(f"{type(self).__name__} has no in-graph twin")

    def graph_vocabulary(self) -> dict:
        """The vocabulary part of `graph_spec`: ``tokens`` (index = id; ids no line has get a
        placeholder), ``cls_id``, ``sep_id`` and ``unk_id``."""
        vocab = self.vocab
        size = max(vocab.values()) + 1
        tokens = [f"[jbert-unused-line-{i + 1}]" for i in range(size)]
        for token, index in vocab.items():
            tokens[index] = token
        return {
            "tokens": tokens,
            "cls_id": vocab[self.cls_token],
            "sep_id": vocab[self.sep_token],
            "unk_id": self.unk_id,
        }

    def in_graph(self, max_seq_length: int = 128) -> InGraphTokenizer:
        """The tensorflow-text twin of this tokenizer: a Keras layer from tf.string to ids,
        built from `graph_spec`."""
        from jbert_tf2.tokenization.in_graph import InGraphTokenizer

        return InGraphTokenizer.from_tokenizer(self, max_seq_length)

    def _special_pattern(self) -> re.Pattern | None:
        if not hasattr(self, "_special_re"):
            specials = self.special_tokens_in_vocab()
            self._special_re = (
                re.compile("|".join(re.escape(t) for t in specials)) if specials else None
            )
        return self._special_re

    def tokenize_with_offsets(self, text: str) -> list[TokenWithSpan]:
        """Tokens of ``text`` with (start, end) character spans into ``text``."""
        return self._spans(check_text(text, "text"))

    def _spans(self, text: str) -> list[TokenWithSpan]:
        """`tokenize_with_offsets` of checked text: literal special tokens kept whole unless
        ``split_special_tokens``, the text between them tokenized by the subclass."""
        pattern = None if self.split_special_tokens else self._special_pattern()
        if pattern is None or not pattern.search(text):
            return self._tokenize_spans(text)
        result: list[TokenWithSpan] = []
        position = 0
        for match in [*pattern.finditer(text), None]:
            end = len(text) if match is None else match.start()
            part = self._tokenize_spans(text[position:end])
            result.extend((t, s + position, e + position) for t, s, e in part)
            if match is not None:
                result.append((match.group(), match.start(), match.end()))
                position = match.end()
        return result

    def word_spans(self, text: str) -> list[Span]:
        """Character spans of ``text``'s words by this tokenizer's own word splitter.

        Tokenizers without one (SentencePiece, no word splitting) use MeCab with unidic-lite,
        whose short units are the words of UD Japanese corpora."""
        from jbert_tf2.tokenization.mecab import unidic_word_spans

        return unidic_word_spans(check_text(text, "text"))

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` (no special tokens added)."""
        return [token for token, _, _ in self.tokenize_with_offsets(text)]

    def convert_tokens_to_ids(self, tokens: Sequence[str] | str) -> list[int] | int:
        """The ids of ``tokens`` (unknown tokens: the unknown id); one token (a str) gives one
        id, as in HF's tokenizers, rather than the ids of its characters."""
        vocab, unk = self.vocab, self.unk_id
        if isinstance(tokens, str):
            return vocab.get(tokens, unk)
        tokens = check_batch(tokens, "tokens")
        for index, token in enumerate(tokens):
            if not isinstance(token, str):
                raise JbertError(
                    f"tokens[{index}] is {token!r:.40}, not a str; pass tokens as str "
                    "(tok.tokenize(text) gives them)"
                )
        return [vocab.get(token, unk) for token in tokens]

    def convert_ids_to_tokens(self, ids: Sequence[int] | int) -> list[str] | str:
        """The tokens of ``ids`` (ids no token has: the unknown token); one id (an int) gives
        one token, as in HF's tokenizers."""
        if not hasattr(self, "_inverse"):
            self._inverse = {i: t for t, i in self.vocab.items()}
        unknown = self._inverse.get(self.unk_id, "[UNK]")
        if isinstance(ids, numbers.Integral) and not isinstance(ids, bool):
            return self._inverse.get(int(ids), unknown)
        if isinstance(ids, (str, bytes)) or getattr(ids, "ndim", 1) != 1:
            raise JbertError(
                f"ids is a {type(ids).__name__}"
                + (f" of {ids.ndim} dimensions" if hasattr(ids, "ndim") else "")
                + "; pass one id (an int) or a list (1-D array) of ids, e.g. enc.input_ids"
            )
        ids = check_batch(ids, "ids")
        for index, value in enumerate(ids):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise JbertError(f"ids[{index}] is {value!r}; pass integer ids")
        return [self._inverse.get(int(i), unknown) for i in ids]

    def encode(
        self,
        text: str,
        text_pair: str | None = None,
        max_seq_length: int | None = 128,
        pad: bool = True,
    ) -> Encoding:
        """``[CLS] text [SEP] (text_pair [SEP])`` truncated to ``max_seq_length`` (None: no
        limit) and, with ``pad``, zero-padded to it."""
        a = self._spans(check_text(text, "text"))
        b = None if text_pair is None else self._spans(check_text(text_pair, "text_pair"))
        return self._assemble(a, b, max_seq_length, pad)

    def _assemble(self, a, b, max_seq_length: int | None, pad: bool) -> Encoding:
        b = b or None  # an empty second text is a single-text example, as in Google's code
        full = len(a) + (0 if b is None else len(b))
        a, b = self._truncate(a, b, max_seq_length)
        truncated = len(a) + (0 if b is None else len(b)) < full
        tokens = [self.cls_token] + [t for t, _, _ in a] + [self.sep_token]
        offsets = [(0, 0)] + [(s, e) for _, s, e in a] + [(0, 0)]
        segment_ids = [0] * len(tokens)
        if b is not None:
            tokens += [t for t, _, _ in b] + [self.sep_token]
            offsets += [(s, e) for _, s, e in b] + [(0, 0)]
            segment_ids += [1] * (len(b) + 1)
        length = len(tokens)
        input_ids = self.convert_tokens_to_ids(tokens)
        input_mask = [1] * length
        if pad and max_seq_length is not None and length < max_seq_length:
            extra = max_seq_length - length
            input_ids += [0] * extra
            input_mask += [0] * extra
            segment_ids += [0] * extra
            tokens += [self.pad_token_shown] * extra
            offsets += [(0, 0)] * extra
        return Encoding(input_ids, input_mask, segment_ids, tokens, offsets, length, truncated)

    def encode_batch(
        self,
        texts: Sequence[str],
        text_pairs: Sequence[str] | None = None,
        max_seq_length: int | None = 128,
    ) -> list[Encoding]:
        """`encode` for each text (and pair), unpadded."""
        texts, text_pairs = check_pairs(texts, text_pairs)
        encodings = []
        for i, text in enumerate(texts):
            a = self._spans(check_text(text, f"texts[{i}]"))
            b = None
            if text_pairs is not None:
                b = self._spans(check_text(text_pairs[i], f"text_pairs[{i}]"))
            encodings.append(self._assemble(a, b, max_seq_length, pad=False))
        return encodings

    @staticmethod
    def _truncate(a: list, b: list | None, max_seq_length: int | None):
        """Google's truncation to ``max_seq_length`` with room for [CLS] and [SEP]s."""
        if max_seq_length is None:
            return a, b
        if not isinstance(max_seq_length, numbers.Integral) or isinstance(max_seq_length, bool):
            raise JbertError(f"max_seq_length={max_seq_length!r}: expected an int (or None)")
        max_seq_length = int(max_seq_length)  # numpy integers too
        specials = 2 if b is None else 3
        if max_seq_length < specials:
            raise JbertError(
                f"max_seq_length={max_seq_length} leaves no room for the text; it must be at "
                f"least {specials} ([CLS], [SEP]{', [SEP]' if b is not None else ''})"
            )
        if b is None:
            return a[: max_seq_length - 2], None
        a, b = list(a), list(b)
        truncate_pair(a, b, max_seq_length - 3)
        return a, b

    def _token_ids(self, text: str) -> list[int]:
        """Ids of ``text``'s tokens; subclasses may compute them without offsets."""
        return self.convert_tokens_to_ids([t for t, _, _ in self._tokenize_spans(text)])

    def token_ids(self, text: str) -> list[int]:
        """The ids of `tokenize` (no special tokens added)."""
        return self._ids(check_text(text, "text"))

    def _ids(self, text: str) -> list[int]:
        pattern = None if self.split_special_tokens else self._special_pattern()
        if pattern is not None and pattern.search(text):
            return self.convert_tokens_to_ids([t for t, _, _ in self._spans(text)])
        return self._token_ids(text)

    def id_rows(
        self,
        texts: Sequence[str],
        text_pairs: Sequence[str] | None = None,
        max_seq_length: int | None = 128,
    ) -> list[tuple[list[int], list[int]]]:
        """Unpadded ids per example: ``([CLS] a [SEP], b [SEP])`` (the second list empty for a
        single text); segment 0 is the first list, segment 1 the second."""
        texts, text_pairs = check_pairs(texts, text_pairs)
        cls_id, sep_id = self.vocab[self.cls_token], self.vocab[self.sep_token]
        rows = []
        for i, text in enumerate(texts):
            a = self._ids(check_text(text, f"texts[{i}]"))
            b = None
            if text_pairs is not None:
                b = self._ids(check_text(text_pairs[i], f"text_pairs[{i}]")) or None
            a, b = self._truncate(a, b, max_seq_length)
            rows.append(([cls_id, *a, sep_id], [] if b is None else [*b, sep_id]))
        return rows

    def __call__(
        self,
        texts: Sequence[str] | str,
        text_pairs: Sequence[str] | str | None = None,
        max_seq_length: int | None = 128,
        padding: str = "max_length",
    ) -> dict[str, np.ndarray]:
        """Encode a batch into int32 arrays ``input_ids``, ``input_mask``, ``segment_ids`` padded
        to ``max_seq_length`` (``padding="max_length"``) or to the longest (``"longest"``)."""
        if padding not in ("max_length", "longest"):
            raise JbertError(f"padding={padding!r}: use 'max_length' or 'longest'")
        if padding == "max_length" and max_seq_length is None:
            raise JbertError("padding='max_length' needs max_seq_length; or use padding='longest'")
        if isinstance(texts, (str, bytes)):
            texts = [texts]
            if isinstance(text_pairs, (str, bytes)):
                text_pairs = [text_pairs]
        rows = self.id_rows(texts, text_pairs, max_seq_length)
        width = (
            max_seq_length
            if padding == "max_length"
            else max((len(f) + len(s) for f, s in rows), default=2)
        )
        ids = np.zeros((len(rows), width), dtype=np.int32)
        mask = np.zeros((len(rows), width), dtype=np.int32)
        segments = np.zeros((len(rows), width), dtype=np.int32)
        for row, (first, second) in enumerate(rows):
            n, m = len(first), len(second)
            ids[row, :n] = first
            mask[row, : n + m] = 1
            if m:
                ids[row, n : n + m] = second
                segments[row, n : n + m] = 1
        return {"input_ids": ids, "input_mask": mask, "segment_ids": segments}
