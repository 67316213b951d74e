"""Classifiers and the Embedder on texts longer than ``max_seq_length`` (``long_text="windows"``):
the aggregation against a numpy reference, a document counted once in the loss, prediction equal
to truncation on short texts, options kept in task.json, token vectors from the max-context
window, the in-graph aggregation equal to Python's, and a Trainer run."""

import numpy as np
import pytest
import task_fixtures as tf_

from jbert_tf2.backend import keras, ops
from jbert_tf2.data.examples import TextExample
from jbert_tf2.data.windows import best_windows, plan_windows
from jbert_tf2.errors import JbertError
from jbert_tf2.tasks import Embedder, MultiLabelClassifier, SequenceClassifier, load_task
from jbert_tf2.tasks.long_text import AGGREGATIONS, aggregate_by_text, aggregate_windows

pytestmark = pytest.mark.slow

LABELS = sorted(tf_.TOPICS)
LONG = [
    "今日は野球の試合について話した。" * 3,
    "新しいアプリを更新した。みんなの画面が気になる。" * 2,
    "ラーメン",
]


@pytest.fixture(scope="module")
def model_dir(tiny_model_root):
    return tiny_model_root / "model"


def _aggregate_reference(logits, counts, how, multi_label):
    """Each document's aggregate of its windows' logits, written out with plain numpy."""
    out, row = [], 0
    for n in counts:
        z = np.asarray(logits[row : row + n], np.float64)
        row += n
        if how == "mean":
            out.append(z.mean(0))
        elif how == "max":
            out.append(z.max(0))
        else:
            c = z if multi_label else z - z.mean(1, keepdims=True)
            confidence = np.abs(c).max(1)
            w = np.exp(confidence - confidence.max())
            out.append((w / w.sum()) @ z)
    return np.stack(out)


@pytest.mark.parametrize("how", AGGREGATIONS)
@pytest.mark.parametrize("multi_label", [False, True])
def test_aggregation_matches_numpy_and_ignores_padded_windows(how, multi_label):
    rng = np.random.default_rng(1)
    counts = [3, 1, 4]
    logits = rng.normal(0, 2, (sum(counts), 5)).astype(np.float32)
    padded = np.full((3, 4, 5), 1e3, np.float32)  # padding would dominate if it counted
    mask = np.zeros((3, 4), np.float32)
    row = 0
    for d, n in enumerate(counts):
        padded[d, :n], mask[d, :n] = logits[row : row + n], 1
        row += n
    expected = _aggregate_reference(logits, counts, how, multi_label)
    got = ops.convert_to_numpy(aggregate_windows(padded, mask, how, multi_label))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    text_index = np.repeat(np.arange(3), counts)
    by_text = aggregate_by_text(logits, text_index, 3, how, multi_label)
    np.testing.assert_allclose(np.asarray(by_text), expected, rtol=1e-5, atol=1e-5)


def _windowed(model_dir, cls=SequenceClassifier, **options):
    keras.utils.set_random_seed(0)
    options = {"max_seq_length": 12, "long_text": "windows", "doc_stride": 4, **options}
    return cls.from_pretrained(model_dir, labels=LABELS, **options)


def _window_logits(model, features):
    return np.stack(
        [
            np.asarray(model(features.padded([row], len(ids)), training=False))[0]
            for row, ids in enumerate(features.input_ids)
        ]
    )


@pytest.mark.parametrize("how", AGGREGATIONS)
def test_prediction_aggregates_each_documents_windows(model_dir, how):
    clf = _windowed(model_dir, window_aggregation=how)
    features = clf.text_features(LONG)
    counts = features.window_counts
    assert counts[0] > 2 and counts[-1] == 1
    expected = _aggregate_reference(_window_logits(clf, features), counts, how, False)
    np.testing.assert_allclose(np.stack(clf.predict_logits(features)), expected, atol=1e-5)
    probs = clf.predict_proba(LONG)
    assert probs.shape == (3, len(LABELS))
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)


def test_short_texts_predict_as_truncation_does(model_dir):
    texts = [e.text for e in tf_.topic_examples(6, seed=4)]
    pairs = ["昨日の試合", "", "アプリ", "寿司", "野球", "画面"]
    for cls in (SequenceClassifier, MultiLabelClassifier):
        windows = _windowed(model_dir, cls, max_seq_length=48)
        truncate = cls.from_pretrained(model_dir, labels=LABELS, max_seq_length=48)
        truncate.set_weights(windows.get_weights())
        expected = truncate.predict_proba(texts, pairs)
        for how in AGGREGATIONS:
            windows.window_aggregation = how
            np.testing.assert_allclose(windows.predict_proba(texts, pairs), expected, atol=1e-6)


