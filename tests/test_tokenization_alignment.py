"""tokenization/alignment.py: every transformed character maps back to the original characters
it came from, on the Japanese text the tokenizers meet (half-width katakana with separate voiced
marks, full-width letters and digits, squared and parenthesized signs, combining accents).

Expected spans are written by hand from Unicode's tables; the properties use only `unicodedata`
and `str.lower`.
"""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from jbert_tf2.tokenization.alignment import (
    align,
    char_to_byte_offsets,
    lower,
    nfkc,
    strip_accents,
)


def _pairs(text, aligned):
    """(output character, the original characters it came from) for every output character."""
    starts, ends = aligned.starts, aligned.ends
    if starts is None:
        return [(c, text[k]) for k, c in enumerate(aligned.text)]
    return [(c, text[starts[k] : ends[k]]) for k, c in enumerate(aligned.text)]


def test_nfkc_of_half_width_katakana_and_full_width_letters_maps_back():
    text = "ｶﾞｰﾄﾞ１２ＡＢ㈱㍿です"
    aligned = align(text, nfkc)
    assert aligned.text == "ガード12AB(株)株式会社です"
    assert _pairs(text, aligned) == [
        ("ガ", "ｶﾞ"),
        ("ー", "ｰ"),
        ("ド", "ﾄﾞ"),
        ("1", "１"),
        ("2", "２"),
        ("A", "Ａ"),
        ("B", "Ｂ"),
        ("(", "㈱"),
        ("株", "㈱"),
        (")", "㈱"),
        ("株", "㍿"),
        ("式", "㍿"),
        ("会", "㍿"),
        ("社", "㍿"),
        ("で", "で"),
        ("す", "す"),
    ]


def test_span_of_a_range_covers_every_original_character_it_draws_on():
    text = "東京ﾀﾞﾜｰ㍻"
    aligned = align(text, nfkc)
    assert aligned.text == "東京ダワー平成"
    assert aligned.span(2, 3) == (2, 4)  # ダ <- ﾀﾞ
    assert aligned.span(2, 5) == (2, 6)  # ダワー <- ﾀﾞﾜｰ
    assert aligned.span(5, 6) == aligned.span(6, 7) == (6, 7)  # 平, 成 <- ㍻


def test_combining_accent_composes_into_the_letter_before_it():
    text = "cafe\u0301 ｶ\u3099"  # e + COMBINING ACUTE; half-width KA + COMBINING VOICED MARK
    aligned = align(text, nfkc)
    assert aligned.text == "café ガ"
    assert _pairs(text, aligned) == [
        ("c", "c"),
        ("a", "a"),
        ("f", "f"),
        ("é", "e\u0301"),
        (" ", " "),
        ("ガ", "ｶ\u3099"),
    ]


def test_a_cluster_gets_the_finest_spans_its_normalization_allows():
    """e + U+0301 + U+0301: NFKC composes the first mark only; é is the first two code points,
    the mark left over is the third. A letter joined with a mark across another mark (a +
    U+0301 + U+0323 -> ạ + U+0301) draws on both ends: the cluster keeps one span."""
    text = "e\u0301\u0301x"
    aligned = align(text, nfkc)
    assert aligned.text == "\u00e9\u0301x"
    assert _pairs(text, aligned) == [("\u00e9", "e\u0301"), ("\u0301", "\u0301"), ("x", "x")]
    reordered = "a\u0301\u0323"
    aligned = align(reordered, nfkc)
    assert aligned.text == "\u1ea1\u0301"
    assert _pairs(reordered, aligned) == [("\u1ea1", reordered), ("\u0301", reordered)]
    ligature = align("\ufb01", nfkc)
    assert _pairs("\ufb01", ligature) == [("f", "\ufb01"), ("i", "\ufb01")]


def test_a_very_long_cluster_keeps_one_correct_span_quickly():
    text = "e" + "\u0301" * 5000
    aligned = align(text, nfkc)
    assert aligned.text == unicodedata.normalize("NFKC", text)
    assert aligned.span(0, len(aligned.text)) == (0, len(text))


