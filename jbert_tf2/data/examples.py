"""What the readers return (`TextExample`, `TaggedSentence`), their label set, and the UTF-8
file reading they share, so every reader reports a bad byte by line number."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from jbert_tf2.errors import DataError

_BOM = b"\xef\xbb\xbf"


@dataclass
class TextExample:
    """One text (or text pair) to classify.

    ``label`` is a string, a tuple of strings for multi-label data, or None when the file has no
    labels (prediction). ``source`` is ``"file:line"`` so later errors can point at the input.
    """

    text: str
    text_b: str | None = None
    label: str | tuple[str, ...] | None = None
    source: str = ""


def text_examples(texts, text_pairs=None) -> list[TextExample]:
    """`TextExample`s (unlabelled) of raw texts and, when given, one pair text each: the batch
    that `SequenceClassifier.text_features` and `Embedder.embed` encode. ``texts`` may be one
    string (see `check_batch`)."""
    from jbert_tf2.tokenization.text import check_pairs

    texts, pairs = check_pairs(texts, text_pairs)
    pairs = pairs if pairs is not None else [None] * len(texts)
    return [TextExample(t, p) for t, p in zip(texts, pairs, strict=True)]


@dataclass
class TaggedSentence:
    """One sentence of words with one tag each (None when the file has no tags).

    ``spans[i] == (start, end)`` are character offsets with ``text[start:end] == words[i]``, so
    sub-word tokenizers that work on ``text`` can be aligned back to the words.
    """

    words: list[str]
    tags: list[str] | None
    text: str
    spans: list[tuple[int, int]]
    source: str = ""


def collect_labels(examples: Iterable[TextExample | TaggedSentence]) -> list[str]:
    """Sorted unique labels: every label of every example, multi-label tuples flattened; for
    tagged sentences the tag set. Examples without labels (None) add nothing."""
    found: set[str] = set()
    for example in examples:
        if isinstance(example, TaggedSentence):
            found.update(example.tags or ())
        elif isinstance(example.label, tuple):
            found.update(example.label)
        elif example.label is not None:
            found.add(example.label)
    return sorted(found)


def read_utf8(path: str | os.PathLike) -> str:
    """The whole file as text; a UTF-8 BOM is dropped. A missing file, a directory or a byte that
    is not UTF-8 raises `DataError` naming the file (and the line of the bad byte)."""
    file = _check_file(path)
    data = file.read_bytes()
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _not_utf8(path, line, data[error.start]) from None


def utf8_lines(path: str | os.PathLike, keepends: bool = False) -> Iterator[str]:
    """The lines of ``read_utf8(path).split("\\n")``, read one at a time, so memory stays small
    whatever the file size (a BOM dropped). With ``keepends`` each line keeps its ``"\\n"`` and
    no empty line follows the last newline. The file is checked when this is called; a byte that
    is not UTF-8 raises `read_utf8`'s `DataError` when its line is reached."""
    file = _check_file(path)
    return _lines(path, file, keepends)


def _lines(path, file: Path, keepends: bool) -> Iterator[str]:
    ended = True  # an empty file, or one ending in a newline, has an empty last line
    with open(file, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise _not_utf8(path, number, raw[error.start]) from None
            ended = text.endswith("\n")
            yield text if keepends or not ended else text[:-1]
    if ended and not keepends:
        yield ""


def check_path(path: object, argument: str = "path") -> str:
    """``path`` as a str, or a clear error when it is no path (a list of files, None)."""
    try:
        return os.fspath(path)
    except TypeError:
        raise DataError(
            f"{argument}={path!r:.80}: expected the path of one file (a str or pathlib.Path), "
            f"got {type(path).__name__}"
        ) from None


def _check_file(path: str | os.PathLike) -> Path:
    file = Path(check_path(path))
    if not file.exists():
        raise DataError(f"{path}: no such file; check the path")
    if file.is_dir():
        raise DataError(f"{path}: is a directory, expected a file")
    return file


def _not_utf8(path, line: int, byte: int) -> DataError:
    return DataError(
        f"{path} line {line}: not UTF-8 (byte 0x{byte:02x}); "
        "save the file as UTF-8, e.g. `iconv -f CP932 -t UTF-8` for Shift_JIS files"
    )