def test_training_loss_counts_each_document_once(model_dir):
    clf = _windowed(model_dir, window_aggregation="cls_weighted")
    clf.compile(optimizer="adam")
    examples = [TextExample(t, None, label) for t, label in zip(LONG, LABELS, strict=True)]
    features = clf.features(examples)
    batches = list(clf.dataset(examples, batch_size=8))
    assert sum(len(labels) for _, labels in batches) == 3  # each document once
    for inputs, labels in batches:
        assert inputs["input_ids"].shape[0] == len(labels)  # documents, not windows
    logits = _aggregate_reference(
        _window_logits(clf, features), features.window_counts, "cls_weighted", False
    )
    shifted = logits - logits.max(1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    expected = -np.mean(log_probs[np.arange(3), features.labels])
    loss = clf.evaluate(clf.dataset(examples, batch_size=8), verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(expected, rel=1e-4)
    history = clf.fit(clf.dataset(examples, batch_size=2, shuffle=True), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_window_options_are_saved_and_loaded(model_dir, tmp_path):
    clf = _windowed(model_dir, MultiLabelClassifier, window_aggregation="max")
    out = clf.save_pretrained(tmp_path / "clf")
    again = load_task(out)
    assert (again.long_text, again.doc_stride, again.window_aggregation) == ("windows", 4, "max")
    np.testing.assert_allclose(again.predict_proba(LONG), clf.predict_proba(LONG), atol=1e-6)
    # The default stride is saved as such: another max_seq_length takes its own default.
    clf.doc_stride = 5  # the default of max_seq_length 12
    out = clf.save_pretrained(tmp_path / "default", overwrite=True)
    assert load_task(out).doc_stride == 5
    assert MultiLabelClassifier.from_pretrained(out, max_seq_length=24).doc_stride == 11


def test_pairs_window_the_longer_text(model_dir):
    clf = _windowed(model_dir)
    features = clf.text_features(["短い。"], [LONG[0]])
    assert features.window_counts.tolist() == [len(features)] and len(features) > 2
    for ids, segments in zip(features.input_ids, features.segment_ids, strict=True):
        assert len(ids) <= 12
        assert ids[:4].tolist() == features.input_ids[0][:4].tolist()  # [CLS] 短 い 。 kept
        assert segments[:5].tolist() == [0] * 5 and segments[5:].all()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"doc_stride": 0}, "doc_stride=0: must be in 1..9"),
        ({"doc_stride": 10}, "doc_stride=10: must be in 1..9"),
        ({"long_text": "chunks"}, "long_text='chunks': use one of truncate, windows"),
        ({"window_aggregation": "median"}, "window_aggregation='median': use one of mean"),
    ],
)
def test_bad_window_options_are_explained(model_dir, options, match):
    with pytest.raises(JbertError, match=match):
        SequenceClassifier.from_pretrained(
            model_dir, labels=LABELS, max_seq_length=12, **{"long_text": "windows", **options}
        )


def test_embedder_windows_equal_the_single_pass_where_the_text_fits(model_dir):
    options = {"max_seq_length": 48, "layers": (-1, -2), "pooling": "mean"}
    windows = Embedder.from_pretrained(model_dir, long_text="windows", doc_stride=8, **options)
    single = Embedder.from_pretrained(model_dir, **options)
    texts, pairs = ["野球の試合について話した。", "アプリ"], ["監督", "新しい画面が気になる。"]
    got = windows.token_vectors(texts, pairs)
    enc = single.tokenizer(texts, pairs, max_seq_length=48)
    out = single.encoder(enc)
    for i, found in enumerate(got):
        n = int(enc["input_mask"][i].sum())
        expected = np.concatenate([np.asarray(out["hidden_states"][k])[i, :n] for k in (-1, -2)], 1)
        np.testing.assert_allclose(found.vectors, expected, atol=1e-5)
        assert found.tokens == single.tokenizer.encode(texts[i], pairs[i], None).tokens
    np.testing.assert_allclose(windows.embed(texts, pairs), single.embed(texts, pairs), atol=1e-5)


