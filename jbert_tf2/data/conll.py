"""NER files with one token per line (CoNLL / BIO, e.g. UD_Japanese-GSD-NE ``train.bio``, and
CoNLL-U with ``NE=`` in MISC) as `TaggedSentence`s whose spans point into the sentence text.

The text of a sentence is its ``# text = ...`` comment when there is one (each word is found in
it in order, with only whitespace allowed between words). Otherwise CoNLL-U puts a space after a
word unless MISC has ``SpaceAfter=No``, and CoNLL / BIO files use `join_words`: a space goes
only between two words whose touching characters are both letters or digits of a non-CJK
script, so Japanese words join without spaces while ``J SOUL BROTHERS`` keeps its spaces.

Tags are ``O`` or ``PREFIX-TYPE``, PREFIX one of B, I, E, S (IOB2 / IOBES) or U, L (BILOU), kept
as written; a bare ``B`` or ``I`` is an error.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from jbert_tf2.data.examples import TaggedSentence, check_path, read_utf8, utf8_lines
from jbert_tf2.errors import DataError, JbertError

MAX_SENTENCE_TOKENS = 10_000
TAG_FORM = "O or B-, I-, E-, S-, U-, L- followed by a type (e.g. B-PERSON)"

_TAG = re.compile(r"O|[BIESUL]-\S+")
_TEXT_COMMENT = re.compile(r"#\s*text\s*=\s?(.*)")
_KEY_VALUE_COMMENT = re.compile(r"#[^=\t]*=")
_CONLLU_ID = re.compile(r"\d+(?:[-.]\d+)?")
_WIDE = {"W", "F", "H"}


def is_tag(tag: str) -> bool:
    """True for ``O`` and ``PREFIX-TYPE`` tags (see the module docstring)."""
    return _TAG.fullmatch(tag) is not None


def needs_space(left: str, right: str) -> bool:
    """Whether `join_words` puts a space between a word ending in ``left`` and one starting with
    ``right``: both letters or digits, neither wide (CJK, kana, full- or half-width forms)."""
    return all(
        char.isalnum() and unicodedata.east_asian_width(char) not in _WIDE for char in (left, right)
    )


def join_words(
    words: Sequence[str], spaces_after: Sequence[bool] | None = None
) -> tuple[str, list[tuple[int, int]]]:
    """A text rebuilt from words and each word's (start, end) in it; a space follows word i when
    ``spaces_after[i]``, or, without ``spaces_after``, where `needs_space` says so."""
    _check_words(words, spaces_after)
    parts: list[str] = []
    spans = []
    position = 0
    for i, word in enumerate(words):
        if i:
            if spaces_after is None:
                space = needs_space(words[i - 1][-1], word[0])
            else:
                space = spaces_after[i - 1]
            if space:
                parts.append(" ")
                position += 1
        parts.append(word)
        spans.append((position, position + len(word)))
        position += len(word)
    return "".join(parts), spans


def _check_words(words, spaces_after) -> None:
    """`join_words`' arguments: a list of non-empty words (a str would be read as its
    characters, a dict as its keys) and, when given, one bool per word."""
    if isinstance(words, (str, bytes)) or not isinstance(words, Sequence):
        raise JbertError(
            f"words is a {type(words).__name__}, not a list of words; pass one sentence's "
            "words, e.g. join_words(['東京', 'へ', '行く'])"
        )
    for index, word in enumerate(words):
        if not isinstance(word, str) or not word:
            raise JbertError(f"words[{index}] is {word!r}; every word is a non-empty str")
    if spaces_after is not None and (
        isinstance(spaces_after, (str, bytes))
        or not isinstance(spaces_after, Sequence)
        or len(spaces_after) != len(words)
    ):
        raise JbertError(
            f"spaces_after is {spaces_after!r:.80}; pass one bool per word ({len(words)}), "
            "or None to decide by the characters"
        )


def locate_words(words: Sequence[str], text: str) -> list[tuple[int, int]]:
    """Each word's (start, end) in ``text``, found in order with only whitespace between words.
    Stops at the first word not found there, so fewer spans than words names the missing one."""
    spans = []
    position = 0
    for word in words:
        while position < len(text) and text[position].isspace():
            position += 1
        if not text.startswith(word, position):
            break
        spans.append((position, position + len(word)))
        position += len(word)
    return spans


def read_conll(
    path: str | os.PathLike,
    token_column: int = 0,
    tag_column: int | None = -1,
    delimiter: str | None = None,
) -> list[TaggedSentence]:
    """Sentences of a CoNLL / BIO or CoNLL-U file, checked line by line.

    CoNLL / BIO: a token per line, columns split on ``delimiter`` (default: tab when the line
    has one, else runs of whitespace), the token in ``token_column`` and the tag in
    ``tag_column`` (None: the file has no tags, as a test file to predict may not; every line is
    a token and ``tags`` is None); blank lines end sentences; ``-DOCSTART-`` lines are skipped. Lines starting
    with ``#`` are comments unless they hold a token and a valid tag and no ``=`` before a tab
    (so a ``#`` token tagged ``O`` is read); a comment also ends the sentence before it. CoNLL-U (the first token line has 10 tab-separated
    columns and a numeric ID): FORM is the token and MISC ``NE=...`` the tag (``O`` when absent);
    multiword-token (``1-2``) and empty-node (``1.1``) lines are skipped; the column arguments
    are not used.
    """
    name = check_path(path)
    lines = read_utf8(path).split("\n")
    return list(_sentences(name, lines, token_column, tag_column, delimiter))


def iter_conll(
    path: str | os.PathLike,
    token_column: int = 0,
    tag_column: int | None = -1,
    delimiter: str | None = None,
) -> Iterator[TaggedSentence]:
    """`read_conll`'s sentences one at a time, read from the file as they are taken (a file of
    any size in little memory); the same checks and errors, each when its line is reached."""
    name = check_path(path)
    return _sentences(name, utf8_lines(path), token_column, tag_column, delimiter)


def _sentences(
    name: str,
    lines: Iterable[str],
    token_column: int,
    tag_column: int | None,
    delimiter: str | None,
) -> Iterator[TaggedSentence]:
    parser = _Parser(name, token_column, tag_column, delimiter)
    found = 0
    for number, raw in enumerate(lines, 1):
        parser.feed(number, raw.rstrip("\r"))
        if parser.sentences:
            found += len(parser.sentences)
            yield from parser.sentences
            parser.sentences.clear()
    parser.flush()
    if not found and not parser.sentences:
        raise DataError(
            f"{name}: no sentences (no token lines); expected a token and its tag per line, "
            "a blank line after each sentence"
        )
    yield from parser.sentences


@dataclass
class _Parser:
    """Line-by-line state of `read_conll`: the sentence being read and those finished."""

    name: str
    token_column: int
    tag_column: int | None
    delimiter: str | None
    conllu: bool | None = None
    sentences: list[TaggedSentence] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    spaces: list[bool] = field(default_factory=list)
    text: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        for what, value in (("token_column", self.token_column), ("tag_column", self.tag_column)):
            if value is None and what == "tag_column":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise DataError(
                    f"{self.name}: {what}={value!r}; pass a 0-based column index (negative from "
                    "the end)"
                    + (", or None for a file without tags" if what == "tag_column" else "")
                )
        if self.delimiter is not None and (
            not isinstance(self.delimiter, str) or not self.delimiter
        ):
            raise DataError(
                f"{self.name}: delimiter={self.delimiter!r}; pass the text between columns "
                "(e.g. '\\t'), or None for a tab, else runs of whitespace"
            )

    def feed(self, number: int, line: str) -> None:
        if not line.strip():
            self.flush()
            return
        cells = self._cells(line)
        if line.startswith("#") and self._is_comment(line, cells):
            self.flush()
            if match := _TEXT_COMMENT.fullmatch(line):
                self.text = (match.group(1), number)
            return
        if self.conllu is None:
            columns = line.split("\t")
            self.conllu = len(columns) == 10 and _CONLLU_ID.fullmatch(columns[0]) is not None
        where = f"{self.name} line {number}"
        if self.conllu:
            self._conllu_token(where, number, line.split("\t"))
        elif cells[0] == "-DOCSTART-":
            self.flush()
        else:
            self._conll_token(where, number, cells)

    def flush(self) -> None:
        """Ends the sentence being read, if any."""
        if not self.words:
            return
        if self.text is not None:
            text, text_line = self.text
            spans = self._located(text, text_line)
        elif self.conllu:
            text, spans = join_words(self.words, self.spaces)
        else:
            text, spans = join_words(self.words)
        source = f"{self.name}:{self.lines[0]}"
        tags = None if self.tag_column is None and not self.conllu else self.tags
        self.sentences.append(TaggedSentence(self.words, tags, text, spans, source))
        self.words, self.tags, self.lines, self.spaces = [], [], [], []
        self.text = None

    def _cells(self, line: str) -> list[str]:
        if self.delimiter is not None:
            return [cell.strip() for cell in line.split(self.delimiter)]
        if "\t" in line:
            return [cell.strip() for cell in line.split("\t")]
        return line.split()

    def _is_comment(self, line: str, cells: list[str]) -> bool:
        if self.tag_column is None:
            return self.conllu or _KEY_VALUE_COMMENT.match(line) is not None or len(cells) > 1
        if self.conllu or _KEY_VALUE_COMMENT.match(line) or len(cells) < 2:
            return True
        tag = _cell(cells, self.tag_column)
        return tag is None or not is_tag(tag)

    def _conll_token(self, where: str, number: int, cells: list[str]) -> None:
        if self.tag_column is None:
            token = _cell(cells, self.token_column)
            if token is None:
                raise DataError(f"{where}: no column {self.token_column}; pass token_column")
            self._add(where, number, token, None)
            return
        if len(cells) < 2:
            raise DataError(
                f"{where}: one column ({cells[0]!r}), expected a token and its tag separated by "
                "a tab; add the tag (O outside entities) or a blank line between sentences"
            )
        token, tag = _cell(cells, self.token_column), _cell(cells, self.tag_column)
        if token is None or tag is None:
            raise DataError(
                f"{where}: {len(cells)} columns, but token_column={self.token_column} and "
                f"tag_column={self.tag_column}; pass columns the lines have"
            )
        self._add(where, number, token, tag)

    def _conllu_token(self, where: str, number: int, cells: list[str]) -> None:
        if len(cells) != 10:
            raise DataError(
                f"{where}: {len(cells)} columns, CoNLL-U token lines have 10 "
                "(ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC) separated by tabs"
            )
        if not cells[0].strip().isdigit():
            return
        misc = cells[9].strip().split("|")
        tags = [item[3:] for item in misc if item.startswith("NE=")]
        self._add(where, number, cells[1].strip(), tags[0] if tags else "O")
        self.spaces.append("SpaceAfter=No" not in misc)

    def _add(self, where: str, number: int, token: str, tag: str | None) -> None:
        if not token:
            raise DataError(f"{where}: empty token; remove the line or fill in the token")
        if tag is not None and not is_tag(tag):
            raise DataError(
                f"{where}: tag {tag!r} is not {TAG_FORM}; is this a NER file? "
                "if the tag is in another column, pass tag_column"
            )
        if len(self.words) == MAX_SENTENCE_TOKENS:
            raise DataError(
                f"{self.name} line {self.lines[0]}: a sentence of more than {MAX_SENTENCE_TOKENS} "
                "tokens starts here; are the blank lines between sentences missing?"
            )
        self.words.append(token)
        self.tags.append(tag)
        self.lines.append(number)

    def _located(self, text: str, text_line: int) -> list[tuple[int, int]]:
        spans = locate_words(self.words, text)
        if len(spans) < len(self.words):
            missing = len(spans)
            at = spans[-1][1] if spans else 0
            raise DataError(
                f"{self.name} line {self.lines[missing]}: token {self.words[missing]!r} is not "
                f"in the '# text' of line {text_line} at character {at} (the text goes on "
                f"{text[at : at + 20]!r}); make the tokens and the '# text' line agree"
            )
        end = spans[-1][1]
        if text[end:].strip():
            raise DataError(
                f"{self.name} line {text_line}: the '# text' goes on after the last token "
                f"({text[end : end + 20]!r}); make the tokens and the '# text' line agree"
            )
        return spans


def _cell(cells: list[str], index: int) -> str | None:
    return cells[index] if -len(cells) <= index < len(cells) else None
