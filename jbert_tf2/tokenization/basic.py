"""Google BERT's basic tokenizer (whitespace, CJK ideographs, punctuation), with offsets.

The rules are `BasicTokenizer` in google-research/bert: drop control characters, put every CJK
ideograph in a word of its own, split on whitespace, then (with ``do_lower_case``) lower-case
and strip accents (NFD, drop category Mn, so がぎぐ -> かきく), then split off every punctuation
character. Each word comes back with its character span in the original text.
``hf_control_chars`` follows HF's `BasicTokenizer` instead, which also drops private-use and
unassigned characters (categories Co, Cn, Cs).
"""

from __future__ import annotations

from jbert_tf2.tokenization.alignment import align, strip_accents
from jbert_tf2.tokenization.char_classes import char_classes

# A word: its text, its original span, and per-character original spans when the word's
# characters do not map one-to-one onto the original (None: character k is start + k).
Word = tuple[str, int, int, "list[tuple[int, int]] | None"]


def word_span(word: Word, begin: int, end: int) -> tuple[int, int]:
    """Original span of ``word[0][begin:end]``."""
    _, start, _, spans = word
    if spans is None:
        return start + begin, start + end
    return spans[begin][0], spans[end - 1][1]


class BasicWordSplitter:
    """Splits text into Google BERT's basic words with original character spans."""

    def __init__(self, do_lower_case: bool = True, hf_control_chars: bool = False):
        self.do_lower_case = do_lower_case
        self.hf_control_chars = hf_control_chars
        self._classes = char_classes(hf_control_chars)
        self._char_cache: dict[str, str] = {}
        removed = self._classes.removed

        def clean(text: str) -> str:
            return removed.sub("", text) if removed.search(text) else text

        if do_lower_case:

            def transform(text: str) -> str:
                return strip_accents(clean(text).lower())
        else:
            transform = clean
        self._transform = transform

    @property
    def chunks(self):
        """The pattern of Google's whitespace-separated tokens after CJK splitting: a CJK
        ideograph, or a run of non-CJK non-whitespace. Each chunk tokenizes on its own."""
        return self._classes.words

    def chunk_words(self, chunk: str) -> list[str]:
        """The basic words of one chunk, without spans (the fast path for ids)."""
        if chunk.isascii() and chunk.isalnum():
            return [chunk.lower() if self.do_lower_case else chunk]
        return self._classes.pieces.findall(self._transform(chunk))

    def split_chunk(self, chunk: str) -> list[Word]:
        """The basic words of one chunk, with spans relative to the chunk."""
        if chunk.isascii() and chunk.isalnum():
            return [(chunk.lower() if self.do_lower_case else chunk, 0, len(chunk), None)]
        aligned = align(chunk, self._transform, self._char_cache)
        starts, ends = aligned.starts, aligned.ends
        words: list[Word] = []
        for piece in self._classes.pieces.finditer(aligned.text):
            a, b = piece.start(), piece.end()
            if starts is None:
                words.append((piece.group(), a, b, None))
            else:
                spans = [(starts[k], ends[k]) for k in range(a, b)]
                words.append((piece.group(), spans[0][0], spans[-1][1], spans))
        return words
