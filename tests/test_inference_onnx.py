"""The onnxruntime backend: task predictions and jbert-extract-features equal Keras'."""

import json

import numpy as np
import pytest
import task_fixtures as tf_

pytest.importorskip("onnxruntime")

from jbert_tf2.errors import JbertError  # noqa: E402
from jbert_tf2.tasks import Embedder, SequenceClassifier, TokenClassifier  # noqa: E402

TEXTS = [
    "今日は野球の試合について話した。",
    "三代目 J SOUL BROTHERSが東京でライブを開いた。",
    "新しいアプリを更新した。" * 4,
]


def _randomize(layer, seed):
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign((rng.standard_normal(variable.shape) * 0.5).astype(np.float32))


def test_classifier_and_embedder_predictions(tiny_model_root):
    model_dir = tiny_model_root / "model"
    clf = SequenceClassifier.from_pretrained(model_dir, labels=["a", "b", "c"])
    _randomize(clf, 1)
    expected = clf.predict_proba(TEXTS, batch_size=2)
    clf.set_backend("onnxruntime")
    assert clf.predict_backend == "onnxruntime"
    got = clf.predict_proba(TEXTS, batch_size=2)
    assert np.abs(got - expected).max() < 1e-4
    assert np.abs(expected - expected.mean(0)).max() > 1e-3  # the texts get different answers
    clf.set_backend("keras")
    assert clf.predict_backend == "keras"

    embedder = Embedder.from_pretrained(model_dir, pooling="mean")
    expected = embedder.embed(TEXTS)
    on_ort = Embedder.from_pretrained(model_dir, pooling="mean", backend="onnxruntime")
    assert on_ort.predict_backend == "onnxruntime"
    assert on_ort.get_config()["pooling"] == "mean"
    assert np.abs(on_ort.embed(TEXTS) - expected).max() < 1e-4


def test_tagger_entities(tiny_model_root):
    tagger = TokenClassifier.from_pretrained(
        tiny_model_root / "model", labels=["O", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    )
    _randomize(tagger, 2)
    expected = tagger.predict_entities(TEXTS)
    sentences = tf_.tagged_sentences(tagger.tokenizer, 6, seed=3)
    expected_tags = tagger.predict_tags(sentences)
    tagger.set_backend("onnxruntime")
    assert tagger.predict_entities(TEXTS) == expected
    assert tagger.predict_tags(sentences) == expected_tags
    assert any(expected)  # some entities, so the comparison means something


def test_unknown_backend():
    from jbert_tf2.onnx_inference import check_backend

    with pytest.raises(JbertError, match="keras, onnxruntime"):
        check_backend("tflite")


def test_extract_features_backend(tiny_model_root, tmp_path):
    from jbert_tf2.cli.extract_features import main

    source = tmp_path / "in.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    ckpt = tiny_model_root / "ckpt"
    flags = [
        f"--input_file={source}",
        f"--vocab_file={ckpt / 'vocab.txt'}",
        f"--bert_config_file={ckpt / 'bert_config.json'}",
        f"--init_checkpoint={ckpt / 'model.ckpt-10'}",
        "--tokenizer=mecab-character",
        "--do_lower_case=False",
        "--layers=-1,-2",
        "--max_seq_length=40",
        "--batch_size=2",
    ]
    outputs = {}
    for backend in ("keras", "onnxruntime"):
        target = tmp_path / f"{backend}.jsonl"
        assert main([*flags, f"--output_file={target}", f"--backend={backend}"]) == 0
        lines = [json.loads(line) for line in target.read_text().splitlines()]
        outputs[backend] = np.array(
            [
                [layer["values"] for token in line["features"] for layer in token["layers"]]
                for line in lines[:2]
            ],
            dtype=object,
        )
        assert len(lines) == len(TEXTS)
    for keras_line, onnx_line in zip(outputs["keras"], outputs["onnxruntime"], strict=True):
        a, b = np.array(keras_line, np.float64), np.array(onnx_line, np.float64)
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-4


def _run_twice(main, argv_for, read):
    """The command's output with each backend."""
    return {backend: read(main(argv_for(backend)), backend) for backend in ("keras", "onnxruntime")}


def test_run_classifier_predict_backend(tiny_model_root, tmp_path, capsys):
    from jbert_tf2.cli.run_classifier import main

    clf = SequenceClassifier.from_pretrained(
        tiny_model_root / "model", labels=["sports", "it", "food"]
    )
    _randomize(clf, 6)
    init = clf.save_pretrained(tmp_path / "clf")
    data = tf_.write_topic_splits(tmp_path / "data", (("test", 12, 3),), None)

    def argv(backend):
        return [
            "--task_name=tsv",
            f"--data_dir={data}",
            f"--init_checkpoint={init}",
            "--do_predict",
            "--max_seq_length=48",
            "--predict_batch_size=4",
            f"--output_dir={tmp_path / backend}",
            f"--backend={backend}",
        ]

    def read(status, backend):
        assert status == 0, capsys.readouterr().err
        text = (tmp_path / backend / "test_results.tsv").read_text()
        return np.array([[float(x) for x in line.split("\t")] for line in text.splitlines()])

    results = _run_twice(main, argv, read)
    assert results["keras"].shape == (12, 3)
    assert np.abs(results["keras"] - results["onnxruntime"]).max() < 1e-4


def test_run_ner_predict_backend(tiny_model_root, tmp_path, capsys):
    from jbert_tf2.cli.run_ner import main

    tagger = TokenClassifier.from_pretrained(
        tiny_model_root / "model", labels=["O", "B-PSN", "I-PSN", "B-LOC", "I-LOC"]
    )
    _randomize(tagger, 7)
    init = tagger.save_pretrained(tmp_path / "tagger")
    data = tmp_path / "data"
    data.mkdir()
    tf_.write_bio(data / "test.bio", tf_.tagged_sentences(None, 8, seed=5))

    def argv(backend):
        return [
            f"--data_dir={data}",
            f"--output_dir={tmp_path / backend}",
            f"--init_checkpoint={init}",
            "--do_predict",
            "--max_seq_length=24",
            f"--backend={backend}",
        ]

    def read(status, backend):
        assert status == 0, capsys.readouterr().err
        return (tmp_path / backend / "test_predictions.jsonl").read_text(encoding="utf-8")

    results = _run_twice(main, argv, read)
    assert results["keras"] == results["onnxruntime"]
    assert any(json.loads(line)["entities"] for line in results["keras"].splitlines())


def test_unreadable_or_foreign_onnx_files_are_clear_errors(tmp_path):
    """A damaged model.onnx, or an ONNX model whose inputs are not BERT's, is refused with
    the file's name and the fix, not ONNX Runtime's own exception."""
    import onnx
    from onnx import TensorProto, helper

    from jbert_tf2.onnx_inference import OnnxRuntimePredictor

    damaged = tmp_path / "model.onnx"
    damaged.write_bytes(b"not an onnx model at all")
    with pytest.raises(JbertError, match=r"model\.onnx: ONNX Runtime cannot load it.*jbert-export"):
        OnnxRuntimePredictor(damaged)
    graph = helper.make_graph(
        [helper.make_node("Identity", ["pixels"], ["logits"])],
        "foreign",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
    )
    foreign = tmp_path / "foreign.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, foreign)
    with pytest.raises(JbertError, match=r"foreign\.onnx: inputs pixels are not BERT's"):
        OnnxRuntimePredictor(foreign)
