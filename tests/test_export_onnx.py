"""ONNX export: the graph written from the weights equals the Keras model (BERT's tanh GELU and
ELECTRA's erf GELU, every task head and the bare encoder), int8 keeps the listed layers float,
the accuracy report and its limit, and `jbert-export --format onnx` on model directories."""

import json

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import jbert_tf2  # noqa: E402
from jbert_tf2.cli.export import main  # noqa: E402
from jbert_tf2.errors import JbertError  # noqa: E402
from jbert_tf2.onnx_graph import build_onnx_model  # noqa: E402
from jbert_tf2.onnx_inference import OnnxRuntimePredictor, fuse_for_onnxruntime  # noqa: E402
from jbert_tf2.tasks import (  # noqa: E402
    Embedder,
    MultiLabelClassifier,
    SequenceClassifier,
    TokenClassifier,
)

TAGS = ["O", "B-X", "I-X"]


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 100, (3, 12)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[1, 7:] = 0  # a padded row: the attention mask must count
    segments = np.zeros_like(ids)
    segments[:, 6:] = 1
    return {"input_ids": ids, "input_mask": mask, "segment_ids": segments}


def _encoder(kind):
    config = jbert_tf2.BertConfig(
        vocab_size=100,
        hidden_size=32,
        embedding_size=16 if kind == "electra" else None,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=32,
        hidden_act="gelu" if kind == "electra" else "gelu_approx",
        model_type=kind,
    )
    cls = jbert_tf2.ElectraModel if kind == "electra" else jbert_tf2.BertModel
    return cls(config, output_hidden_states=True)


def _randomize(model, seed):
    """Weights far from the initializer's (std 0.5) so every op moves the outputs."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign((rng.standard_normal(variable.shape) * 0.5).astype(np.float32))


def _model(kind, head):
    encoder = _encoder(kind)
    if head == "encoder":
        model = encoder
    elif head == "sequence":
        model = SequenceClassifier(encoder, labels=["a", "b", "c"])
    elif head == "multi_label":
        model = MultiLabelClassifier(encoder, labels=["a", "b", "c"], thresholds=[0.3, 0.5, 0.7])
    elif head == "token":
        model = TokenClassifier(encoder, labels=TAGS, segment_id=1)
    else:
        model = Embedder(encoder, pooling=head.split("-")[1], layers=(-1, 0))
    model.ensure_built()
    _randomize(model, seed=len(kind) + len(head))
    return model


def _keras_outputs(model, head, feed):
    """The Keras model's answer, as the ONNX graph names it (strings left out)."""
    outputs = model(feed, training=False)
    if head == "encoder":
        return {k: outputs[k] for k in ("sequence_output", "pooled_output")}
    if head.startswith("embedder"):
        return {"embeddings": outputs}
    served = model.serving_outputs(outputs)
    return {k: v for k, v in served.items() if k not in ("label", "labels")}


@pytest.mark.parametrize("kind", ["bert", "electra"])
@pytest.mark.parametrize(
    "head", ["encoder", "sequence", "multi_label", "token", "embedder-mean", "embedder-max"]
)
def test_onnx_graph_equals_keras(kind, head):
    """Both the standard-ops graph (what any ONNX runtime runs) and ONNX Runtime's fused
    version of it (Attention, SkipLayerNormalization, FastGelu / BiasGelu)."""
    model = _model(kind, head)
    feed = _inputs()
    expected = _keras_outputs(model, head, feed)
    proto = build_onnx_model(model)
    for fuse in (False, True):
        _check_outputs(OnnxRuntimePredictor(proto, fuse=fuse)(feed), expected)
    fused = fuse_for_onnxruntime(proto)
    fused_ops = {n.op_type for n in fused.graph.node}
    assert {"Attention", "SkipLayerNormalization"} <= fused_ops
    assert ("BiasGelu" if kind == "electra" else "FastGelu") in fused_ops


def _check_outputs(got, expected):
    assert set(got) == set(expected)
    for key, value in expected.items():
        value = np.asarray(value)
        assert got[key].shape == value.shape, key
        if value.dtype.kind == "f":
            assert np.abs(got[key] - value).max() < 1e-4, key
            assert np.abs(value).max() > 1e-2, key  # not a trivially small output
        else:
            np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_stacked_layers_for_extract_features():
    encoder = _encoder("bert")
    encoder.ensure_built()
    _randomize(encoder, 3)
    feed = _inputs(1)
    states = encoder(feed, training=False)["hidden_states"]
    got = OnnxRuntimePredictor(build_onnx_model(encoder, hidden_layers=[-1, 0]))(feed)["layers"]
    expected = np.stack([np.asarray(states[-1]), np.asarray(states[0])], axis=2)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-4


