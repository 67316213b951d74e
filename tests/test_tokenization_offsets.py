"""Offsets: each token's span, normalized as its tokenizer normalizes, gives the token back.

The normalizations are written here from the references' rules, independently of the package:
Google's basic tokenizer (drop Cc/Cf, lower-case, NFD, drop Mn), MeCab's (NFKC, lower-case),
characters (NFKC); SentencePiece's is the library's own normalizer after lower-casing.
Whitespace never appears in tokens, so it is removed before comparing; literal special tokens
kept whole are compared as they are.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizer_fixtures import corpus

from jbert_tf2.tokenization import BertTokenizer, SentencePieceTokenizer

SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]")


def _drop_controls(text):
    return "".join(
        c
        for c in text
        if c in "\t\n\r" or not (c in "\x00\ufffd" or unicodedata.category(c) in ("Cc", "Cf"))
    )


def google_basic(lower):
    def normalize(text):
        text = _drop_controls(text)
        if lower:
            text = unicodedata.normalize("NFD", text.lower())
            text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        return text

    return normalize


def mecab(lower):
    def normalize(text):
        text = unicodedata.normalize("NFKC", text)
        return text.lower() if lower else text

    return normalize


def sentencepiece_norm(files):
    """SentencePiece's own normalizer (its nmt_nfkc rules) after lower-casing."""
    import sentencepiece

    normalizer = sentencepiece.SentencePieceNormalizer(model_file=str(files["spm_model"]))
    return lambda text: normalizer.normalize(text.lower())


CASES = {
    "basic-lower": (lambda f: BertTokenizer(f["wordpiece_lower"]), google_basic(True)),
    "basic-cased": (
        lambda f: BertTokenizer(f["wordpiece_cased"], do_lower_case=False),
        google_basic(False),
    ),
    "mecab-cased": (
        lambda f: BertTokenizer(
            f["mecab_unidic_lite"], do_lower_case=False, word_tokenizer="mecab"
        ),
        mecab(False),
    ),
    "mecab-lower": (
        lambda f: BertTokenizer(f["mecab_unidic_lite_lower"], word_tokenizer="mecab"),
        mecab(True),
    ),
    "mecab-character": (
        lambda f: BertTokenizer(
            f["character"], False, word_tokenizer="mecab", subword_tokenizer="character"
        ),
        mecab(False),
    ),
    "sentencepiece": (
        lambda f: SentencePieceTokenizer(f["spm_model"], f["spm_vocab"]),
        "sentencepiece",
    ),
}


def _same_sigma(text):
    """Python lower-cases Σ by context (σ inside a word, ς at its end): compare them as one."""
    return text.replace("ς", "σ")


def _spelled(tok, tokens):
    """What ``tokens`` spell in normalized text: without '##', whitespace and '▁'."""
    text = "".join("".join(t.removeprefix("##") for t in tokens).split())
    return text.replace("\u2581", "") if isinstance(tok, SentencePieceTokenizer) else text


def _normalized(tok, normalize, text):
    got = "".join(normalize(text).split())
    return got.replace("\u2581", "") if isinstance(tok, SentencePieceTokenizer) else got


def _spacing(normalize, char):
    """True when ``char`` normalizes to a space (U+200B does for SentencePiece)."""
    return any(c.isspace() or c == "\u2581" for c in normalize(f"x{char}x")[1:])


def _finer_span(tok, normalize, text, start, end, tokens):
    """A finer span for a group of tokens, if one exists: a narrower span whose normalized
    text still spells the group, or a cut of the span and of the group into two such parts.
    None when the group's span is the finest."""
    if end - start < 2 or any(_spacing(normalize, c) for c in text[start:end]):
        return None  # spaces are not compared (SentencePiece's '▁', its dummy prefix)
    spelled = _same_sigma(_spelled(tok, tokens))

    def spells(a, b, wanted):
        return _same_sigma(_normalized(tok, normalize, text[a:b])) == wanted

    for a, b in ((start + 1, end), (start, end - 1)):
        if spells(a, b, spelled):
            return (a, b)
    for k in range(1, len(tokens)):
        left, right = _spelled(tok, tokens[:k]), _spelled(tok, tokens[k:])
        for cut in range(start + 1, end):
            if left and right and spells(start, cut, left) and spells(cut, end, right):
                return (start, cut, end)
    return None


