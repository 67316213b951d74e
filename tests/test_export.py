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
from jbert_tf2.tasks import MultiLabelClassifier, SequenceClassifier, TokenClassifier

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
    path, clf = trained_dir
    version = export_saved_model(clf, tmp_path, "topics")
    loaded = load_saved_model(version)
    payload = Preprocessor(version).rest_payload(TEXTS)
    # What TF Serving does with a columnar REST request: each input to its tensor.
    body = json.loads(json.dumps(payload))
    signature = loaded.signatures[body["signature_name"]]
    specs = signature.structured_input_signature[1]
    assert set(body["inputs"]) == set(specs)
    tensors = {
        k: np.asarray(v, dtype=specs[k].dtype.as_numpy_dtype) for k, v in body["inputs"].items()
    }
    out = signature(**tensors)
    np.testing.assert_allclose(out["probabilities"].numpy(), clf.predict_proba(TEXTS), atol=1e-5)


def test_mecab_tagger_exports_ids_with_labeled_positions(tmp_path):
    from jbert_tf2.backend import keras

    model_dir = tf_.make_model_dir(tmp_path / "m")  # mecab-character: no in-graph twin
    keras.utils.set_random_seed(0)
    tagger = TokenClassifier.from_pretrained(model_dir, labels=["O", "B-ORG", "I-ORG"])
    version = export_saved_model(tagger, tmp_path / "export", "ner")
    loaded = load_saved_model(version)
    assert set(loaded.signatures) == {"serving_default"}
    pre = Preprocessor(version)
    texts = ["ソニーが発表した。", "三代目 J SOUL BROTHERSが出演"]
    inputs = pre(texts)
    out = loaded.signatures["serving_default"](**{k: np.asarray(v) for k, v in inputs.items()})
    features = tagger.features(pre._tagging_features(texts)[1])
    python_logits = tagger.predict_logits(features)
    for row in range(len(texts)):
        first = np.flatnonzero(features.label_weights[row])
        np.testing.assert_allclose(
            out["logits"].numpy()[row, : len(first)], python_logits[row][first], atol=1e-5
        )
    entities = pre.entities(texts, out["predicted_ids"].numpy())
    assert len(entities) == 2
    for text, found in zip(texts, entities, strict=True):
        for e in found:
            assert text[e["start"] : e["end"]] == e["text"]


def test_multi_label_export_and_bad_paths(trained_dir, tmp_path):
    path, _ = trained_dir
    model_dir = path.parent / "model"
    clf = MultiLabelClassifier.from_pretrained(model_dir, labels=["a", "b"], thresholds=[0.3, 0.7])
    version = export_saved_model(clf, tmp_path, "ml")
    out = load_saved_model(version).signatures["predict_text"](texts=np.array(TEXTS[:2], object))
    probs = out["probabilities"].numpy()
    np.testing.assert_allclose(probs, clf.predict_proba(TEXTS[:2]), atol=1e-5)
    np.testing.assert_array_equal(out["predictions"].numpy(), (probs >= [0.3, 0.7]).astype(int))
    with pytest.raises(JbertError, match="saved_model.pb"):
        load_saved_model(tmp_path)
