"""MeCab word splitting as cl-tohoku's models expect it (HF `BertJapaneseTokenizer`'s rules).

The text is NFKC-normalized, split by MeCab through fugashi's `GenericTagger` with the chosen
dictionary (unidic-lite or ipadic: they split differently, so the dictionary belongs to the
model), and each word optionally lower-cased. MeCab's surfaces are consecutive substrings of the
normalized text, so each word's span in the original text follows from the NFKC alignment.
MeCab is a C library: it cannot run inside a TensorFlow graph.
"""

from __future__ import annotations

import functools
import os

from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.alignment import Aligned, align, lower, nfkc
from jbert_tf2.tokenization.basic import Word
from jbert_tf2.tokenization.encoding import refuse_surrogates

MECAB_DICTIONARIES = {"unidic_lite": "unidic-lite", "ipadic": "ipadic"}


def mecab_tagger(mecab_dic: str):
    """fugashi's `GenericTagger` on an installed dictionary package, with a fix on failure."""
    if mecab_dic not in MECAB_DICTIONARIES:
        raise JbertError(
            f"mecab_dic={mecab_dic!r} is not supported; use one of {sorted(MECAB_DICTIONARIES)}"
        )
    package = MECAB_DICTIONARIES[mecab_dic]
    try:
        import fugashi
    except ImportError:
        raise JbertError(
            "MeCab tokenization needs fugashi: pip install fugashi " + package
        ) from None
    try:
        module = __import__(mecab_dic)
    except ImportError:
        raise JbertError(
            f"the MeCab dictionary {mecab_dic!r} is not installed: pip install {package}"
            + (" (or pip install 'jbert-tf2[ipadic]')" if mecab_dic == "ipadic" else "")
        ) from None
    dic_dir = module.DICDIR
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

    def __init__(self, do_lower_case: bool = False, mecab_dic: str = "unidic_lite"):
        self.do_lower_case = do_lower_case
        self.mecab_dic = mecab_dic
        self._tagger = mecab_tagger(mecab_dic)
        self._nfkc_cache: dict[str, str] = {}
        self._lower_cache: dict[str, str] = {}

    def _parse(self, text: str):
        try:
            return self._tagger(text)
        except (UnicodeEncodeError, RuntimeError):
            refuse_surrogates(text)
            raise

    def words(self, text: str) -> list[str]:
        """The words alone, without offsets (the fast path for batches of ids)."""
        surfaces = [node.surface for node in self._parse(nfkc(text))]
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
        for node in self._parse(surface_text):
            surface = node.surface
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
    return MecabWordSplitter(False, "unidic_lite")


def unidic_word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of MeCab + unidic-lite short units in ``text`` (whitespace excluded):
    the word segmentation of UD Japanese corpora such as UD_Japanese-GSD."""
    return [(start, end) for _, start, end, _ in _unidic_splitter().split(text) if end > start]
