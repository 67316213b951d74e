"""Exports of task models: a SavedModel for TF Serving (`export_saved_model`, `load_saved_model`),
ONNX and LiteRT files with their accuracy report (`export_portable`, `LiteRTPredictor`) and the
Python `Preprocessor` that turns raw text into its inputs."""

from jbert_tf2.export.portable import LiteRTPredictor, export_portable
from jbert_tf2.export.preprocessor import Preprocessor
from jbert_tf2.export.saved_model import export_saved_model, load_saved_model

__all__ = [
    "LiteRTPredictor",
    "Preprocessor",
    "export_portable",
    "export_saved_model",
    "load_saved_model",
]
