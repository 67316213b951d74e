"""User-facing errors: one clear message naming the file or variable and the fix."""

from __future__ import annotations


class JbertError(Exception):
    """A problem with the user's input that they can fix; commands print it and exit with 2."""


class ConfigError(JbertError, ValueError):
    """A configuration file or field holds a value the model cannot use."""


class CheckpointError(JbertError):
    """A checkpoint is missing, truncated, of the wrong family or disagrees with the config."""


class DataError(JbertError, ValueError):
    """A data file (TSV, CoNLL, JSON lines, livedoor corpus) has a line the reader cannot use."""


def op_error_summary(exc: BaseException) -> str:
    """The readable part of a TensorFlow op error: its first line without the
    ``{{function_node ...}}`` prefix and the ``[Op:...]`` suffix."""
    import re

    text = str(getattr(exc, "message", None) or exc).strip().splitlines()[0]
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\].*$", "", text)
    return text.strip() or type(exc).__name__
