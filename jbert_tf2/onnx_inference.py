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


def fuse_for_onnxruntime(proto):
    """``proto`` with ONNX Runtime's fused CPU ops (``Attention``, ``SkipLayerNormalization``,
    ``FastGelu`` / ``BiasGelu``) by its transformer optimizer, for a graph of
    `jbert_tf2.onnx_graph` (whose metadata gives the heads and width); other graphs as they are.
    The result uses ONNX Runtime's ``com.microsoft`` ops, so only ONNX Runtime runs it."""
    import logging

    import onnx

    info = {p.key: p.value for p in proto.metadata_props}
    if "num_heads" not in info or info.get("fused") == "onnxruntime":
        return proto
    from onnxruntime.transformers.optimizer import optimize_model

    previous = logging.root.manager.disable  # the user's own logging.disable level
    logging.disable(max(previous, logging.WARNING))  # "producer not matched": ours match too
    try:
        fused = optimize_model(
            proto,
            model_type="bert",
            num_heads=int(info["num_heads"]),
            hidden_size=int(info["hidden_size"]),
            opt_level=0,
        ).model
    finally:
        logging.disable(previous)
    if not any(o.domain == "com.microsoft" for o in fused.opset_import):
        fused.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    entry = fused.metadata_props.add()
    entry.key, entry.value = "fused", "onnxruntime"
    return fused


class OnnxRuntimePredictor:
    """Runs an ONNX model on ``{"input_ids", "input_mask", "segment_ids"}`` int32 batches.

    Args:
        model: an ``onnx.ModelProto``, the bytes of one, or the path of a ``.onnx`` file.
        threads: intra-op threads (ONNX Runtime's default, all cores, when None).
        fuse: run a jbert graph with ONNX Runtime's offline-fused attention, LayerNorm and
            GELU kernels (`fuse_for_onnxruntime`); off by default: on ONNX Runtime 1.32's CPU
            kernels the fused graph runs slower (docs/performance.md, "CPU inference"). The
            session never fuses a residual add into ``SkipLayerNormalization`` for the same
            reason; everything else ONNX Runtime fuses at load time.

    Examples:
        >>> from jbert_tf2.onnx_graph import build_onnx_model  # doctest: +SKIP
        >>> predict = OnnxRuntimePredictor(build_onnx_model(classifier))  # doctest: +SKIP
        >>> predict(features.padded(range(8), 64))["logits"].shape  # doctest: +SKIP
        (8, 3)
    """

    def __init__(self, model: Any, threads: int | None = None, fuse: bool = False):
        ort = require_onnxruntime()
        given = model
        if isinstance(model, (str, os.PathLike)):
            path = Path(model)
            if not path.is_file():
                raise JbertError(f"{path}: no such ONNX file; pass an exported model.onnx")
            model = path.read_bytes()
        if fuse:
            import onnx

            proto = onnx.load_from_string(model) if isinstance(model, bytes) else model
            model = fuse_for_onnxruntime(proto)
        source = model if isinstance(model, bytes) else model.SerializeToString()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = int(threads)
        # ONNX Runtime 1.32's SkipLayerNormalization CPU kernel is 6-10x slower than the Add and
        # LayerNormalization it replaces (docs/performance.md, "CPU inference"): keep them apart.
        try:
            self.session = ort.InferenceSession(
                source,
                options,
                providers=["CPUExecutionProvider"],
                disabled_optimizers=["SkipLayerNormFusion"],
            )
        except Exception as exc:  # ONNX Runtime raises its own types for unreadable models
            where = path if isinstance(given, (str, os.PathLike)) else "the ONNX model"
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise JbertError(
                f"{where}: ONNX Runtime cannot load it ({first}); export it again with "
                "jbert-export --format onnx"
            ) from None
        self.input_names = [i.name for i in self.session.get_inputs()]
        unknown = sorted(set(self.input_names) - {"input_ids", "input_mask", "segment_ids"})
        if unknown:
            raise JbertError(
                f"{path if isinstance(given, (str, os.PathLike)) else 'the ONNX model'}: inputs "
                f"{', '.join(unknown)} are not BERT's (input_ids, input_mask, segment_ids); pass "
                "a model jbert-export --format onnx wrote"
            )
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
