"""The tensorflow-text twins give the Python tokenizers' ids on the test corpus."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tokenizer_fixtures import corpus

import jbert_tf2  # noqa: F401
from jbert_tf2 import JbertError
from jbert_tf2.tokenization import BertTokenizer, SentencePieceTokenizer, Tokenizer
from jbert_tf2.tokenization.in_graph import InGraphTokenizer

TWINS = {
    "wordpiece-lower": lambda f: BertTokenizer(f["wordpiece_lower"]),
    "wordpiece-cased": lambda f: BertTokenizer(f["wordpiece_cased"], do_lower_case=False),
    "wordpiece-keep-specials": lambda f: BertTokenizer(
        f["wordpiece_lower"], split_special_tokens=False
    ),
    "character": lambda f: BertTokenizer(f["character"], False, subword_tokenizer="character"),
    "sentencepiece-lower": lambda f: SentencePieceTokenizer(f["spm_model"], f["spm_vocab"]),
    "sentencepiece-cased": lambda f: SentencePieceTokenizer(
        f["spm_model"], f["spm_vocab"], do_lower_case=False
    ),
}


def _scores(vocab_file):
    lines = vocab_file.read_text(encoding="utf-8").split("\n")
    return {i: float(line.split("\t")[1]) for i, line in enumerate(lines) if "\t" in line}


def _equal_or_tied(got, want, scores):
    """Same ids; or, for SentencePiece, another segmentation with the same total score (the
    library and tensorflow-text's bundled copy may break ties in the lattice differently)."""
    if np.array_equal(got, want):
        return True
    if scores is None:
        return False
    return (
        abs(sum(scores.get(int(i), 0) for i in got) - sum(scores.get(int(i), 0) for i in want))
        < 1e-3
    )


@pytest.mark.parametrize("name", sorted(TWINS))
def test_twin_matches_python_tokenizer(tokenizer_files, name):
    tok = TWINS[name](tokenizer_files)
    scores = _scores(tokenizer_files["spm_vocab"]) if name.startswith("sentencepiece") else None
    texts = list(corpus())
    layer = tok.in_graph(max_seq_length=64)
    got = {k: v.numpy() for k, v in layer(tf.constant(texts)).items()}
    want = tok(texts, max_seq_length=64)
    for row, text in enumerate(texts):
        assert _equal_or_tied(got["input_ids"][row], want["input_ids"][row], scores), text
        assert np.array_equal(got["input_mask"][row], want["input_mask"][row]), text
    assert np.array_equal(got["segment_ids"], want["segment_ids"])
    assert all(v.dtype == np.int32 for v in got.values())
    pairs = layer(tf.constant(texts[:150]), tf.constant(texts[150:300]))
    want_pairs = tok(texts[:150], texts[150:300], max_seq_length=64)
    for key in ("input_mask", "segment_ids"):
        assert np.array_equal(pairs[key].numpy(), want_pairs[key])
    for row in range(150):
        assert _equal_or_tied(pairs["input_ids"][row].numpy(), want_pairs["input_ids"][row], scores)


@pytest.mark.slow
def test_twin_in_a_keras_model_and_saved_model(tokenizer_files, tmp_path):
    import keras

    tok = BertTokenizer(tokenizer_files["wordpiece_lower"])
    texts = list(corpus()[:20])
    text_in = keras.Input(shape=(), dtype="string")
    model = keras.Model(text_in, tok.in_graph(max_seq_length=32)(text_in))
    assert np.array_equal(
        model(tf.constant(texts))["input_ids"], tok(texts, max_seq_length=32)["input_ids"]
    )

    restored = InGraphTokenizer.from_config(tok.in_graph(32).get_config())
    assert np.array_equal(
        restored(tf.constant(texts))["input_ids"], tok(texts, max_seq_length=32)["input_ids"]
    )

    module = tf.Module()
    module.layer = tok.in_graph(max_seq_length=32)
    module.serve = tf.function(
        lambda t: module.layer(t), input_signature=[tf.TensorSpec([None], tf.string)]
    )
    tf.saved_model.save(module, str(tmp_path / "saved"))
    import tensorflow_text  # noqa: F401  (registers the ops the SavedModel uses)

    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    out = loaded.serve(tf.constant(texts))
    assert np.array_equal(out["input_ids"].numpy(), tok(texts, max_seq_length=32)["input_ids"])


def test_truncation_in_graph_is_googles(tokenizer_files):
    from jbert_tf2.tokenization.base import truncate_pair
    from jbert_tf2.tokenization.in_graph import truncated_pair_lengths

    la, lb = np.meshgrid(np.arange(0, 12), np.arange(0, 12))
    got_a, got_b = truncated_pair_lengths(tf, tf.constant(la.ravel()), tf.constant(lb.ravel()), 9)
    for a, b, ga, gb in zip(la.ravel(), lb.ravel(), got_a.numpy(), got_b.numpy(), strict=True):
        ta, tb = list(range(a)), list(range(b))
        truncate_pair(ta, tb, 9)
        assert (len(ta), len(tb)) == (ga, gb), (a, b)


def test_mecab_has_no_in_graph_twin(tokenizer_files):
    tok = BertTokenizer(tokenizer_files["mecab_unidic_lite"], False, word_tokenizer="mecab")
    with pytest.raises(JbertError, match="MeCab"):
        tok.in_graph()


def test_twin_rejects_non_string_input(tokenizer_files):
    layer = BertTokenizer(tokenizer_files["wordpiece_lower"]).in_graph(16)
    with pytest.raises(JbertError, match="tf.string"):
        layer(tf.constant([1, 2]))


def test_twin_splits_punctuation_after_accent_stripping(tmp_path):
    """NFD turns ≠ into = + U+0338: Google splits off the '=' only after stripping the mark."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "x", "=", "y", "a"]))
    tok = BertTokenizer(vocab)
    texts = ["x≠y", "a\u1fefa", "x\u2260\u2260y"]
    assert tok.tokenize("x≠y") == ["x", "=", "y"]
    got = tok.in_graph(16)(tf.constant(texts))["input_ids"].numpy()
    assert np.array_equal(got, tok(texts, max_seq_length=16)["input_ids"])


def test_character_twin_drops_unassigned_characters_as_python_does(tokenizer_files):
    tok = TWINS["character"](tokenizer_files)
    texts = ["a\u0378b", "\U000e0080x", "\ue000東京"]  # unassigned, unassigned tag, private use
    got = tok.in_graph(16)(tf.constant(texts))["input_ids"].numpy()
    assert np.array_equal(got, tok(texts, max_seq_length=16)["input_ids"])


def test_empty_second_text_is_a_single_text_example(tokenizer_files):
    tok = BertTokenizer(tokenizer_files["wordpiece_lower"])
    texts, pairs = ["東京に行く", "大阪"], ["", " \u3000"]
    want = tok(texts, max_seq_length=12)
    assert all(np.array_equal(tok(texts, pairs, max_seq_length=12)[k], want[k]) for k in want)
    got = tok.in_graph(12)(tf.constant(texts), tf.constant(pairs))
    assert all(np.array_equal(got[k].numpy(), want[k]) for k in want)
    mixed = tok.in_graph(12)(tf.constant(texts), tf.constant(["", "京都"]))
    want_mixed = tok(texts, ["", "京都"], max_seq_length=12)
    assert all(np.array_equal(mixed[k].numpy(), want_mixed[k]) for k in want)


@pytest.mark.parametrize("name", sorted(TWINS))
def test_graph_spec_round_trips_through_a_json_config(tokenizer_files, name):
    """Each tokenizer's graph_spec() is plain data: a layer rebuilt from its config as JSON
    holds the same spec and gives the Python tokenizer's ids."""
    import json

    tok = TWINS[name](tokenizer_files)
    layer = InGraphTokenizer.from_tokenizer(tok, max_seq_length=24)
    restored = InGraphTokenizer.from_config(json.loads(json.dumps(layer.get_config())))
    assert restored.spec == tok.graph_spec()
    texts = ["東京タワーに行った。", "[CLS] Héllo, ＷＯＲＬＤ! ｶﾞｰﾄﾞ"]
    scores = _scores(tokenizer_files["spm_vocab"]) if name.startswith("sentencepiece") else None
    got = restored(tf.constant(texts))["input_ids"].numpy()
    want = tok(texts, max_seq_length=24)["input_ids"]
    assert all(_equal_or_tied(g, w, scores) for g, w in zip(got, want, strict=True))


class _CharacterPerLetter(Tokenizer):
    """A user's tokenizer the package does not know: one token per non-space character."""

    def __init__(self, letters: str):
        self.vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *letters])}
        self.unk_id = 1

    def _tokenize_spans(self, text):
        return [(c, i, i + 1) for i, c in enumerate(text) if not c.isspace()]


