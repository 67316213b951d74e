"""The one place that decides how Keras and TensorFlow are imported.

Model code uses ``keras`` and ``keras.ops`` only, so it runs on the TensorFlow backend (the
default) and on JAX. TensorFlow itself is imported lazily, by the modules that need it
(checkpoint files, tf.data, SavedModel), so ``import jbert_tf2`` works where TensorFlow is absent.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from types import ModuleType

os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@contextlib.contextmanager
def _quiet_native_logs():
    """TensorFlow's C++ start-up lines (oneDNN notice, 'failed call to cuInit' on machines without
    a GPU) go to file descriptor 2 regardless of TF_CPP_MIN_LOG_LEVEL; hide them while importing,
    unless the user asked for TF's logs by setting TF_CPP_MIN_LOG_LEVEL themselves."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        yield
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            sys.stderr.flush()
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


with _quiet_native_logs():
    import keras
    from keras import ops

    if keras.backend.backend() == "tensorflow":
        import tensorflow as _tf

        _tf.config.list_physical_devices("GPU")  # device probing logs land here, not later

__all__ = ["keras", "ops", "tensorflow"]


def tensorflow() -> ModuleType:
    """Import TensorFlow on first use, with an actionable error when it is missing."""
    try:
        return importlib.import_module("tensorflow")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from jbert_tf2.errors import JbertError

        raise JbertError(
            "TensorFlow is needed here (TF1 checkpoints, tf.data, SavedModels, in-graph "
            "tokenizers) but is not installed; install it with `pip install tensorflow`."
        ) from exc
