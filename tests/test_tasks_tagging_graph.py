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
from jbert_tf2.tasks.tagging_graph import GraphTagger, padded_entities_to_lists, viterbi

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


def _tagger(model_dir, scheme_labels, max_seq_length, seed=0):
    tagger = TokenClassifier.from_pretrained(
        model_dir, labels=scheme_labels, max_seq_length=max_seq_length
    )
    kernel = tagger.head.dense.kernel
    rng = np.random.default_rng(seed)
    kernel.assign(rng.standard_normal(tuple(kernel.shape)).astype(np.float32))
    return tagger


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
    assert padded_entities_to_lists(outputs) == expected
    assert outputs["num_entities"].numpy().tolist() == [len(e) for e in expected]
    # every text alone and an empty batch give the same answers
    assert padded_entities_to_lists(graph(tf.constant(TEXTS[1:2]))) == expected[1:2]
    assert padded_entities_to_lists(graph(tf.constant([], tf.string))) == []


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
    assert padded_entities_to_lists(GraphTagger(tagger, twins, twins)(tf.constant(texts))) == (
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