def check_offsets(tok, normalize, text, exact=True):
    """Spans lie in the text, in order; each token is its span's normalized text; no finer
    span would do.

    One original character can give several tokens ('…' -> '...' under NFKC, split by MeCab;
    '국' -> three jamo under NFD, split by WordPiece): tokens with overlapping (or empty) spans
    form one group, whose joined text is the group's span's normalized text. A group whose span
    could be cut in two, each part spelling its own tokens ('e' + U+0301 + U+0301 -> 'é' and
    U+0301 under NFKC), or narrowed, has a span coarser than the text allows.
    """
    groups = []
    previous_start = 0
    for token, start, end in tok.tokenize_with_offsets(text):
        assert 0 <= start <= end <= len(text), (text, token, start, end)
        assert start >= previous_start, (text, token, start, end)
        previous_start = start
        if groups and (start < groups[-1][1] or start == end):
            groups[-1][1] = max(groups[-1][1], end)
            groups[-1][2].append(token)
        else:
            groups.append([start, end, [token]])
    if not exact:
        return
    for start, end, tokens in groups:
        if "[UNK]" in tokens:
            continue
        if tokens == [text[start:end]] and tokens[0] in SPECIAL_TOKENS:
            continue
        expected = "".join("".join(t.removeprefix("##") for t in tokens).split())
        got = "".join(normalize(text[start:end]).split())
        if isinstance(tok, SentencePieceTokenizer):
            expected, got = expected.replace("\u2581", ""), got.replace("\u2581", "")
        assert _same_sigma(got) == _same_sigma(expected), (text, tokens, text[start:end], got)
        finer = _finer_span(tok, normalize, text, start, end, tokens)
        assert finer is None, (text, tokens, (start, end), finer)


@pytest.mark.parametrize("case", sorted(CASES))
def test_offsets_on_the_corpus(tokenizer_files, case):
    build, normalize = CASES[case]
    tok = build(tokenizer_files)
    if normalize == "sentencepiece":
        normalize = sentencepiece_norm(tokenizer_files)
    for text in corpus():
        check_offsets(tok, normalize, text)


def test_offsets_keep_the_spaces_of_an_entity(tokenizer_files):
    tok = BertTokenizer(tokenizer_files["mecab_unidic_lite"], False, word_tokenizer="mecab")
    text = "昨日、三代目 J SOUL BROTHERSが出演した。"
    enc = tok.encode(text, max_seq_length=64)
    first = enc.tokens.index("三")
    last = max(i for i, t in enumerate(enc.tokens) if text[enc.offsets[i][0] : enc.offsets[i][1]])
    spans = [enc.offsets[i] for i in range(first, last + 1)]
    assert text[spans[0][0] : spans[-1][1]].startswith("三代目 J SOUL BROTHERS")
    assert enc.offsets[0] == (0, 0) and enc.offsets[enc.length - 1] == (0, 0)
    assert enc.offsets[enc.length :] == [(0, 0)] * (64 - enc.length)


def test_offsets_through_width_and_compatibility_forms(tokenizer_files):
    tok = BertTokenizer(
        tokenizer_files["character"], False, word_tokenizer="mecab", subword_tokenizer="character"
    )
    text = "ｶﾞｷﾞ㍻ＡＢＣ"
    spans = {(text[s:e], t) for t, s, e in tok.tokenize_with_offsets(text)}
    assert ("ｶﾞ", "ガ") in spans or ("ｶﾞ", "[UNK]") in spans
    assert any(src == "㍻" for src, _ in spans)
    assert ("Ａ", "A") in spans or ("Ａ", "[UNK]") in spans


_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
) | st.lists(
    st.sampled_from(list("がｶﾞ゙ﾟ㍻Σσς İıﬁÅ東京\u3000\u0301\u200b\x00\ue000aB1!、。") + ["[CLS]"]),
    max_size=30,
).map("".join)


@pytest.mark.parametrize("case", sorted(CASES))
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_TEXT)
def test_offsets_on_random_unicode(tokenizer_files, case, text):
    build, normalize = CASES[case]
    tok = _cached(case, build, tokenizer_files)
    if normalize == "sentencepiece":
        normalize = _cached("sentencepiece-normalizer", sentencepiece_norm, tokenizer_files)
    check_offsets(tok, normalize, text)
    enc = tok.encode(text, text, max_seq_length=16)
    assert len(enc.input_ids) == len(enc.offsets) == len(enc.tokens) == 16


_BUILT = {}


