"""Exports of task models: a SavedModel for TF Serving (`export_saved_model`, `load_saved_model`),
ONNX and LiteRT files with their accuracy report (`export_portable`, `LiteRTPredictor`), the
Python `Preprocessor` that turns raw text into its inputs, and `entities_from_outputs` (a served
``predict_entities``' outputs as `TokenClassifier.predict_entities`' lists)."""

from jbert_tf2.export.portable import LiteRTPredictor, export_portable
from jbert_tf2.export.preprocessor import Preprocessor
from jbert_tf2.export.saved_model import export_saved_model, load_saved_model
from jbert_tf2.tasks.tagging_graph import entities_from_outputs

__all__ = [
    "LiteRTPredictor",
    "Preprocessor",
    "entities_from_outputs",
    "export_portable",
    "export_saved_model",
    "load_saved_model",
]
