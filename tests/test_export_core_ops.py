"""Core-ops exports (issue 22): a MeCab + WordPiece classifier and a MeCab + character tagger,
exported with `jbert-export`, answer raw Japanese text in a fresh process that imports neither
tensorflow_text nor jbert_tf2, as the Python models do; the graph holds only core TensorFlow
ops; the core twin tokenizes inside `tf.data`; LiteRT with TF ops converts the classifier."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import task_fixtures as tf_
import tokenizer_fixtures

from jbert_tf2.backend import tensorflow
from jbert_tf2.cli.export import main
from jbert_tf2.export import load_saved_model
from jbert_tf2.tasks import SequenceClassifier, TokenClassifier

pytestmark = pytest.mark.slow

TEXTS = [
    "今日は野球の試合について話した。",
    "新しいアプリを更新した!",
    "ラーメンの記事　です",
    "",
    "ＡＢＣ（株）の決算は１２３億円。",
]
NER_LABELS = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PSN", "I-PSN"]
NER_LENGTH = 16  # tokens per window: the long text takes several
NER_TEXTS = [
    "ソニーが発表した。",
    "三代目 J SOUL BROTHERSが京都で佐藤花子さんに会った。",
    "山田太郎さんは東京でトヨタ自動車のライブを見た。" * 4,
    "",
    "　札幌 ",
]

FRESH_PROCESS = """
import json, sys
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

clf_dir, ner_dir, texts, ner_texts = json.loads(sys.argv[1])


def op_types(path):
    proto = saved_model_pb2.SavedModel()
    with open(path + "/saved_model.pb", "rb") as handle:
        proto.ParseFromString(handle.read())
    ops, functions = set(), set()
    for graph in proto.meta_graphs:
        ops |= {node.op for node in graph.graph_def.node}
        for function in graph.graph_def.library.function:
            functions.add(function.signature.name)
            ops |= {node.op for node in function.node_def}
    return ops - functions


unknown, counts, tables = {}, {}, {}
for path in (clf_dir, ner_dir):
    ops = op_types(path)
    unknown[path] = sorted(op for op in ops if op_def_registry.get(op) is None)
    counts[path] = len(ops)
    tables[path] = "LookupTableFindV2" in ops and "StatelessWhile" in ops
clf = tf.saved_model.load(clf_dir)
out = clf.signatures["predict_text"](texts=tf.constant(texts))
pairs = clf.signatures["predict_text_pair"](
    texts=tf.constant(texts), text_pairs=tf.constant(texts[::-1])
)
ner = tf.saved_model.load(ner_dir)
found = ner.signatures["predict_entities"](texts=tf.constant(ner_texts))
entities = []
for row, count in enumerate(found["num_entities"].numpy()):
    entities.append([
        {
            "text": found["text"].numpy()[row, k].decode(),
            "label": found["label"].numpy()[row, k].decode(),
            "start": int(found["start"].numpy()[row, k]),
            "end": int(found["end"].numpy()[row, k]),
        }
        for k in range(count)
    ])
print(json.dumps({
    "unknown_ops": unknown,
    "op_counts": counts,
    "has_tables_and_loops": tables,
    "probabilities": out["probabilities"].numpy().tolist(),
    "label": [x.decode() for x in out["label"].numpy()],
    "pair_probabilities": pairs["probabilities"].numpy().tolist(),
    "entities": entities,
    "modules": sorted(m for m in ("tensorflow_text", "jbert_tf2") if m in sys.modules),
}))
"""


def _random_head(task, seed: int = 0):
    """Seeded random head weights large enough that the answers differ between inputs (and
    most words of the tagger get entity tags)."""
    kernel = task.head.dense.kernel
    rng = np.random.default_rng(seed)
    kernel.assign(rng.standard_normal(tuple(kernel.shape)).astype(np.float32))
    return task


@pytest.fixture(scope="module")
def exports(tmp_path_factory, tiny_model_root):
    """A MeCab (unidic-lite) + WordPiece classifier and a MeCab + character tagger, saved and
    exported with the command's defaults (--ops core)."""
    root = tmp_path_factory.mktemp("core_exports")
    vocab = tokenizer_fixtures.train_wordpiece(
        root / "vocab", lowercase=False, vocab_size=600, mecab_dic="unidic_lite"
    )
    tokens = vocab.read_text(encoding="utf-8").split("\n")[:-1]
    model_dir = tf_.make_model_dir(root / "wp", tokenizer="mecab-wordpiece", tokens=tokens)
    clf = _random_head(
        SequenceClassifier.from_pretrained(model_dir, labels=sorted(tf_.TOPICS), max_seq_length=24)
    )
    tagger = _random_head(
        TokenClassifier.from_pretrained(
            tiny_model_root / "model", labels=NER_LABELS, max_seq_length=NER_LENGTH
        )
    )
    paths = {}
    for name, task in (("clf", clf), ("ner", tagger)):
        paths[f"{name}_saved"] = task.save_pretrained(root / name)
        assert main([str(paths[f"{name}_saved"]), "-o", str(root / "serving"), "--name", name]) == 0
        paths[name] = root / "serving" / name / "1"
    return clf, tagger, paths


