"""SavedModel export: a fine-tuned classifier answers raw Japanese text in a fresh process as the
Python model does; the ids signatures and the Python pre-processor for MeCab tokenizers."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import task_fixtures as tf_

from jbert_tf2.cli.export import main
from jbert_tf2.errors import JbertError
from jbert_tf2.export import Preprocessor, export_saved_model, load_saved_model
from jbert_tf2.tasks import Embedder, MultiLabelClassifier, SequenceClassifier, TokenClassifier

pytestmark = pytest.mark.slow

TEXTS = ["今日は野球の試合について話した。", "新しいアプリを更新した。", "ラーメンの記事 です"]


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A classifier on a model whose tokenizer has an in-graph twin (basic + character)."""
    from jbert_tf2.backend import keras

    root = tmp_path_factory.mktemp("export")
    model_dir = tf_.make_model_dir(root, tokenizer="character")
    keras.utils.set_random_seed(0)
    clf = SequenceClassifier.from_pretrained(
        model_dir, labels=sorted(tf_.TOPICS), max_seq_length=48
    )
    clf.compile(optimizer=keras.optimizers.Adam(3e-3))
    clf.fit(clf.dataset(tf_.topic_examples(96, 1), 16, shuffle=True), epochs=1, verbose=0)
    return clf.save_pretrained(root / "clf"), clf


def test_exported_classifier_answers_raw_text_in_a_fresh_process(trained_dir, tmp_path, capsys):
    path, clf = trained_dir
    assert main([str(path), "-o", str(tmp_path / "export"), "--name", "topics"]) == 0
    shown = capsys.readouterr().out
    assert "signature predict_text" in shown and "signature serving_default" in shown
    version = tmp_path / "export" / "topics" / "1"
    assert (version / "saved_model.pb").is_file()
    script = f"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401
m = tf.saved_model.load({str(version)!r})
out = m.signatures["predict_text"](texts=tf.constant({TEXTS!r}))
print(json.dumps({{"label": [x.decode() for x in out["label"].numpy()],
                   "probabilities": out["probabilities"].numpy().tolist()}}))
"""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    expected = clf.predict_proba(TEXTS)
    np.testing.assert_allclose(np.array(served["probabilities"]), expected, atol=1e-5)
    assert served["label"] == [clf.labels[k] for k in expected.argmax(-1)]

    cli = subprocess.run(
        ["saved_model_cli", "show", "--dir", str(version), "--all"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if cli.returncode == 0:
        assert "predict_text" in cli.stdout and "serving_default" in cli.stdout

    # A second export gets the next version; an existing version is never replaced.
    assert main([str(path), "-o", str(tmp_path / "export"), "--name", "topics"]) == 0
    assert (tmp_path / "export" / "topics" / "2" / "saved_model.pb").is_file()
    assert (
        main([str(path), "-o", str(tmp_path / "export"), "--name", "topics", "--version", "1"]) == 2
    )


def test_rest_payload_matches_the_ids_signature(trained_dir, tmp_path):
    """Also the tensorflow-text twin (ops="text"): its predict_text answers as the model."""
    path, clf = trained_dir
    version = export_saved_model(clf, tmp_path, "topics", ops="text")
    loaded = load_saved_model(version)
    served = loaded.signatures["predict_text"](texts=np.array(TEXTS, object))
    np.testing.assert_allclose(served["probabilities"].numpy(), clf.predict_proba(TEXTS), atol=1e-5)
    # Where tensorflow-text cannot be imported, loading such an export says what to do.
    script = f"""
import sys
sys.modules["tensorflow_text"] = None  # import tensorflow_text fails
from jbert_tf2.errors import JbertError
from jbert_tf2.export import load_saved_model
try:
    load_saved_model({str(version)!r})
except JbertError as exc:
    print("ERROR", exc)
