"""Data: readers for users' files (TSV/CSV, livedoor corpus, CoNLL / BIO, JSON lines), features
with labels aligned to sub-tokens, and `tf.data` pipelines with dynamic padding.

The readers are plain Python (no TensorFlow import) and raise `jbert_tf2.errors.DataError`
naming the file and line."""

import importlib

from jbert_tf2.data.conll import join_words, read_conll
from jbert_tf2.data.examples import TaggedSentence, TextExample, collect_labels
from jbert_tf2.data.jsonl import read_jsonl, read_jsonl_tagged
from jbert_tf2.data.livedoor import read_livedoor, split_examples
from jbert_tf2.data.tabular import read_table

_LAZY = {  # TensorFlow / Keras users, loaded on first use
    "Features": "jbert_tf2.data.features",
    "encode_classification": "jbert_tf2.data.features",
    "encode_tagging": "jbert_tf2.data.features",
    "batch_indices": "jbert_tf2.data.pipeline",
    "make_dataset": "jbert_tf2.data.pipeline",
}

__all__ = [
    "Features",
    "batch_indices",
    "encode_classification",
    "encode_tagging",
    "make_dataset",
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


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jbert_tf2.data' has no attribute {name!r}")
