"""The accuracy report written beside an ONNX or LiteRT export: the export against the Keras
model on the user's dev file (read with the task's own readers) or a built-in sample of Japanese
texts.

Reported: the largest absolute difference of the outputs (logits, embeddings or hidden
states), the share of predictions (labels, multi-label cells, word tags) on which both agree,
and the task metric of both (accuracy, micro F1, entity F1) with the drop in points. Without
labels (the built-in sample, or a dev file without them) the Keras model's own predictions are
the reference, so the Keras "metric" is 100 and the export's is its agreement. A quantized export
whose metric falls by more than ``max_accuracy_drop`` points fails (`AccuracyDropError`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from jbert_tf2.errors import JbertError

REPORT_JSON = "accuracy_report.json"
REPORT_MD = "accuracy_report.md"
FLOAT32_TOLERANCE = 1e-4

SAMPLE_TEXTS = (
    "今日は朝から雨が降っているので、傘を持って出かけた。",
    "新しいスマートフォンの電池は一日中もつらしい。",
    "昨日の試合では山田選手が決勝点を挙げた。",
    "東京駅の近くに新しいラーメン屋が開店した。",
    "このアプリは画面が見やすくて使いやすい。",
    "週末は京都へ紅葉を見に行く予定です。",
    "日本銀行は金利を据え置くと発表した。",
    "佐藤さんはトヨタ自動車に入社して三年になる。",
    "野菜たっぷりの味噌汁のレシピを紹介します。",
    "サッカー日本代表がアジア杯で優勝した。",
    "パソコンのソフトを更新したら動きが速くなった。",
    "大阪の夏はとても暑くて湿気が多い。",
    "彼女は毎朝六時に起きて公園を走っている。",
    "この映画は最後の場面が一番感動的だった。",
    "札幌では雪まつりの準備が始まった。",
    "三代目 J SOUL BROTHERSのライブが福岡で開かれた。",
)


class AccuracyDropError(JbertError):
    """A quantized export moved the task metric by more than the allowed points."""


def read_dev_file(model, path: str | Path):
    """The labelled examples (classifiers: TSV / CSV with a ``text`` and ``label`` header, or
    JSON lines) or tagged sentences (taggers: CoNLL / BIO or JSON lines) of ``path``."""
    from jbert_tf2.data import read_conll, read_jsonl, read_jsonl_tagged, read_table

    path = Path(path)
    if not path.is_file():
        raise JbertError(f"--dev_file={path}: no such file")
    if getattr(model, "task", None) == "token_classification":
        return read_jsonl_tagged(path) if path.suffix == ".jsonl" else read_conll(path)
    if path.suffix == ".jsonl":
        return read_jsonl(path)
    multi = getattr(model, "multi_label", False)
    return read_table(path, multi_label=multi, label_column="label")


def _logits_with(model, predictor, features) -> list[np.ndarray]:
    """``model.predict_logits(features)`` run by ``predictor`` (None: Keras); the model's own
    predictor is put back after."""
    previous = model.predictor
    model.use_predictor(predictor)
    try:
        return model.predict_logits(features)
    finally:
        model.use_predictor(previous)


def _max_diff(a_list, b_list) -> float:
    diffs = [
        np.max(np.abs(np.asarray(a, np.float64) - b)) for a, b in zip(a_list, b_list, strict=True)
    ]
    return float(max(diffs, default=0.0))


def _classification(model, predictor, data) -> dict:
    from jbert_tf2.data.examples import TextExample

    labelled = data is not None and all(e.label is not None for e in data)
    examples = data if data is not None else [TextExample(t, None, None) for t in SAMPLE_TEXTS]
    if labelled:
        features = model.features(examples)
    else:
        features = model.text_features(
            [e.text for e in examples], [e.text_b for e in examples], warn=False
        )
    keras_logits = _logits_with(model, None, features)
    export_logits = _logits_with(model, predictor, features)
    keras_pred = model.predictions_from_logits(keras_logits)
    export_pred = model.predictions_from_logits(export_logits)
    truth = np.asarray(features.labels) if labelled else keras_pred
    if model.multi_label:
        from jbert_tf2.tasks.multi_label_classifier import f1_scores

        metric = "micro_f1"
        keras_score = f1_scores(truth, keras_pred)["micro_f1"]
        export_score = f1_scores(truth, export_pred)["micro_f1"]
    else:
        metric = "accuracy"
        keras_score = float(np.mean(keras_pred == truth))
        export_score = float(np.mean(export_pred == truth))
    return {
        "examples": len(examples),
        "output": "logits",
        "max_abs_diff": _max_diff(keras_logits, export_logits),
        "agreement": float(np.mean(keras_pred == export_pred)),
        "metric": metric,
        "labelled": labelled,
        "keras_metric": keras_score,
        "export_metric": export_score,
    }


def _tagging(model, predictor, data) -> dict:
    from jbert_tf2.tasks.tagging import span_scores

    pipeline = model.tagging_pipeline()
    sentences = model.in_scheme(data) if data is not None else pipeline.sentences(SAMPLE_TEXTS)
    windows = pipeline.windows([s.words for s in sentences])
    keras_logits = _logits_with(model, None, windows.features)
    export_logits = _logits_with(model, predictor, windows.features)
    keras_tags = pipeline.decode(windows, pipeline.word_scores(windows, keras_logits))
    export_tags = pipeline.decode(windows, pipeline.word_scores(windows, export_logits))
    labelled = data is not None and all(s.tags is not None for s in sentences)
    truth = [list(s.tags) for s in sentences] if labelled else keras_tags
    pairs = [
        (a, b)
        for k, e in zip(keras_tags, export_tags, strict=True)
        for a, b in zip(k, e, strict=True)
    ]
    return {
        "examples": len(sentences),
        "output": "logits",
        "max_abs_diff": _max_diff(keras_logits, export_logits),
        "agreement": float(np.mean([a == b for a, b in pairs])) if pairs else 1.0,
        "metric": "entity_f1",
        "labelled": labelled,
        "keras_metric": span_scores(truth, keras_tags, scheme=model.scheme)["f1"],
        "export_metric": span_scores(truth, export_tags, scheme=model.scheme)["f1"],
    }


def _vectors(model, predictor, tokenizer, max_seq_length: int, data) -> dict:
    """Embedders and bare encoders: the outputs compared, cosine agreement as the metric."""
    from jbert_tf2.data.examples import text_examples
    from jbert_tf2.data.features import encode_classification
    from jbert_tf2.data.pipeline import batch_indices

    texts = [e.text for e in data] if data is not None else list(SAMPLE_TEXTS)
    features = encode_classification(
        tokenizer, text_examples(texts), None, max_seq_length, warn=False
    )
    if hasattr(model, "task"):
        keras_out = _logits_with(model, None, features)
        export_out = _logits_with(model, predictor, features)
        output = "embeddings"
    else:
        keras_out, export_out, output = [], [], "sequence_output"
        for batch in batch_indices(features.lengths, 32):
            feed = features.padded(batch, int(features.lengths[batch].max()))
            keras_out += list(np.asarray(model(feed, training=False)["sequence_output"]))
            export_out += list(predictor(feed)["sequence_output"])
        keras_out = [k[:, 0] for k in keras_out]  # [CLS] vectors for the cosine
        export_out = [e[:, 0] for e in export_out]
    a, b = np.stack(keras_out).astype(np.float64), np.stack(export_out).astype(np.float64)
    cosine = np.sum(a * b, -1) / np.maximum(
        np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12
    )
    return {
        "examples": len(texts),
        "output": output,
        "max_abs_diff": float(np.max(np.abs(a - b))),
        "agreement": float(np.min(cosine)),
        "metric": "min_cosine",
        "labelled": False,
        "keras_metric": 1.0,
        "export_metric": float(np.min(cosine)),
    }


def build_report(
    model,
    predictor,
    fmt: str,
    quantize: str,
    dev_file: str | Path | None = None,
    tokenizer=None,
    max_accuracy_drop: float = 1.0,
) -> dict:
    """Compare ``predictor`` (the export) with ``model`` (Keras) and judge the drop."""
    data = read_dev_file(model, dev_file) if dev_file else None
    task = getattr(model, "task", None)
    if task in ("sequence_classification", "multi_label_classification"):
        result = _classification(model, predictor, data)
    elif task == "token_classification":
        result = _tagging(model, predictor, data)
    else:
        tokenizer = getattr(model, "tokenizer", None) or tokenizer
        if tokenizer is None:
            raise JbertError("the accuracy report needs the model directory's tokenizer.json")
        length = getattr(model, "max_seq_length", None) or min(
            128, model.config.max_position_embeddings
        )
        result = _vectors(model, predictor, tokenizer, length, data)
    drop = 100.0 * (result["keras_metric"] - result["export_metric"])
    passed = quantize == "none" or drop <= max_accuracy_drop
    return {
        "format": fmt,
        "quantize": quantize,
        "task": task or "encoder",
        "data": str(dev_file) if dev_file else "built-in sample of Japanese texts",
        **result,
        "float32_tolerance": FLOAT32_TOLERANCE,
        "within_float32_tolerance": result["max_abs_diff"] <= FLOAT32_TOLERANCE,
        "metric_drop_points": drop,
        "max_accuracy_drop_points": max_accuracy_drop,
        "passed": passed,
    }


def write_report(report: dict, directory: Path) -> None:
    """``accuracy_report.json`` and a readable ``accuracy_report.md`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / REPORT_JSON).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    verdict = "passed" if report["passed"] else "FAILED"
    lines = [
        f"# Accuracy of the {report['format']} export ({report['quantize']}): {verdict}",
        "",
        f"Compared with the Keras model on {report['data']} ({report['examples']} examples).",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| max abs difference of {report['output']} | {report['max_abs_diff']:.3g} |",
        f"| agreement of predictions | {report['agreement']:.4f} |",
        f"| {report['metric']}, Keras | {report['keras_metric']:.4f} |",
        f"| {report['metric']}, export | {report['export_metric']:.4f} |",
        f"| drop (points) | {report['metric_drop_points']:.2f} "
        f"(limit {report['max_accuracy_drop_points']:g} for quantized exports) |",
        "",
    ]
    if not report["labelled"]:
        lines.append("No labels: the Keras model's predictions are the reference.\n")
    (directory / REPORT_MD).write_text("\n".join(lines), encoding="utf-8")
