"""Unicode as numpy tables, made from Python's own ``unicodedata`` and ``str.lower``.

The core-op tokenizers (`core_unicode`, `core_ops`) run Python's text rules inside a TensorFlow
graph without any Unicode op of their own: every rule becomes a table looked up per code point.
Building the tables from the running Python (not from a Unicode data file) keeps the graph on
exactly the Unicode version the Python tokenizers use, so the two agree character for character.

- `RangeTable`: a value per code point, stored as the starts of runs of equal values (looked up
  with a binary search: ``tf.searchsorted``). `properties` packs the character classes
  (Google's and HF's removed characters and separators, punctuation, CJK, nonspacing marks,
  whitespace, and the two case properties the final-sigma rule needs) as bits; `combining`
  holds each code point's canonical combining class.
- `CodePointMap`: code points whose mapping is not themselves, each with its output code points
  (``str.lower``; NFD and NFKD of the character alone).
- `compositions`: the primary composites of canonical composition, pair -> composite, with the
  Hangul syllables (algorithmic in Unicode) listed like any other pair.
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from jbert_tf2.tokenization.char_classes import CJK_RANGES, char_classes

CODE_POINTS = sys.maxunicode + 1

# Bits of `properties()`.
REMOVED = 1 << 0  # dropped by Google's `_clean_text` (Cc, Cf, NUL, U+FFFD)
REMOVED_HF = 1 << 1  # dropped by HF's BasicTokenizer (every category C*)
SEPARATOR = 1 << 2  # splits Google's words (whitespace or Zs, not removed)
SEPARATOR_HF = 1 << 3  # the same beside HF's removed characters
PUNCTUATION = 1 << 4  # Google's `_is_punctuation`, not removed, not a separator
NONSPACING_MARK = 1 << 5  # category Mn (what accent stripping drops)
CJK = 1 << 6  # Google's `_is_chinese_char`
WHITESPACE = 1 << 7  # str.isspace() (Python's `\s`)
CASED = 1 << 8  # stops the final-sigma scan and is cased
CASE_IGNORABLE = 1 << 9  # skipped by the final-sigma scan

CAPITAL_SIGMA, SMALL_SIGMA, FINAL_SIGMA = 0x03A3, 0x03C3, 0x03C2
COMPOSITION_KEY = 0x110000  # a pair's key: first * COMPOSITION_KEY + second


@dataclass(frozen=True)
class RangeTable:
    """``values[i]`` holds for code points ``starts[i]`` up to ``starts[i + 1] - 1``."""

    starts: np.ndarray  # int32, ascending, starts[0] == 0
    values: np.ndarray  # int32

    @classmethod
    def from_dense(cls, dense: np.ndarray) -> RangeTable:
        """The table of ``dense`` (one value per code point), one range per run of a value."""
        change = np.flatnonzero(np.diff(dense)) + 1
        starts = np.concatenate([[0], change]).astype(np.int32)
        return cls(starts, dense[starts].astype(np.int32))

    def lookup(self, code_points: np.ndarray) -> np.ndarray:
        """The values of ``code_points`` (numpy; the graph does the same with tf ops)."""
        return self.values[np.searchsorted(self.starts, code_points, side="right") - 1]


@dataclass(frozen=True)
class CodePointMap:
    """Code points ``keys`` (ascending) map to ``values[splits[i]:splits[i + 1]]``; any other
    code point maps to itself."""

    keys: np.ndarray  # int32
    splits: np.ndarray  # int32, len(keys) + 1
    values: np.ndarray  # int32

    @classmethod
    def from_function(cls, function: Callable[[str], str]) -> CodePointMap:
        """The map of ``function`` (one character -> its string) over every code point a
        UTF-8 text can hold, keeping only those it changes."""
        keys, splits, values = [], [0], []
        for cp in range(CODE_POINTS):
            if 0xD800 <= cp <= 0xDFFF:
                continue  # never decoded from UTF-8
            char = chr(cp)
            out = function(char)
            if out != char:
                keys.append(cp)
                values.extend(map(ord, out))
                splits.append(len(values))
        return cls(
            np.asarray(keys, np.int32), np.asarray(splits, np.int32), np.asarray(values, np.int32)
        )


def _sigma_context(char: str) -> int:
    """The final-sigma properties of ``char``, read off Python's own ``str.lower``: CPython
    lower-cases U+03A3 to final sigma when a cased character precedes it (case-ignorable ones
    skipped) and none follows, so lower-casing ``char + 'Σ'`` and ``'A' + char + 'Σ'`` shows
    whether ``char`` is cased, case-ignorable, or neither."""
    alone = ("" + char + "Σ").lower()[-1] == "ς"
    after_cased = ("A" + char + "Σ").lower()[-1] == "ς"
    if alone:
        return CASED
    return CASE_IGNORABLE if after_cased else 0


@functools.cache
def properties() -> RangeTable:
    """The character-class bits (`REMOVED` ... `CASE_IGNORABLE`) of every code point."""
    dense = np.zeros(CODE_POINTS, np.int32)
    for classes, removed, separator in (
        (char_classes(False), REMOVED, SEPARATOR),
        (char_classes(True), REMOVED_HF, SEPARATOR_HF),
    ):
        for key, bit in (("removed", removed), ("separators", separator)):
            for lo, hi in classes.ranges[key]:
                dense[lo : hi + 1] |= bit
    google = char_classes(False).ranges
    for key, bit in (("punctuation", PUNCTUATION), ("nonspacing_marks", NONSPACING_MARK)):
        for lo, hi in google[key]:
            dense[lo : hi + 1] |= bit
    for lo, hi in CJK_RANGES:
        dense[lo : hi + 1] |= CJK
    for cp in range(CODE_POINTS):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        char = chr(cp)
        if char.isspace():
            dense[cp] |= WHITESPACE
        dense[cp] |= _sigma_context(char)
    return RangeTable.from_dense(dense)


@functools.cache
def combining() -> RangeTable:
    """Each code point's canonical combining class (0: a starter)."""
    dense = np.zeros(CODE_POINTS, np.int32)
    for cp in range(CODE_POINTS):
        value = unicodedata.combining(chr(cp))
        if value:
            dense[cp] = value
    return RangeTable.from_dense(dense)


