"""The one place that decides how Keras and TensorFlow are imported.

Model code uses ``keras`` and ``keras.ops`` only, so it runs on the TensorFlow backend (the
default) and on JAX. TensorFlow itself is imported lazily, by the modules that need it
(checkpoint files, tf.data, SavedModel), so ``import jbert_tf2`` works where TensorFlow is absent.

TensorFlow's own log lines (the oneDNN notice, "Could not find cuda drivers", "failed call to
cuInit" on machines without a GPU, AutoGraph and deprecation warnings) are kept off stderr, so
stderr holds the package's own messages. Whoever wants them sets ``JBERT_TF_LOGS=1`` (the
commands' ``--verbose`` does that), or sets ``TF_CPP_MIN_LOG_LEVEL`` to 0 or 1 themselves; a level
the user set is never changed.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from types import ModuleType

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

LOGS_ENV = "JBERT_TF_LOGS"
_USER_LEVEL = os.environ.get("TF_CPP_MIN_LOG_LEVEL")  # as the user left it, before we set ours


def tensorflow_logs_wanted() -> bool:
    """True when the user asked for TensorFlow's own log lines: ``JBERT_TF_LOGS`` set to a true
    value (``--verbose``), or ``TF_CPP_MIN_LOG_LEVEL`` set to 0 (all) or 1 (warnings)."""
    if os.environ.get(LOGS_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    return (_USER_LEVEL or "").strip() in ("0", "1")


if not tensorflow_logs_wanted():
    # C++ log lines after start-up (cuInit on the first op, tf.data, SavedModel loading).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Hide what TensorFlow's native libraries write to file descriptor 2 inside the block (the
    lines logged while they load go there whatever ``TF_CPP_MIN_LOG_LEVEL`` says), and Python
    warnings raised meanwhile; a no-op when the user asked for TensorFlow's logs."""
    if tensorflow_logs_wanted():
        yield
        return
    absl = logging.getLogger("absl")
    absl_level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with _native_stderr_hidden():
                yield
    finally:
        absl.setLevel(absl_level)


@contextlib.contextmanager
def _native_stderr_hidden() -> Iterator[None]:
    """File descriptor 2 points at the null device inside the block."""
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


def _quiet_python_logs() -> None:
    """TensorFlow's Python logger (AutoGraph's "could not transform", deprecation notes):
    errors only, unless the user asked for TensorFlow's logs."""
    if not tensorflow_logs_wanted():
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


def _import_tensorflow() -> ModuleType:
    """Import TensorFlow quietly, and probe the devices now: on a machine without a GPU the
    probe logs "failed call to cuInit", which lands in the quiet block, not at the first op."""
    with quiet_native_logs():
        tf = importlib.import_module("tensorflow")
        tf.config.list_physical_devices("GPU")
    _quiet_python_logs()
    return tf


with quiet_native_logs():
    import keras
    from keras import ops

_tensorflow: ModuleType | None = None
if keras.backend.backend() == "tensorflow":
    _tensorflow = _import_tensorflow()

__all__ = [
    "import_quietly",
    "keras",
    "ops",
    "quiet_native_logs",
    "tensorflow",
    "tensorflow_logs_wanted",
]


def import_quietly(name: str) -> ModuleType:
    """Import a library that imports TensorFlow or loads native code of its own (keras-tuner,
    tensorflow-text) with the start-up lines hidden as for TensorFlow."""
    with quiet_native_logs():
        module = importlib.import_module(name)
    if "tensorflow" in sys.modules:
        tensorflow()  # it imported TensorFlow: probe the devices and quiet its logger here too
    return module


def tensorflow() -> ModuleType:
    """Import TensorFlow on first use (quietly, as above), with an actionable error when it is
    missing."""
    global _tensorflow
    if _tensorflow is not None:
        return _tensorflow
    try:
        _tensorflow = _import_tensorflow()
        return _tensorflow
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from jbert_tf2.errors import JbertError

        raise JbertError(
            "TensorFlow is needed here (TF1 checkpoints, tf.data, SavedModels, in-graph "
            "tokenizers) but is not installed; install it with `pip install tensorflow`."
        ) from exc
