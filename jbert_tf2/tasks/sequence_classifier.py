"""`SequenceClassifier`: one label per text or text pair (softmax over the pooled output)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jbert_tf2.backend import keras
from jbert_tf2.tasks.base import TaskModel
from jbert_tf2.tasks.classification_head import ClassificationHead


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@keras.saving.register_keras_serializable(package="jbert_tf2")
class SequenceClassifier(TaskModel):
    """Google's run_classifier model: pooled output -> dropout -> dense -> logits [batch, labels].

    Compile with no loss to get sparse softmax cross-entropy on logits and accuracy.

    Examples:
        >>> clf = SequenceClassifier.from_pretrained("ja-bert", labels=["sports", "it"])  # doctest: +SKIP
        >>> clf.compile(optimizer=create_optimizer(2e-5, 1000, 100))  # doctest: +SKIP
        >>> clf.fit(clf.dataset(train_examples, batch_size=32, shuffle=True))  # doctest: +SKIP
        >>> clf.classify(["今日の試合は延長戦に。"])  # doctest: +SKIP
        [{'label': 'sports', 'score': 0.97}]
    """

    task = "sequence_classification"

    def __init__(
        self, encoder, labels=None, max_seq_length: int | None = None, dropout=None, **kwargs
    ):
        super().__init__(encoder, labels, max_seq_length, **kwargs)
        self.dropout = encoder.config.hidden_dropout_prob if dropout is None else float(dropout)
        self.head = ClassificationHead(
            self.num_labels, self.dropout, encoder.config.initializer_range, name="head"
        )

    def task_options(self) -> dict:
        return {**super().task_options(), "dropout": self.dropout}

    def build_head(self) -> None:
        self.head.build((None, self.config.hidden_size))

    def head_weights(self) -> dict:
        return self.head.canonical_weights()

    def call(self, inputs, training=None):
        pooled = self.encoder(inputs, training=training, pooled_only=True)["pooled_output"]
        return self.head(pooled, training=training)

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
        """`Features` of `TextExample`s with this model's tokenizer, labels and length."""
        from jbert_tf2.data.features import encode_classification

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
        return encode_classification(
            self.require_tokenizer(), examples, None, self.max_seq_length, warn=warn
        )

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
