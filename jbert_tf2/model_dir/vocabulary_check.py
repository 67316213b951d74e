"""A vocabulary shorter than the model's embedding table: the ids past its last row can never
be produced by the tokenizer, so their embeddings go unused. Not an error (some models pad
their table), but never silent: one warning naming both numbers, from `warn_short_vocabulary`,
wherever a model and its tokenizer meet (loading a model directory, the commands' ``--vocab_file``
with a config, conversion)."""

from __future__ import annotations

import warnings


def short_vocabulary_message(
    vocab_rows: int, vocab_size: int, vocabulary: str, model: str
) -> str | None:
    """The warning's text when ``vocabulary`` (``vocab_rows`` ids) is shorter than the
    embedding table of ``model`` (``vocab_size`` rows); None when it is not."""
    if vocab_rows >= vocab_size:
        return None
    return (
        f"{vocabulary}: {vocab_rows} rows, but the embedding table of {model} has "
        f"vocab_size={vocab_size}; ids {vocab_rows} to {vocab_size - 1} can never be produced "
        "by this tokenizer (check that the vocabulary belongs to the model)"
    )


def warn_short_vocabulary(
    vocab_rows: int, vocab_size: int, vocabulary: str, model: str, stacklevel: int = 2
) -> None:
    """Warn (`UserWarning`) when the vocabulary is shorter than the embedding table."""
    message = short_vocabulary_message(vocab_rows, vocab_size, vocabulary, model)
    if message is not None:
        warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)


def vocabulary_rows(vocab: dict[str, int]) -> int:
    """The rows a vocabulary fills: its largest id plus one (0 for an empty one)."""
    return max(vocab.values(), default=-1) + 1
