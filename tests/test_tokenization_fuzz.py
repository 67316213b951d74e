"""Fuzzing the tokenizers: offsets inside the text, ids in the vocabulary, exact batch shapes,
in-graph twins that agree, and reasonable time on long or odd text, for every tokenizer.

Each property says what any input must give: a valid answer or the project's own error naming
the file / line / variable; never a bare exception from deep inside, a hang, or a silently wrong
answer. Every bug these found has a plain regression test with its minimal input next to the
property that found it. Settings and helpers: fuzz_helpers.py (reproducible, no example database).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from fuzz_helpers import FUZZ, time_limit
from hypothesis import given, settings
from hypothesis import strategies as st

from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization import BertTokenizer, SentencePieceTokenizer
from jbert_tf2.tokenization.mecab import MECAB_MAX_CHARS, mecab_pieces

TOKENIZERS = {
    "basic-lower": lambda f: BertTokenizer(f["wordpiece_lower"]),
    "basic-cased": lambda f: BertTokenizer(f["wordpiece_cased"], do_lower_case=False),
    "mecab-unidic": lambda f: BertTokenizer(
        f["mecab_unidic_lite"], do_lower_case=False, word_tokenizer="mecab"
    ),
    "mecab-unidic-lower": lambda f: BertTokenizer(
        f["mecab_unidic_lite_lower"], word_tokenizer="mecab"
    ),
    "mecab-ipadic": lambda f: BertTokenizer(
        f["mecab_ipadic"], do_lower_case=False, word_tokenizer="mecab", mecab_dic="ipadic"
    ),
    "mecab-character": lambda f: BertTokenizer(
        f["character"], False, word_tokenizer="mecab", subword_tokenizer="character"
    ),
    "basic-character": lambda f: BertTokenizer(
        f["character"], False, word_tokenizer="basic", subword_tokenizer="character"
    ),
    "none-wordpiece": lambda f: BertTokenizer(f["wordpiece_cased"], False, word_tokenizer="none"),
    "sentencepiece": lambda f: SentencePieceTokenizer(f["spm_model"], f["spm_vocab"]),
}
_BUILT: dict = {}


def tokenizer(name, files):
    if name not in _BUILT:
        _BUILT[name] = TOKENIZERS[name](files)
    return _BUILT[name]


SPECIALS = ["[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]"]
# Characters that give tokens, and separators between them (whitespace, controls, format
# characters, NUL) that may give none.
VISIBLE = list("aZz09あがアｱﾞ東京都ＡＢ１、。!?ー々…½😀Σςéß㍻") + ["ｶﾞ", "İ"]
SEPARATORS = list(" \t\n\x00\u3000\u200b\u200d\ufeff\x7f\xa0\u2028\x85\x1c\x0b") + ["\r\n"]
JAPANESE = (
    VISIBLE
    + SEPARATORS
    + SPECIALS
    + list(
        "いうえおきぎくぐけこさしすせそたちつてとなにぬねのはばぱまみむめもやゆよらりるれろわをん"
    )
    + list("カキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンヴ")
    + list("日本語大阪府京都市漢字一二三〇〆ヶ㌔①ⅰ「」『』・〜ｰ｡｢｣ﾊﾟﾋﾟ\u3099\u309a\u0301\u0331")
    + ["##", "東京タワー", "三代目 J SOUL BROTHERS", "👨\u200d👩\u200d👧", "🇯🇵", "e\u0331\u0301"]
)
RUN_CHARS = list("aあア東Σ1.ｶ\u0301\u3099 -_[") + ["[CLS]"]

ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=50)
JAPANESE_TEXT = st.lists(st.sampled_from(JAPANESE), max_size=30).map("".join)
RUNS = st.lists(
    st.tuples(st.sampled_from(RUN_CHARS), st.integers(1, 260)).map(lambda run: run[0] * run[1]),
    min_size=1,
    max_size=3,
).map("".join)
TEXT = st.one_of(ANY_TEXT, JAPANESE_TEXT, RUNS)


def vocab_size(tok) -> int:
    return max(tok.vocab.values()) + 1


def check_offsets(tok, text: str) -> list:
    """Spans inside the text and in order; only SentencePiece's dummy-prefix piece, which draws
    on no character, has an empty span; ids equal the tokens' ids and lie in the vocabulary."""
    found = tok.tokenize_with_offsets(text)
    previous = 0
    for token, start, end in found:
        assert isinstance(token, str) and token, (text, found)
        assert 0 <= start <= end <= len(text), (text, token, start, end)
        assert start >= previous, (text, found)
        previous = start
        if start == end:
            assert isinstance(tok, SentencePieceTokenizer) and token == "\u2581", (text, found)
        if isinstance(tok, BertTokenizer):
            assert token in tok.vocab, (text, token)
    ids = tok.token_ids(text)
    assert ids == tok.convert_tokens_to_ids([t for t, _, _ in found]), (text, found, ids)
    assert all(0 <= i < vocab_size(tok) for i in ids), (text, ids)
    return found


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
@settings(FUZZ, max_examples=200)
@given(text=TEXT)
def test_tokenizer_offsets_and_ids_on_any_text(tokenizer_files, name, text):
    check_offsets(tokenizer(name, tokenizer_files), text)