"""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    shown = result.stdout.strip().splitlines()[-1:]
    assert shown and shown[0].startswith("ERROR"), result.stderr[-2000:]
    assert "tensorflow-text is not installed" in shown[0] and "--ops core" in shown[0]
    payload = Preprocessor(version).rest_payload(TEXTS)
    # What TF Serving does with a columnar REST request: each input to its tensor.
    body = json.loads(json.dumps(payload))
    signature = loaded.signatures[body["signature_name"]]
    specs = signature.structured_input_signature[1]
    assert set(body["inputs"]) == set(specs) == {"input_ids", "input_mask", "segment_ids"}
    assert set(signature.structured_outputs) == {
        "logits",
        "probabilities",
        "predicted_ids",
        "label",
        "score",
    }
    tensors = {
        k: np.asarray(v, dtype=specs[k].dtype.as_numpy_dtype) for k, v in body["inputs"].items()
    }
    out = signature(**tensors)
    np.testing.assert_allclose(out["probabilities"].numpy(), clf.predict_proba(TEXTS), atol=1e-5)


NER_LABELS = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PSN", "I-PSN"]
NER_LENGTH = 16  # tokens per window: the long texts below take several
NER_TEXTS = [
    "ソニーが発表した。",
    "三代目 J SOUL BROTHERSが京都で佐藤花子さんに会った。",
    "山田太郎さんは東京でトヨタ自動車のライブを見た。" * 2,
    "",
]


@pytest.fixture(scope="module")
def tagger_export(tmp_path_factory):
    """A BIO tagger on a MeCab tokenizer with seeded random head weights large enough that
    most words get entity tags, exported with ops="text" (tensorflow-text has no MeCab twin:
    the ids signature and the Preprocessor; tests/test_export_core_ops.py serves its entities
    in the graph)."""
    root = tmp_path_factory.mktemp("tagger")
    model_dir = tf_.make_model_dir(root)  # mecab-character
    tagger = TokenClassifier.from_pretrained(
        model_dir, labels=NER_LABELS, max_seq_length=NER_LENGTH
    )
    kernel = tagger.head.dense.kernel
    rng = np.random.default_rng(0)
    kernel.assign(rng.standard_normal(tuple(kernel.shape)).astype(np.float32))
    return tagger, export_saved_model(tagger, root / "export", "ner", ops="text")


def test_served_tagger_returns_the_python_taggers_entities_window_by_window(tagger_export):
    tagger, version = tagger_export
    loaded = load_saved_model(version)
    assert set(loaded.signatures) == {"serving_default"}
    signature = loaded.signatures["serving_default"]
    assert set(signature.structured_input_signature[1]) == {
        "input_ids",
        "input_mask",
        "segment_ids",
        "labeled_positions",
    }
    outputs = {"logits", "probabilities", "predicted_ids", "label"}
    assert set(signature.structured_outputs) == outputs

    pre = Preprocessor(version)
    inputs = pre(NER_TEXTS)
    assert len(inputs["input_ids"]) > len(NER_TEXTS)  # the long texts take several windows
    assert inputs["input_ids"].shape[1] <= NER_LENGTH
    out = signature(**{k: np.asarray(v) for k, v in inputs.items()})
    pipeline = tagger.tagging_pipeline()
    windows = pipeline.windows([s.words for s in pipeline.sentences(NER_TEXTS)])
    python_logits = pipeline.word_scores(windows, tagger.predict_logits(windows.features))
    for row, logits in enumerate(python_logits):
        np.testing.assert_allclose(out["logits"].numpy()[row, : len(logits)], logits, atol=1e-5)

    expected = tagger.predict_entities(NER_TEXTS)
    # Entities in the short and the long texts, so that equality below means something.
    assert all(expected[:3]), expected
    assert max(e["end"] for e in expected[2]) > 2 * NER_LENGTH  # found past the first windows
    assert expected[3] == []
    assert pre.entities(NER_TEXTS, out) == expected
    assert pre.entities(NER_TEXTS, out["logits"].numpy()) == expected
    # As a TF Serving REST client gets them: the JSON payload in, the columnar outputs back.
    body = json.loads(json.dumps(pre.rest_payload(NER_TEXTS)))["inputs"]
    again = signature(**{k: np.asarray(v, np.int32) for k, v in body.items()})
    response = json.loads(json.dumps({"outputs": {"logits": again["logits"].numpy().tolist()}}))
    assert pre.entities(NER_TEXTS, response["outputs"]) == expected


def test_served_tagger_ids_decode_window_by_window(tagger_export):
    _, version = tagger_export
    loaded = load_saved_model(version)
    pre = Preprocessor(version)
    inputs = pre(NER_TEXTS)
    out = loaded.signatures["serving_default"](**{k: np.asarray(v) for k, v in inputs.items()})
    found = pre.entities(NER_TEXTS, out["predicted_ids"].numpy())
    assert pre.entities(NER_TEXTS, predicted_ids=out["predicted_ids"].numpy()) == found
    assert len(found) == len(NER_TEXTS)
    for text, entities in zip(NER_TEXTS, found, strict=True):
        for e in entities:
            assert text[e["start"] : e["end"]] == e["text"]
            assert e["label"] in {"LOC", "ORG", "PSN"}
    assert max(e["end"] for e in found[2]) > 2 * NER_LENGTH  # not truncated to one window
    with pytest.raises(JbertError, match="windows"):
        pre.entities(NER_TEXTS[:1], out["logits"].numpy())
    with pytest.raises(JbertError, match="text_pairs"):
        pre(NER_TEXTS, NER_TEXTS)


def test_jbert_export_of_a_saved_tagger_serves_its_entities(tagger_export, tmp_path, capsys):
    """The command path: save_pretrained -> jbert-export -> Preprocessor + serving_default gives
    the entities of the tagger loaded back from its directory, long texts included."""
    from jbert_tf2.tasks import load_task

    tagger, _ = tagger_export
    saved = tagger.save_pretrained(tmp_path / "tagger")
    assert main([str(saved), "-o", str(tmp_path / "serving"), "--name=ner", "--ops=text"]) == 0
    capsys.readouterr()
    version = tmp_path / "serving" / "ner" / "1"
    pre = Preprocessor(version)
    inputs = pre(NER_TEXTS)
    out = load_saved_model(version).signatures["serving_default"](
        **{k: np.asarray(v) for k, v in inputs.items()}
    )
    expected = load_task(saved).predict_entities(NER_TEXTS)
    assert all(expected[:3]), expected
    assert max(e["end"] for e in expected[2]) > 2 * NER_LENGTH
    assert pre.entities(NER_TEXTS, out) == expected


def test_multi_label_export_and_bad_paths(trained_dir, tmp_path):
    path, _ = trained_dir
    model_dir = path.parent / "model"
    clf = MultiLabelClassifier.from_pretrained(model_dir, labels=["a", "b"], thresholds=[0.3, 0.7])
    version = export_saved_model(clf, tmp_path, "ml")
    out = load_saved_model(version).signatures["predict_text"](texts=np.array(TEXTS[:2], object))
    assert set(out) == {"logits", "probabilities", "predictions", "labels"}
    probs = out["probabilities"].numpy()
    np.testing.assert_allclose(probs, clf.predict_proba(TEXTS[:2]), atol=1e-5)
    chosen = probs >= [0.3, 0.7]
    np.testing.assert_array_equal(out["predictions"].numpy(), chosen.astype(int))
    names = [[label.decode() for label in row] for row in out["labels"].numpy()]
    assert names == [[lab if c else "" for lab, c in zip("ab", row, strict=True)] for row in chosen]
    with pytest.raises(JbertError, match="saved_model.pb"):
        load_saved_model(tmp_path)


def test_embedder_export_serves_its_vectors(trained_dir, tmp_path):
    path, _ = trained_dir
    embedder = Embedder.from_pretrained(path.parent / "model", pooling="mean")
    loaded = load_saved_model(export_saved_model(embedder, tmp_path, "vectors"))
    out = loaded.signatures["predict_text"](texts=np.array(TEXTS, object))
    assert set(out) == {"embeddings"}
    np.testing.assert_allclose(out["embeddings"].numpy(), embedder.embed(TEXTS), atol=1e-5)
