"""Token-for-token parity with the reference tokenizers on the test corpus.

References: HF's Python `BertTokenizerLegacy` for Google's basic + WordPiece rules (where the two
agree; the rules where HF departs from Google are tested explicitly below), HF's
`BertJapaneseTokenizer` for MeCab and character tokenization, and the `sentencepiece` library
for SentencePiece pieces, with ids read here from the ``.vocab`` file.
"""

from __future__ import annotations

import unicodedata

import pytest
from tokenizer_fixtures import corpus
from transformers import BertJapaneseTokenizer
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

from jbert_tf2.tokenization import BertTokenizer, SentencePieceTokenizer


def _hf_agrees_with_google(text: str, lower: bool) -> bool:
    """HF drops private-use / unassigned characters (Google keeps them) and, for cased models,
    NFC-composes the text (Google does not): leave those texts to the explicit tests."""
    if any(unicodedata.category(c) in ("Co", "Cn", "Cs") for c in text):
        return False
    return lower or unicodedata.normalize("NFC", text) == text


def _no_nul(texts):
    """HF's MeCab tokenizers lose the text after a NUL (MeCab reads a C string); ours keep it
    (see `test_mecab_keeps_the_text_after_a_nul`): compare the other texts."""
    return [t for t in texts if "\x00" not in t]


def assert_same_tokens(ours, reference, texts):
    mismatches = [(t, ours(t), reference(t)) for t in texts if ours(t) != reference(t)]
    assert not mismatches, "\n".join(f"{t!r}\n ours {a}\n ref  {b}" for t, a, b in mismatches[:5])


@pytest.mark.parametrize("lower", [True, False])
def test_basic_wordpiece_matches_hf_where_hf_follows_google(tokenizer_files, lower):
    vocab = tokenizer_files["wordpiece_lower" if lower else "wordpiece_cased"]
    # HF keeps literal special tokens whole and gives up on words over 100 characters.
    ours = BertTokenizer(
        vocab, do_lower_case=lower, split_special_tokens=False, max_chars_per_word=100
    )
    hf = BertTokenizerLegacy(str(vocab), do_lower_case=lower)
    texts = [t for t in corpus() if _hf_agrees_with_google(t, lower)]
    assert len(texts) > 350
    assert_same_tokens(ours.tokenize, hf.tokenize, texts)
    batch = ours(texts[:50], max_seq_length=64)
    for row, text in enumerate(texts[:50]):
        expected = hf(text, max_length=64, truncation=True, padding="max_length")["input_ids"]
        assert batch["input_ids"][row].tolist() == expected


@pytest.mark.parametrize(
    "key, lower, dic",
    [
        ("mecab_unidic_lite", False, "unidic_lite"),
        ("mecab_unidic_lite_lower", True, "unidic_lite"),
        ("mecab_ipadic", False, "ipadic"),
    ],
)
def test_mecab_wordpiece_matches_bert_japanese(tokenizer_files, key, lower, dic):
    vocab = tokenizer_files[key]
    ours = BertTokenizer(vocab, do_lower_case=lower, word_tokenizer="mecab", mecab_dic=dic)
    hf = BertJapaneseTokenizer(
        str(vocab),
        do_lower_case=lower,
        word_tokenizer_type="mecab",
        mecab_kwargs={"mecab_dic": dic},
    )
    assert_same_tokens(ours.tokenize, hf.tokenize, _no_nul(corpus()))
    pairs = list(zip(corpus()[:40], corpus()[40:80], strict=True))
    for a, b in pairs:
        enc = ours.encode(a, b, max_seq_length=48)
        ref = hf(
            a,
            b,
            max_length=48,
            truncation="longest_first",
            padding="max_length",
            return_token_type_ids=True,
        )
        assert enc.input_ids == ref["input_ids"]
        assert enc.segment_ids == ref["token_type_ids"]
        assert enc.input_mask == ref["attention_mask"]


def test_the_dictionary_changes_the_split(tokenizer_files):
    vocab = tokenizer_files["mecab_unidic_lite"]
    unidic = BertTokenizer(vocab, do_lower_case=False, word_tokenizer="mecab")
    ipadic = BertTokenizer(vocab, do_lower_case=False, word_tokenizer="mecab", mecab_dic="ipadic")
    differ = [t for t in corpus() if unidic.tokenize(t) != ipadic.tokenize(t)]
    assert len(differ) > 10


@pytest.mark.parametrize("word", ["mecab", "basic", "none"])
def test_character_matches_bert_japanese(tokenizer_files, word):
    vocab = tokenizer_files["character"]
    ours = BertTokenizer(
        vocab, do_lower_case=False, word_tokenizer=word, subword_tokenizer="character"
    )
    hf = BertJapaneseTokenizer(
        str(vocab),
        do_lower_case=False,
        word_tokenizer_type="basic" if word == "none" else word,
        do_word_tokenize=word != "none",
        subword_tokenizer_type="character",
    )
    texts = _no_nul(corpus()) if word == "mecab" else corpus()
    assert_same_tokens(ours.tokenize, hf.tokenize, texts)
    assert any("[UNK]" in ours.tokenize(t) for t in corpus())  # unknown characters exercised


