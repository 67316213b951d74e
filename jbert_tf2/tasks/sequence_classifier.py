"""`SequenceClassifier`: one label per text or text pair (softmax over the pooled output).

Texts longer than ``max_seq_length`` are truncated (Google's rule, the default) or, with
``long_text="windows"``, read through overlapping windows whose logits are aggregated per text
(`jbert_tf2.tasks.long_text`), in training and prediction alike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jbert_tf2.backend import keras, ops
from jbert_tf2.data.windows import check_long_text, saved_doc_stride
from jbert_tf2.errors import JbertError
from jbert_tf2.models.encoder import INPUT_KEYS
from jbert_tf2.tasks.base import TaskModel
from jbert_tf2.tasks.classification_head import ClassificationHead
from jbert_tf2.tasks.long_text import aggregate_windows, check_aggregation


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@keras.saving.register_keras_serializable(package="jbert_tf2")
class SequenceClassifier(TaskModel):
    """Google's run_classifier model: pooled output -> dropout -> dense -> logits [batch, labels].

    Compile with no loss to get sparse softmax cross-entropy on logits and accuracy.

    Args:
        long_text: ``"truncate"`` (Google's run_classifier: tokens past ``max_seq_length`` are
            dropped) or ``"windows"`` (every token is read: windows ``doc_stride`` tokens apart,
            their logits aggregated per text; a pair windows its longer text).
        doc_stride: tokens between the starts of consecutive windows, 1..max_seq_length - 3
            (default: half a window, so every token is read twice).
        window_aggregation: ``"mean"``, ``"max"`` or ``"cls_weighted"`` (see
            `jbert_tf2.tasks.long_text`).

    Examples:
        >>> clf = SequenceClassifier.from_pretrained("ja-bert", labels=["sports", "it"])  # doctest: +SKIP
        >>> clf.compile(optimizer=create_optimizer(2e-5, 1000, 100))  # doctest: +SKIP
        >>> clf.fit(clf.dataset(train_examples, batch_size=32, shuffle=True))  # doctest: +SKIP
        >>> clf.classify(["今日の試合は延長戦に。"])  # doctest: +SKIP
        [{'label': 'sports', 'score': 0.97}]
    """

    task = "sequence_classification"

    def __init__(
        self,
        encoder,
        labels=None,
        max_seq_length: int | None = None,
        dropout=None,
        long_text: str = "truncate",
        doc_stride: int | None = None,
        window_aggregation: str = "mean",
        **kwargs,
    ):
        super().__init__(encoder, labels, max_seq_length, **kwargs)
        self.dropout = encoder.config.hidden_dropout_prob if dropout is None else float(dropout)
        self.doc_stride = check_long_text(long_text, doc_stride, self.max_seq_length)
        self.long_text = long_text
        self.window_aggregation = check_aggregation(window_aggregation)
        self.head = ClassificationHead(
            self.num_labels, self.dropout, encoder.config.initializer_range, name="head"
        )

    def task_options(self) -> dict:
        return {
            **super().task_options(),
            "dropout": self.dropout,
            "long_text": self.long_text,
            "doc_stride": saved_doc_stride(self.doc_stride, self.max_seq_length),
            "window_aggregation": self.window_aggregation,
        }

    def build_head(self) -> None:
        self.head.build((None, self.config.hidden_size))

    def head_weights(self) -> dict:
        return self.head.canonical_weights()

    def call(self, inputs, training=None):
        """Logits [batch, labels] of [batch, tokens] inputs; of [documents, windows, tokens]
        inputs (a windowed batch, see `jbert_tf2.data.pipeline.make_dataset`), each
        document's windows aggregated to [documents, labels]."""
        if isinstance(inputs, dict) and len(inputs["input_ids"].shape) == 3:
            return self._call_windows(inputs, training)
        pooled = self.encoder(inputs, training=training, pooled_only=True)["pooled_output"]
        return self.head(pooled, training=training)

    def _call_windows(self, inputs, training):
        shape = ops.shape(inputs["input_ids"])
        flat = {key: ops.reshape(inputs[key], (-1, shape[2])) for key in INPUT_KEYS}
        pooled = self.encoder(flat, training=training, pooled_only=True)["pooled_output"]
        logits = self.head(pooled, training=training)
        logits = ops.reshape(logits, (shape[0], shape[1], self.num_labels))
        real = ops.max(inputs["input_mask"], axis=-1)
        return aggregate_windows(logits, real, self.window_aggregation, self.multi_label)

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Keras ``compile`` with this task's defaults for ``loss`` and ``metrics``."""
        if loss is None:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics is None:
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    # Data and text-level helpers ---------------------------------------------------------

    multi_label = False

    def features(self, examples):
        """`Features` of `TextExample`s with this model's tokenizer, labels and length (with
        ``long_text="windows"``, `WindowedFeatures`: one row per window, one label per text)."""
        from jbert_tf2.data.features import encode_classification

        if self.long_text == "windows":
            return self._windows(examples, self.labels)
        return encode_classification(
            self.require_tokenizer(), examples, self.labels, self.max_seq_length, self.multi_label
        )

    def dataset(
        self, examples, batch_size: int = 32, shuffle: bool = False, seed: int = 0, epoch: int = 0
    ):
        """A length-bucketed `tf.data.Dataset` of ``examples`` for fit / evaluate."""
        from jbert_tf2.data.pipeline import make_dataset

        return make_dataset(
            self.features(examples),
            batch_size,
            shuffle,
            seed,
            epoch,
            max_seq_length=self.max_seq_length,
        )

    def text_features(
        self,
        texts: Sequence[str] | str,
        text_pairs: Sequence[str | None] | str | None = None,
        warn: bool = True,
    ):
        """`Features` of raw texts (and pairs) to predict: what `predict_proba` and
        `jbert-run-classifier --do_predict` feed the model. With ``warn``, a warning counts the
        texts truncated to ``max_seq_length`` (``False``: the caller reports
        `Features.truncated_rows` itself)."""
        from jbert_tf2.data.examples import text_examples
        from jbert_tf2.data.features import encode_classification

        examples = text_examples(texts, text_pairs)
        if self.long_text == "windows":
            return self._windows(examples, None)
        return encode_classification(
            self.require_tokenizer(), examples, None, self.max_seq_length, warn=warn
        )

    def _windows(self, examples, labels):
        from jbert_tf2.data.windows import encode_windows

        return encode_windows(
            self.require_tokenizer(),
            examples,
            labels,
            self.max_seq_length,
            self.doc_stride,
            self.multi_label,
        )

    def predict_logits(self, features, batch_size: int = 32) -> list[np.ndarray]:
        """The logits of each example of ``features``, in input order; of `WindowedFeatures`,
        each document's windows aggregated (the aggregate training optimised)."""
        from jbert_tf2.data.windows import WindowedFeatures

        window_logits = super().predict_logits(features, batch_size)
        if not isinstance(features, WindowedFeatures):
            return window_logits
        counts = features.window_counts
        padded = np.zeros((features.num_documents, max(counts, default=1), self.num_labels))
        real = np.zeros(padded.shape[:2], np.float32)
        for row, document in enumerate(features.document_ids):
            slot = row - int(np.searchsorted(features.document_ids, document))
            padded[document, slot] = window_logits[row]
            real[document, slot] = 1.0
        aggregated = aggregate_windows(
            padded.astype(np.float32), real, self.window_aggregation, self.multi_label
        )
        return list(ops.convert_to_numpy(aggregated))

    def serve_text(self, tokenizer, texts, text_pairs=None) -> dict:
        """The raw-text signatures' outputs for a ``tf.string`` batch (and pairs), ``tokenizer``
        the in-graph twin: its fixed-length inputs when truncating; with windows, each text's
        token ids (the core-ops twin's ``tokenize``) cut into windows in the graph
        (`jbert_tf2.data.windows_graph.window_inputs`) and their logits aggregated per text
        (`jbert_tf2.tasks.long_text.aggregate_by_text`), as `predict_proba` does in Python."""
        if self.long_text != "windows":
            return self.serving_outputs(self(tokenizer(texts, text_pairs), training=False))
        from jbert_tf2.data.windows_graph import window_inputs
        from jbert_tf2.tasks.long_text import aggregate_by_text

        if not hasattr(tokenizer, "tokenize"):
            raise JbertError(
                f"{type(self).__name__} with long_text='windows' cuts windows in the graph from "
                "the core-ops tokenizer's token ids; export with ops='core' (jbert-export --ops "
                "core, the default)"
            )
        ids_a = tokenizer.tokenize(texts)["ids"]
        ids_b = None if text_pairs is None else tokenizer.tokenize(text_pairs)["ids"]
        vocab = self.require_tokenizer().vocab
        inputs, text_index = window_inputs(
            ids_a,
            ids_b,
            cls_id=vocab[self.tokenizer.cls_token],
            sep_id=vocab[self.tokenizer.sep_token],
            max_seq_length=self.max_seq_length,
            doc_stride=self.doc_stride,
        )
        logits = self(inputs, training=False)
        per_text = aggregate_by_text(
            logits, text_index, ids_a.nrows(), self.window_aggregation, self.multi_label
        )
        return self.serving_outputs(per_text)

    def predict_proba(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, batch_size: int = 32
    ) -> np.ndarray:
        """Class probabilities [n, num_labels] for raw texts (and pairs)."""
        return self.proba_from_logits(
            self.predict_logits(self.text_features(texts, text_pairs), batch_size)
        )

    def proba_from_logits(self, logits: Sequence[np.ndarray]) -> np.ndarray:
        """`predict_proba`'s probabilities [n, num_labels] from `predict_logits`' outputs."""
        if not len(logits):
            return np.zeros((0, self.num_labels), np.float32)
        return _softmax(np.stack(logits).astype(np.float64)).astype(np.float32)

    def predictions_from_logits(self, logits: Sequence[np.ndarray]) -> np.ndarray:
        """The predicted class ids [n] from `predict_logits`' outputs (the most probable)."""
        return np.stack(logits).argmax(axis=-1)

    def classify(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, batch_size: int = 32
    ) -> list[dict]:
        """The most probable label of each text, with its probability."""
        probs = self.predict_proba(texts, text_pairs, batch_size)
        best = probs.argmax(axis=-1)
        return [
            {"label": self.labels[k], "score": float(p[k])}
            for k, p in zip(best, probs, strict=True)
        ]
