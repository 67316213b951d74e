"""Google BERT's character classes, as Python's ``unicodedata`` sees them.

`tokenization.py` in google-research/bert decides per character: removed (NUL, U+FFFD,
categories Cc and Cf except tab / newline / carriage return), whitespace (which Python's
``str.split()`` also splits on), CJK ideograph (split into its own word) and punctuation (ASCII
non-alphanumerics and categories P*). The classes are built once, on first use, by scanning every
code point (under a second; docs/performance.md), and then matched with compiled regular
expressions, which is what makes tokenization fast in pure Python.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass

# Google's `_is_chinese_char`: the CJK Unified Ideographs blocks (not kana, not Hangul).
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def is_removed(char: str, all_other: bool = False) -> bool:
    """Dropped by Google's `_clean_text`: NUL, U+FFFD and control / format characters (Cc, Cf).
    HF's BasicTokenizer drops every category C* (private use, unassigned too): ``all_other``."""
    if char in "\t\n\r":
        return False
    category = unicodedata.category(char)
    return char in "\x00\ufffd" or (category[0] == "C" if all_other else category in ("Cc", "Cf"))


def is_punctuation(char: str) -> bool:
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_separator(char: str, all_other: bool = False) -> bool:
    """Separates words: Google maps tab/newline/CR/Zs to a space, and ``str.split()`` also
    splits on the few other whitespace characters (U+2028, U+2029) that cleaning keeps."""
    if is_removed(char, all_other):
        return False
    return char.isspace() or unicodedata.category(char) == "Zs"


def _ranges(chars: list[int]) -> list[tuple[int, int]]:
    """Sorted code points as inclusive ranges."""
    ranges: list[tuple[int, int]] = []
    for cp in chars:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return ranges


def _python_class(ranges: list[tuple[int, int]]) -> str:
    """A Python `re` character class body."""
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


def re2_class(ranges: list[tuple[int, int]]) -> str:
    """The same class for RE2 (tensorflow-text's regular expressions), as ``[...]``."""
    return (
        "["
        + "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
        + "]"
    )


@dataclass(frozen=True)
class CharClasses:
    """Compiled patterns over Google's character classes, and their code point ranges (from
    Python's `unicodedata`, so the in-graph twins use the same Unicode version)."""

    removed: re.Pattern  # any character `_clean_text` drops
    words: re.Pattern  # a CJK ideograph, or a run of characters that are neither CJK nor separators
    pieces: re.Pattern  # one punctuation character, or a run of non-punctuation non-separators
    separators: re.Pattern  # a separator character
    ranges: dict  # "removed", "separators", "punctuation", "nonspacing_marks" -> ranges


@functools.cache
def char_classes(all_other: bool = False) -> CharClasses:
    """Google's classes; with ``all_other``, HF's (every category C* is removed)."""
    removed, separators, punct, marks = [], [], [], []
    category = unicodedata.category
    for cp in range(sys.maxunicode + 1):
        char = chr(cp)
        if category(char) == "Mn":
            marks.append(cp)
        if is_removed(char, all_other):
            removed.append(cp)
        elif is_separator(char, all_other):
            separators.append(cp)
        elif is_punctuation(char):
            punct.append(cp)
    ranges = {
        "removed": _ranges(removed),
        "separators": _ranges(separators),
        "punctuation": _ranges(punct),
        "nonspacing_marks": _ranges(marks),
    }
    cjk = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in CJK_RANGES)
    sep = _python_class(ranges["separators"])
    pun = _python_class(ranges["punctuation"])
    return CharClasses(
        removed=re.compile(f"[{_python_class(ranges['removed'])}]"),
        words=re.compile(f"[{cjk}]|[^{cjk}{sep}]+"),
        pieces=re.compile(f"[{pun}]|[^{pun}{sep}]+"),
        separators=re.compile(f"[{sep}]"),
        ranges=ranges,
    )
