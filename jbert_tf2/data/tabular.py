"""TSV / CSV classification files (one text or text pair and its label per row) as
`TextExample`s; columns are picked by header name or by index."""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from jbert_tf2.data.examples import TextExample, check_path, read_utf8, utf8_lines
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
    name = check_path(path)
    content = read_utf8(path)
    sep = delimiter or _delimiter_from_suffix(name)
    rows = iter(list(_rows(name, io.StringIO(content, newline=""), sep, quotechar)))
    return list(
        _examples(
            name,
            rows,
            text_column,
            text_b_column,
            label_column,
            multi_label,
            label_separator,
            labels,
            header,
        )
    )


def iter_table(
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
) -> Iterator[TextExample]:
    """`read_table`'s examples one at a time, reading the file as they are taken, so a file of
    any size is read in little memory; the same checks and errors, each raised when its row is
    reached (a missing file or unknown extension at once)."""
    name = check_path(path)
    sep = delimiter or _delimiter_from_suffix(name)
    lines = _split_lone_cr(utf8_lines(path, keepends=True))
    return _examples(
        name,
        _rows(name, lines, sep, quotechar),
        text_column,
        text_b_column,
        label_column,
        multi_label,
        label_separator,
        labels,
        header,
    )


def _split_lone_cr(lines: Iterable[str]) -> Iterator[str]:
    """Lines split as ``io.StringIO(text, newline="")`` splits them: also after a "\\r" that
    no "\\n" follows (old Mac line ends), endings kept."""
    for line in lines:
        if "\r" in line:
            yield from (piece for piece in _LONE_CR.split(line) if piece)
        else:
            yield line


_LONE_CR = re.compile(r"(?<=\r)(?!\n)")


def _examples(
    name: str,
    rows: Iterator[tuple[int, list[str]]],
    text_column: str | int,
    text_b_column: str | int | None,
    label_column: str | int | None,
    multi_label: bool,
    label_separator: str,
    labels: Iterable[str] | None,
    header: bool,
) -> Iterator[TextExample]:
    if multi_label and (not isinstance(label_separator, str) or not label_separator):
        raise DataError(
            f"{name}: label_separator={label_separator!r}; pass the text between labels, e.g. ','"
        )
    first = next(rows, None)
    if first is None:
        raise DataError(f"{name}: empty file (no rows); expected a header and one row per example")
    if header:
        names = [cell.strip() for cell in first[1]]
        shape = f"the header has {len(names)} ({', '.join(names)})"
        first = next(rows, None)
        if first is None:
            raise DataError(f"{name}: only a header ({', '.join(names)}), no rows of examples")
    else:
        names = None
        shape = f"line {first[0]} has {len(first[1])}"
    width = len(names) if names is not None else len(first[1])
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

    for line, row in itertools.chain([first], rows):
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
        yield TextExample(text, text_b, label, source=f"{name}:{line}")


def _delimiter_from_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in _DELIMITERS:
        raise DataError(
            f"{name}: cannot tell the delimiter from the extension {suffix!r}; "
            "name the file .tsv or .csv, or pass delimiter='\\t' or ','"
        )
    return _DELIMITERS[suffix]


# csv's default limit (131,072 characters) is below a long article; a runaway quote still stops
# at this size instead of swallowing a whole corpus into one field.
FIELD_SIZE_LIMIT = 16 * 1024 * 1024


def _rows(
    name: str, lines: Iterable[str], sep: str, quotechar: str | None
) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of every non-blank row."""
    for what, value in (("delimiter", sep), ("quotechar", quotechar)):
        if value is not None and (not isinstance(value, str) or len(value) != 1):
            raise DataError(
                f"{name}: {what}={value!r}; pass one character "
                + ("('\\t' or ',')" if what == "delimiter" else "('\"', or None for no quoting)")
            )
    quoting = csv.QUOTE_MINIMAL if quotechar else csv.QUOTE_NONE
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_LIMIT))
    reader = csv.reader(lines, delimiter=sep, quotechar=quotechar, quoting=quoting)
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field limit" in str(error):
                raise DataError(
                    f"{name} line {line}: a field longer than {FIELD_SIZE_LIMIT:,} characters; "
                    "an unclosed double quote swallows the lines after it: close it, or pass "
                    "quotechar=None if quotes are plain text; split texts that really are longer"
                ) from None
            raise DataError(f"{name} line {line}: {error}; {_QUOTE_HINT}") from None
        if any(cell.strip() for cell in row):
            yield line, row
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
