"""The core-ops twins give the Python tokenizers' ids, offsets and model inputs, with no
tensorflow-text op: every tokenizer configuration on the test corpus and hard cases, and the
Unicode rules (NFKC, lower-casing, accent stripping, with alignment) against Python's own on
every BMP code point and on sequences that compose or reorder."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import unicodedata

import numpy as np
import pytest
import tensorflow as tf
from tokenizer_fixtures import corpus

import jbert_tf2  # noqa: F401
from jbert_tf2 import JbertError
from jbert_tf2.tokenization import BertTokenizer, SentencePieceTokenizer, unicode_tables
from jbert_tf2.tokenization import core_unicode as cu
from jbert_tf2.tokenization.alignment import align, nfkc, strip_accents
from jbert_tf2.tokenization.core_ops import CoreOpsTokenizer
from jbert_tf2.tokenization.mecab import MecabWordSplitter

HARD_CASES = [
    "",
    " ",
    " \u3000\t\n",
    "Héllo WÖRLD, naïve café",
    "ΟΔΟΣ ΟΔΟΣ. Σ ΑΣ ΣΑΣ",  # final sigma in context
    "ｶﾞｷﾞ ﾊﾟﾝ ｳﾞ",  # half-width kana + voiced marks compose under NFKC
    "か\u3099は\u309a",  # kana + combining voiced marks
    "e\u0301\u0301x q\u0301\u0323",  # composition and canonical reordering
    "a\x00b\x00\x00c",  # NUL
    "[CLS] x [SEP][MASK] [[CLS]]",
    "😀👍🏽 🇯🇵 𠮷野家",  # astral
    "x" * 250,
    "東" * 120,
    "İstanbul ǅ ﬁ ㍻ ① ½ ＡＢＣ１２３",
    "\u200bzero\u200dwidth\ufeff",
    "x≠y a\u0378b\ue000c",
    "¨´ ̈",  # NFKC makes a space of these
]
TEXTS = [*corpus(), *HARD_CASES]


class FugashiWordSpans:
    """MeCab's words from fugashi, as `lattice.MecabGraph.word_spans` gives them: a stand-in
    that keeps these tests on the rest of the twin (the in-graph MeCab has its own tests)."""

    def __init__(self, mecab_dic: str):
        self.splitter = MecabWordSplitter(False, mecab_dic)

    def _spans(self, values, splits):
        values, splits = values.numpy(), splits.numpy()
        spans, counts = [], []
        for row in range(len(splits) - 1):
            text = "".join(map(chr, values[splits[row] : splits[row + 1]]))
            position = count = 0
            for surface in self.splitter._surfaces(text):
                if surface:
                    found = text.find(surface, position)
                    position = found + len(surface)
                    spans.append((found, position))
                    count += 1
            counts.append(count)
        return np.asarray(spans, np.int32).reshape(-1, 2), np.asarray(counts, np.int64)

    def word_spans(self, code_points):
        flat, counts = tf.py_function(
            self._spans, [code_points.flat_values, code_points.row_splits], [tf.int32, tf.int64]
        )
        flat.set_shape([None, 2])
        counts.set_shape([None])
        return tf.RaggedTensor.from_row_lengths(flat, counts)


CONFIGS = {
    "basic-wordpiece-lower": lambda f: BertTokenizer(f["wordpiece_lower"]),
    "basic-wordpiece-cased-keep-specials": lambda f: BertTokenizer(
        f["wordpiece_cased"], do_lower_case=False, split_special_tokens=False
    ),
    "basic-character": lambda f: BertTokenizer(
        f["character"], False, subword_tokenizer="character"
    ),
    "basic-character-lower": lambda f: BertTokenizer(
        f["character"], True, subword_tokenizer="character"
    ),
    "mecab-unidic-wordpiece": lambda f: BertTokenizer(
        f["mecab_unidic_lite"], False, word_tokenizer="mecab"
    ),
    "mecab-unidic-wordpiece-lower": lambda f: BertTokenizer(
        f["mecab_unidic_lite_lower"], True, word_tokenizer="mecab"
    ),
    "mecab-ipadic-wordpiece": lambda f: BertTokenizer(
        f["mecab_ipadic"], False, word_tokenizer="mecab", mecab_dic="ipadic"
    ),
    "mecab-unidic-character": lambda f: BertTokenizer(
        f["character"], False, word_tokenizer="mecab", subword_tokenizer="character"
    ),
    "mecab-ipadic-character-lower": lambda f: BertTokenizer(
        f["character"],
        True,
        word_tokenizer="mecab",
        subword_tokenizer="character",
        mecab_dic="ipadic",
        split_special_tokens=True,
    ),
    "none-wordpiece": lambda f: BertTokenizer(f["mecab_unidic_lite"], False, word_tokenizer="none"),
    "none-character": lambda f: BertTokenizer(
        f["character"], False, word_tokenizer="none", subword_tokenizer="character"
    ),
}
_BUILT: dict = {}
REAL_MECAB = {"mecab-ipadic-wordpiece"}  # end to end with `lattice.MecabGraph`, not fugashi


def _twin(tokenizer_files, name):
    """The (Python tokenizer, core-ops twin) of a configuration, built and traced once."""
    if name not in _BUILT:
        tok = CONFIGS[name](tokenizer_files)
        stand_in = None  # the real in-graph MeCab (ipadic builds in seconds)
        if tok.word_tokenizer == "mecab" and name not in REAL_MECAB:
            stand_in = FugashiWordSpans(tok.mecab_dic)
        _BUILT[name] = tok, CoreOpsTokenizer.from_tokenizer(tok, 48, mecab_graph=stand_in)
    return _BUILT[name]


def _python_tokens(tok, text):
    found = tok.tokenize_with_offsets(text)
    return tok.convert_tokens_to_ids([t for t, _, _ in found]), [(s, e) for _, s, e in found]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_ids_offsets_and_model_inputs_equal_the_python_tokenizers(tokenizer_files, name):
    tok, layer = _twin(tokenizer_files, name)
    got = layer.tokenize(tf.constant(TEXTS))
    ids, starts, ends, words = (
        got[key].to_list() for key in ("ids", "starts", "ends", "word_index")
    )
    assert all(got[key].dtype == tf.int32 for key in got)
    for row, text in enumerate(TEXTS):
        want_ids, want_spans = _python_tokens(tok, text)
        assert ids[row] == want_ids, text
        assert list(zip(starts[row], ends[row], strict=True)) == want_spans, text
        # words are numbered in text order (a word may have no token: whitespace alone)
        assert words[row] == sorted(words[row]), text
    some = TEXTS[::3] + HARD_CASES  # the model inputs are laid out from the ids checked above
    padded = layer(tf.constant(some))
    want = tok(some, max_seq_length=48)
    assert all(np.array_equal(padded[key].numpy(), want[key]) for key in want)
    first, second = TEXTS[:150:3] + HARD_CASES, TEXTS[150:300:3] + HARD_CASES[::-1]
    pairs = layer(tf.constant(first), tf.constant(second))
    want = tok(first, second, max_seq_length=48)
    assert all(np.array_equal(pairs[key].numpy(), want[key]) for key in want)


@pytest.mark.parametrize(
    "name", ["basic-wordpiece-lower", "basic-character-lower", "mecab-unidic-character"]
)
def test_batches_of_one_text_and_empty_batches(tokenizer_files, name):
    """Each hard case alone in its batch (no other text to fill the batch's arrays), and a
    batch of no texts."""
    tok, layer = _twin(tokenizer_files, name)
    for texts in [[], ["", ""], *([text] for text in HARD_CASES + ["\u00ad", "Σ", "\u0301"])]:
        got = layer.tokenize(tf.constant(texts, tf.string))
        for row, text in enumerate(texts):
            want_ids, want_spans = _python_tokens(tok, text)
            assert got["ids"][row].numpy().tolist() == want_ids, repr(text)
            starts, ends = got["starts"][row].numpy(), got["ends"][row].numpy()
            assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == want_spans
        spans = layer.word_spans(tf.constant(texts, tf.string)).to_list()
        assert [[tuple(s) for s in row] for row in spans] == [tok.word_spans(t) for t in texts]
        padded = layer(tf.constant(texts, tf.string), tf.constant(texts[::-1], tf.string))
        want = tok(texts, texts[::-1], max_seq_length=48)
        assert all(np.array_equal(padded[key].numpy(), want[key]) for key in want)


@pytest.mark.parametrize("name", ["basic-wordpiece-lower", "mecab-unidic-character"])
def test_random_texts_of_tricky_characters(tokenizer_files, name):
    """Random texts mixing the characters the rules treat specially, in one batch."""
    tok, layer = _twin(tokenizer_files, name)
    rng = random.Random(2)
    alphabet = list("aZé東京ｶﾞﾟ\u3099\u0301\u0323Σ.,!#[CLS] \u3000\t\n\x00\x7f\u200b\ufeff😀①½ﬁİ")
    alphabet += ["##", "[SEP]", "\U0001d165", "\ue000", "\u0378"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(400)]
    got = layer.tokenize(tf.constant(texts))
    ids, starts, ends = (got[key].to_list() for key in ("ids", "starts", "ends"))
    for row, text in enumerate(texts):
        want_ids, want_spans = _python_tokens(tok, text)
        assert ids[row] == want_ids, repr(text)
        assert list(zip(starts[row], ends[row], strict=True)) == want_spans, repr(text)


@pytest.mark.parametrize("name", ["basic-wordpiece-lower", "mecab-unidic-wordpiece-lower"])
def test_word_spans_and_word_index_are_the_python_words(tokenizer_files, name):
    tok, layer = _twin(tokenizer_files, name)
    specials = tok.graph_spec()["specials"]  # kept whole: words of their own in word_index
    texts = [text for text in TEXTS if not any(special in text for special in specials)]
    spans = layer.word_spans(tf.constant(texts)).to_list()
    got = layer.tokenize(tf.constant(texts))
    starts, ends, words = (got[key].to_list() for key in ("starts", "ends", "word_index"))
    for row, text in enumerate(texts):
        want = tok.word_spans(text)
        assert [tuple(span) for span in spans[row]] == want, text
        for start, end, word in zip(starts[row], ends[row], words[row], strict=True):
            assert want[word][0] <= start and end <= want[word][1], text


def test_words_none_spans_are_unidic_words(tokenizer_files):
    tok = BertTokenizer(tokenizer_files["character"], False, word_tokenizer="none")
    layer = CoreOpsTokenizer.from_tokenizer(tok, mecab_graph=FugashiWordSpans("unidic_lite"))
    texts = ["東京タワーに行った。", "ｶﾞｰﾄﾞ…です", ""]
    got = layer.word_spans(tf.constant(texts)).to_list()
    assert [[tuple(s) for s in row] for row in got] == [tok.word_spans(t) for t in texts]


def test_special_tokens_kept_whole_are_words_of_their_own(tokenizer_files):
    tok, layer = _twin(tokenizer_files, "basic-wordpiece-cased-keep-specials")
    text = "ab[CLS]cd [SEP]"
    got = layer.tokenize(tf.constant([text]))
    spans = list(zip(got["starts"][0].numpy(), got["ends"][0].numpy(), strict=True))
    assert (2, 7) in spans and (10, 15) in spans
    words = got["word_index"][0].numpy().tolist()
    special = spans.index((2, 7))
    assert words[special] not in (words[special - 1], words[special + 1])


def test_sentencepiece_twin_lower_cases_then_delegates(tokenizer_files):
    """The SentencePiece lattice is `sentencepiece_graph`'s (tested there); here the twin
    lower-cases, maps the spans back through it and takes the ids from the vocabulary."""
    tok = SentencePieceTokenizer(tokenizer_files["spm_model"], tokenizer_files["spm_vocab"])
    layer = CoreOpsTokenizer.from_tokenizer(tok, 48)
    got = layer.tokenize(tf.constant(TEXTS))
    ids, starts, ends = (got[key].to_list() for key in ("ids", "starts", "ends"))
    for row, text in enumerate(TEXTS):
        want_ids, want_spans = _python_tokens(tok, text)
        assert ids[row] == want_ids, text
        assert list(zip(starts[row], ends[row], strict=True)) == want_spans, text
    want = tok(TEXTS, max_seq_length=48)
    padded = layer(tf.constant(TEXTS))
    assert all(np.array_equal(padded[key].numpy(), want[key]) for key in want)


@pytest.mark.parametrize("name", ["basic-wordpiece-lower", "basic-character"])
def test_equal_to_the_tensorflow_text_twin(tokenizer_files, name):
    tok, layer = _twin(tokenizer_files, name)
    texts = TEXTS[:300]
    got = layer(tf.constant(texts), tf.constant(TEXTS[-300:]))
    want = tok.in_graph(48)(tf.constant(texts), tf.constant(TEXTS[-300:]))
    assert all(np.array_equal(got[key].numpy(), want[key].numpy()) for key in want)


def test_in_a_keras_model_and_rebuilt_from_its_json_config(tokenizer_files):
    import json

    import keras

    tok, layer = _twin(tokenizer_files, "basic-wordpiece-lower")
    texts = list(TEXTS[:20])
    text_in = keras.Input(shape=(), dtype="string")
    model = keras.Model(text_in, layer(text_in))
    want = tok(texts, max_seq_length=48)
    got = model(tf.constant(texts))
    assert all(np.array_equal(got[key].numpy(), want[key]) for key in want)
    restored = CoreOpsTokenizer.from_config(json.loads(json.dumps(layer.get_config())))
    assert restored.spec == tok.graph_spec()
    got = restored(tf.constant(texts))
    assert all(np.array_equal(got[key].numpy(), want[key]) for key in want)


# Unicode rules ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unicode_run():
    tables = cu.UnicodeTables()
    functions = {}

    def run(texts, **transform):
        key = tuple(sorted(transform.items()))
        if key not in functions:

            def apply(batch):
                stream, _ = cu.stream_from_texts(batch)
                out = cu.aligned_transform(tables, stream, **transform)
                return out.chars, out.starts, out.ends, out.context

            functions[key] = tf.function(
                apply, input_signature=[tf.TensorSpec([None], tf.string)], autograph=False
            )
        chars, starts, ends, context = (t.numpy() for t in functions[key](tf.constant(texts)))
        bounds = np.searchsorted(context, np.arange(len(texts) + 1))
        return [
            (
                "".join(map(chr, chars[a:b])),
                list(zip(starts[a:b].tolist(), ends[a:b].tolist(), strict=True)),
            )
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]

    return run


def _assert_aligned_like_python(results, texts, transform):
    for (text_out, spans), text in zip(results, texts, strict=True):
        want = align(text, transform)
        assert text_out == want.text, repr(text)
        assert spans == [want.span(k, k + 1) for k in range(len(want.text))], repr(text)


def _every_bmp_character():
    return [chr(cp) for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF]


def _composing_sequences() -> list[str]:
    """Every composition pair, every composite decomposed, kana with voiced marks, and random
    runs of starters, marks of many classes, Hangul jamo and compatibility characters."""
    keys, composites = unicode_tables.compositions()
    key = unicode_tables.COMPOSITION_KEY
    texts = [chr(k // key) + chr(k % key) for k in keys.tolist()]
    texts += [unicodedata.normalize("NFD", chr(c)) for c in composites.tolist()]
    kana = [chr(c) for c in [*range(0x3041, 0x30FF), *range(0xFF61, 0xFFA0)]]
    texts += [a + b for a in kana for b in "\u3099\u309a\uff9e\uff9f"]
    rng = random.Random(0)
    marks = [chr(c) for c in range(0x300, 0x370)] + list("\u0345\u05b0\u0f71\u0f72\u1dce\u3099")
    firsts = [chr(c) for c in unicode_tables.composition_firsts()[::3].tolist()]
    jamo = [
        chr(c) for c in [*range(0x1100, 0x1113), *range(0x1161, 0x1176), *range(0x11A7, 0x11C4)]
    ]
    other = list("aeoｶﾞﾟΣς\ufb01\u337b\u2460\u00bd\u00a8\u212b\u2126 x\u0dd9\u0dcf\u0dca\uac00")
    alphabet = marks + firsts + jamo + other
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7))) for _ in range(20000)]
    # clusters longer than alignment's refinement limit (64) keep one span there
    texts += ["xa" + "\u0301\u0323" * k + "b" for k in (31, 32, 33, 40)]
    texts += ["e" + "\u0301" * 70 + "z", "q" + "\u0323\u0301" * 40, "ｶ" + "ﾞ" * 70]
    return texts


def test_nfkc_equals_unicodedata_with_pythons_alignment(unicode_run):
    for texts in (_every_bmp_character(), _composing_sequences(), list(TEXTS)):
        results = unicode_run(texts, decompose="NFKD", compose=True)
        _assert_aligned_like_python(results, texts, nfkc)


def test_lower_nfd_and_accent_stripping_equal_pythons(unicode_run):
    rng = random.Random(1)
    alphabet = list("ΣσΑαάΆ\u0301\u0323\u0345İI\u0307'.:\u00ad\u200b1 Ωςǅ\ufb00\u0308xᾼῼ")
    alphabet.append("\U0001d165")  # a spacing mark with a combining class: reordered, kept
    texts = _every_bmp_character() + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(10000)
    ]
    results = unicode_run(texts, lower=True, decompose="NFD", strip_marks=True)
    _assert_aligned_like_python(results, texts, lambda t: strip_accents(t.lower()))


def test_tables_follow_pythons_unicode():
    props = unicode_tables.properties()
    cps = np.arange(0x3000, 0x3100)
    bits = props.lookup(cps)
    for cp, value in zip(cps.tolist(), bits.tolist(), strict=True):
        assert bool(value & unicode_tables.WHITESPACE) == chr(cp).isspace()
    assert unicode_tables.combining().lookup(np.array([0x301, 0x41]))[0] == 230


# The graph holds core ops only -----------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["basic-wordpiece-cased-keep-specials", "basic-character-lower", "none-wordpiece"]
)
def test_the_graph_holds_core_ops_only(tokenizer_files, name):
    from jbert_tf2.tokenization.graph_ops_check import non_core_ops, op_types

    _, layer = _twin(tokenizer_files, name)
    used = op_types(layer._traced.tokenize.get_concrete_function())
    assert {"UnicodeDecode", "UpperBound"} <= used  # its own ops
    assert any(op.endswith("While") for op in used)
    assert non_core_ops(used) == set()


@pytest.mark.slow
def test_saved_model_runs_without_tensorflow_text_or_jbert(tokenizer_files, tmp_path):
    """A SavedModel with twins (NFKC, lower-casing, WordPiece, model inputs) loads and
    tokenizes in a process that imports neither tensorflow_text nor jbert_tf2: every op is
    core TensorFlow's. (MeCab and SentencePiece in such a process: tests of their graphs and
    of the export.)"""
    wordpiece, words = _twin(tokenizer_files, "basic-wordpiece-lower")
    character, chars = _twin(tokenizer_files, "basic-character-lower")
    module = tf.Module()
    module.layers = [words, chars]

    def serve(texts):
        out = {}
        for name, layer in (("words", words), ("chars", chars)):
            found = layer.tokenize(texts)
            out.update({f"{name}_{key}": found[key].to_tensor(-1) for key in ("ids", "starts")})
            out[f"{name}_inputs"] = layer(texts, texts)["input_ids"]
        return out

    module.serve = tf.function(serve, input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "saved"))
    texts = ["ｶﾞｰﾄﾞ Héllo ΟΔΟΣ", "東京タワーに行った。", ""]
    script = textwrap.dedent(
        f"""
        import json, sys
        import tensorflow as tf
        loaded = tf.saved_model.load({str(tmp_path / "saved")!r})
        out = loaded.serve(tf.constant({texts!r}))
        print(json.dumps({{key: value.numpy().tolist() for key, value in out.items()}}))
        assert "tensorflow_text" not in sys.modules and "jbert_tf2" not in sys.modules
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for name, tok in (("words", wordpiece), ("chars", character)):
        for row, text in enumerate(texts):
            want_ids, want_spans = _python_tokens(tok, text)
            assert [i for i in out[f"{name}_ids"][row] if i >= 0] == want_ids
            assert [s for s in out[f"{name}_starts"][row] if s >= 0] == [s for s, _ in want_spans]
        want = tok(texts, texts, max_seq_length=48)["input_ids"].tolist()
        assert out[f"{name}_inputs"] == want


