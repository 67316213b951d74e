"""SavedModel export of task models for TF Serving, and loading it back.

`export_saved_model(task, base_dir, name)` writes ``base_dir/name/<version>/`` (the layout TF
Serving polls) with signatures:

- ``serving_default``: token ids in (``input_ids``, ``input_mask``, ``segment_ids`` int32
  [batch, seq]; a `TokenClassifier` also takes ``labeled_positions`` [batch, n], the first
  sub-token of each word, as ELECTRA's export did) -> ``logits`` and ``probabilities`` (and the
  predicted ids / labels).
- ``predict_text`` (and ``predict_text_pair`` for two-text inputs): a ``tf.string`` batch of raw
  texts in -> ``label``, ``score``, ``probabilities`` (multi-label: ``labels`` with "" for labels
  under their threshold, ``predictions``), tokenized in the graph by the tokenizer's twin.
- ``predict_entities`` (taggers): raw texts in -> padded entities ``text``, ``label``,
  ``start``, ``end`` (code point offsets into each text) and ``num_entities``, as
  `TokenClassifier.predict_entities` finds them (`jbert_tf2.tasks.tagging_graph`).

``ops`` picks the twin: ``"core"`` (default) builds it from core TensorFlow ops only
(`CoreOpsTokenizer`: every tokenizer, MeCab included), so the SavedModel loads in any TensorFlow
runtime, stock TF Serving and LiteRT with TF ops included; ``"text"`` uses tensorflow-text
(`InGraphTokenizer`; no MeCab, no ``predict_entities``), whose ops the runtime must register
(`load_saved_model` imports tensorflow_text only for such a graph).

The tokenizer files and ``task.json`` are copied to ``assets/jbert/`` so `Preprocessor` and
post-processing can be rebuilt from the export alone.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jbert_tf2.atomic_files import restore_moved_aside, write_directory
from jbert_tf2.errors import JbertError

if TYPE_CHECKING:
    from jbert_tf2.tasks.base import TaskModel

ASSETS = Path("assets") / "jbert"
OPS = ("core", "text")
"""Which in-graph tokenizers an export holds: core TensorFlow ops or tensorflow-text's."""


def version_directory(
    base_dir: str | os.PathLike, name: str, version: int | None, overwrite: bool
) -> Path:
    """``base_dir/name/version`` (the next free version when None), the layout TF Serving
    polls and every export format uses; refused when ``name`` is not a directory name or the
    version exists and ``overwrite`` is not set."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise JbertError(f"--name {name!r}: use letters, digits, '_', '-', '.' (a directory name)")
    model_base = Path(base_dir) / name
    version = next_version(model_base) if version is None else int(version)
    target = model_base / str(version)
    if target.exists() and not overwrite:
        raise JbertError(
            f"{target}: version {version} already exists; pick another --version, or pass "
            "--overwrite to replace it"
        )
    return target


def next_version(model_base: Path) -> int:
    """One more than the highest numeric version directory (TF Serving serves the highest)."""
    versions = [int(p.name) for p in model_base.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def check_ops(ops: str) -> str:
    """``ops`` if it is one of `OPS`, else a clear error."""
    if ops not in OPS:
        raise JbertError(
            f"--ops {ops!r}: use core (core TensorFlow ops, any runtime) or text (tensorflow-text)"
        )
    return ops


def _in_graph(task, ops: str):
    """The tokenizer's in-graph twin for the text signatures, or None when it has none (a
    tokenizer class without ``graph_spec``; MeCab with ``ops="text"``)."""
    if task.tokenizer is None:
        return None
    if ops == "text":
        try:
            return task.tokenizer.in_graph(task.max_seq_length)
        except JbertError:
            return None  # MeCab: no tensorflow-text twin; the ids signature only
    from jbert_tf2.tokenization.core_ops import CoreOpsTokenizer

    try:
        spec = task.tokenizer.graph_spec()
    except JbertError:
        return None
    return CoreOpsTokenizer(spec, max_seq_length=task.max_seq_length)


def build_module(task: TaskModel, ops: str = "core") -> tuple[Any, dict]:
    """A `tf.Module` holding the model and its serving functions, built from the task's own
    serving methods (`jbert_tf2.tasks.serving.ServingMixin`): its ``serving_default`` inputs
    and body, the outputs its raw-text signatures return, and a tagger's in-graph entities."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    check_ops(ops)
    task.ensure_built()
    module = tf.Module()
    module.model = task

    @tf.function(input_signature=[task.serving_input_spec()])
    def serve_ids(inputs):
        return task.serve_ids(dict(inputs))

    signatures = {"serving_default": serve_ids}
    tagger = task.graph_tagger(ops)
    if tagger is not None:
        module.entity_tokenizer = tagger.tokenizer
        module.entity_words = tagger.word_splitter

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
        def predict_entities(texts):
            return tagger(texts)

        signatures["predict_entities"] = predict_entities
    tokenizer = _in_graph(task, ops) if task.serves_text else None
    if tokenizer is not None:
        module.tokenizer = tokenizer

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
        def predict_text(texts):
            return task.serve_text(tokenizer, texts)

        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.string, name="texts"),
                tf.TensorSpec([None], tf.string, name="text_pairs"),
            ]
        )
        def predict_text_pair(texts, text_pairs):
            return task.serve_text(tokenizer, texts, text_pairs)

        signatures["predict_text"] = predict_text
        signatures["predict_text_pair"] = predict_text_pair
    return module, signatures


