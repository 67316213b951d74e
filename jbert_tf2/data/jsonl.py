"""JSON lines files (one JSON object per line) for classification (`read_jsonl`) and for NER
(`read_jsonl_tagged`), checked line by line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise

from jbert_tf2.data.conll import TAG_FORM, is_tag, join_words, locate_words
from jbert_tf2.data.examples import (
    TaggedSentence,
    TextExample,
    check_path,
    read_utf8,
    utf8_lines,
)
from jbert_tf2.errors import DataError, JbertError


def read_jsonl(
    path: str | os.PathLike,
    text_key: str = "text",
    text_b_key: str | None = "text_b",
    label_key: str | Sequence[str] | None = "label",
) -> list[TextExample]:
    """Objects such as ``{"text": "...", "text_b": "...", "label": "sports"}`` as `TextExample`s.

    ``text_b`` and ``label`` may be absent or null (None). A label is a string, an integer (read
    as its decimal string, like a TSV cell) or a list of strings (multi-label, a tuple).

    ``label_key`` may also be a list of keys, each holding one binary label (``true`` /
    ``false`` or 1 / 0, as in one-column-per-label multi-label sets): the example's label is
    the tuple of the keys that are true, in ``label_key``'s order (an empty tuple when none
    is); a line with none of the keys (or all null) is unlabelled (None). ``text_b_key=None``
    reads no second text, ``label_key=None`` no label.
    """
    name = check_path(path)
    text_key = _key_argument(text_key, "text_key", optional=False)
    text_b_key = _key_argument(text_b_key, "text_b_key", optional=True)
    label_keys = _label_keys(label_key)
    examples = []
    for where, source, record in _records(path):
        text = _string(where, record, text_key, "text_key")
        text_b = None if text_b_key is None else _string(where, record, text_b_key, None)
        if label_keys is None:
            label = None
        elif isinstance(label_keys, str):
            label = _label(where, record.get(label_keys), label_keys)
        else:
            label = _binary_labels(where, record, label_keys)
        examples.append(TextExample(text, text_b, label, source=source))
    if not examples:
        raise DataError(
            f"{name}: no examples (no non-blank lines); expected one JSON object per line"
        )
    return examples


def read_jsonl_tagged(path: str | os.PathLike) -> list[TaggedSentence]:
    """NER sentences as `TaggedSentence`s from either form, one object per line:

    * ``{"tokens": [...], "tags": [...]}``: words and their tags (``tags`` absent: None, for
      prediction). The text is ``"text"`` when given (tokens found in it in order, only
      whitespace between them), else rebuilt by `jbert_tf2.data.conll.join_words`.
    * ``{"text": "...", "entities": [{"start": s, "end": e, "label": "PERSON"}, ...]}`` with
      character (code point) offsets, end exclusive: the text is split into MeCab +
      unidic-lite short units (UD Japanese's words), cut again at entity edges; words inside an
      entity are tagged ``B-<label>`` then ``I-<label>``, the rest ``O``; whitespace is no word.
      Entities must not overlap.
    """
    return list(_tagged(path, read_utf8(path).split("\n")))


def iter_jsonl_tagged(path: str | os.PathLike) -> Iterator[TaggedSentence]:
    """`read_jsonl_tagged`'s sentences one at a time, read from the file as they are taken (a
    file of any size in little memory); the same errors, each when its line is reached."""
    return _tagged(path, utf8_lines(path))


def _tagged(path: str | os.PathLike, lines: Iterable[str]) -> Iterator[TaggedSentence]:
    name = check_path(path)
    found = 0
    for where, source, record in _records(path, lines):
        if "tokens" in record:
            sentence = _from_tokens(where, record)
        elif "text" in record and "entities" in record:
            sentence = _from_entities(where, record)
        else:
            raise DataError(
                f"{where}: neither 'tokens' nor 'text' with 'entities' (keys: {_keys(record)}); "
                'write {"tokens": [...], "tags": [...]} or {"text": "...", "entities": [...]} '
                '("entities": [] for a sentence without entities)'
            )
        sentence.source = source
        found += 1
        yield sentence
    if not found:
        raise DataError(
            f"{name}: no sentences (no non-blank lines); expected one JSON object per line"
        )


def _records(
    path: str | os.PathLike, lines: Iterable[str] | None = None
) -> Iterator[tuple[str, str, dict]]:
    """(message prefix, "file:line", object) for every non-blank line (of ``lines``, the
    file's lines, when given)."""
    name = check_path(path)
    if lines is None:
        lines = read_utf8(path).split("\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(
                f"{where}: invalid JSON ({error.msg} at column {error.colno}); "
                "write one complete JSON object per line"
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f"{where}: a JSON {type(record).__name__}, expected an object "
                '{"text": ...}; one object per line (JSON lines, not one JSON array)'
            )
        yield where, f"{name}:{number}", record


def _keys(record: dict) -> str:
    return ", ".join(map(str, record)) or "none"


def _string(where: str, record: dict, key: str, argument: str | None) -> str | None:
    """The string under ``key``; required when ``argument`` (the reader's key argument) is set."""
    value = record.get(key)
    if value is None and argument is None:
        return None
    if key not in record:
        raise DataError(
            f"{where}: no {key!r} key (keys: {_keys(record)}); "
            f"add it, or pass {argument}= with the key your file uses"
        )
    if not isinstance(value, str) or not value.strip():
        raise DataError(
            f"{where}: {key!r} is {json.dumps(value, ensure_ascii=False)}, expected a non-empty string"
        )
    return value


def _key_argument(key: object, argument: str, optional: bool) -> str | None:
    """A reader's key argument: a non-empty str (or None where ``optional``)."""
    if key is None and optional:
        return None
    if isinstance(key, str) and key:
        return key
    raise JbertError(
        f"{argument}={key!r}: expected the name of a JSON key, a non-empty str"
        + (" (or None for none)" if optional else "")
        + f", e.g. {argument}='{argument.removesuffix('_key')}'"
    )


def _label_keys(label_key: object) -> str | tuple[str, ...] | None:
    """``label_key`` checked: one key (str), several keys of binary labels (a list or tuple of
    distinct non-empty str), or None."""
    if label_key is None or (isinstance(label_key, str) and label_key):
        return label_key
    if isinstance(label_key, (list, tuple)):
        keys = tuple(label_key)
        if keys and all(isinstance(k, str) and k for k in keys) and len(set(keys)) == len(keys):
            return keys
        problem = "is empty" if not keys else "must hold distinct non-empty strings"
        raise JbertError(
            f"label_key={label_key!r}: a list of label keys {problem}; pass one key per "
            "binary label, e.g. label_key=['sports', 'politics'], or one key, label_key='label'"
        )
    what = "an empty key" if label_key == "" else f"a {type(label_key).__name__}"
    raise JbertError(
        f"label_key={label_key!r} is {what}; pass the key of the label "
        "(a str, e.g. 'label'), a list of keys each holding a binary label (multi-label, e.g. "
        "['sports', 'politics']), or None for no label"
    )


def _binary_labels(where: str, record: dict, keys: tuple[str, ...]) -> tuple[str, ...] | None:
    """The keys whose binary label is true; None when the line has none of them."""
    values = [record.get(key) for key in keys]
    if all(value is None for value in values):
        return None
    for key, value in zip(keys, values, strict=True):
        if value is None or not (isinstance(value, bool) or value in (0, 1)):
            shown = "absent" if key not in record else json.dumps(value, ensure_ascii=False)
            raise DataError(
                f"{where}: label key {key!r} is {shown}; with a list of label keys each one "
                "holds a binary label: write true / false or 1 / 0 under every key"
            )
    return tuple(key for key, value in zip(keys, values, strict=True) if value)


def _label(where: str, value: object, key: str) -> str | tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list) and all(isinstance(one, str) and one.strip() for one in value):
        return tuple(dict.fromkeys(one.strip() for one in value))
    raise DataError(
        f"{where}: {key!r} is {json.dumps(value, ensure_ascii=False)}; expected a string, an "
        "integer or a list of strings (multi-label)"
    )


