"""Data: readers for users' files (TSV/CSV, livedoor corpus, CoNLL / BIO, JSON lines), features
with labels aligned to sub-tokens, and `tf.data` pipelines with dynamic padding."""
