"""Vocabulary files: Google's ``vocab.txt`` and SentencePiece's ``*.vocab``.

Ids are line numbers, counted as Google's `load_vocab` counts them (lines split on "\\n" only,
each stripped of surrounding whitespace), so ids equal the original scripts' ids. A vocabulary
that would silently give wrong ids is refused with the file and line: a token on two lines (the
second line would shadow the first), or a special token the model cannot work without.
"""

from __future__ import annotations

import os
from pathlib import Path

from jbert_tf2.errors import JbertError


class VocabError(JbertError, ValueError):
    """A vocabulary file is missing, unreadable or malformed."""


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise VocabError(f"{path}: vocabulary file not found; pass the vocab.txt / *.vocab path")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise VocabError(
            f"{path}, line {line}: not UTF-8 ({exc.reason}); re-save the vocabulary as UTF-8"
        ) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def load_vocab(
    vocab_file: str | os.PathLike,
    required: tuple[str, ...] = ("[UNK]", "[CLS]", "[SEP]"),
    tab_separated: bool = False,
) -> dict[str, int]:
    """Token -> id from a vocabulary file (``tab_separated``: SentencePiece's ``piece\\tscore``)."""
    path = Path(vocab_file)
    lines = _read_lines(path)
    if not lines:
        raise VocabError(f"{path}: the vocabulary is empty")
    vocab: dict[str, int] = {}
    for index, line in enumerate(lines):
        if tab_separated and line.strip() and "\t" not in line:
            raise VocabError(
                f"{path}, line {index + 1}: no TAB; a SentencePiece .vocab has "
                "'piece<TAB>score' lines (is this a WordPiece vocab.txt?)"
            )
        token = line.split("\t")[0] if tab_separated else line
        token = token.strip()
        if not token:
            continue
        if token in vocab:
            raise VocabError(
                f"{path}, line {index + 1}: {token!r} already appears on line "
                f"{vocab[token] + 1}; a duplicate would shift or shadow ids. Remove one of them"
            )
        vocab[token] = index
    missing = [token for token in required if token not in vocab]
    if missing:
        raise VocabError(
            f"{path}: the vocabulary has no {', '.join(missing)}; this is not the vocabulary "
            "of a BERT model (pass the vocab.txt that came with the checkpoint)"
        )
    return vocab
