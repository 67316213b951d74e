"""Data: readers for users' files (TSV/CSV, livedoor corpus, CoNLL / BIO, JSON lines), features
with labels aligned to sub-tokens, and `tf.data` pipelines with dynamic padding.

The readers are plain Python (no TensorFlow import) and raise `jbert_tf2.errors.DataError`
naming the file and line."""

from jbert_tf2.data.conll import join_words, read_conll
from jbert_tf2.data.examples import TaggedSentence, TextExample, collect_labels
from jbert_tf2.data.jsonl import read_jsonl, read_jsonl_tagged
from jbert_tf2.data.livedoor import read_livedoor, split_examples
from jbert_tf2.data.tabular import read_table
from jbert_tf2.lazy_exports import lazy_exports

_LAZY = {  # TensorFlow / Keras users, loaded on first use
    "Features": "jbert_tf2.data.features",
    "encode_classification": "jbert_tf2.data.features",
    "encode_tagging": "jbert_tf2.data.features",
    "batch_indices": "jbert_tf2.data.pipeline",
    "make_dataset": "jbert_tf2.data.pipeline",
    "WindowedFeatures": "jbert_tf2.data.windows",
    "encode_windows": "jbert_tf2.data.windows",
    "window_inputs": "jbert_tf2.data.windows_graph",
}

__all__ = [
    "Features",
    "batch_indices",
    "encode_classification",
    "encode_tagging",
    "make_dataset",
    "WindowedFeatures",
    "encode_windows",
    "window_inputs",
    "TaggedSentence",
    "TextExample",
    "collect_labels",
    "join_words",
    "read_conll",
    "read_jsonl",
    "read_jsonl_tagged",
    "read_livedoor",
    "read_table",
    "split_examples",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