@st.composite
def visible_and_separators(draw):
    """A text and the indexes of its visible characters (those that must be in some token)."""
    parts, must = [], []
    position = 0
    for _ in range(draw(st.integers(1, 12))):
        piece = draw(st.sampled_from(VISIBLE if draw(st.booleans()) else SEPARATORS))
        if piece in VISIBLE:
            must += range(position, position + len(piece))
        parts.append(piece)
        position += len(piece)
    return "".join(parts), must


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
@settings(FUZZ, max_examples=80)
@given(case=visible_and_separators())
def test_tokenizer_loses_no_visible_character(tokenizer_files, name, case):
    text, must = case
    found = check_offsets(tokenizer(name, tokenizer_files), text)
    covered = {i for _, start, end in found for i in range(start, end)}
    assert set(must) <= covered, (text, found, sorted(set(must) - covered))


def test_mecab_keeps_the_text_after_a_nul(tokenizer_files):
    """MeCab reads a C string: the text after a NUL was silently dropped."""
    for name in ("mecab-unidic", "mecab-ipadic", "mecab-character"):
        tok = tokenizer(name, tokenizer_files)
        found = tok.tokenize_with_offsets("東京\x00大阪")
        assert found[-1][2] == 5 and found[-1][1] >= 3, found
        assert tok.token_ids("東京\x00大阪") == tok.convert_tokens_to_ids([t for t, _, _ in found])
        assert tok.word_spans("東京\x00大阪")[-1] == (3, 5)
    assert mecab_pieces("a\x00\x00b\x00") == ["a", "b"]


def test_mecab_pieces_cut_long_texts_at_line_breaks_or_spaces():
    line = "東京タワーに行った。" * 100 + "\n"
    pieces = mecab_pieces(line * 50)
    assert "".join(pieces) == line * 50
    assert all(len(p) <= MECAB_MAX_CHARS and p.endswith("\n") for p in pieces)
    run = mecab_pieces("a" * (2 * MECAB_MAX_CHARS + 5))
    assert [len(p) for p in run] == [MECAB_MAX_CHARS, MECAB_MAX_CHARS, 5]
    assert mecab_pieces("短い文。") == ["短い文。"]


@pytest.mark.slow
def test_mecab_does_not_crash_on_a_long_run_of_letters(tokenizer_files):
    """MeCab segfaulted (killing Python) on 'a' * 200_000, and took quadratic time on runs."""
    code = (
        "from jbert_tf2.tokenization import BertTokenizer\n"
        f"tok = BertTokenizer({str(tokenizer_files['mecab_unidic_lite'])!r}, False, "
        "word_tokenizer='mecab')\n"
        "print(len(tok.tokenize_with_offsets('a' * 210_000)))"
    )
    with time_limit(60, "MeCab on 210,000 letters"):
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).parent.parent,
        )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert int(done.stdout.split()[0]) > 0


def test_ids_of_a_long_chunk_take_linear_time(tokenizer_files):
    """Basic-tokenizer ids of one 400,000-character chunk: `tuple +=` per word was quadratic."""
    tok = tokenizer("basic-cased", tokenizer_files)
    with time_limit(15, "ids of '[CLS]' * 80_000"):
        batch = tok(["[CLS]" * 80_000, "a." * 200_000], max_seq_length=8)
    assert batch["input_ids"].shape == (2, 8)


