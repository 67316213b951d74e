"""MeCab word splitting as cl-tohoku's models expect it (HF `BertJapaneseTokenizer`'s rules).

The text is NFKC-normalized, split by MeCab through fugashi's `GenericTagger` with the chosen
dictionary (unidic-lite or ipadic: they split differently, so the dictionary belongs to the
model), and each word optionally lower-cased. MeCab's surfaces are consecutive substrings of the
normalized text, so each word's span in the original text follows from the NFKC alignment.
This is the Python path (MeCab's C library through fugashi); the in-graph twin reads the same
dictionary's files and runs MeCab's lattice with core TensorFlow ops (`lattice.MecabGraph`).
"""

from __future__ import annotations

import functools
import os

from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.alignment import Aligned, align, lower, nfkc
from jbert_tf2.tokenization.basic import Word
from jbert_tf2.tokenization.text import disjoint_spans, refuse_surrogates

MECAB_PACKAGES = {"unidic_lite": "unidic-lite", "ipadic": "ipadic"}  # dictionary -> pip package
MECAB_DICTIONARIES = tuple(MECAB_PACKAGES)
DEFAULT_MECAB_DICTIONARY = "unidic_lite"
# MeCab crashes the process (a segmentation fault) on some texts of about 200,000 characters
# ("a" * 200_000) and takes quadratic time on long runs of one character class, so a longer text
# is parsed in pieces of at most this many characters (shorter texts are parsed whole).
MECAB_MAX_CHARS = 20_000
# Where a long piece is cut, in order of preference: after a line break, else whitespace, else a
# sentence end (shared with the in-graph MeCab, `lattice.MecabGraph`).
MECAB_CUT_AFTER = ("\n", " \t\r\x0b\x0c", "。．！？.!?")


def mecab_pieces(text: str, limit: int = MECAB_MAX_CHARS) -> list[str]:
    """Consecutive pieces of ``text`` for MeCab: cut at every NUL (MeCab reads a C string,
    which would end there and silently drop the rest), and a piece longer than ``limit``
    characters cut after its last line break, else whitespace, else sentence end in the second
    half of the window (anywhere when it has none). Dropped NULs are word boundaries."""
    pieces = []
    for part in text.split("\x00") if "\x00" in text else (text,):
        while len(part) > limit:
            cut = limit
            for chars in MECAB_CUT_AFTER:
                found = max(part.rfind(char, 0, limit) for char in chars) + 1
                if found > limit // 2:
                    cut = found
                    break
            pieces.append(part[:cut])
            part = part[cut:]
        if part:
            pieces.append(part)
    return pieces


def dictionary_directory(mecab_dic: str) -> str:
    """The ``DICDIR`` of an installed dictionary package (a name from `MECAB_DICTIONARIES`,
    the one place a package is imported by name), with the fix when it is missing."""
    if mecab_dic not in MECAB_DICTIONARIES:
        raise JbertError(
            f"mecab_dic={mecab_dic!r} is not supported; use one of {sorted(MECAB_DICTIONARIES)}"
        )
    package = MECAB_PACKAGES[mecab_dic]
    try:
        module = __import__(mecab_dic)
    except ImportError:
        raise JbertError(
            f"the MeCab dictionary {mecab_dic!r} is not installed: pip install {package}"
            + (" (or pip install 'jbert-tf2[ipadic]')" if mecab_dic == "ipadic" else "")
        ) from None
    return module.DICDIR


def mecab_tagger(mecab_dic: str):
    """fugashi's `GenericTagger` on an installed dictionary package, with a fix on failure."""
    if mecab_dic not in MECAB_DICTIONARIES:
        raise JbertError(
            f"mecab_dic={mecab_dic!r} is not supported; use one of {sorted(MECAB_DICTIONARIES)}"
        )
    package = MECAB_PACKAGES[mecab_dic]
    try:
        import fugashi
    except ImportError:
        raise JbertError(
            "MeCab tokenization needs fugashi: pip install fugashi " + package
        ) from None
    dic_dir = dictionary_directory(mecab_dic)
    mecabrc = os.path.join(dic_dir, "mecabrc")
    try:
        return fugashi.GenericTagger(f'-d "{dic_dir}" -r "{mecabrc}"')
    except RuntimeError as exc:
        raise JbertError(
            f"MeCab could not open the {mecab_dic} dictionary at {dic_dir} ({exc}); "
            f"reinstall it: pip install --force-reinstall {package}"
        ) from None


class MecabWordSplitter:
    """NFKC + MeCab (+ lower-casing), each word with its original character span."""

    def __init__(self, do_lower_case: bool = False, mecab_dic: str = DEFAULT_MECAB_DICTIONARY):
        self.do_lower_case = do_lower_case
        self.mecab_dic = mecab_dic
        self._tagger = mecab_tagger(mecab_dic)
        self._nfkc_cache: dict[str, str] = {}
        self._lower_cache: dict[str, str] = {}

    def _surfaces(self, text: str) -> list[str]:
        """MeCab's word surfaces, in order (see `mecab_pieces` for how the text is fed)."""
        tagger = self._tagger
        try:
            return [node.surface for piece in mecab_pieces(text) for node in tagger(piece)]
        except (UnicodeEncodeError, RuntimeError):
            refuse_surrogates(text)
            raise

    def words(self, text: str) -> list[str]:
        """The words alone, without offsets (the fast path for batches of ids)."""
        surfaces = self._surfaces(nfkc(text))
        if self.do_lower_case:
            return [s.lower() for s in surfaces if s]
        return [s for s in surfaces if s]

    def split(self, text: str) -> list[Word]:
        normalized = align(text, nfkc, self._nfkc_cache)
        surface_text = normalized.text
        identity = normalized.starts is None and not self.do_lower_case
        words: list[Word] = []
        append = words.append
        find = surface_text.find
        position = 0
        for surface in self._surfaces(surface_text):
            if not surface:
                continue
            found = find(surface, position)
            if found < 0:
                raise JbertError(
                    f"MeCab returned {surface!r}, which is not in the text {surface_text!r}"
                )
            position = found + len(surface)
            if identity:
                append((surface, found, position, None))
                continue
            local = align(surface, lower, self._lower_cache) if self.do_lower_case else None
            append(_word(local.text if local else surface, found, normalized, local))
        return words


def _word(word: str, found: int, normalized: Aligned, local: Aligned | None) -> Word:
    """``word`` (``local``: how it came from the surface at ``found``) with original spans."""
    if normalized.starts is None and (local is None or local.starts is None):
        return (word, found, found + len(word), None)
    spans = []
    for k in range(len(word)):
        if local is None or local.starts is None:
            a, b = found + k, found + k + 1
        else:
            a, b = found + local.starts[k], found + local.ends[k]
        spans.append(normalized.span(a, b))
    return (word, spans[0][0], spans[-1][1], spans) if spans else (word, found, found, None)


@functools.cache
def _unidic_splitter() -> MecabWordSplitter:
    return MecabWordSplitter(False, DEFAULT_MECAB_DICTIONARY)


def unidic_word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of MeCab + unidic-lite short units in ``text`` (whitespace excluded):
    the word segmentation of UD Japanese corpora such as UD_Japanese-GSD. Disjoint: the words
    NFKC makes of one character ('…' -> '...') are one word."""
    return disjoint_spans(
        [(start, end) for _, start, end, _ in _unidic_splitter().split(text) if end > start]
    )
