"""Long texts for classifiers: one document's window logits aggregated to the document's logits.

With ``long_text="windows"`` a classifier reads each document through the windows of
`jbert_tf2.data.windows` and answers for the document with an aggregate of its windows' logits.
Training uses the same aggregate: every window carries its document's label, the loss is taken
once per document on the aggregated logits, so a document of ten windows weighs what a document
of one does. A training batch holds whole documents, ``[documents, windows, tokens]`` with
padded windows (no tokens) masked out of the aggregate (`aggregate_windows`).

Aggregations (``window_aggregation``):

- ``"mean"``: the mean of the windows' logits.
- ``"max"``: each label's largest logit over the windows (a label found in any window wins).
- ``"cls_weighted"``: a weighted mean of the windows' logits, the weights a softmax over the
  document's windows of each window's confidence, the largest ``|logit|`` its [CLS] vector gives
  (centred over the labels for softmax classification, whose logits matter only up to a shift;
  as they are for sigmoids, where 0 means undecided). A window that reads decisive evidence then
  outweighs windows of filler that say little. The weights come from the logits themselves, not
  new variables, so the head keeps Google's layout and the aggregation can be switched after
  training.
"""

from __future__ import annotations

from jbert_tf2.backend import ops
from jbert_tf2.errors import JbertError

AGGREGATIONS = ("mean", "max", "cls_weighted")
_LOWEST = -1e9


def check_aggregation(window_aggregation: str) -> str:
    """``window_aggregation`` if it is one of `AGGREGATIONS`, else a clear error."""
    if window_aggregation not in AGGREGATIONS:
        raise JbertError(
            f"window_aggregation={window_aggregation!r}: use one of {', '.join(AGGREGATIONS)}"
        )
    return window_aggregation


def aggregate_windows(logits, window_mask, window_aggregation: str, multi_label: bool):
    """[documents, windows, labels] logits -> [documents, labels]; ``window_mask``
    [documents, windows] is 1 for a real window, 0 for padding (which never counts)."""
    logits = ops.cast(logits, "float32")
    real = ops.cast(window_mask, "float32")
    if window_aggregation == "mean":
        total = ops.sum(logits * real[:, :, None], axis=1)
        return total / ops.maximum(ops.sum(real, axis=1), 1.0)[:, None]
    if window_aggregation == "max":
        return ops.max(ops.where(real[:, :, None] > 0, logits, _LOWEST), axis=1)
    centred = logits if multi_label else logits - ops.mean(logits, axis=-1, keepdims=True)
    confidence = ops.where(real > 0, ops.max(ops.abs(centred), axis=-1), _LOWEST)
    # A softmax over each document's real windows (written out: a document may have one).
    weights = ops.exp(confidence - ops.max(confidence, axis=1, keepdims=True)) * real
    weights = weights / ops.maximum(ops.sum(weights, axis=1, keepdims=True), 1e-12)
    return ops.sum(logits * weights[:, :, None], axis=1)


def aggregate_by_text(
    window_logits, text_index, num_texts, window_aggregation: str, multi_label: bool
):
    """[windows, labels] logits with the text of each window (int [windows], a text's windows
    consecutive, as `jbert_tf2.data.windows_graph.window_inputs` gives) -> [texts, labels]: the
    in-graph twin of the classifiers' Python prediction (TensorFlow backend)."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    rows = tf.cast(text_index, tf.int64)
    logits = tf.RaggedTensor.from_value_rowids(tf.cast(window_logits, tf.float32), rows, num_texts)
    real = tf.RaggedTensor.from_value_rowids(tf.ones_like(rows, tf.float32), rows, num_texts)
    return aggregate_windows(logits.to_tensor(), real.to_tensor(), window_aggregation, multi_label)
