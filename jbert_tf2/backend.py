"""The one place that decides how Keras and TensorFlow are imported.

Model code uses ``keras`` and ``keras.ops`` only, so it runs on the TensorFlow backend (the
default) and on JAX. TensorFlow itself is imported lazily, by the modules that need it
(checkpoint files, tf.data, SavedModel), so ``import jbert_tf2`` works where TensorFlow is absent.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import ops  # noqa: E402

__all__ = ["keras", "ops", "tensorflow"]


def tensorflow() -> ModuleType:
    """Import TensorFlow on first use, with an actionable error when it is missing."""
    try:
        return importlib.import_module("tensorflow")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from jbert_tf2.errors import JbertError

        raise JbertError(
            "TensorFlow is needed to read or write TF1 checkpoints but is not installed; "
            "install it with `pip install tensorflow`."
        ) from exc
