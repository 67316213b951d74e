"""`GraphTagger`: windows, Viterbi and entities in the graph equal `TaggingPipeline`'s.

Here the word splitter and the tokenizer are Python stand-ins that hand the graph the Python
pipeline's words and sub-tokens as tensors, so these tests check the graph's own steps (windows,
model rows, Viterbi, reading entities) against `TokenClassifier.predict_entities`; the core-ops
twins are checked end to end by tests/test_export_core_ops.py.
"""

import numpy as np
import pytest

import jbert_tf2.tasks.tagging as tagging
from jbert_tf2.backend import tensorflow
from jbert_tf2.data.features import WordTokenizer
from jbert_tf2.tasks import TokenClassifier
from jbert_tf2.tasks.tagging_graph import GraphTagger, entities_from_outputs, viterbi

tf = tensorflow()

LABELS = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PSN", "I-PSN"]
TEXTS = [
    "ソニーが発表した。",
    "三代目 J SOUL BROTHERSが京都で佐藤花子さんに会った。",
    "山田太郎さんは東京でトヨタ自動車のライブを見た。" * 3,
    "",
    "   ",
    "札幌",
]


class PythonWords:
    """Stand-in twins: the Python pipeline's word spans and per-word ids, as tensors (eager)."""

    def __init__(self, tagger):
        self.pipeline = tagger.tagging_pipeline()
        self.pieces = WordTokenizer(tagger.tokenizer)

    def word_spans(self, texts):
        spans = [self.pipeline.word_spans(t.decode()) for t in texts.numpy()]
        flat = np.array([s for row in spans for s in row], np.int32).reshape(-1, 2)
        return tf.RaggedTensor.from_row_lengths(flat, [len(row) for row in spans])

    def tokenize(self, words):
        ids = [self.pieces(w.decode())[0] for w in words.numpy()]
        flat = np.array([i for row in ids for i in row], np.int32)
        return {"ids": tf.RaggedTensor.from_row_lengths(flat, [len(row) for row in ids])}


def _random_kernel(tagger, seed=0):
    """Seeded random head weights large enough that most words get entity tags."""
    kernel = tagger.head.dense.kernel
    rng = np.random.default_rng(seed)
    kernel.assign(rng.standard_normal(tuple(kernel.shape)).astype(np.float32))
    return tagger


def _tagger(model_dir, scheme_labels, max_seq_length, seed=0):
    tagger = TokenClassifier.from_pretrained(
        model_dir, labels=scheme_labels, max_seq_length=max_seq_length
    )
    return _random_kernel(tagger, seed)


@pytest.mark.parametrize(
    "labels, max_seq_length",
    [
        (LABELS, 12),
        (tagging.labels_for(["LOC", "ORG", "PSN"], "BIOES"), 16),
        (tagging.labels_for(["LOC", "ORG", "PSN"], "IO"), 64),
    ],
)
def test_graph_entities_equal_predict_entities(tiny_model_root, labels, max_seq_length):
    tagger = _tagger(tiny_model_root / "model", labels, max_seq_length)
    twins = PythonWords(tagger)
    graph = GraphTagger(tagger, twins, twins)
    expected = tagger.predict_entities(TEXTS)
    assert sum(map(len, expected)) > 5, expected  # entities to compare, long text included
    outputs = graph(tf.constant(TEXTS))
    assert entities_from_outputs(outputs) == expected
    assert outputs["num_entities"].numpy().tolist() == [len(e) for e in expected]
    # every text alone and an empty batch give the same answers
    assert entities_from_outputs(graph(tf.constant(TEXTS[1:2]))) == expected[1:2]
    assert entities_from_outputs(graph(tf.constant([], tf.string))) == []


def test_a_word_longer_than_a_window_is_left_untagged(tiny_model_root):
    """A word with more sub-tokens than a window holds gets a window alone and stays "O"
    (as `TaggingPipeline.windows`), and the words around it are still tagged."""
    tagger = _tagger(tiny_model_root / "model", LABELS, 6)
    twins = PythonWords(tagger)
    texts = ["ソニーが abcdefghij 京都で佐藤花子さん"]
    spans = twins.pipeline.word_spans(texts[0])
    assert any(len(twins.pieces(texts[0][s:e])[0]) > 4 for s, e in spans)
    expected = tagger.predict_entities(texts)
    assert expected[0]
    assert entities_from_outputs(GraphTagger(tagger, twins, twins)(tf.constant(texts))) == (
        expected
    )


def test_viterbi_matches_the_python_decoder_on_random_scores():
    """Batched in-graph Viterbi = `tagging.viterbi_decode` row by row, ties included."""
    rng = np.random.default_rng(3)
    for scheme in ("BIO", "BIOES", "BILOU", "IO"):
        labels = tagging.labels_for(["A", "B"], scheme)
        lengths = np.array([0, 1, 2, 7, 5])
        scores = rng.standard_normal((len(lengths), 7, len(labels)))
        scores[3, 2] = 0.5  # a tie between every label at one step
        scores[4, 1, 1] = -np.inf
        paths = viterbi(
            tf,
            tf.constant(scores),
            tf.constant(lengths, tf.int32),
            *tagging.viterbi_rules(labels, scheme),
        ).numpy()
        for row, length in enumerate(lengths):
            expected = tagging.viterbi_decode(scores[row, :length], labels, scheme)
            assert [labels[k] for k in paths[row, :length]] == expected, (scheme, row)


def test_core_twins_tag_with_the_tokenizers_own_words(tmp_path):
    """``word_splitter="tokenizer"`` on a basic + character model: the core-ops twin's words and
    sub-tokens give `predict_entities`' entities (English-style words, spaces, punctuation)."""
    import task_fixtures as tf_

    from jbert_tf2.tasks.tagging_graph import graph_tagger

    model_dir = tf_.make_model_dir(tmp_path, tokenizer="character")
    tagger = TokenClassifier.from_pretrained(
        model_dir, labels=LABELS, max_seq_length=12, word_splitter="tokenizer"
    )
    _random_kernel(tagger)
    texts = [*TEXTS, "Sony and Toyota met in Kyoto, Osaka!", "ソニー（株）は３社と…"]
    expected = tagger.predict_entities(texts)
    assert sum(map(len, expected)) > 5, expected
    function = tf.function(graph_tagger(tagger), input_signature=[tf.TensorSpec([None], tf.string)])
    assert entities_from_outputs(function(tf.constant(texts))) == expected


def test_unidic_words_in_the_graph_are_unidic_word_spans():
    """The tagger's default words in the graph = `unidic_word_spans` on every corpus text."""
    import tokenizer_fixtures

    from jbert_tf2.tokenization.core_ops import UnidicWordSplitter
    from jbert_tf2.tokenization.mecab import unidic_word_spans

    texts = [t for t in tokenizer_fixtures.corpus() if len(t) < 400]
    spans = UnidicWordSplitter().word_spans(tf.constant(texts))
    assert len(texts) > 300
    for text, found in zip(texts, spans.to_list(), strict=True):
        assert [tuple(s) for s in found] == unidic_word_spans(text), text
