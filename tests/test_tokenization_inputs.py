"""Tokenizer inputs and outputs: Google's input layout, batches, bad input, load_tokenizer."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import tf1_fixtures as fx
import transformers
from tokenizer_fixtures import corpus

import jbert_tf2
from jbert_tf2 import JbertError
from jbert_tf2.cli.convert import main as convert_main
from jbert_tf2.tokenization import BertTokenizer, SentencePieceTokenizer, VocabError


def _vocab(tmp_path, lines, name="vocab.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture
def small(tmp_path):
    return BertTokenizer(_vocab(tmp_path, SPECIALS + list("abcdefgh")), do_lower_case=True)


def test_google_input_layout_and_pair_truncation(small):
    enc = small.encode("a b c d e", "f g h a b", max_seq_length=10)
    # 5 + 5 tokens into 10 - 3 = 7: Google pops from b on a tie, then from the longer.
    assert enc.tokens == ["[CLS]", "a", "b", "c", "d", "[SEP]", "f", "g", "h", "[SEP]"]
    assert enc.segment_ids == [0] * 6 + [1] * 4
    assert enc.input_mask == [1] * 10 and enc.truncated
    assert enc.offsets[1:5] == [(0, 1), (2, 3), (4, 5), (6, 7)]
    assert enc.offsets[6:9] == [(0, 1), (2, 3), (4, 5)]  # spans into text_pair
    short = small.encode("a", "b c d e f g", max_seq_length=8)
    assert short.tokens == ["[CLS]", "a", "[SEP]", "b", "c", "d", "e", "[SEP]"]


def test_padding_and_batches(small):
    enc = small.encode("a b", max_seq_length=6)
    assert enc.input_ids == [2, 5, 6, 3, 0, 0] and enc.input_mask == [1, 1, 1, 1, 0, 0]
    assert enc.tokens[4:] == ["[PAD]", "[PAD]"] and enc.offsets[4:] == [(0, 0), (0, 0)]
    assert enc.length == 4 and not enc.truncated
    batch = small(["a b", "c", ""], max_seq_length=6)
    assert set(batch) == {"input_ids", "input_mask", "segment_ids"}
    assert all(v.dtype == np.int32 and v.shape == (3, 6) for v in batch.values())
    assert batch["input_ids"][2].tolist() == [2, 3, 0, 0, 0, 0]
    longest = small(["a b c", "c"], max_seq_length=6, padding="longest")
    assert longest["input_ids"].shape == (2, 5)
    unlimited = small.encode("a " * 300, max_seq_length=None)
    assert unlimited.length == 302
    pairs = small(["a", "b"], ["c d", "e"], max_seq_length=8)
    assert pairs["segment_ids"][0].tolist() == [0, 0, 0, 1, 1, 1, 0, 0]


@pytest.mark.parametrize("text", ["", " ", "\t \u3000\n", "\x00\u200b"])
def test_empty_and_whitespace_encode_to_cls_sep(tokenizer_files, text):
    for tok in (
        BertTokenizer(tokenizer_files["wordpiece_lower"]),
        BertTokenizer(tokenizer_files["mecab_unidic_lite"], word_tokenizer="mecab"),
        SentencePieceTokenizer(tokenizer_files["spm_model"], tokenizer_files["spm_vocab"]),
    ):
        enc = tok.encode(text, max_seq_length=8)
        if isinstance(tok, SentencePieceTokenizer) and text.strip(" \t\n\u3000"):
            continue  # SentencePiece keeps control characters as pieces
        if "\u200b" in text and getattr(tok, "word_tokenizer", "") == "mecab":
            # MeCab makes U+200B a word, as in HF's tokenizer (a NUL before it no longer cuts
            # the text short)
            assert enc.tokens[: enc.length] == ["[CLS]", "[UNK]", "[SEP]"]
            continue
        assert enc.tokens[: enc.length] in (["[CLS]", "[SEP]"], ["[CLS]", "▁", "[SEP]"])


def test_non_string_input_is_a_clear_error(small):
    with pytest.raises(JbertError, match="expected a str, got NoneType"):
        small.encode(None)
    with pytest.raises(JbertError, match=r"texts\[1\]: expected a str, got int"):
        small(["a", 5])
    with pytest.raises(JbertError, match="text_pairs has 1 entries but texts has 2"):
        small(["a", "b"], ["c"])
    with pytest.raises(JbertError, match="max_seq_length=2 leaves no room"):
        small.encode("a", "b", max_seq_length=2)
    with pytest.raises(JbertError, match="padding="):
        small(["a"], padding="max")
    assert small.tokenize(b"a b") == ["a", "b"]  # UTF-8 bytes are decoded, as Google's code does


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (
            {"a": 1},
            r"texts: expected a str, or a list .* got dict \(a dict's iteration gives its keys",
        ),
        ({"a b", "c"}, r"got set \(a set has no order"),
        (frozenset(["a"]), r"got frozenset \(a set has no order"),
        (5, r"texts: expected a str, or a list .* got int"),
        (None, r"texts is None; pass a str, or a list"),
        ([["a", "b"]], r"texts\[0\]: expected a str, got list \(one text per entry; the second"),
        ([b"a", 3], r"texts\[1\]: expected a str, got int"),
        (np.array([["a", "b"]]), r"got ndarray \(it has 2 dimensions"),
        ([{"a": 1}], r"texts\[0\]: expected a str, got dict"),
    ],
)
def test_a_batch_that_is_not_texts_is_refused_naming_its_type(small, texts, message):
    """A dict would be tokenized as its keys and a set in no order: silently wrong batches."""
    calls = [
        lambda: small(texts, max_seq_length=8),
        lambda: small.encode_batch(texts),
        lambda: small.id_rows(texts),
    ]
    if texts is not None and not message.startswith("texts\\["):  # None: no pairs
        calls.append(lambda: small(["a"], texts, max_seq_length=8))
    for call in calls:
        with pytest.raises(JbertError, match=message.replace("texts", "(texts|text_pairs)")):
            call()


def test_single_text_methods_refuse_a_dict_naming_it(small):
    for method in ("encode", "tokenize", "tokenize_with_offsets", "token_ids", "word_spans"):
        with pytest.raises(JbertError, match=r"^text: expected a str, got dict$"):
            getattr(small, method)({"a": 1})


def test_ordered_batches_of_any_kind_give_the_list_result(small):
    expected = small(["a b", "c"], max_seq_length=8)
    for texts in (
        ("a b", "c"),
        iter(["a b", "c"]),
        (t for t in ["a b", "c"]),
        np.array(["a b", "c"]),
    ):
        got = small(texts, max_seq_length=8)
        assert all(np.array_equal(got[k], expected[k]) for k in expected), type(texts)
    assert np.array_equal(small(b"a b")["input_ids"], small(["a b"])["input_ids"])


def test_token_and_id_conversion_takes_one_or_a_list_never_characters_or_keys(small):
    """One token gives one id (HF's convention), not the ids of its characters; a dict or a
    set, or ids that are not integers, are refused."""
    vocab = {t: i for i, t in enumerate(SPECIALS + list("abcdefgh"))}
    assert small.convert_tokens_to_ids("[CLS]") == vocab["[CLS]"]
    assert small.convert_tokens_to_ids("abc") == vocab["[UNK]"]  # one unknown token
    assert small.convert_tokens_to_ids(["a", "zz"]) == [vocab["a"], vocab["[UNK]"]]
    assert small.convert_ids_to_tokens(vocab["b"]) == "b"
    assert small.convert_ids_to_tokens(np.int64(vocab["b"])) == "b"
    assert small.convert_ids_to_tokens(np.array([2, 6])) == ["[CLS]", "b"]
    for bad, message in (
        ({"a": 1}, "got dict"),
        ({"a"}, "got set"),
        ([1], r"tokens\[0\] is 1, not a str"),
    ):
        with pytest.raises(JbertError, match=message):
            small.convert_tokens_to_ids(bad)
    for bad, message in (
        ("ab", "ids is a str"),
        (np.zeros((2, 2), int), "of 2 dimensions"),
        ({1: 2}, "got dict"),
        ([1, "2"], r"ids\[1\] is '2'"),
        ([1.5], r"ids\[0\] is 1.5"),
    ):
        with pytest.raises(JbertError, match=message):
            small.convert_ids_to_tokens(bad)


def test_vocab_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(VocabError, match="vocabulary file not found"):
        BertTokenizer(tmp_path / "missing.txt")
    dup = _vocab(tmp_path, SPECIALS + ["a", "b", "a"], "dup.txt")
    with pytest.raises(VocabError, match=r"dup.txt, line 8: 'a' already appears on line 6"):
        BertTokenizer(dup)
    no_unk = _vocab(tmp_path, ["[PAD]", "[CLS]", "[SEP]", "a"], "no_unk.txt")
    with pytest.raises(VocabError, match=r"no_unk.txt: the vocabulary has no \[UNK\]"):
        BertTokenizer(no_unk)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("\n".join(SPECIALS + ["caf\xe9"]).encode("latin-1"))
    with pytest.raises(VocabError, match=r"latin1.txt, line 6: not UTF-8"):
        BertTokenizer(latin1)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(VocabError, match="empty"):
        BertTokenizer(tmp_path / "empty.txt")


def test_blank_lines_keep_google_ids(tmp_path):
    tok = BertTokenizer(_vocab(tmp_path, SPECIALS + ["", "a", "b"]), do_lower_case=True)
    assert tok.encode("a b", max_seq_length=None).input_ids == [2, 6, 7, 3]


def test_bad_options_and_missing_dictionaries(tmp_path, monkeypatch):
    vocab = _vocab(tmp_path, SPECIALS + ["a"])
    with pytest.raises(JbertError, match="word_tokenizer='jieba'"):
        BertTokenizer(vocab, word_tokenizer="jieba")
    with pytest.raises(JbertError, match="subword_tokenizer='bpe'"):
        BertTokenizer(vocab, subword_tokenizer="bpe")
    with pytest.raises(JbertError, match="mecab_dic='unidic' is not supported"):
        BertTokenizer(vocab, word_tokenizer="mecab", mecab_dic="unidic")
    monkeypatch.setitem(sys.modules, "ipadic", None)
    with pytest.raises(JbertError, match="not installed: pip install ipadic"):
        BertTokenizer(vocab, word_tokenizer="mecab", mecab_dic="ipadic")


def test_sentencepiece_errors(tmp_path, tokenizer_files):
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"not a model")
    with pytest.raises(VocabError, match="bad.model: not a SentencePiece model"):
        SentencePieceTokenizer(bad)
    no_cls = _vocab(tmp_path, ["<unk>\t0", "a\t-1"], "no_cls.vocab")
    with pytest.raises(VocabError, match=r"no_cls.vocab: the vocabulary has no \[CLS\], \[SEP\]"):
        SentencePieceTokenizer(tokenizer_files["spm_model"], no_cls)


def _checkpoint_for(vocab_size, tmp_path):
    hf = fx.hf_random_model(
        transformers.BertForPreTraining,
        seed=3,
        vocab_size=vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=20,
        max_position_embeddings=64,
    )
    ckpt = fx.save_tf1_checkpoint(fx.bert_variables(hf), tmp_path / "tf1" / "model.ckpt-1")
    fx.google_bert_config(hf.config, tmp_path / "tf1" / "bert_config.json")
    return ckpt


def _size(vocab_file, tab=False):
    return len(vocab_file.read_text(encoding="utf-8").rstrip("\n").split("\n"))


def test_load_tokenizer_from_a_converted_mecab_model(tmp_path, tokenizer_files):
    vocab = tokenizer_files["mecab_unidic_lite"]
    ckpt = _checkpoint_for(_size(vocab), tmp_path)
    args = [ckpt, "--vocab", vocab, "--tokenizer", "mecab-wordpiece", "--mecab-dic", "ipadic"]
    assert convert_main([str(a) for a in [*args, "-o", tmp_path / "ja"]]) == 0
    tok = jbert_tf2.load_tokenizer(tmp_path / "ja")
    assert (tok.word_tokenizer, tok.mecab_dic, tok.do_lower_case) == ("mecab", "ipadic", False)
    direct = BertTokenizer(vocab, False, word_tokenizer="mecab", mecab_dic="ipadic")
    assert all(tok.tokenize(t) == direct.tokenize(t) for t in corpus()[:50])
    outputs = jbert_tf2.load(tmp_path / "ja")(tok(list(corpus()[:4]), max_seq_length=32))
    assert outputs["sequence_output"].shape == (4, 32, 16)


def test_load_tokenizer_from_a_converted_sentencepiece_model(tmp_path, tokenizer_files):
    model, vocab = tokenizer_files["spm_model"], tokenizer_files["spm_vocab"]
    ckpt = _checkpoint_for(_size(vocab), tmp_path)
    args = [ckpt, "--vocab", vocab, "--spm-model", model, "-o", tmp_path / "spm"]
    assert convert_main([str(a) for a in args]) == 0
    tok = jbert_tf2.load_tokenizer(tmp_path / "spm")
    assert isinstance(tok, SentencePieceTokenizer) and tok.do_lower_case
    direct = SentencePieceTokenizer(model, vocab)
    assert (
        tok("本日は晴天なり")["input_ids"].tolist()
        == direct("本日は晴天なり")["input_ids"].tolist()
    )


def test_load_tokenizer_errors(tmp_path, tokenizer_files):
    with pytest.raises(JbertError, match="tokenizer.json: not found"):
        jbert_tf2.load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"tokenizer": "bpe", "vocab_file": "vocab.txt"}')
    with pytest.raises(JbertError, match="tokenizer 'bpe' is not one of"):
        jbert_tf2.load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"tokenizer": "wordpiece", "vocab_file": "v.txt"}')
    with pytest.raises(JbertError, match="names vocab_file 'v.txt', which is missing"):
        jbert_tf2.load_tokenizer(tmp_path)


def test_convert_refuses_a_bad_vocab(tmp_path, capsys):
    ckpt = _checkpoint_for(9, tmp_path)
    dup = _vocab(tmp_path, SPECIALS + ["a", "a", "b", "c"], "dup.txt")
    assert convert_main([str(ckpt), "--vocab", str(dup), "-o", str(tmp_path / "out")]) == 2
    assert "dup.txt, line 7: 'a' already appears on line 6" in capsys.readouterr().err
    big = _vocab(tmp_path, SPECIALS + [f"t{i}" for i in range(10)], "big.txt")
    assert convert_main([str(ckpt), "--vocab", str(big), "-o", str(tmp_path / "out")]) == 2
    assert "ids up to 14 but the model's vocab_size is 9" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "build",
    [
        lambda f: BertTokenizer(f["wordpiece_lower"]),
        lambda f: BertTokenizer(f["wordpiece_cased"], do_lower_case=False),
        lambda f: BertTokenizer(f["wordpiece_lower"], split_special_tokens=False),
        lambda f: BertTokenizer(f["mecab_unidic_lite_lower"], word_tokenizer="mecab"),
        lambda f: BertTokenizer(f["character"], False, "mecab", "character"),
        lambda f: BertTokenizer(f["character"], False, "none", "character"),
        lambda f: SentencePieceTokenizer(f["spm_model"], f["spm_vocab"]),
    ],
    ids=["basic", "cased", "keep-specials", "mecab", "mecab-char", "none-char", "spm"],
)
def test_batch_ids_equal_encode_ids(tokenizer_files, build):
    """`tok(texts)` takes a faster path without offsets; it must give `encode`'s ids."""
    tok = build(tokenizer_files)
    texts = list(corpus())
    batch = tok(texts, texts[::-1], max_seq_length=96)
    for row, (a, b) in enumerate(zip(texts, texts[::-1], strict=True)):
        enc = tok.encode(a, b, max_seq_length=96)
        assert batch["input_ids"][row].tolist() == enc.input_ids, a
        assert batch["segment_ids"][row].tolist() == enc.segment_ids, a
        assert batch["input_mask"][row].tolist() == enc.input_mask, a


def test_sentencepiece_ids_come_from_the_vocab_file(tokenizer_files, tmp_path):
    """A .vocab whose order differs from the model's: ids follow the file, unknown pieces 0."""
    lines = tokenizer_files["spm_vocab"].read_text(encoding="utf-8").rstrip("\n").split("\n")
    reordered = lines[:8] + lines[8:][::-1][:-50]  # later pieces reversed, 50 dropped
    vocab = _vocab(tmp_path, reordered, "reordered.vocab")
    with pytest.warns(UserWarning, match="50 of the .* pieces .* are missing"):
        tok = SentencePieceTokenizer(tokenizer_files["spm_model"], vocab)
    ids = {line.split("\t")[0].strip(): i for i, line in enumerate(reordered)}  # as load_vocab
    texts = list(corpus())
    batch = tok(texts, max_seq_length=64)
    for row, text in enumerate(texts):
        pieces = tok.tokenize(text)[:62]
        want = [ids["[CLS]"]] + [ids.get(p, 0) for p in pieces] + [ids["[SEP]"]]
        assert batch["input_ids"][row, : len(want)].tolist() == want


def test_defaults_follow_each_reference(tokenizer_files):
    assert BertTokenizer(tokenizer_files["wordpiece_lower"]).do_lower_case  # Google: True
    mecab = BertTokenizer(tokenizer_files["mecab_unidic_lite"], word_tokenizer="mecab")
    assert not mecab.do_lower_case  # HF BertJapaneseTokenizer: False (cl-tohoku models are cased)
    with pytest.raises(JbertError, match="word_tokenizer='none' does not lower-case"):
        BertTokenizer(tokenizer_files["character"], True, "none", "character")


def test_more_bad_input(tokenizer_files, tmp_path):
    spm = SentencePieceTokenizer(tokenizer_files["spm_model"], tokenizer_files["spm_vocab"])
    mecab = BertTokenizer(tokenizer_files["mecab_unidic_lite"], word_tokenizer="mecab")
    for tok in (spm, mecab):
        with pytest.raises(JbertError, match="lone surrogates"):
            tok.tokenize("a\ud800b")
        with pytest.raises(JbertError, match="lone surrogates"):
            tok(["a\ud800b"])
    with pytest.raises(JbertError, match="max_seq_length='128': expected an int"):
        spm.encode("a", max_seq_length="128")
    with pytest.raises(VocabError, match=r"vocab.txt, line 1: no TAB"):
        SentencePieceTokenizer(tokenizer_files["spm_model"], tokenizer_files["wordpiece_lower"])
    enc = spm.encode("東京", max_seq_length=8)  # padding shows as the token of id 0
    assert spm.convert_tokens_to_ids(enc.tokens) == enc.input_ids
