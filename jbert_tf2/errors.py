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