def _from_tokens(where: str, record: dict) -> TaggedSentence:
    tokens, tags = record["tokens"], record.get("tags")
    if (
        not isinstance(tokens, list)
        or not tokens
        or not all(isinstance(t, str) and t for t in tokens)
    ):
        raise DataError(f"{where}: 'tokens' must be a non-empty list of non-empty strings")
    if tags is not None:
        if not isinstance(tags, list) or len(tags) != len(tokens):
            count = len(tags) if isinstance(tags, list) else "not a list"
            raise DataError(
                f"{where}: {len(tokens)} tokens but 'tags' has {count}; give one tag per token"
            )
        for tag in tags:
            if not isinstance(tag, str) or not is_tag(tag):
                raise DataError(
                    f"{where}: tag {json.dumps(tag, ensure_ascii=False)} is not {TAG_FORM}"
                )
    text = record.get("text")
    if text is None:
        text, spans = join_words(tokens)
    else:
        if not isinstance(text, str):
            raise DataError(f"{where}: 'text' must be a string")
        spans = locate_words(tokens, text)
        if len(spans) < len(tokens):
            problem = f"token {tokens[len(spans)]!r} is not next in 'text'"
        elif text[spans[-1][1] :].strip():
            problem = f"'text' goes on after the last token ({text[spans[-1][1] :][:20]!r})"
        else:
            problem = None
        if problem:
            raise DataError(
                f"{where}: {problem}; the tokens, in order and with only whitespace between "
                "them, must make up 'text'"
            )
    return TaggedSentence(list(tokens), None if tags is None else list(tags), text, spans)