def test_mecab_keeps_the_text_after_a_nul(tokenizer_files):
    """The one deliberate departure from HF's MeCab tokenizers: they silently drop everything
    after a NUL; ours read a NUL as a word boundary."""
    vocab = tokenizer_files["mecab_unidic_lite"]
    ours = BertTokenizer(vocab, do_lower_case=False, word_tokenizer="mecab")
    hf = BertJapaneseTokenizer(str(vocab), do_lower_case=False, word_tokenizer_type="mecab")
    text = "NUL文字\x00が入っている"
    assert hf.tokenize(text) == ours.tokenize("NUL文字")
    assert ours.tokenize(text) == ours.tokenize("NUL文字") + ours.tokenize("が入っている")


def test_none_wordpiece_matches_bert_japanese(tokenizer_files):
    vocab = tokenizer_files["mecab_unidic_lite"]
    ours = BertTokenizer(vocab, do_lower_case=False, word_tokenizer="none")
    hf = BertJapaneseTokenizer(str(vocab), do_lower_case=False, do_word_tokenize=False)
    assert_same_tokens(ours.tokenize, hf.tokenize, corpus())


def _vocab_ids(path):
    """Ids as yoheikikuta's `load_vocab` assigns them: line numbers of ``piece<TAB>score``."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return {line.split("\t")[0].strip(): i for i, line in enumerate(lines) if line}


@pytest.mark.parametrize("lower", [True, False])
def test_sentencepiece_matches_the_library(tokenizer_files, lower):
    import sentencepiece

    model, vocab = tokenizer_files["spm_model"], tokenizer_files["spm_vocab"]
    ours = SentencePieceTokenizer(model, vocab, do_lower_case=lower)
    processor = sentencepiece.SentencePieceProcessor(model_file=str(model))

    def reference(text):
        return processor.EncodeAsPieces(text.lower() if lower else text)

    assert_same_tokens(ours.tokenize, reference, corpus())
    ids = _vocab_ids(vocab)
    for text in corpus()[:100]:
        pieces = reference(text)[:30]
        enc = ours.encode(text, max_seq_length=32)
        expected = [ids["[CLS]"]] + [ids.get(p, 0) for p in pieces] + [ids["[SEP]"]]
        assert enc.input_ids[: enc.length] == expected
    assert any(p not in ids for t in corpus() for p in reference(t))  # <unk> -> 0 exercised


# Google's rules where HF departs from them (google-research/bert tokenization.py).


def _vocab(tmp_path, tokens):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *tokens]) + "\n")
    return path


def test_google_word_limit_is_200_characters(tmp_path):
    tok = BertTokenizer(_vocab(tmp_path, ["a", "##a"]), do_lower_case=True)
    assert tok.tokenize("a" * 200) == ["a"] + ["##a"] * 199
    assert tok.tokenize("a" * 201) == ["[UNK]"]
    hf = BertTokenizerLegacy(str(tmp_path / "vocab.txt"), do_lower_case=True)
    assert hf.tokenize("a" * 101) == ["[UNK]"]  # where HF differs


def test_google_splits_literal_special_tokens(tmp_path):
    tok = BertTokenizer(_vocab(tmp_path, ["[", "]", "cl", "##s", "sep", "x"]), do_lower_case=True)
    assert tok.tokenize("x [CLS] x[SEP]") == ["x", "[", "cl", "##s", "]", "x", "[", "sep", "]"]
    kept = BertTokenizer(tmp_path / "vocab.txt", split_special_tokens=False)
    enc = kept.encode("x [CLS] x[SEP]")
    assert enc.tokens[1:6] == ["x", "[CLS]", "x", "[SEP]", "[SEP]"]
    assert enc.input_ids[1:6] == [10, 2, 10, 3, 3]
    assert enc.offsets[1:5] == [(0, 1), (2, 7), (8, 9), (9, 14)]


def test_google_accent_stripping_removes_dakuten(tmp_path):
    tok = BertTokenizer(_vocab(tmp_path, ["か", "##き", "##く", "cafe", "東", "京", "とうきょう"]))
    assert tok.tokenize("がぎぐ") == ["か", "##き", "##く"]
    assert tok.tokenize("Café 東京とうきょう") == ["cafe", "東", "京", "とうきょう"]
    cased = BertTokenizer(tmp_path / "vocab.txt", do_lower_case=False)
    assert cased.tokenize("がぎぐ") == ["[UNK]"]  # no accent stripping without lower-casing


def test_google_keeps_private_use_and_decomposed_text(tmp_path):
    vocab = _vocab(tmp_path, ["a", "\ue000", "e\u0301", "##\u0301", "e", "é"])
    tok = BertTokenizer(vocab, do_lower_case=False)
    assert tok.tokenize("a \ue000") == ["a", "\ue000"]  # HF drops category Co
    assert tok.tokenize("e\u0301") == ["e\u0301"]  # HF composes to é first (NFC)
    assert tok.tokenize("\u200ba\x00 e\x7f") == ["a", "e"]  # control characters dropped
