"""Deprecated: ``jbert_tf2.models.pretraining`` is now `jbert_tf2.models.bert_pretraining`; this alias stays for
one release, and each name taken from it warns with its new path."""

from jbert_tf2.lazy_exports import moved_module
from jbert_tf2.models import bert_pretraining

__getattr__ = moved_module("jbert_tf2.models.pretraining", bert_pretraining)