@functools.cache
def lower_map() -> CodePointMap:
    """``str.lower`` of each character alone (capital sigma's context is handled apart)."""
    return CodePointMap.from_function(str.lower)


@functools.cache
def decomposition_map(form: str) -> CodePointMap:
    """The full decomposition of each character alone: ``form`` is ``"NFD"`` or ``"NFKD"``."""
    return CodePointMap.from_function(functools.partial(unicodedata.normalize, form))


@functools.cache
def compositions() -> tuple[np.ndarray, np.ndarray]:
    """Canonical composition as sorted pair keys (``first * COMPOSITION_KEY + second``) and
    their composites: every character whose canonical decomposition is two code points and
    which NFC keeps (not a composition exclusion), plus Hangul LV and LVT syllables."""
    pairs: dict[int, int] = {}
    for cp in range(CODE_POINTS):
        decomposition = unicodedata.decomposition(chr(cp))
        if not decomposition or decomposition.startswith("<"):
            continue
        parts = [int(part, 16) for part in decomposition.split()]
        if len(parts) == 2 and unicodedata.normalize("NFC", chr(cp)) == chr(cp):
            pairs[parts[0] * COMPOSITION_KEY + parts[1]] = cp
    s_base, l_base, v_base, t_base = 0xAC00, 0x1100, 0x1161, 0x11A7
    for lead in range(19):
        for vowel in range(21):
            syllable = s_base + (lead * 21 + vowel) * 28
            pairs[(l_base + lead) * COMPOSITION_KEY + v_base + vowel] = syllable
            for trail in range(1, 28):
                pairs[syllable * COMPOSITION_KEY + t_base + trail] = syllable + trail
    keys = np.asarray(sorted(pairs), np.int64)
    return keys, np.asarray([pairs[k] for k in keys], np.int32)


@functools.cache
def composition_firsts() -> np.ndarray:
    """Code points that begin a composition pair (sorted): only these can absorb a follower.
    Checked when built: all are starters, and none is the starter second of a pair, which is
    what lets the graph compose every starter at once (`core_unicode.compose`)."""
    keys, _ = compositions()
    firsts = np.unique(keys // COMPOSITION_KEY).astype(np.int32)
    seconds = np.unique(keys % COMPOSITION_KEY).astype(np.int32)
    classes = combining().lookup(firsts)
    starter_seconds = seconds[combining().lookup(seconds) == 0]
    if classes.any() or np.isin(starter_seconds, firsts).any():
        raise RuntimeError(  # a future Unicode version broke an assumption of core_unicode
            f"Unicode {unicodedata.unidata_version}: composition pairs the in-graph NFKC does "
            "not handle (a non-starter first, or a starter second that is also a first)"
        )
    return firsts
