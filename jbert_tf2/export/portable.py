"""ONNX and LiteRT exports of task models and bare encoders, float32, float16 or int8.

``export_portable(model, base_dir, name, fmt="onnx"|"litert", quantize=...)`` writes
``base_dir/name/<version>/`` with ``model.onnx`` or ``model.tflite``, the tokenizer files and
``task.json`` under ``assets/jbert/`` (as the SavedModel export), and the accuracy report
(`jbert_tf2.export.accuracy_report`). Inputs are int32 ``input_ids``, ``input_mask`` and
``segment_ids`` [batch, sequence]; outputs are `jbert_tf2.onnx_graph`'s (the serving outputs
without strings; the labels are in ``task.json`` and, for ONNX, in the model's metadata).

Converters, and why:

- ONNX: the graph is written from the weights (`jbert_tf2.onnx_graph`), not converted: exact
  by construction (float32 within 1e-6 of Keras in the tests), independent of the TensorFlow
  release, and in the op patterns ONNX Runtime fuses. tf2onnx 1.17 does convert our
  ``tf.function`` on TF 2.21 exactly too, but into unfusable reshapes and
  ``GlobalAveragePool`` LayerNorms, and it lags TensorFlow releases.
- int8 (ONNX): ONNX Runtime's ``quantize_dynamic`` on the standard-ops graph's weight matrix
  multiplies of the Transformer blocks (``MatMulInteger``: query, key, value, attention output
  and feed-forward layers; QInt8 weights per tensor, activations quantized per batch at run
  time); ONNX Runtime fuses them at load time. Float stay: the embeddings (Gather), every
  LayerNorm, softmax, GELU, the attention score products (activation x activation), the pooler
  and the task head (small, and where a rounding error moves a label most). Not fused offline
  (``Attention`` / ``QAttention``, ``SkipLayerNormalization``) and not per channel: on ONNX
  Runtime 1.32's CPU kernels both are slower (docs/performance.md, "CPU inference").
- float16 (ONNX): ONNX Runtime's ``convert_float_to_float16`` with float32 inputs and outputs
  (for GPUs; CPUs run float16 slower than float32).
- LiteRT: Keras' ``ExportArchive`` writes a SavedModel of the same outputs and
  ``tf.lite.TFLiteConverter.from_saved_model`` converts it with LiteRT's built-in ops only (no
  TensorFlow "flex" ops, so the plain LiteRT runtime runs it). ExportArchive, not
  ``tf.saved_model.save`` of a ``tf.Module``: with the latter the converter leaves Keras 3's
  variables uninitialised (NaN outputs). ``--quantize int8`` is the converter's dynamic-range
  quantization (its choice of large constant weights stored as int8, activations float, so
  LayerNorm, softmax and GELU run in float), ``float16`` its float16 weights.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from jbert_tf2.atomic_files import write_directory
from jbert_tf2.errors import JbertError
from jbert_tf2.export.saved_model import ASSETS, version_directory

FORMATS = ("onnx", "litert")
QUANTIZATIONS = ("none", "float16", "int8")
FILE_NAMES = {"onnx": "model.onnx", "litert": "model.tflite"}
FLOAT_SCOPES = ("pooler", "head")  # left in float32 by int8 (ONNX node name prefixes)


def check_quantize(quantize: str) -> str:
    """``quantize`` when it is one of `QUANTIZATIONS`, else an error naming the choices."""
    if quantize not in QUANTIZATIONS:
        raise JbertError(f"--quantize={quantize}: use one of {', '.join(QUANTIZATIONS)}")
    return quantize


def _numeric_outputs(model, inputs: dict) -> dict:
    """What both formats return: `jbert_tf2.onnx_graph`'s outputs, from the Keras model."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    task = getattr(model, "task", None)
    if task is None:
        outputs = model(inputs, training=False)
        return {
            "sequence_output": outputs["sequence_output"],
            "pooled_output": outputs["pooled_output"],
        }
    if task == "embedding":
        return {"embeddings": tf.cast(model(inputs, training=False), tf.float32)}
    outputs = model.serving_outputs(model(inputs, training=False))
    return {k: v for k, v in outputs.items() if v.dtype != tf.string}


def onnx_bytes(model, quantize: str, scratch: Path, metadata: dict) -> bytes:
    """The serialized ONNX model, quantized as asked (``scratch``: a directory for
    ONNX Runtime's quantizer, which reads and writes files)."""
    from jbert_tf2.onnx_graph import build_onnx_model

    proto = build_onnx_model(model, metadata={**metadata, "quantize": quantize})
    if quantize == "float16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        return convert_float_to_float16(proto, keep_io_types=True).SerializeToString()
    if quantize == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        keep = [n.name for n in proto.graph.node if n.name.startswith(FLOAT_SCOPES)]
        source, target = scratch / "float32.onnx", scratch / "int8.onnx"
        source.write_bytes(proto.SerializeToString())
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=False,  # per tensor: as exact here, and faster (docs/performance.md)
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=keep,
            extra_options={"MatMulConstBOnly": True},
        )
        data = target.read_bytes()
        source.unlink()
        target.unlink()
        return data
    return proto.SerializeToString()


