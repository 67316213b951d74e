"""Deprecated: ``jbert_tf2.pretraining.models`` is now `jbert_tf2.pretraining.pretrainers`; this alias stays for
one release, and each name taken from it warns with its new path."""

from jbert_tf2.lazy_exports import moved_module
from jbert_tf2.pretraining import pretrainers

__getattr__ = moved_module("jbert_tf2.pretraining.models", pretrainers)