def test_embedder_token_vectors_come_from_the_max_context_window(model_dir):
    embedder = Embedder.from_pretrained(
        model_dir, max_seq_length=10, long_text="windows", doc_stride=3
    )
    text = LONG[0]
    (found,) = embedder.token_vectors([text])
    full = embedder.tokenizer.encode(text, None, None, pad=False)
    assert found.tokens == full.tokens and found.offsets == full.offsets
    for token, (s, e) in zip(found.tokens[1:-1], found.offsets[1:-1], strict=True):
        assert text[s:e] == token
    plan = plan_windows(full.length - 2, None, 10, 3)
    choice = best_windows(plan)
    assert len(set(choice.tolist())) == len(plan) > 2
    for position in range(full.length):
        window = plan.positions[choice[position]]
        ids = np.asarray([full.input_ids[p] for p in window], np.int32)[None]
        states = embedder.encoder(
            {"input_ids": ids, "input_mask": np.ones_like(ids), "segment_ids": np.zeros_like(ids)}
        )["sequence_output"]
        slot = int(np.flatnonzero(window == position)[0])
        np.testing.assert_allclose(found.vectors[position], np.asarray(states)[0, slot], atol=1e-5)
    assert embedder.embed([text]).shape == (1, embedder.config.hidden_size)


def test_in_graph_windows_and_aggregation_predict_as_python(model_dir):
    from jbert_tf2.backend import tensorflow
    from jbert_tf2.data.windows_graph import window_inputs

    tf = tensorflow()
    clf = _windowed(model_dir, window_aggregation="cls_weighted")
    tok = clf.tokenizer
    ids = tf.ragged.constant([tok.token_ids(t) for t in LONG], tf.int32, row_splits_dtype=tf.int64)
    inputs, text_index = window_inputs(
        ids, cls_id=tok.vocab["[CLS]"], sep_id=tok.vocab["[SEP]"], max_seq_length=12, doc_stride=4
    )
    logits = clf(inputs, training=False)
    graph = aggregate_by_text(logits, text_index, len(LONG), "cls_weighted", False)
    np.testing.assert_allclose(
        np.asarray(graph), np.stack(clf.predict_logits(clf.text_features(LONG))), atol=1e-5
    )


def test_trainer_trains_a_windowed_classifier(model_dir, tmp_path):
    from jbert_tf2.training import Trainer, create_optimizer

    examples = [
        TextExample(t * 2, None, e.label)
        for t, e in zip(LONG * 4, tf_.topic_examples(12, 6), strict=True)
    ]

    def model_fn():
        clf = _windowed(model_dir)
        clf.compile(optimizer=create_optimizer(1e-3, 4, 0))
        return clf

    probe = model_fn()
    trainer = Trainer(model_fn, tmp_path / "run", strategy="cpu", epochs=1, progress=False)
    history = trainer.fit(
        lambda epoch: probe.dataset(examples, batch_size=4, shuffle=True, epoch=epoch),
        probe.dataset(examples, batch_size=8),
    )
    assert np.isfinite(history["val_loss"]).all()
    best = load_task(tmp_path / "run" / "best")
    assert best.long_text == "windows" and best.doc_stride == 4


def test_serve_text_windows_raw_text_in_the_graph_as_python(model_dir):
    from jbert_tf2.backend import tensorflow
    from jbert_tf2.tokenization.core_ops import CoreOpsTokenizer

    tf = tensorflow()
    clf = _windowed(model_dir, MultiLabelClassifier, window_aggregation="max")
    twin = CoreOpsTokenizer(clf.tokenizer.graph_spec(), max_seq_length=12)
    pairs = ["短い。", "", "アプリ"]
    served = tf.function(lambda t, p: clf.serve_text(twin, t, p))(
        tf.constant(LONG), tf.constant(pairs)
    )
    np.testing.assert_allclose(
        served["probabilities"].numpy(), clf.predict_proba(LONG, pairs), atol=1e-5
    )
    truncate = SequenceClassifier.from_pretrained(model_dir, labels=LABELS, max_seq_length=12)
    plain = truncate.serve_text(twin, tf.constant(LONG))
    np.testing.assert_allclose(
        plain["probabilities"].numpy(), truncate.predict_proba(LONG), atol=1e-5
    )


def test_a_windowed_embedder_refuses_a_truncating_text_signature(model_dir, tmp_path):
    """An export of a windowed Embedder would serve truncated vectors: refused, with the fix."""
    from jbert_tf2.export import export_saved_model

    embedder = Embedder.from_pretrained(model_dir, max_seq_length=12, long_text="windows")
    with pytest.raises(JbertError, match="long_text='truncate'"):
        export_saved_model(embedder, tmp_path, "emb")
    assert not (tmp_path / "emb" / "1").exists()
