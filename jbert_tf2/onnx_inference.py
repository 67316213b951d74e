"""Prediction on ONNX Runtime: the ``onnxruntime`` backend of the tasks' ``predict`` paths and
of ``jbert-extract-features``, ``jbert-run-classifier --do_predict`` and ``jbert-run-ner
--do_predict``.

`OnnxRuntimePredictor` runs an ONNX model (built in memory from a loaded model's weights by
`jbert_tf2.onnx_graph.build_onnx_model`, or read from an exported ``model.onnx``) on dicts of
Google's inputs. ONNX Runtime takes any shape, so the callers keep their length buckets only
to keep padding small; nothing is compiled per shape.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from jbert_tf2.errors import JbertError

BACKENDS = ("keras", "onnxruntime")


def check_backend(backend: str, flag: str = "backend") -> str:
    """``backend`` if it is one of `BACKENDS`, else a clear error."""
    if backend not in BACKENDS:
        raise JbertError(f"{flag}={backend!r}: use one of {', '.join(BACKENDS)}")
    return backend


def require_onnxruntime():
    """The ``onnxruntime`` module, or a clear error with the pip command."""
    try:
        import onnxruntime
    except ImportError:
        raise JbertError(
            "the onnxruntime backend needs ONNX Runtime: pip install 'jbert-tf2[onnx]' "
            "(or pip install onnx onnxruntime)"
        ) from None
    return onnxruntime


class OnnxRuntimePredictor:
    """Runs an ONNX model on ``{"input_ids", "input_mask", "segment_ids"}`` int32 batches.

    Args:
        model: an ``onnx.ModelProto``, the bytes of one, or the path of a ``.onnx`` file.
        threads: intra-op threads (ONNX Runtime's default, all cores, when None).

    Examples:
        >>> from jbert_tf2.onnx_graph import build_onnx_model  # doctest: +SKIP
        >>> predict = OnnxRuntimePredictor(build_onnx_model(classifier))  # doctest: +SKIP
        >>> predict(features.padded(range(8), 64))["logits"].shape  # doctest: +SKIP
        (8, 3)
    """

    def __init__(self, model: Any, threads: int | None = None):
        ort = require_onnxruntime()
        if isinstance(model, (str, os.PathLike)):
            path = Path(model)
            if not path.is_file():
                raise JbertError(f"{path}: no such ONNX file; pass an exported model.onnx")
            source: Any = str(path)
        elif isinstance(model, bytes):
            source = model
        else:
            source = model.SerializeToString()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = int(threads)
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def __call__(self, inputs: dict) -> dict[str, np.ndarray]:
        if "input_ids" not in inputs:
            raise JbertError("OnnxRuntimePredictor expects a dict with input_ids (and input_mask)")
        ids = np.asarray(inputs["input_ids"], np.int32)
        if ids.ndim != 2:
            raise JbertError(f"input_ids must be [batch, seq], got shape {ids.shape}")
        defaults = {"input_mask": np.ones_like(ids), "segment_ids": np.zeros_like(ids)}
        feed = {
            name: np.ascontiguousarray(inputs.get(name, defaults.get(name)), np.int32)
            for name in self.input_names
        }
        return dict(zip(self.output_names, self.session.run(self.output_names, feed), strict=True))


def predictor_for(model, hidden_layers=None, threads: int | None = None) -> OnnxRuntimePredictor:
    """An `OnnxRuntimePredictor` of ``model``'s current weights (built in memory)."""
    from jbert_tf2.onnx_graph import build_onnx_model

    require_onnxruntime()
    return OnnxRuntimePredictor(build_onnx_model(model, hidden_layers=hidden_layers), threads)
