"""TSV / CSV classification files (one text or text pair and its label per row) as
`TextExample`s; columns are picked by header name or by index."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path

from jbert_tf2.data.examples import TextExample, read_utf8
from jbert_tf2.errors import DataError

_DELIMITERS = {".tsv": "\t", ".txt": "\t", ".csv": ","}
_QUOTE_HINT = (
    'a tab or comma inside a text? quote the field ("...") or remove it; '
    "a stray double quote? pass quotechar=None"
)


def read_table(
    path: str | os.PathLike,
    text_column: str | int = "text",
    text_b_column: str | int | None = None,
    label_column: str | int | None = "label",
    delimiter: str | None = None,
    multi_label: bool = False,
    label_separator: str = ",",
    labels: Iterable[str] | None = None,
    header: bool = True,
    quotechar: str | None = '"',
) -> list[TextExample]:
    """Rows of a TSV / CSV file as `TextExample`s, checked row by row.

    The delimiter comes from the extension (``.tsv``/``.txt``: tab, ``.csv``: comma) unless
    given. Fields may be quoted (``csv`` module rules); ``quotechar=None`` reads quotes as text,
    as Google's ``run_classifier.py`` did. Columns are header names, or 0-based indexes (negative
    from the end; the only choice with ``header=False``). ``text_b_column=None`` takes a column
    named ``text_b`` when the header has one. A label column the header lacks (a test file) or
    ``label_column=None`` gives ``label=None``. ``multi_label`` splits labels on
    ``label_separator`` into a tuple (duplicates and empty pieces dropped). With ``labels``, a
    label outside it is an error naming the line.
    """
    name = os.fspath(path)
    content = read_utf8(path)
    rows = _rows(name, content, delimiter or _delimiter_from_suffix(name), quotechar)
    if not rows:
        raise DataError(f"{name}: empty file (no rows); expected a header and one row per example")
    if header:
        names = [cell.strip() for cell in rows[0][1]]
        shape = f"the header has {len(names)} ({', '.join(names)})"
        rows = rows[1:]
        if not rows:
            raise DataError(f"{name}: only a header ({', '.join(names)}), no rows of examples")
    else:
        names = None
        shape = f"line {rows[0][0]} has {len(rows[0][1])}"
    width = len(names) if names is not None else len(rows[0][1])
    text_i = _column(name, text_column, names, width, "text_column")
    if text_b_column is None:
        text_b_i = names.index("text_b") if names and "text_b" in names else None
    else:
        text_b_i = _column(name, text_b_column, names, width, "text_b_column")
    if label_column is None or (
        isinstance(label_column, str) and names and label_column not in names
    ):
        label_i = None
    else:
        label_i = _column(name, label_column, names, width, "label_column")
    known = None if labels is None else set(labels)

    examples = []
    for line, row in rows:
        where = f"{name} line {line}"
        if len(row) != width:
            raise DataError(
                f"{where}: {len(row)} column{'s' * (len(row) != 1)}, {shape}; {_QUOTE_HINT}"
            )
        text = _text(where, row[text_i], "text")
        text_b = None if text_b_i is None else _text(where, row[text_b_i], "text_b")
        label = None
        if label_i is not None:
            label = _label(where, row[label_i], multi_label, label_separator, known)
        examples.append(TextExample(text, text_b, label, source=f"{name}:{line}"))
    return examples


def _delimiter_from_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in _DELIMITERS:
        raise DataError(
            f"{name}: cannot tell the delimiter from the extension {suffix!r}; "
            "name the file .tsv or .csv, or pass delimiter='\\t' or ','"
        )
    return _DELIMITERS[suffix]


def _rows(name: str, text: str, sep: str, quotechar: str | None) -> list[tuple[int, list[str]]]:
    """(first line number, fields) of every non-blank row."""
    quoting = csv.QUOTE_MINIMAL if quotechar else csv.QUOTE_NONE
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=sep, quotechar=quotechar, quoting=quoting
    )
    rows = []
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as error:
            raise DataError(f"{name} line {line}: {error}; {_QUOTE_HINT}") from None
        if any(cell.strip() for cell in row):
            rows.append((line, row))
        line = reader.line_num + 1


def _column(name: str, spec: str | int, names: list[str] | None, width: int, role: str) -> int:
    """The 0-based index a column name or index refers to."""
    if isinstance(spec, int):
        if not -width <= spec < width:
            raise DataError(f"{name}: {role}={spec}, but the rows have {width} columns")
        return spec % width
    if names is None:
        raise DataError(
            f"{name}: {role}={spec!r} is a column name, but header=False; "
            "give 0-based column indexes (e.g. text_column=0, label_column=1)"
        )
    if spec not in names:
        raise DataError(
            f"{name} line 1: the header has no column {spec!r} (columns: {', '.join(names)}); "
            f"pass {role} with one of those names, or header=False and indexes if the file has no header"
        )
    return names.index(spec)


def _text(where: str, value: str, what: str) -> str:
    if not value.strip():
        raise DataError(f"{where}: empty {what}; fill it in or delete the row")
    return value


def _label(
    where: str, value: str, multi: bool, separator: str, known: set[str] | None
) -> str | tuple[str, ...]:
    if multi:
        pieces = (piece.strip() for piece in value.split(separator))
        label: str | tuple[str, ...] = tuple(dict.fromkeys(piece for piece in pieces if piece))
        found = list(label)
    else:
        label = value.strip()
        if not label:
            raise DataError(f"{where}: empty label; fill it in or delete the row")
        found = [label]
    for one in found:
        if known is not None and one not in known:
            raise DataError(
                f"{where}: unknown label {one!r}; the known labels are {', '.join(sorted(known))}; "
                "fix the label or add it to the label list"
            )
    return label