def _cached(case, build, files):
    if case not in _BUILT:
        _BUILT[case] = build(files)
    return _BUILT[case]


def test_one_odd_combining_sequence_leaves_other_offsets_exact(tokenizer_files):
    """NFKC composes e + U+0301 across U+0331; only that cluster shares a span."""
    tok = BertTokenizer(tokenizer_files["mecab_unidic_lite"], word_tokenizer="mecab")
    text = "東京タワーに行った。e\u0331\u0301"
    spans = [(t, text[s:e]) for t, s, e in tok.tokenize_with_offsets(text)]
    assert spans[0][1] in ("東", "東京")
    assert all(len(src) <= 3 for _, src in spans)


# The case: e + U+0301 + U+0301 is 'é' + U+0301 under NFKC, which MeCab splits into two
# words; 'é' comes from the first two code points, U+0301 from the last. Spans by hand, per
# tokenizer (Google's uncased rules drop the marks; the cased ones keep each mark apart).
_ACCENTS = "e\u0301\u0301"
_ACCENT_SPANS = {
    "basic-lower": [(0, 1)],
    "basic-cased": [(0, 1), (1, 2), (2, 3)],
    "mecab-cased": [(0, 2), (2, 3)],
    "mecab-lower": [(0, 2), (2, 3)],
    "mecab-character": [(0, 2), (2, 3)],
    "sentencepiece": [(0, 2), (2, 3)],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_combining_cluster_split_in_two_gives_each_token_its_own_code_points(
    tokenizer_files, case
):
    build, normalize = CASES[case]
    tok = _cached(case, build, tokenizer_files)
    if normalize == "sentencepiece":
        normalize = _cached("sentencepiece-normalizer", sentencepiece_norm, tokenizer_files)
    pieces = [(s, e) for t, s, e in tok.tokenize_with_offsets(_ACCENTS) if t != "\u2581"]
    assert pieces == _ACCENT_SPANS[case]
    for text in (
        _ACCENTS,
        f"東京{_ACCENTS}タワー",
        f"ﬁ{_ACCENTS}",
        "a\u0323\u0301\u0301",
        "Ａ\u0301\u0301",
    ):
        check_offsets(tok, normalize, text)


def test_characters_that_normalization_truly_merges_share_one_span(tokenizer_files):
    """A ligature's letters, and a letter joined with a mark across another mark, come from
    the same original characters: no finer span exists, so the tokens share it."""
    tok = BertTokenizer(tokenizer_files["mecab_unidic_lite"], False, word_tokenizer="mecab")
    assert [(s, e) for _, s, e in tok.tokenize_with_offsets("ﬁ")] == [(0, 1), (0, 1)]
    text = "a\u0301\u0323"  # NFKC: ạ (a + U+0323, around U+0301) then U+0301
    assert unicodedata.normalize("NFKC", text) == "\u1ea1\u0301"
    spans = {(s, e) for _, s, e in tok.tokenize_with_offsets(text)}
    assert spans == {(0, 3)}


def test_sentencepiece_spans_cover_exactly_the_characters_a_piece_draws_on(tokenizer_files):
    tok = SentencePieceTokenizer(tokenizer_files["spm_model"], tokenizer_files["spm_vocab"])

    def spans(text):
        return [(t, text[s:e]) for t, s, e in tok.tokenize_with_offsets(text) if t != "\u2581"]

    assert [src for _, src in spans("ｶﾞｷﾞ")] == ["ｶﾞ", "ｷﾞ"]
    pieces = spans("1㍘")  # NFKC: 1 + 0点; a piece '10' draws on both characters
    assert "".join(t for t, _ in pieces) == "10点"
    assert all(src == "1㍘"[: len(src)] or src == "㍘" for _, src in pieces)
    assert any(t.startswith("1") and src.startswith("1") for t, src in pieces)
    # a character the normalizer drops (DEL) belongs to no piece; one it makes a space of
    # (U+200B) is the space's own
    assert "".join(src for _, src in spans("DEL\x7fx")) == "DELx"
    pieces = tok.tokenize_with_offsets("a\u200bb")
    assert [("a\u200bb"[s:e], s < e) for t, s, e in pieces if t == "\u2581"] == [("\u200b", True)]
    for token, src in spans("ab  cd ef  "):
        assert src == src.strip() or token == "\u2581"  # dropped whitespace stays outside
        assert src.strip() == token.strip("\u2581")
