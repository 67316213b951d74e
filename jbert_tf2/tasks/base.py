"""`TaskModel`: a loaded encoder plus a head, as a plain `keras.Model` with its labels and tokenizer.

Every task (`SequenceClassifier`, `MultiLabelClassifier`, `TokenClassifier`, `Embedder`) is
built the same way: ``from_pretrained(model_dir, labels=...)`` loads the encoder and tokenizer of
a model directory that `jbert-convert` wrote and adds a freshly initialised head;
``save_pretrained(out_dir)`` writes a model directory plus ``task.json`` (task, labels, options)
with the head's weights beside the encoder's, and ``from_pretrained(out_dir)`` loads all of it
back. Keras' own ``model.save("x.keras")`` works too (labels included, tokenizer not).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jbert_tf2.backend import keras
from jbert_tf2.config import check_max_seq_length
from jbert_tf2.errors import JbertError
from jbert_tf2.model_dir import (
    TASK_FILE,
    WEIGHTS_FILE,
    TaskSettings,
    TokenizerAssets,
    assign_weights,
    encoder_class,
    read_model_dir,
    save_model,
)
from jbert_tf2.tasks.serving import ServingMixin

HEAD_SCOPE = "task"


class TaskModel(ServingMixin, keras.Model):
    """Encoder -> head. Subclasses set ``task`` (the ``task.json`` name), build ``self.head``
    in ``__init__``, implement ``call`` and ``head_weights`` and may add options to
    ``task_options``.

    Args:
        encoder: a `BertModel` or `ElectraModel` (from `jbert_tf2.load`).
        labels: the label names, in output order (not for `Embedder`).
        max_seq_length: the length texts are truncated to by the text-level helpers
            (default 128, or the model's max_position_embeddings when smaller).
    """

    task = "task"
    needs_labels = True

    def __init__(
        self,
        encoder,
        labels: Sequence[str] | None = None,
        max_seq_length: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if self.needs_labels:
            if labels is None or isinstance(labels, str) or len(labels) < 1:
                raise JbertError(
                    f"{type(self).__name__} needs labels: a list of label names, e.g. "
                    "labels=['sports', 'it']"
                )
            labels = [str(label) for label in labels]
            if len(set(labels)) != len(labels):
                raise JbertError(f"labels has duplicates: {labels}; list each label once")
        self.encoder = encoder
        self.labels = list(labels) if labels is not None else None
        limit = encoder.config.max_position_embeddings
        self.max_seq_length = min(128, limit) if max_seq_length is None else int(max_seq_length)
        check_max_seq_length(self.max_seq_length, encoder.config)
        self.tokenizer = None
        self.tokenizer_assets: TokenizerAssets | None = None
        self.tf1_task_name: str | None = None  # the ELECTRA task of a converted TF1 head

    @property
    def config(self):
        return self.encoder.config

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def task_options(self) -> dict:
        """Constructor options beyond encoder / labels, saved in ``task.json``."""
        return {"max_seq_length": self.max_seq_length}

    def head_weights(self) -> dict:
        """``{name under task/: variable}`` for the head."""
        raise NotImplementedError

    def build(self, input_shape=None):
        self.encoder.ensure_built()
        self.build_head()
        self.built = True

    def build_head(self) -> None:
        raise NotImplementedError

    def ensure_built(self) -> None:
        if not self.built:
            self.build()

    def canonical_weights(self) -> dict:
        """``{name: variable}``: the encoder's TF1 names plus the head's under ``task/``."""
        self.ensure_built()
        weights = self.encoder.canonical_weights()
        weights.update({f"{HEAD_SCOPE}/{k}": v for k, v in self.head_weights().items()})
        return weights

    # Training helpers ------------------------------------------------------------------

    def freeze(self, trainable_layers: int | None) -> None:
        """Train only the last ``trainable_layers`` Transformer blocks (plus pooler and head);
        0 trains the head alone, None unfreezes everything. Call before ``compile``."""
        blocks = self.encoder.blocks
        if trainable_layers is not None and not 0 <= trainable_layers <= len(blocks):
            raise JbertError(
                f"trainable_layers={trainable_layers}: this model has {len(blocks)} layers; "
                f"use 0..{len(blocks)} or None"
            )
        keep = len(blocks) if trainable_layers is None else trainable_layers
        everything = trainable_layers is None
        self.encoder.embeddings.trainable = everything
        if self.encoder.embeddings_project is not None:
            self.encoder.embeddings_project.trainable = everything
        for i, block in enumerate(blocks):
            block.trainable = i >= len(blocks) - keep

    def require_tokenizer(self):
        if self.tokenizer is None:
            raise JbertError(
                f"{type(self).__name__} has no tokenizer: load it with from_pretrained(model_dir) "
                "from a directory with tokenizer.json, or set model.tokenizer"
            )
        return self.tokenizer

    def predict_logits(self, features, batch_size: int = 32) -> list[np.ndarray]:
        """The model's outputs for each example of ``features``, in input order, computed in
        length-bucketed batches (dynamic padding; few distinct shapes to compile)."""
        from jbert_tf2.data.buckets import DEFAULT_LENGTH_BUCKETS, bucket
        from jbert_tf2.data.pipeline import batch_indices

        results: list[np.ndarray | None] = [None] * len(features)
        lengths = features.lengths
        for batch in batch_indices(lengths, batch_size):
            width = bucket(int(lengths[batch].max()), DEFAULT_LENGTH_BUCKETS)
            outputs = np.asarray(self._predict_batch(features.padded(batch, width)))
            for row, i in enumerate(batch):
                results[i] = outputs[row]
        return results

    @property
    def predictor(self):
        """What `predict_logits` runs on besides Keras (`use_predictor`); None: Keras."""
        return getattr(self, "_predictor", None)

    @property
    def predict_backend(self) -> str:
        """What `predict_logits` runs on: ``"keras"`` or ``"onnxruntime"`` (`set_backend`)."""
        return "keras" if self.predictor is None else "onnxruntime"

    def set_backend(self, backend: str = "keras", threads: int | None = None) -> None:
        """Run `predict_logits`, and so every predict / classify / embed / predict_entities,
        on ``"keras"`` or ``"onnxruntime"``: the ONNX graph of the current weights, built now
        (call it again after training; ``pip install 'jbert-tf2[onnx]'``)."""
        from jbert_tf2.onnx_inference import check_backend, predictor_for

        chosen = check_backend(backend)
        self.use_predictor(predictor_for(self, threads=threads) if chosen != "keras" else None)

    def use_predictor(self, predictor) -> None:
        """Run `predict_logits` with ``predictor`` (a callable taking a dict of int32 inputs
        and returning a dict with ``logits`` or ``embeddings``, such as an
        `OnnxRuntimePredictor` of an exported ``model.onnx``); None: back to Keras."""
        self._predictor = predictor

    def _predict_batch(self, feed: dict) -> np.ndarray:
        predictor = self.predictor
        if predictor is None:
            return self.predict_on_batch(feed)
        outputs = predictor(feed)
        return outputs["embeddings" if "embeddings" in outputs else "logits"]

    def fit(self, x=None, y=None, **kwargs):
        """Keras ``fit``; a `tf.data.Dataset` is taken in its own (seeded) order."""
        if "shuffle" not in kwargs and type(x).__module__.startswith("tensorflow"):
            kwargs["shuffle"] = False
        return super().fit(x, y, **kwargs)

    # Saving and loading ---------------------------------------------------------------

    def load_weights(self, filepath, *args, **kwargs):
        """Keras ``load_weights``. A weights file saved while training (keras-tuner's best
        epoch, a Keras checkpoint) also holds the optimizer's state, which a model that has
        not trained yet cannot take: Keras' "Skipping variable loading for optimizer" is
        expected then and not shown (it still is when a built optimizer does not match)."""
        if self.optimizer is not None and self.optimizer.built:
            return super().load_weights(filepath, *args, **kwargs)
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="Skipping variable loading for optimizer", category=UserWarning
            )
            return super().load_weights(filepath, *args, **kwargs)

    def compile_from_config(self, config: dict) -> None:
        """Compile a model loaded from a ``.keras`` file as it was saved. Keras skips this (with
        a warning) for any model whose ``compile`` is overridden; ours only fills in the
        task's default loss and metrics, so calling it with the saved settings is exact."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.optimizer is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def get_config(self) -> dict:
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "labels": self.labels,
            "name": self.name,
            **self.task_options(),
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike,
        labels: Sequence[str] | None = None,
        backend: str = "keras",
        **options,
    ):
        """A task model on the encoder and tokenizer of a model directory.

        From a pretrained directory (what `jbert-convert` wrote) the head is new and
        ``labels`` are required; from a directory this task saved, the head, labels and
        options come back too (``labels``, if given, must match). ``backend="onnxruntime"``
        predicts on ONNX Runtime (`set_backend`).
        """
        from jbert_tf2.onnx_inference import check_backend

        check_backend(backend)
        path = Path(path)
        md = read_model_dir(path, with_task=True)
        saved = md.task
        if saved is not None:
            if saved.task != cls.task:
                raise JbertError(
                    f"{path / TASK_FILE}: holds a {saved.task} model, not {cls.task}; load it "
                    f"with jbert_tf2.tasks.load_task({str(path)!r})"
                )
            if labels is not None and list(labels) != saved.labels:
                raise JbertError(
                    f"{path}: was fine-tuned with labels {saved.labels}, not "
                    f"{list(labels)}; leave labels out or start from the pretrained directory"
                )
            options = {**saved.options, **options}
            labels = saved.labels
        encoder = encoder_class(md.config)(md.config, **cls.encoder_options(options))
        model = (
            cls(encoder, labels=labels, **options) if cls.needs_labels else cls(encoder, **options)
        )
        model.ensure_built()
        model.tf1_task_name = saved.tf1_task_name if saved is not None else None
        weights = md.weights
        if saved is None:
            assign_weights(encoder, weights, str(path / WEIGHTS_FILE))
        else:
            assign_weights(model, weights, str(path / WEIGHTS_FILE))
        if md.tokenizer is not None:
            model.tokenizer = md.tokenizer.build(path)
            model.tokenizer_assets = TokenizerAssets.read(md.tokenizer, md.tokenizer_files)
        if backend != "keras":
            model.set_backend(backend)
        return model

    @classmethod
    def encoder_options(cls, options: dict) -> dict:
        """Keyword arguments for the encoder (`Embedder` asks for hidden states)."""
        return {}

    def task_settings(self) -> TaskSettings:
        """What ``task.json`` records: the task's name, labels and `task_options`."""
        return TaskSettings(self.task, self.labels, self.task_options(), self.tf1_task_name)

    def save_pretrained(self, out_dir: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write a model directory (config, weights incl. head, tokenizer) plus ``task.json``;
        atomically, and an existing directory is replaced only with ``overwrite``."""
        return save_model(
            self,
            out_dir,
            components=["encoder", HEAD_SCOPE],
            tokenizer=self.tokenizer_assets,
            task=self.task_settings(),
            overwrite=overwrite,
        )
