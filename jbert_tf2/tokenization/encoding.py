"""Deprecated: ``jbert_tf2.tokenization.encoding`` is now `jbert_tf2.tokenization.base` (text
helpers: `jbert_tf2.tokenization.text`); this alias stays for one release,
and each name taken from it warns with its new path."""

from jbert_tf2.lazy_exports import moved_module
from jbert_tf2.tokenization import base, text

__getattr__ = moved_module("jbert_tf2.tokenization.encoding", base, text)