def _from_entities(where: str, record: dict) -> TaggedSentence:
    text, entities = record["text"], record["entities"]
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: 'text' must be a non-empty string")
    if not isinstance(entities, list):
        raise DataError(f'{where}: \'entities\' must be a list of {{"start", "end", "label"}}')
    spans = sorted(_entity(where, entity, text) for entity in entities)
    for (start, end, label), (next_start, next_end, next_label) in pairwise(spans):
        if next_start < end:
            raise DataError(
                f"{where}: entities overlap: {label} [{start}, {end}) and {next_label} "
                f"[{next_start}, {next_end}); each character may belong to one entity only"
            )
    from jbert_tf2.tokenization.mecab import unidic_word_spans

    # Words: MeCab + unidic-lite short units (UD Japanese's segmentation), cut again at every
    # entity edge so entities start and end on word boundaries.
    edges = sorted({p for start, end, _ in spans for p in (start, end)})
    pieces = []
    for start, end in unidic_word_spans(text):
        cuts = [start, *(p for p in edges if start < p < end), end]
        pieces += [(a, b) for a, b in pairwise(cuts) if text[a:b].strip()]
    words, tags, offsets = [], [], []
    started = set()  # entities whose first word is tagged (it may follow leading whitespace)
    for start, end in pieces:
        tag = "O"
        for index, (entity_start, entity_end, label) in enumerate(spans):
            if entity_start <= start and end <= entity_end:
                tag = ("I-" if index in started else "B-") + label
                started.add(index)
        words.append(text[start:end])
        tags.append(tag)
        offsets.append((start, end))
    for index, (start, end, label) in enumerate(spans):
        if index not in started:
            raise DataError(
                f"{where}: entity {label} [{start}, {end}) ({text[start:end]!r}) holds no word, "
                "only characters that are no word (control or format characters); fix its offsets"
            )
    return TaggedSentence(words, tags, text, offsets)


def _entity(where: str, entity: object, text: str) -> tuple[int, int, str]:
    if not isinstance(entity, dict) or not {"start", "end", "label"} <= entity.keys():
        raise DataError(
            f"{where}: entity {json.dumps(entity, ensure_ascii=False)} needs 'start', 'end' and 'label'"
        )
    start, end, label = entity["start"], entity["end"], entity["label"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        raise DataError(f"{where}: entity start {start!r} and end {end!r} must be integers")
    if not 0 <= start < end <= len(text):
        raise DataError(
            f"{where}: entity {label} [{start}, {end}) is outside the text of {len(text)} characters "
            "or empty; offsets count characters (code points) from 0, end exclusive"
        )
    if not text[start:end].strip():
        raise DataError(f"{where}: entity {label} [{start}, {end}) covers only whitespace")
    if not isinstance(label, str) or not is_tag(f"B-{label}"):
        raise DataError(
            f"{where}: entity label {label!r} must be a type such as PERSON (no spaces)"
        )
    return start, end, label