@pytest.fixture(scope="module")
def classifier_dir(tiny_model_root, tmp_path_factory):
    """A saved SequenceClassifier on the session's tiny BERT, its head randomized."""
    out = tmp_path_factory.mktemp("onnx_clf") / "clf"
    model = SequenceClassifier.from_pretrained(tiny_model_root / "model", labels=["a", "b", "c"])
    _randomize(model.head, 5)
    model.save_pretrained(out)
    return out


def test_int8_export_quantizes_block_matmuls_only(classifier_dir, tmp_path, capsys):
    import onnx

    assert (
        main(
            [
                str(classifier_dir),
                "-o",
                str(tmp_path),
                "--format",
                "onnx",
                "--quantize",
                "int8",
                "--name",
                "clf",
            ]
        )
        == 0
    )
    target = tmp_path / "clf" / "1"
    proto = onnx.load(str(target / "model.onnx"))
    ops = [n.op_type for n in proto.graph.node]
    float_matmuls = [n.name for n in proto.graph.node if n.op_type == "MatMul"]
    # both layers' query, key, value, attention output, intermediate and output are int8
    # matrix multiplies (the last layer computes [CLS] alone: pooled_only) ...
    assert ops.count("MatMulInteger") == 2 * 6
    # ... float stay the pooler, the head and each layer's two score products
    scopes = sorted(n.split("/")[0] if "/" in n else "score" for n in float_matmuls)
    assert scopes == ["head", "pooler", "score", "score", "score", "score"]
    assert "Gather" in ops and "DynamicQuantizeLinear" in ops
    # standard ops, not fused offline: ONNX Runtime fuses at load time (SkipLayerNormalization
    # and QAttention run slower on its CPU kernels)
    assert ops.count("LayerNormalization") == 5
    assert not {"QAttention", "Attention", "SkipLayerNormalization"} & set(ops)
    report = json.loads((target / "accuracy_report.json").read_text())
    assert report["quantize"] == "int8" and report["passed"]
    assert report["examples"] == 16 and 0 < report["max_abs_diff"] < 0.1
    assert (target / "accuracy_report.md").is_file()
    assert json.loads((target / "assets/jbert/task.json").read_text())["labels"] == ["a", "b", "c"]
    assert "accuracy report" in capsys.readouterr().out


def test_float32_export_report_with_dev_file(classifier_dir, tmp_path):
    dev = tmp_path / "dev.tsv"
    dev.write_text(
        "text\tlabel\n今日は野球の試合。\ta\n新しいアプリ。\tb\n味噌ラーメン。\tc\n",
        encoding="utf-8",
    )
    assert (
        main(
            [
                str(classifier_dir),
                "-o",
                str(tmp_path / "out"),
                "--format",
                "onnx",
                "--dev_file",
                str(dev),
            ]
        )
        == 0
    )
    report = json.loads(
        (tmp_path / "out/sequence_classification/1/accuracy_report.json").read_text()
    )
    assert report["labelled"] and report["examples"] == 3
    assert report["within_float32_tolerance"] and report["agreement"] == 1.0
    assert report["keras_metric"] == report["export_metric"]


def test_accuracy_drop_rejects_the_export(classifier_dir, tmp_path, monkeypatch, capsys):
    """An export whose predictions differ (here: logits negated) is not written; its report
    is kept beside the version it would have been."""
    import jbert_tf2.export.portable as portable

    real = portable.predictor_for_file

    def negated(path):
        run = real(path)
        return lambda feed: {k: -v for k, v in run(feed).items()}

    monkeypatch.setattr(portable, "predictor_for_file", negated)
    status = main(
        [
            str(classifier_dir),
            "-o",
            str(tmp_path),
            "--format",
            "onnx",
            "--quantize",
            "int8",
            "--name",
            "clf",
            "--max_accuracy_drop",
            "0.5",
        ]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "--max_accuracy_drop=0.5" in err and "not written" in err
    assert not (tmp_path / "clf" / "1").exists()
    report = json.loads((tmp_path / "clf" / "1.rejected" / "accuracy_report.json").read_text())
    assert not report["passed"] and report["metric_drop_points"] > 0.5


def test_existing_version_needs_overwrite(classifier_dir, tmp_path, capsys):
    args = [
        str(classifier_dir),
        "-o",
        str(tmp_path),
        "--format",
        "onnx",
        "--name",
        "c",
        "--version",
        "1",
    ]
    assert main(args) == 0
    before = (tmp_path / "c/1/model.onnx").stat().st_mtime_ns
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "c/1/model.onnx").stat().st_mtime_ns == before
    assert main([*args, "--overwrite"]) == 0


