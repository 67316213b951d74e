"""tokenization/char_classes.py against Google's own definitions.

The reference predicates below are google-research/bert `tokenization.py`'s (`_is_whitespace`,
`_is_control`, `_is_punctuation`, `_is_chinese_char`, `_clean_text`, `_tokenize_chinese_chars`,
`whitespace_tokenize`, `_run_split_on_punc`), and HF `BasicTokenizer`'s `_is_control`, copied
from their rules, not from this package.
"""

from __future__ import annotations

import random
import sys
import unicodedata

import pytest

from jbert_tf2.tokenization.char_classes import (
    char_classes,
    is_cjk,
    is_punctuation,
    is_removed,
    is_separator,
    re2_class,
)


def google_is_whitespace(char):
    if char in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(char) == "Zs"


def google_is_control(char):
    if char in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def hf_is_control(char):
    if char in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(char).startswith("C")


def google_is_punctuation(char):
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def google_is_chinese_char(cp):
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def google_drops(char, is_control=google_is_control):
    """`_clean_text` drops NUL, U+FFFD and control characters."""
    return ord(char) in (0, 0xFFFD) or is_control(char)


def google_words(text):
    """`_clean_text`, `_tokenize_chinese_chars`, then `whitespace_tokenize` (``str.split``)."""
    cleaned = "".join(" " if google_is_whitespace(c) else c for c in text if not google_drops(c))
    spaced = "".join(f" {c} " if google_is_chinese_char(ord(c)) else c for c in cleaned)
    return spaced.strip().split()


def google_split_on_punc(token):
    pieces, start_new = [], True
    for char in token:
        if google_is_punctuation(char):
            pieces.append([char])
            start_new = True
        else:
            if start_new:
                pieces.append([])
            start_new = False
            pieces[-1].append(char)
    return ["".join(p) for p in pieces]


def _code_points(ranges):
    return {cp for lo, hi in ranges for cp in range(lo, hi + 1)}


def _reference_classes(is_control):
    """Code points of each class as the tokenizer meets them: dropped first, then separators
    (what `whitespace_tokenize` splits on), then punctuation, and Mn for accent stripping."""
    removed, separators, punctuation, marks = set(), set(), set(), set()
    for cp in range(sys.maxunicode + 1):
        char = chr(cp)
        if unicodedata.category(char) == "Mn":
            marks.add(cp)
        if google_drops(char, is_control):
            removed.add(cp)
        elif google_is_whitespace(char) or char.isspace():
            separators.add(cp)
        elif google_is_punctuation(char):
            punctuation.add(cp)
    return {
        "removed": removed,
        "separators": separators,
        "punctuation": punctuation,
        "nonspacing_marks": marks,
    }


@pytest.mark.parametrize(
    ("hf", "is_control"), [(False, google_is_control), (True, hf_is_control)], ids=["google", "hf"]
)
def test_class_ranges_are_the_references_over_every_code_point(hf, is_control):
    want = _reference_classes(is_control)
    got = char_classes(hf).ranges
    for name, code_points in want.items():
        assert _code_points(got[name]) == code_points, name


@pytest.mark.slow
def test_predicates_agree_with_google_on_every_code_point():
    for cp in range(sys.maxunicode + 1):
        char = chr(cp)
        assert is_cjk(cp) == google_is_chinese_char(cp), hex(cp)
        assert is_punctuation(char) == google_is_punctuation(char), hex(cp)
        assert is_removed(char) == google_drops(char), hex(cp)
        assert is_removed(char, all_other=True) == google_drops(char, hf_is_control), hex(cp)
        if not google_drops(char):
            assert is_separator(char) == (google_is_whitespace(char) or char.isspace()), hex(cp)


def test_cjk_ranges_are_ideographs_only():
    assert is_cjk(ord("東")) and is_cjk(ord("𠮷")) and is_cjk(ord("\uf900"))
    for char in "ひカｶ한ー・、。ＡA":
        assert not is_cjk(ord(char)), char


_POOL = (
    "abcXYZ019 "
    "東京都に行く𠮷"
    "タワーｶﾞ한국"
    "、。「」！？・〜ー"
    "$^`~@[]{}＄￥"
    "\u00a0\u3000\u2028\u2029\t\n\r\x0b\x85"
    "\x00\ufffd\u200b\ufeff\u00ad\ue000\u0378"
    "😀\u0301"
)


def _texts(count=400, seed=0):
    rng = random.Random(seed)
    return ["".join(rng.choice(_POOL) for _ in range(rng.randint(0, 30))) for _ in range(count)]


def test_word_pattern_splits_as_google_splits_on_whitespace_and_cjk():
    classes = char_classes()
    for text in _texts():
        assert classes.words.findall(classes.removed.sub("", text)) == google_words(text), text


def test_piece_pattern_splits_off_punctuation_as_google():
    classes = char_classes()
    for text in _texts(seed=1):
        for word in google_words(text):
            assert classes.pieces.findall(word) == google_split_on_punc(word), word


def test_hf_classes_also_drop_private_use_and_unassigned():
    google, hf = char_classes(False), char_classes(True)
    for char in "\ue000\u0378\U000e0080":
        assert not google.removed.search(char), hex(ord(char))
        assert hf.removed.search(char), hex(ord(char))


def test_re2_classes_match_the_same_characters_in_tensorflow():
    """The classes the in-graph twins use, run by TensorFlow's RE2, on every BMP character."""
    tf = pytest.importorskip("tensorflow")
    ranges = char_classes().ranges
    chars = [chr(cp) for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF]
    chars += ["𠮷", "😀", "\U000e0001"]
    texts = tf.constant([c.encode("utf-8") for c in chars])
    for name in ("removed", "separators", "punctuation"):
        matched = tf.strings.regex_full_match(texts, re2_class(ranges[name])).numpy()
        want = _code_points(ranges[name])
        assert [c for c, m in zip(chars, matched, strict=True) if m != (ord(c) in want)] == [], name
