"""SavedModel export of task models for TF Serving, and loading it back.

`export_saved_model(task, base_dir, name)` writes ``base_dir/name/<version>/`` (the layout TF
Serving polls) with signatures:

- ``serving_default``: token ids in (``input_ids``, ``input_mask``, ``segment_ids`` int32
  [batch, seq]; a `TokenClassifier` also takes ``labeled_positions`` [batch, n], the first
  sub-token of each word, as ELECTRA's export did) -> ``logits`` and ``probabilities`` (and the
  predicted ids / labels).
- ``predict_text`` (and ``predict_text_pair`` for two-text inputs): a ``tf.string`` batch of raw
  texts in -> ``label``, ``score``, ``probabilities`` (multi-label: ``labels`` with "" for labels
  under their threshold, ``predictions``), when the tokenizer has an in-graph tensorflow-text twin.
  Such a SavedModel needs ``import tensorflow_text`` before ``tf.saved_model.load``;
  `load_saved_model` does that and says so when it is missing. MeCab tokenizers cannot run in a
  graph: their export has the ids signature, and `Preprocessor` (Python) makes its inputs.

The tokenizer files and ``task.json`` are copied to ``assets/jbert/`` so `Preprocessor` and
post-processing can be rebuilt from the export alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from jbert_tf2.errors import JbertError

ASSETS = Path("assets") / "jbert"


def next_version(model_base: Path) -> int:
    """One more than the highest numeric version directory (TF Serving serves the highest)."""
    versions = [int(p.name) for p in model_base.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def _in_graph(task):
    if task.tokenizer is None:
        return None
    try:
        return task.tokenizer.in_graph(task.max_seq_length)
    except JbertError:
        return None  # MeCab: no graph twin; the ids signature only


def build_module(task):
    """A `tf.Module` holding the model and its serving functions."""
    import tensorflow as tf

    from jbert_tf2.tasks import MultiLabelClassifier, TokenClassifier

    task.ensure_built()
    module = tf.Module()
    module.model = task
    module.labels = tf.constant(task.labels if task.labels else [""])
    ids_spec = {
        key: tf.TensorSpec([None, None], tf.int32, name=key)
        for key in ("input_ids", "input_mask", "segment_ids")
    }
    tagging = isinstance(task, TokenClassifier)
    multi = isinstance(task, MultiLabelClassifier)
    thresholds = tf.constant(np.asarray(getattr(task, "thresholds", [0.5]), np.float32))

    def head_outputs(logits):
        logits = tf.cast(logits, tf.float32)
        if multi:
            probs = tf.sigmoid(logits)
            chosen = probs >= thresholds
            names = tf.where(chosen, tf.broadcast_to(module.labels, tf.shape(probs)), "")
            return {
                "logits": logits,
                "probabilities": probs,
                "predictions": tf.cast(chosen, tf.int32),
                "labels": names,
            }
        probs = tf.nn.softmax(logits, axis=-1)
        best = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return {
            "logits": logits,
            "probabilities": probs,
            "predicted_ids": best,
            "label": tf.gather(module.labels, best),
            "score": tf.reduce_max(probs, axis=-1),
        }

    if tagging:
        spec = {
            **ids_spec,
            "labeled_positions": tf.TensorSpec([None, None], tf.int32, name="labeled_positions"),
        }

        @tf.function(input_signature=[spec])
        def serve_ids(inputs):
            inputs = dict(inputs)
            positions = inputs.pop("labeled_positions")
            logits = task(inputs, training=False)
            gathered = tf.gather(logits, positions, batch_dims=1)
            outputs = head_outputs(gathered)
            return {k: v for k, v in outputs.items() if k != "score"}
    else:

        @tf.function(input_signature=[ids_spec])
        def serve_ids(inputs):
            return head_outputs(task(dict(inputs), training=False))

    signatures = {"serving_default": serve_ids}
    tokenizer = None if tagging else _in_graph(task)
    if tokenizer is not None:
        module.tokenizer = tokenizer

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
        def predict_text(texts):
            return head_outputs(task(tokenizer(texts), training=False))

        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.string, name="texts"),
                tf.TensorSpec([None], tf.string, name="text_pairs"),
            ]
        )
        def predict_text_pair(texts, text_pairs):
            return head_outputs(task(tokenizer(texts, text_pairs), training=False))

        signatures["predict_text"] = predict_text
        signatures["predict_text_pair"] = predict_text_pair
    return module, signatures


def export_saved_model(
    task,
    base_dir: str | os.PathLike,
    name: str | None = None,
    version: int | None = None,
) -> Path:
    """Write ``task`` as ``base_dir/name/version/`` (next free version by default), atomically:
    the version directory appears only when complete, and an existing one is never replaced."""
    import tensorflow as tf

    name = name or task.task
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise JbertError(f"--name {name!r}: use letters, digits, '_', '-', '.' (a directory name)")
    model_base = Path(base_dir) / name
    version = next_version(model_base) if version is None else int(version)
    target = model_base / str(version)
    if target.exists():
        raise JbertError(f"{target}: version {version} already exists; pick another --version")
    model_base.mkdir(parents=True, exist_ok=True)
    module, signatures = build_module(task)
    partial = Path(tempfile.mkdtemp(prefix=f".{version}.partial-", dir=model_base))
    try:
        tf.saved_model.save(module, str(partial), signatures=signatures)
        _write_assets(task, partial / ASSETS)
        os.replace(partial, target)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return target


def _write_assets(task, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    info = {"task": task.task, "labels": task.labels, "options": task.task_options()}
    (directory / "task.json").write_text(
        json.dumps(info, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if task.tokenizer_assets is not None:
        task.tokenizer_assets.write(directory)


def load_saved_model(path: str | os.PathLike):
    """`tf.saved_model.load` after importing tensorflow_text (whose ops text signatures use),
    with a clear message when the export or tensorflow-text is missing."""
    import tensorflow as tf

    path = Path(path)
    if not (path / "saved_model.pb").is_file():
        raise JbertError(f"{path}: no saved_model.pb; pass a version directory like export/clf/1")
    try:
        import tensorflow_text  # noqa: F401  registers the ops of in-graph tokenizers
    except ImportError:
        raise JbertError(
            "tensorflow-text is not installed; SavedModels with text signatures need it: "
            "pip install tensorflow-text (the release matching your TensorFlow)"
        ) from None
    try:
        return tf.saved_model.load(str(path))
    except Exception as exc:  # TF raises several types for unregistered ops
        if "not registered" in str(exc) or "Op type" in str(exc):
            raise JbertError(
                f"{path}: uses ops TensorFlow does not know; import tensorflow_text before "
                f"tf.saved_model.load ({str(exc).splitlines()[0]})"
            ) from None
        raise