def export_saved_model(
    task: TaskModel,
    base_dir: str | os.PathLike,
    name: str | None = None,
    version: int | None = None,
    overwrite: bool = False,
    ops: str = "core",
) -> Path:
    """Write ``task`` as ``base_dir/name/version/`` (next free version by default), atomically:
    the version directory appears only when complete, and an existing one is replaced only
    with ``overwrite``. ``ops``: the in-graph tokenizers' ops, ``"core"`` (any TensorFlow
    runtime) or ``"text"`` (tensorflow-text's)."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    check_ops(ops)
    name = name or task.task
    target = version_directory(base_dir, name, version, overwrite)
    module, signatures = build_module(task, ops)

    def fill(partial: Path) -> None:
        tf.saved_model.save(module, str(partial), signatures=signatures)
        _write_assets(task, partial / ASSETS)

    # without overwrite, a version directory that appears meanwhile is kept, not replaced
    return write_directory(target, fill, overwrite=overwrite)


def _write_assets(task, directory: Path) -> None:
    """``task.json`` and the tokenizer files, written as in a model directory, so `Preprocessor`
    reads them with the model directory's readers."""
    from jbert_tf2.model_dir import write_task_settings, write_tokenizer_files

    directory.mkdir(parents=True, exist_ok=True)
    write_task_settings(directory, task.task_settings())
    if task.tokenizer_assets is not None:
        write_tokenizer_files(directory, task.tokenizer_assets)


def _unregistered_op(exc: Exception) -> bool:
    return "not registered" in str(exc) or "Op type" in str(exc)


def load_saved_model(path: str | os.PathLike):
    """`tf.saved_model.load`, importing tensorflow_text only when the graph uses its ops (an
    ``ops="text"`` export), with a clear message when the export or tensorflow-text is
    missing. A core-ops export loads without it."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    path = restore_moved_aside(path)  # a killed --overwrite had moved it aside: back
    if not (path / "saved_model.pb").is_file():
        raise JbertError(f"{path}: no saved_model.pb; pass a version directory like export/clf/1")
    try:
        return tf.saved_model.load(str(path))
    except Exception as exc:  # TF raises several types for unregistered ops
        if not _unregistered_op(exc):
            raise
        first_error = str(exc).splitlines()[0]
    try:
        import tensorflow_text  # noqa: F401  registers the ops of tensorflow-text tokenizers
    except ImportError:
        raise JbertError(
            f"{path}: uses tensorflow-text ops ({first_error}), and tensorflow-text is not "
            "installed: pip install tensorflow-text (the release matching your TensorFlow), or "
            "export again with jbert-export --ops core, which needs no tensorflow-text"
        ) from None
    try:
        return tf.saved_model.load(str(path))
    except Exception as exc:
        if _unregistered_op(exc):
            raise JbertError(
                f"{path}: uses ops TensorFlow does not know, even with tensorflow_text "
                f"imported ({str(exc).splitlines()[0]}); export again with jbert-export --ops core"
            ) from None
        raise