LONG_TEXT = (
    "東京タワーに行った。ｶﾞｷﾞ㍻ＡＢＣ 三代目 J SOUL BROTHERS\r\n"
    "😀👨\u200d👩\u200d👧 Σσς İı é\u0301\u0331 [CLS]\x00\u3000\t"
    + "superlongwordwithoutanyspaces" * 9
    + "\n"
)


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
def test_a_100k_character_text_tokenizes_in_reasonable_time(tokenizer_files, name):
    tok = tokenizer(name, tokenizer_files)
    text = (LONG_TEXT * (100_000 // len(LONG_TEXT) + 1))[:100_000]
    with time_limit(30, f"{name} on 100,000 characters"):
        found = tok.tokenize_with_offsets(text)
        batch = tok([text, text[:5000]], [text[:300], ""], max_seq_length=16)
    assert found and all(0 <= s <= e <= len(text) for _, s, e in found)
    assert batch["input_ids"].shape == (2, 16)


@st.composite
def batch_cases(draw):
    texts = draw(st.lists(TEXT, min_size=1, max_size=3))
    pairs = None
    if draw(st.booleans()):
        pairs = draw(st.lists(TEXT, min_size=len(texts), max_size=len(texts)))
    return texts, pairs, draw(st.integers(2, 16))


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
@settings(FUZZ, max_examples=60)
@given(case=batch_cases())
def test_batches_have_exact_shapes_and_consistent_masks(tokenizer_files, name, case):
    tok = tokenizer(name, tokenizer_files)
    texts, pairs, length = case
    try:
        batch = tok(texts, pairs, max_seq_length=length)
    except JbertError as error:  # room for [CLS] a [SEP] b [SEP] (an empty b is no pair)
        assert length == 2 and any(tok.tokenize(pair) for pair in pairs), error
        assert "max_seq_length=2" in str(error)
        return
    cls_id, sep_id = tok.vocab["[CLS]"], tok.vocab["[SEP]"]
    assert set(batch) == {"input_ids", "input_mask", "segment_ids"}
    for array in batch.values():
        assert array.shape == (len(texts), length) and array.dtype == np.int32
    ids, mask, segments = batch["input_ids"], batch["input_mask"], batch["segment_ids"]
    assert ((ids >= 0) & (ids < vocab_size(tok))).all()
    for row, text in enumerate(texts):
        n = int(mask[row].sum())
        assert 2 <= n <= length
        assert (mask[row, :n] == 1).all() and (mask[row, n:] == 0).all()
        assert (ids[row, n:] == 0).all() and (segments[row, n:] == 0).all()
        assert ids[row, 0] == cls_id and ids[row, n - 1] == sep_id
        assert (np.diff(segments[row, :n]) >= 0).all()  # 0 ... 0 then 1 ... 1
        first = n - int(segments[row, :n].sum())
        assert ids[row, first - 1] == sep_id
        pair = None if pairs is None else pairs[row]
        encoding = tok.encode(text, pair, max_seq_length=length)
        assert encoding.input_ids == ids[row].tolist()
        assert encoding.input_mask == mask[row].tolist()
        assert encoding.segment_ids == segments[row].tolist()
        assert encoding.length == n
        for (start, end), segment in zip(encoding.offsets, encoding.segment_ids, strict=True):
            source = text if segment == 0 else pair
            assert 0 <= start <= end <= len(source)
    longest = tok(texts, pairs, max_seq_length=length, padding="longest")["input_ids"]
    assert longest.shape == (len(texts), int(mask.sum(axis=1).max()))


TWINS = ("basic-lower", "basic-cased", "basic-character", "sentencepiece")


@pytest.mark.parametrize("name", TWINS)
@settings(FUZZ, max_examples=8)
@given(texts=st.lists(TEXT, min_size=1, max_size=16))
def test_in_graph_twins_agree_with_python_on_any_text(tokenizer_files, name, texts):
    """The tensorflow-text twins: same masks (and ids; SentencePiece may break score ties in
    the lattice another way, see test_tokenization_in_graph) on any text, no crash."""
    import tensorflow as tf

    tok = tokenizer(name, tokenizer_files)
    key = f"{name}-in-graph"
    if key not in _BUILT:
        _BUILT[key] = tok.in_graph(max_seq_length=16)
    got = {k: v.numpy() for k, v in _BUILT[key](tf.constant(texts)).items()}
    want = tok(texts, max_seq_length=16)
    np.testing.assert_array_equal(got["input_mask"], want["input_mask"])
    np.testing.assert_array_equal(got["segment_ids"], want["segment_ids"])
    if name != "sentencepiece":
        np.testing.assert_array_equal(got["input_ids"], want["input_ids"])


def test_tokenizer_word_spans_are_disjoint(tokenizer_files):
    for name in ("mecab-unidic", "basic-cased", "sentencepiece"):
        spans = tokenizer(name, tokenizer_files).word_spans("東京…大阪½")
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), (name, spans)


def test_visible_alphabet_is_what_the_properties_assume():
    """The coverage property's VISIBLE characters are letters, numbers, punctuation or symbols
    (kept by every tokenizer); SEPARATORS are whitespace, controls or format characters."""
    for piece in VISIBLE:
        assert all(unicodedata.category(c)[0] in "LNPS" for c in piece), piece
    for piece in SEPARATORS:
        assert all(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in piece), piece