def test_conjoining_jamo_compose_across_starters():
    """Hangul jamo are all starters, yet NFKC joins them into one syllable."""
    text = "\u1100\u1161\u11a8x"
    aligned = align(text, nfkc)
    assert aligned.text == "각x"
    assert _pairs(text, aligned) == [("각", "\u1100\u1161\u11a8"), ("x", "x")]


def test_lower_case_that_grows_and_final_sigma():
    text = "İzmir ΟΔΟΣ"
    aligned = align(text, lower)
    assert aligned.text == "i\u0307zmir οδος"  # dotted capital I -> i + COMBINING DOT ABOVE
    assert aligned.text[-1] == "ς"  # final form, as str.lower gives for the whole text
    assert _pairs(text, aligned)[:3] == [("i", "İ"), ("\u0307", "İ"), ("z", "z")]
    assert aligned.span(7, 11) == (6, 10)  # οδος <- ΟΔΟΣ
    assert _pairs(text, aligned)[7:] == [("ο", "Ο"), ("δ", "Δ"), ("ο", "Ο"), ("ς", "Σ")]


def test_googles_lower_case_and_accent_stripping_keeps_kana_spans():
    """Google's uncased rules: lower-case, NFD, drop Mn (がぎ -> かき, É -> e)."""

    def google_uncased(text):
        return strip_accents(text.lower())

    text = "ÉCOLE がぎ"
    aligned = align(text, google_uncased)
    assert aligned.text == "ecole かき"
    assert _pairs(text, aligned) == [(c, o) for c, o in zip("ecole かき", text, strict=True)]


def test_unchanged_text_is_the_identity_alignment():
    aligned = align("東京タワー", nfkc)
    assert aligned.text == "東京タワー"
    assert aligned.starts is None
    assert aligned.span(1, 4) == (1, 4)


def test_strip_accents_is_nfd_without_nonspacing_marks():
    assert strip_accents("Crème brûlée") == "Creme brulee"
    assert strip_accents("がぎぐパ") == "かきくハ"
    assert strip_accents("ascii only") == "ascii only"


def test_char_to_byte_offsets_are_utf8_lengths():
    text = "aé東😀ｶ"
    expected = [len(text[:i].encode("utf-8")) for i in range(len(text) + 1)]
    assert char_to_byte_offsets(text) == expected == [0, 1, 3, 6, 10, 13]


_POOL = (
    "abcXYZ019 "
    "東京都はでガ"
    "ｶｷｸﾀﾊﾟﾞﾟｰ"
    "ＡＢＣ１２３！？"
    "\u0301\u0323\u0302\u3099\u309a"
    "㈱㍿㍻…½ﬁ"
    "\u1100\u1161\u11a8"
    "ΣΟİẞ"
)
_TEXTS = st.text(alphabet=st.sampled_from(_POOL), max_size=24)


def _groups(aligned):
    """Runs of output characters sharing one original span, as (start, end, output)."""
    if aligned.starts is None:
        return [(k, k + 1, c) for k, c in enumerate(aligned.text)]
    groups = []
    for k, char in enumerate(aligned.text):
        span = (aligned.starts[k], aligned.ends[k])
        if groups and groups[-1][:2] == span:
            groups[-1] = (*span, groups[-1][2] + char)
        else:
            groups.append((*span, char))
    return groups


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_nfkc_spans_tile_the_text_and_each_renormalizes_to_its_output(text):
    aligned = align(text, nfkc)
    assert aligned.text == unicodedata.normalize("NFKC", text)
    groups = _groups(aligned)
    assert "".join(out for _, _, out in groups) == aligned.text
    position = 0
    for start, end, out in groups:
        assert start == position and end > start, (text, groups)
        assert unicodedata.normalize("NFKC", text[start:end]) == out, (text, start, end)
        for cut in range(start + 1, end):  # finest: no cut gives each side its own output
            left = unicodedata.normalize("NFKC", text[start:cut])
            right = unicodedata.normalize("NFKC", text[cut:end])
            assert not (left and right and left + right == out), (text, start, cut, end)
        position = end
    assert position == len(text)


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_lower_case_spans_tile_the_text(text):
    aligned = align(text, lower, {})
    assert aligned.text == text.lower()
    position = 0
    for start, end, out in _groups(aligned):
        assert start == position and end > start, text
        assert out.casefold() == text[start:end].lower().casefold(), text
        position = end
    assert position == len(text)
