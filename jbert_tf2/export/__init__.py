"""Exports of task models: a SavedModel for TF Serving (`export_saved_model`, `load_saved_model`),
ONNX and LiteRT files with their accuracy report (`export_portable`, `LiteRTPredictor`), the
Python `Preprocessor` that turns raw text into its inputs, and `entities_from_outputs` (a served
``predict_entities``' outputs as `TokenClassifier.predict_entities`' lists). Names load on first
use, so the commands' parsers read ``jbert_tf2.export.portable``'s choices without TensorFlow."""

from __future__ import annotations

from jbert_tf2.lazy_exports import lazy_exports

_EXPORTS = {
    "LiteRTPredictor": "jbert_tf2.export.portable",
    "Preprocessor": "jbert_tf2.export.preprocessor",
    "entities_from_outputs": "jbert_tf2.tasks.tagging_graph",
    "export_portable": "jbert_tf2.export.portable",
    "export_saved_model": "jbert_tf2.export.saved_model",
    "load_saved_model": "jbert_tf2.export.saved_model",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