def test_bare_encoder_export(tiny_model_root, tmp_path):
    assert main([str(tiny_model_root / "model"), "-o", str(tmp_path), "--format", "onnx"]) == 0
    target = tmp_path / "encoder" / "1"
    encoder = jbert_tf2.load(tiny_model_root / "model")
    feed = _inputs(2)
    feed["input_ids"] = feed["input_ids"] % 50
    expected = encoder(feed, training=False)
    got = OnnxRuntimePredictor(target / "model.onnx")(feed)
    for key in ("sequence_output", "pooled_output"):
        assert np.abs(got[key] - np.asarray(expected[key])).max() < 1e-4
    assert (target / "assets/jbert/tokenizer.json").is_file()


def test_quantize_needs_a_portable_format(classifier_dir, tmp_path, capsys):
    assert main([str(classifier_dir), "-o", str(tmp_path), "--quantize", "int8"]) == 2
    assert "--format onnx or litert" in capsys.readouterr().err


def test_missing_onnxruntime_names_the_extra(monkeypatch):
    import sys

    from jbert_tf2.onnx_inference import require_onnxruntime

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(JbertError, match=r"pip install 'jbert-tf2\[onnx\]'"):
        require_onnxruntime()


@pytest.mark.parametrize("task", ["multi_label", "token", "embedding"])
def test_report_of_each_task(task, tiny_model_root, tmp_path):
    """The report reads the task's own dev file format and scores with its own metric."""
    import task_fixtures as tf_

    model_dir = tiny_model_root / "model"
    dev = None
    if task == "multi_label":
        model = MultiLabelClassifier.from_pretrained(model_dir, labels=["sports", "it", "food"])
        dev = tmp_path / "dev.jsonl"
        examples = tf_.multi_label_examples(6, seed=1)
        dev.write_text(
            "".join(
                json.dumps({"text": e.text, "label": list(e.label)}, ensure_ascii=False) + "\n"
                for e in examples
            ),
            encoding="utf-8",
        )
        metric = "micro_f1"
    elif task == "token":
        model = TokenClassifier.from_pretrained(model_dir, labels=["O", "B-PSN", "I-PSN"])
        dev = tf_.write_bio(tmp_path / "dev.bio", tf_.tagged_sentences(None, 5, seed=2))
        metric = "entity_f1"
    else:
        model = Embedder.from_pretrained(model_dir, pooling="mean")
        metric = "min_cosine"
    _randomize(model, 9)
    model.save_pretrained(tmp_path / "model")
    args = [str(tmp_path / "model"), "-o", str(tmp_path / "out"), "--format", "onnx", "--name", "m"]
    assert main([*args, *(["--dev_file", str(dev)] if dev else [])]) == 0
    report = json.loads((tmp_path / "out/m/1/accuracy_report.json").read_text())
    assert report["metric"] == metric
    assert report["labelled"] == (dev is not None and task != "embedding")
    assert report["examples"] == {"multi_label": 6, "token": 5, "embedding": 16}[task]
    assert report["within_float32_tolerance"] and report["agreement"] > 0.999
    assert abs(report["keras_metric"] - report["export_metric"]) < 1e-9


def test_float16_export(classifier_dir, tmp_path):
    import onnx

    assert main([str(classifier_dir), "-o", str(tmp_path), "--format", "onnx",
                 "--quantize", "float16", "--name", "m"]) == 0  # fmt: skip
    proto = onnx.load(str(tmp_path / "m/1/model.onnx"))
    kinds = {t.data_type for t in proto.graph.initializer if len(t.dims) == 2}
    assert onnx.TensorProto.FLOAT16 in kinds
    inputs = {i.name: i.type.tensor_type.elem_type for i in proto.graph.input}
    assert set(inputs.values()) == {onnx.TensorProto.INT32}
    report = json.loads((tmp_path / "m/1/accuracy_report.json").read_text())
    assert report["passed"] and 0 < report["max_abs_diff"] < 0.05