def test_core_export_answers_raw_text_in_a_process_without_tensorflow_text(exports):
    clf, tagger, paths = exports
    expected_entities = tagger.predict_entities(NER_TEXTS)
    assert all(expected_entities[:3]), expected_entities  # entities to compare
    assert max(e["end"] for e in expected_entities[2]) > 3 * NER_LENGTH  # in later windows
    argument = json.dumps([str(paths["clf"]), str(paths["ner"]), TEXTS, NER_TEXTS])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, argument],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["modules"] == []
    assert served["unknown_ops"] == {str(paths["clf"]): [], str(paths["ner"]): []}
    assert min(served["op_counts"].values()) > 50  # the graphs were read, not empty lists
    assert all(served["has_tables_and_loops"].values())
    expected = clf.predict_proba(TEXTS)
    assert np.ptp(expected, axis=0).max() > 1e-3  # the texts get different answers
    np.testing.assert_allclose(np.array(served["probabilities"]), expected, atol=1e-5)
    assert served["label"] == [clf.labels[k] for k in expected.argmax(-1)]
    pair_expected = clf.predict_proba(TEXTS, TEXTS[::-1])
    np.testing.assert_allclose(np.array(served["pair_probabilities"]), pair_expected, atol=1e-5)
    assert served["entities"] == expected_entities


def test_load_saved_model_needs_no_tensorflow_text_for_a_core_export(exports, monkeypatch):
    """`load_saved_model` imports tensorflow_text only for graphs that use its ops."""
    _, tagger, paths = exports
    monkeypatch.setitem(sys.modules, "tensorflow_text", None)  # `import tensorflow_text` fails
    loaded = load_saved_model(paths["ner"])
    assert set(loaded.signatures) == {"serving_default", "predict_entities"}


def test_ops_text_keeps_the_tensorflow_text_twin(exports, tmp_path, capsys):
    """--ops text: a MeCab model gets no text signature (tensorflow-text has no MeCab) and the
    command says what to use instead."""
    _, _, paths = exports
    capsys.readouterr()
    assert main([str(paths["clf_saved"]), "-o", str(tmp_path), "--ops", "text"]) == 0
    shown = capsys.readouterr().out
    assert "signature serving_default" in shown
    assert "signature predict_text" not in shown
    assert "no predict_text signature" in shown and "--ops core" in shown


def test_core_twin_tokenizes_inside_tf_data_for_mecab_models(exports):
    """A MeCab + WordPiece model's core twin in `dataset.map` makes the Python tokenizer's
    inputs (a TPU host's input pipeline)."""
    from jbert_tf2.tokenization.core_ops import CoreOpsTokenizer

    tf = tensorflow()
    clf, _, _ = exports
    twin = CoreOpsTokenizer(clf.tokenizer.graph_spec(), max_seq_length=24)
    dataset = tf.data.Dataset.from_tensor_slices(TEXTS).batch(2).map(twin)
    ids = np.concatenate([batch["input_ids"].numpy() for batch in dataset])
    expected = clf.tokenizer(TEXTS, max_seq_length=24)
    np.testing.assert_array_equal(ids, np.asarray(expected["input_ids"]))


def test_core_classifier_converts_to_litert_with_tf_ops(exports):
    """LiteRT's converter with TF ops (SELECT_TF_OPS) converts the classifier's raw-text
    signature; the TF ops it keeps are core ones (Flex). Running it needs a LiteRT runtime
    with the Flex delegate, which the pip interpreters here lack (TF 2.21, ai-edge-litert)."""
    tf = tensorflow()
    _, _, paths = exports
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(paths["clf"]), signature_keys=["predict_text"]
    )
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS,
        tf.lite.OpsSet.SELECT_TF_OPS,
    ]
    flatbuffer = converter.convert()
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    signature = interpreter.get_signature_list()["predict_text"]
    assert signature["inputs"] == ["texts"]
    assert set(signature["outputs"]) == {
        "logits",
        "probabilities",
        "predicted_ids",
        "label",
        "score",
    }


def test_windowed_classifier_export_reads_long_texts_in_windows(exports, tmp_path):
    """A classifier saved with long_text="windows" is served the same way: its predict_text
    cuts the windows and aggregates them in the graph, as `predict_proba` does in Python."""
    from jbert_tf2.export import export_saved_model

    _, _, paths = exports
    long_texts = [TEXTS[0] * 6, TEXTS[1], TEXTS[4] * 3, ""]
    for aggregation in ("cls_weighted",):  # mean and max: tests/test_tasks_long_text.py
        windowed = SequenceClassifier.from_pretrained(
            paths["clf_saved"],
            max_seq_length=12,
            long_text="windows",
            doc_stride=4,
            window_aggregation=aggregation,
        )
        assert len(windowed.tokenizer.tokenize(long_texts[0])) > 3 * 12  # several windows
        target = export_saved_model(windowed, tmp_path, f"clf_{aggregation}")
        served = load_saved_model(target).signatures["predict_text"](
            texts=tensorflow().constant(long_texts)
        )
        expected = windowed.predict_proba(long_texts)
        windowed.long_text = "truncate"
        with pytest.warns(UserWarning, match="truncated"):
            truncated = windowed.predict_proba(long_texts)
        assert np.abs(expected - truncated).max() > 1e-3  # windows change the answer
        np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)