class _DescribedCharacterPerLetter(_CharacterPerLetter):
    def graph_spec(self) -> dict:
        return {
            **self.graph_vocabulary(),
            "do_lower_case": False,
            "kind": "character",
            "max_chars_per_word": 100,
            "hf_control_chars": False,
            "specials": [],
        }


def test_a_users_tokenizer_gets_a_twin_from_its_own_graph_spec():
    tok = _DescribedCharacterPerLetter("abc東京")
    texts = ["ab c", "東京 x a", ""]
    got = tok.in_graph(8)(tf.constant(texts))
    want = tok(texts, max_seq_length=8)
    assert want["input_ids"][0].tolist() == [2, 4, 5, 6, 3, 0, 0, 0]
    assert all(np.array_equal(got[k].numpy(), want[k]) for k in want)


def test_a_tokenizer_without_graph_spec_has_no_twin():
    with pytest.raises(JbertError, match="_CharacterPerLetter has no in-graph twin"):
        _CharacterPerLetter("abc").in_graph()


def test_an_incomplete_graph_spec_is_refused_naming_what_is_missing(tokenizer_files):
    spec = BertTokenizer(tokenizer_files["wordpiece_lower"]).graph_spec()
    del spec["specials"]
    with pytest.raises(JbertError, match="missing specials"):
        InGraphTokenizer(spec)
    with pytest.raises(JbertError, match="kind='mecab'"):
        InGraphTokenizer({**spec, "kind": "mecab"})
