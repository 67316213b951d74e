"""LiteRT export: `jbert-export --format litert` writes model.tflite (LiteRT built-in ops only)
whose outputs equal the Keras model's, float32 and dynamic-range int8, with its report."""

import json

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

from jbert_tf2.cli.export import main  # noqa: E402
from jbert_tf2.export.portable import LiteRTPredictor  # noqa: E402
from jbert_tf2.tasks import SequenceClassifier, TokenClassifier  # noqa: E402


def _randomize(model, seed):
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign((rng.standard_normal(variable.shape) * 0.5).astype(np.float32))


def _feed(seed, batch, length):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 60, (batch, length)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[0, length // 2 :] = 0
    return {"input_ids": ids, "input_mask": mask, "segment_ids": np.zeros_like(ids)}


@pytest.mark.parametrize("task", ["sequence", "token"])
def test_litert_float32_equals_keras(task, tiny_model_root, tmp_path):
    model_dir = tiny_model_root / "model"
    if task == "sequence":
        model = SequenceClassifier.from_pretrained(model_dir, labels=["a", "b", "c"])
    else:
        model = TokenClassifier.from_pretrained(model_dir, labels=["O", "B-X", "I-X"])
    _randomize(model, 4)
    model.save_pretrained(tmp_path / "model")
    assert (
        main(
            [
                str(tmp_path / "model"),
                "-o",
                str(tmp_path / "out"),
                "--format",
                "litert",
                "--name",
                "m",
            ]
        )
        == 0
    )
    target = tmp_path / "out" / "m" / "1"
    run = LiteRTPredictor(target / "model.tflite")
    for seed, (batch, length) in enumerate([(3, 16), (1, 9)]):  # any shape, one interpreter
        feed = _feed(seed, batch, length)
        expected = np.asarray(model(feed, training=False))
        got = run(feed)
        assert got["logits"].shape == expected.shape
        assert np.abs(got["logits"] - expected).max() < 1e-4
        assert np.abs(expected).max() > 1e-2
    report = json.loads((target / "accuracy_report.json").read_text())
    assert report["format"] == "litert" and report["within_float32_tolerance"]


def test_litert_int8_report(tiny_model_root, tmp_path):
    model = SequenceClassifier.from_pretrained(tiny_model_root / "model", labels=["a", "b"])
    model.save_pretrained(tmp_path / "model")
    assert (
        main(
            [
                str(tmp_path / "model"),
                "-o",
                str(tmp_path / "out"),
                "--format",
                "litert",
                "--quantize",
                "int8",
                "--name",
                "m",
            ]
        )
        == 0
    )
    target = tmp_path / "out" / "m" / "1"
    float_size = 4 * sum(int(np.prod(v.shape)) for v in model.weights)
    assert (target / "model.tflite").stat().st_size < 0.5 * float_size  # int8 weights
    report = json.loads((target / "accuracy_report.json").read_text())
    assert report["quantize"] == "int8" and report["passed"]
    assert 0 < report["max_abs_diff"] < 0.1
