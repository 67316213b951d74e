"""Deprecated: ``jbert_tf2.tasks.loading`` is now `jbert_tf2.tasks.registry`; this alias stays for
one release, and each name taken from it warns with its new path."""

import jbert_tf2.tasks.registry as registry
from jbert_tf2.lazy_exports import moved_module

__getattr__ = moved_module("jbert_tf2.tasks.loading", registry)