def litert_bytes(model, quantize: str, scratch: Path) -> bytes:
    """The LiteRT flatbuffer, through a SavedModel written by Keras' ExportArchive in
    ``scratch`` (removed afterwards)."""
    from jbert_tf2.backend import keras, tensorflow
    from jbert_tf2.models.encoder import INPUT_KEYS

    tf = tensorflow()
    specs = {key: tf.TensorSpec([None, None], tf.int32, name=key) for key in INPUT_KEYS}

    @tf.function(input_signature=[specs])
    def serve(inputs):
        return _numeric_outputs(model, dict(inputs))

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serve)
    saved = scratch / "saved_model"
    archive.write_out(str(saved), verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
    data = converter.convert()
    shutil.rmtree(saved)
    return data


def export_portable(
    model,
    base_dir: str | os.PathLike,
    name: str | None = None,
    version: int | None = None,
    fmt: str = "onnx",
    quantize: str = "none",
    overwrite: bool = False,
    dev_file: str | os.PathLike | None = None,
    max_accuracy_drop: float = 1.0,
    tokenizer=None,
    tokenizer_assets=None,
) -> Path:
    """Write ``model`` (a task model, or a bare encoder with its ``tokenizer``) as
    ``base_dir/name/version/`` in ``fmt``, atomically, with the accuracy report beside it.

    A quantized export whose metric drops by more than ``max_accuracy_drop`` points is not
    written: its report goes to ``base_dir/name/version.rejected/`` and `AccuracyDropError`
    says so."""
    from jbert_tf2.export.accuracy_report import AccuracyDropError, build_report, write_report

    if fmt not in FORMATS:
        raise JbertError(f"--format={fmt}: use one of saved_model, {', '.join(FORMATS)}")
    check_quantize(quantize)
    name = name or getattr(model, "task", None) or "encoder"
    target = version_directory(base_dir, name, version, overwrite)
    if fmt == "onnx":
        from jbert_tf2.onnx_inference import require_onnxruntime

        require_onnxruntime()
    else:
        require_litert()
    metadata = {"format": fmt, "task": getattr(model, "task", "encoder")}
    report: dict = {}

    def fill(partial: Path) -> None:
        if fmt == "onnx":
            data = onnx_bytes(model, quantize, partial, metadata)
        else:
            data = litert_bytes(model, quantize, partial)
        model_file = partial / FILE_NAMES[fmt]
        model_file.write_bytes(data)
        _write_assets(model, partial / ASSETS, tokenizer_assets, quantize, fmt)
        report.update(
            build_report(
                model,
                predictor_for_file(model_file),
                fmt,
                quantize,
                dev_file,
                tokenizer,
                max_accuracy_drop,
            )
        )
        write_report(report, partial)
        if not report["passed"]:
            raise AccuracyDropError("rejected")

    try:
        return write_directory(target, fill, overwrite=overwrite)
    except AccuracyDropError:
        rejected = target.with_name(f"{target.name}.rejected")
        write_directory(rejected, lambda d: write_report(report, d), overwrite=True)
        raise AccuracyDropError(
            f"the {quantize} {fmt} export moves {report['metric']} by "
            f"{report['metric_drop_points']:.2f} points (Keras {report['keras_metric']:.4f}, "
            f"export {report['export_metric']:.4f}), more than --max_accuracy_drop="
            f"{max_accuracy_drop:g}; not written. Report: {rejected}. Export without "
            "--quantize, or raise --max_accuracy_drop"
        ) from None


def _write_assets(model, directory: Path, tokenizer_assets, quantize: str, fmt: str) -> None:
    from jbert_tf2.model_dir import write_task_settings, write_tokenizer_files

    directory.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "task_settings"):
        write_task_settings(directory, model.task_settings())
    assets = getattr(model, "tokenizer_assets", None) or tokenizer_assets
    if assets is not None:
        write_tokenizer_files(directory, assets)
    info = {"format": fmt, "quantize": quantize, "file": FILE_NAMES[fmt]}
    (directory / "export.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def require_litert():
    """LiteRT's interpreter class (ai-edge-litert, else TensorFlow's own), or a clear error."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from jbert_tf2.backend import tensorflow

            return tensorflow().lite.Interpreter
        except AttributeError:
            raise JbertError(
                "the LiteRT export needs the LiteRT runtime: pip install 'jbert-tf2[litert]' "
                "(or pip install ai-edge-litert)"
            ) from None
    return Interpreter


class LiteRTPredictor:
    """Runs an exported ``model.tflite`` on dicts of Google's inputs (any batch and length:
    the signature runner resizes its inputs), like `jbert_tf2.onnx_inference.OnnxRuntimePredictor`."""

    def __init__(self, path: str | os.PathLike):
        interpreter_class = require_litert()
        self.interpreter = interpreter_class(model_path=str(path))
        self.runner = self.interpreter.get_signature_runner("serving_default")

    def __call__(self, inputs: dict) -> dict[str, np.ndarray]:
        ids = np.asarray(inputs["input_ids"], np.int32)
        feed: dict[str, Any] = {
            "input_ids": ids,
            "input_mask": np.asarray(inputs.get("input_mask", np.ones_like(ids)), np.int32),
            "segment_ids": np.asarray(inputs.get("segment_ids", np.zeros_like(ids)), np.int32),
        }
        return {k: np.asarray(v) for k, v in self.runner(**feed).items()}


def predictor_for_file(path: str | os.PathLike):
    """A predictor of an exported ``model.onnx`` or ``model.tflite``."""
    path = Path(path)
    if path.suffix == ".onnx":
        from jbert_tf2.onnx_inference import OnnxRuntimePredictor

        return OnnxRuntimePredictor(path)
    if path.suffix == ".tflite":
        return LiteRTPredictor(path)
    raise JbertError(f"{path}: not a model.onnx or model.tflite")
