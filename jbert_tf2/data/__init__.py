"""Data: readers for users' files (TSV/CSV, livedoor corpus, CoNLL / BIO, JSON lines), features
with labels aligned to sub-tokens, and `tf.data` pipelines with dynamic padding.

The readers are plain Python (no TensorFlow import) and raise `jbert_tf2.errors.DataError`
naming the file and line."""

from jbert_tf2.data.conll import join_words, read_conll
from jbert_tf2.data.examples import TaggedSentence, TextExample, collect_labels
from jbert_tf2.data.jsonl import read_jsonl, read_jsonl_tagged
from jbert_tf2.data.livedoor import read_livedoor, split_examples
from jbert_tf2.data.tabular import read_table

__all__ = [
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