# Bad specs and inputs --------------------------------------------------------------------


def test_bad_specs_and_inputs_are_clear_errors(tokenizer_files):
    spec = BertTokenizer(tokenizer_files["wordpiece_lower"]).graph_spec()
    with pytest.raises(JbertError, match="missing specials"):
        CoreOpsTokenizer({k: v for k, v in spec.items() if k != "specials"})
    with pytest.raises(JbertError, match="words='janome'"):
        CoreOpsTokenizer({**spec, "words": "janome"})
    with pytest.raises(JbertError, match="missing mecab_dic"):
        CoreOpsTokenizer({**spec, "words": "mecab"})
    with pytest.raises(JbertError, match="can overlap"):
        CoreOpsTokenizer({**spec, "specials": ["[CLS]", "S]x"]})
    layer = CoreOpsTokenizer(spec, 16)
    with pytest.raises(JbertError, match="tf.string"):
        layer(tf.constant([1, 2]))


def test_mecab_spec_names_its_dictionary_and_tensorflow_text_refuses_it(tokenizer_files):
    tok = BertTokenizer(
        tokenizer_files["mecab_ipadic"], False, word_tokenizer="mecab", mecab_dic="ipadic"
    )
    assert tok.graph_spec()["words"] == "mecab"
    assert tok.graph_spec()["mecab_dic"] == "ipadic"
    with pytest.raises(JbertError, match="CoreOpsTokenizer"):
        tok.in_graph()
