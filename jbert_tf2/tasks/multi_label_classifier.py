"""`MultiLabelClassifier`: any number of labels per text (one sigmoid per label)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jbert_tf2.backend import keras, ops
from jbert_tf2.errors import JbertError
from jbert_tf2.tasks.sequence_classifier import SequenceClassifier


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


class LogitF1Score(keras.metrics.F1Score):
    """Keras' F1 score on sigmoid(logits), since the model outputs logits."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(y_true, ops.sigmoid(y_pred), sample_weight)


def f1_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Micro and macro F1 of multi-hot predictions (a label with no true and no predicted
    positives scores F1 1 in macro, as nothing was missed or invented)."""
    y_true, y_pred = np.asarray(y_true, bool), np.asarray(y_pred, bool)
    tp = (y_true & y_pred).sum(axis=0)
    fp = (~y_true & y_pred).sum(axis=0)
    fn = (y_true & ~y_pred).sum(axis=0)
    denom = 2 * tp + fp + fn
    per_label = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 1.0)
    micro_denom = 2 * tp.sum() + fp.sum() + fn.sum()
    micro = 2 * tp.sum() / micro_denom if micro_denom else 1.0
    return {"micro_f1": float(micro), "macro_f1": float(per_label.mean()), "per_label": per_label}


@keras.saving.register_keras_serializable(package="jbert_tf2")
class MultiLabelClassifier(SequenceClassifier):
    """Pooled output -> dropout -> dense -> one logit per label; binary cross-entropy.

    ``thresholds`` (one per label, default 0.5) turn probabilities into labels;
    `tune_thresholds` picks each label's best-F1 threshold on held-out examples.
    """

    task = "multi_label_classification"
    multi_label = True

    def __init__(
        self,
        encoder,
        labels=None,
        max_seq_length: int | None = None,
        dropout=None,
        thresholds: Sequence[float] | float | None = None,
        **kwargs,
    ):
        super().__init__(encoder, labels, max_seq_length, dropout, **kwargs)
        self.thresholds = self._check_thresholds(0.5 if thresholds is None else thresholds)

    def _check_thresholds(self, thresholds) -> np.ndarray:
        values = np.asarray(thresholds, np.float64)
        if values.ndim == 0:
            values = np.full(self.num_labels, float(values))
        if values.shape != (self.num_labels,) or not np.all((values > 0) & (values < 1)):
            raise JbertError(
                f"thresholds={list(np.atleast_1d(thresholds))}: need one value in (0, 1) per "
                f"label ({self.num_labels} labels)"
            )
        return values

    def task_options(self) -> dict:
        return {**super().task_options(), "thresholds": [float(t) for t in self.thresholds]}

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Keras ``compile`` with binary cross-entropy on logits and micro / macro F1."""
        if loss is None:
            loss = keras.losses.BinaryCrossentropy(from_logits=True)
        if metrics is None:
            metrics = [
                LogitF1Score(average="micro", threshold=0.5, name="micro_f1"),
                LogitF1Score(average="macro", threshold=0.5, name="macro_f1"),
            ]
        keras.Model.compile(self, optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def serving_outputs(self, logits) -> dict:
        """Independent sigmoids: ``logits``, ``probabilities``, ``predictions`` (1 at or above
        each label's threshold) and ``labels`` (the label's name there, "" elsewhere)."""
        from jbert_tf2.backend import tensorflow

        tf = tensorflow()
        labels = tf.constant(self.labels)
        thresholds = tf.constant(np.asarray(self.thresholds, np.float32))
        logits = tf.cast(logits, tf.float32)
        probs = tf.sigmoid(logits)
        chosen = probs >= thresholds
        return {
            "logits": logits,
            "probabilities": probs,
            "predictions": tf.cast(chosen, tf.int32),
            "labels": tf.where(chosen, tf.broadcast_to(labels, tf.shape(probs)), ""),
        }

    def predict_proba(self, texts, text_pairs=None, batch_size: int = 32) -> np.ndarray:
        """Per-label probabilities [n, num_labels] (independent sigmoids)."""
        return self.proba_from_logits(
            self.predict_logits(self.text_features(texts, text_pairs), batch_size)
        )

    def proba_from_logits(self, logits) -> np.ndarray:
        if not len(logits):
            return np.zeros((0, self.num_labels), np.float32)
        return _sigmoid(np.stack(logits).astype(np.float64)).astype(np.float32)

    def predictions_from_logits(self, logits) -> np.ndarray:
        """Multi-hot bool [n, num_labels] from `predict_logits`' outputs: each label's sigmoid
        (in float64) at or above its threshold."""
        return _sigmoid(np.stack(logits).astype(np.float64)) >= self.thresholds

    def classify(self, texts, text_pairs=None, batch_size: int = 32) -> list[dict]:
        """The labels at or above their threshold for each text, with all probabilities."""
        probs = self.predict_proba(texts, text_pairs, batch_size)
        return [
            {
                "labels": [self.labels[k] for k in np.flatnonzero(p >= self.thresholds)],
                "scores": {label: float(x) for label, x in zip(self.labels, p, strict=True)},
            }
            for p in probs
        ]

    def evaluate_examples(self, examples, batch_size: int = 32) -> dict:
        """Micro / macro F1 of `classify` on labelled `TextExample`s at the current thresholds."""
        features = self.features(examples)
        probs = _sigmoid(np.stack(self.predict_logits(features, batch_size)))
        return f1_scores(features.labels, probs >= self.thresholds)

    def tune_thresholds(
        self,
        examples,
        batch_size: int = 32,
        candidates: Sequence[float] = tuple(np.arange(0.05, 0.951, 0.05)),
    ) -> np.ndarray:
        """Set each label's threshold to the candidate with the best F1 on ``examples``
        (held-out data, not the training set); returns the thresholds."""
        features = self.features(examples)
        probs = _sigmoid(np.stack(self.predict_logits(features, batch_size)))
        truth = np.asarray(features.labels, bool)
        best = np.empty(self.num_labels)
        for k in range(self.num_labels):
            scores = []
            for t in candidates:
                pred = probs[:, k] >= t
                tp = np.sum(pred & truth[:, k])
                denom = 2 * tp + np.sum(pred & ~truth[:, k]) + np.sum(~pred & truth[:, k])
                scores.append(2 * tp / denom if denom else 1.0)
            best[k] = candidates[int(np.argmax(scores))]
        self.thresholds = best
        return best
