"""Sub-word splitters applied to each word: WordPiece and characters.

`WordpieceSplitter` is Google's greedy longest-match-first WordPiece: a word longer than
``max_chars_per_word`` characters, or one with any part missing from the vocabulary, becomes a
single unknown token. `CharacterSplitter` is cl-tohoku's character model: NFKC, then one token
per character, unknown characters as the unknown token. Both return spans relative to the word.
"""

from __future__ import annotations

import re

from jbert_tf2.tokenization.alignment import align, nfkc

Piece = tuple[str, int, int]
_NON_SPACE = re.compile(r"\S+")
_SPACE = re.compile(r"\s")


class WordpieceSplitter:
    """Greedy longest-match-first WordPiece over a vocabulary."""

    def __init__(
        self, vocab: dict[str, int], unk_token: str = "[UNK]", max_chars_per_word: int = 200
    ):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_chars_per_word = max_chars_per_word
        self._longest = max((len(t) for t in vocab), default=1)

    def split(self, word: str) -> list[Piece]:
        """Pieces of ``word`` (split on whitespace first, as Google's code does) with spans."""
        if not _SPACE.search(word):
            return self._split_word(word)
        return [
            (piece, m.start() + s, m.start() + e)
            for m in _NON_SPACE.finditer(word)
            for piece, s, e in self._split_word(m.group())
        ]

    def _split_word(self, word: str) -> list[Piece]:
        n = len(word)
        if n == 0:
            return []
        if n > self.max_chars_per_word:
            return [(self.unk_token, 0, n)]
        vocab = self.vocab
        pieces: list[Piece] = []
        start = 0
        while start < n:
            prefix = "##" if start > 0 else ""
            end = min(n, start + self._longest - len(prefix))
            while end > start:
                candidate = prefix + word[start:end]
                if candidate in vocab:
                    break
                end -= 1
            if end == start:
                return [(self.unk_token, 0, n)]
            pieces.append((candidate, start, end))
            start = end
        return pieces


class CharacterSplitter:
    """NFKC, then one token per character (unknown characters as the unknown token)."""

    def __init__(self, vocab: dict[str, int], unk_token: str = "[UNK]"):
        self.vocab = vocab
        self.unk_token = unk_token
        self._char_cache: dict[str, str] = {}

    def split(self, word: str) -> list[Piece]:
        aligned = align(word, nfkc, self._char_cache)
        vocab, unk = self.vocab, self.unk_token
        return [
            (char if char in vocab else unk, *aligned.span(i, i + 1))
            for i, char in enumerate(aligned.text)
        ]
