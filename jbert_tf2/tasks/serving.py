"""`ServingMixin`: what a task model's SavedModel signatures take and return, so
`jbert_tf2.export` builds them from the task's own methods with no task-specific code.

The defaults are the softmax classifier's (`SequenceClassifier`); `MultiLabelClassifier`
answers with sigmoids and its thresholds, and `TokenClassifier` takes ``labeled_positions`` and
answers raw text with entities (`graph_tagger`: ``predict_entities``) instead of
``predict_text``.
"""

from __future__ import annotations

from typing import Any

from jbert_tf2.models.encoder import INPUT_KEYS


class ServingMixin:
    """Serving behaviour of a `TaskModel`: the ``serving_default`` inputs (`serving_input_spec`),
    its body (`serve_ids`) and the outputs made from logits (`serving_outputs`), which the
    raw-text signatures share."""

    serves_text = True
    """Whether the export adds ``predict_text`` / ``predict_text_pair`` (when the tokenizer has
    an in-graph twin)."""

    def graph_tagger(self, ops: str) -> Any:
        """The ``predict_entities`` signature's body (a `tagging_graph.GraphTagger`) for the
        in-graph tokenizers of ``ops``, or None: only taggers answer with entities."""
        return None

    def serving_input_spec(self) -> dict[str, Any]:
        """``{name: tf.TensorSpec}`` of ``serving_default``: int32 [batch, seq] token ids."""
        from jbert_tf2.backend import tensorflow

        tf = tensorflow()
        return {key: tf.TensorSpec([None, None], tf.int32, name=key) for key in INPUT_KEYS}

    def serve_text(self, tokenizer, texts, text_pairs=None) -> dict[str, Any]:
        """The raw-text signatures' outputs for a ``tf.string`` batch (and pairs), ``tokenizer``
        the in-graph twin: its fixed-length inputs through the model (`SequenceClassifier`
        cuts long texts into windows instead when ``long_text="windows"``)."""
        inputs = tokenizer(texts) if text_pairs is None else tokenizer(texts, text_pairs)
        return self.serving_outputs(self(inputs, training=False))

    def serve_ids(self, inputs: dict) -> dict[str, Any]:
        """``serving_default``'s outputs for a dict of `serving_input_spec` tensors."""
        return self.serving_outputs(self(inputs, training=False))

    def serving_outputs(self, logits) -> dict[str, Any]:
        """Softmax over the labels: ``logits``, ``probabilities``, ``predicted_ids``, ``label``
        (its name) and ``score`` (its probability)."""
        from jbert_tf2.backend import tensorflow

        tf = tensorflow()
        labels = tf.constant(self.labels if self.labels else [""])
        logits = tf.cast(logits, tf.float32)
        probs = tf.nn.softmax(logits, axis=-1)
        best = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return {
            "logits": logits,
            "probabilities": probs,
            "predicted_ids": best,
            "label": tf.gather(labels, best),
            "score": tf.reduce_max(probs, axis=-1),
        }
