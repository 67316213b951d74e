"""Fuzzing the data readers: tables, CoNLL / BIO, JSONL, livedoor and the task processors on
any bytes read back what was written, or raise a `DataError` naming the file.

Each property says what any input must give: a valid answer or the project's own error naming
the file / line / variable; never a bare exception from deep inside, a hang, or a silently wrong
answer. Every bug these found has a plain regression test with its minimal input next to the
property that found it. Settings and helpers: fuzz_helpers.py (reproducible, no example database).
"""

from __future__ import annotations

import json

import pytest
from fuzz_helpers import FILE_NUMBER as _FILE_NUMBER
from fuzz_helpers import FUZZ, new_file
from hypothesis import given, settings
from hypothesis import strategies as st

from jbert_tf2.data import read_conll, read_jsonl, read_jsonl_tagged, read_livedoor, read_table
from jbert_tf2.data.processors import PROCESSORS, get_processor
from jbert_tf2.errors import DataError, JbertError
from jbert_tf2.tasks import tagging


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def read_or_data_error(read, path):
    """``read()``'s result, or None when it raised a DataError naming the file."""
    try:
        return read()
    except DataError as error:
        assert str(path) in str(error), str(error)
        return None


PIECES = [
    "\t", '"', "'", "\n", "\r\n", "\r", "\ufeff", ",", " ", "text", "label", "text_b", "a",
    "東京", "B-LOC", "I-LOC", "O", "B-", "I-", "B", "#", "# text = ", "# text = 東京",
    "-DOCSTART-", "1", "2", "1-2", "1.1", "_", "NE=B-GPE", "NE=", "SpaceAfter=No", "|", "\x00",
    "\u3000", "\u2028", "\x85", "\x0b", "\x0c", "\x1c", "ｶﾞ", "é", "😀", "\\", "{", "}", "[",
    "]", ":", "null", "true", "1e999", "NaN", '"text"', '"label"', '"tokens"', '"tags"',
    '"entities"', '"start"', '"end"', "0", "-1",
]  # fmt: skip
FILE_TEXT = st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=40).map("".join)
FILE_BYTES = st.one_of(
    FILE_TEXT.map(str.encode),
    st.binary(max_size=60),
    st.tuples(FILE_TEXT, st.sampled_from([b"\xff", b"\x82\xa0", b"\xe6\x9d", b"\xef\xbb\xbf"])).map(
        lambda parts: parts[1] + parts[0].encode() + parts[1]
    ),
)


@settings(FUZZ, max_examples=150)
@given(
    data=FILE_BYTES,
    suffix=st.sampled_from([".tsv", ".csv", ".txt"]),
    options=st.fixed_dictionaries(
        {},
        optional={
            "header": st.booleans(),
            "text_column": st.sampled_from(["text", 0, 1, -1, 5]),
            "label_column": st.sampled_from([None, "label", 0, 1, -1]),
            "text_b_column": st.sampled_from([None, "text_b", 1, 2]),
            "quotechar": st.sampled_from([None, '"', "'"]),
            "multi_label": st.booleans(),
            "labels": st.sampled_from([None, ["a", "東京"]]),
        },
    ),
)
def test_table_reader_on_any_bytes(fuzz_dir, data, suffix, options):
    if options.get("header") is False:
        options = {k: (0 if isinstance(v, str) else v) for k, v in options.items()}
    path = new_file(fuzz_dir, suffix, data)
    from jbert_tf2.data.tabular import iter_table

    examples = read_or_data_error(lambda: read_table(path, **options), path)
    streamed = read_or_data_error(lambda: list(iter_table(path, **options)), path)
    assert examples == streamed
    for example in examples or ():
        assert isinstance(example.text, str) and example.text.strip()
        assert example.text_b is None or isinstance(example.text_b, str)
        assert example.label is None or isinstance(example.label, (str, tuple))


CELL = st.lists(
    st.sampled_from(list("ab東京 \t\"',\n\r\u3000😀é\ufeff\x85\u2028") + ["\r\n"]), max_size=8
).map("".join)


@settings(FUZZ, max_examples=100)
@given(
    rows=st.lists(
        st.tuples(CELL.filter(str.strip), CELL.filter(str.strip)), min_size=1, max_size=5
    ),
    delimiter=st.sampled_from(["\t", ","]),
    ending=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
)
def test_table_reader_reads_back_what_csv_wrote(fuzz_dir, rows, delimiter, ending, bom):
    import csv
    import io

    out = io.StringIO()
    # csv quotes a field with "\r" only when the line terminator has one; unquoted, a lone
    # "\r" ends a line for every reader (Google's included), so quote all fields then
    lone_cr = any("\r" in cell for row in rows for cell in row)
    quoting = csv.QUOTE_ALL if lone_cr else csv.QUOTE_MINIMAL
    writer = csv.writer(out, delimiter=delimiter, lineterminator=ending, quoting=quoting)
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    data = ("\ufeff" if bom else "") + out.getvalue()
    path = new_file(fuzz_dir, ".tsv" if delimiter == "\t" else ".csv", data.encode())
    examples = read_table(path)
    assert [(e.text, e.label) for e in examples] == [(t, label.strip()) for t, label in rows]


def test_table_reader_refuses_bad_delimiter_quotechar_and_separator(fuzz_dir):
    path = new_file(fuzz_dir, ".tsv", "text\tlabel\n東京\ta\n".encode())
    for options, needle in (
        ({"delimiter": ";;"}, "delimiter=';;'"),
        ({"quotechar": ""}, "quotechar=''"),
        ({"quotechar": "ab"}, "quotechar='ab'"),
        ({"multi_label": True, "label_separator": ""}, "label_separator=''"),
    ):
        with pytest.raises(DataError, match=needle) as info:
            read_table(path, **options)
        assert str(path) in str(info.value)


def check_sentences(sentences):
    for sentence in sentences or ():
        assert isinstance(sentence.text, str)
        assert len(sentence.spans) == len(sentence.words)
        assert sentence.tags is None or len(sentence.tags) == len(sentence.words)
        previous = 0
        for word, (start, end) in zip(sentence.words, sentence.spans, strict=True):
            assert previous <= start < end <= len(sentence.text), sentence
            assert sentence.text[start:end] == word
            previous = end
        for tag in sentence.tags or ():
            assert tag == "O" or tag[1] == "-" and tag[2:].strip()


@settings(FUZZ, max_examples=150)
@given(
    data=FILE_BYTES,
    options=st.fixed_dictionaries(
        {},
        optional={
            "token_column": st.sampled_from([0, 1, -1, 3]),
            "tag_column": st.sampled_from([None, -1, 1, 2, 9]),
            "delimiter": st.sampled_from([None, " ", "\t", ","]),
        },
    ),
)
def test_conll_reader_on_any_bytes(fuzz_dir, data, options):
    from jbert_tf2.data.conll import iter_conll

    path = new_file(fuzz_dir, ".bio", data)
    sentences = read_or_data_error(lambda: read_conll(path, **options), path)
    check_sentences(sentences)
    assert sentences == read_or_data_error(lambda: list(iter_conll(path, **options)), path)


WORD = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=5
).filter(lambda w: not any(c.isspace() for c in w) and not w.startswith(("#", "-DOCSTART-")))
TAG = st.sampled_from(["O", "B-LOC", "I-LOC", "E-ORG", "S-ORG", "U-PER", "L-PER", "B-東京"])


@st.composite
def conll_files(draw):
    """A CoNLL / BIO or CoNLL-U file with comments, blank lines, CRLF and a BOM, and its
    sentences' (words, tags)."""
    conllu = draw(st.booleans())
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    lines, expected = [], []
    for _ in range(draw(st.integers(1, 3))):
        words = draw(st.lists(WORD, min_size=1, max_size=6))
        tags = draw(st.lists(TAG, min_size=len(words), max_size=len(words)))
        expected.append((words, tags))
        if draw(st.booleans()):
            lines.append("# sent_id = x" if conllu else "# a comment")
        if draw(st.booleans()):
            lines.append("# text = " + " ".join(words))
        number = 0
        for word, tag in zip(words, tags, strict=True):
            number += 1
            if conllu:
                misc = "|".join(
                    [f"NE={tag}"] * (tag != "O") + ["SpaceAfter=No"] * draw(st.booleans())
                )
                if number == 1 and draw(st.booleans()):
                    lines.append(f"1-2\t{word}\t_\t_\t_\t_\t_\t_\t_\t_")
                lines.append(f"{number}\t{word}\t_\tNOUN\t_\t_\t0\troot\t_\t{misc or '_'}")
            else:
                lines.append(f"{word}\t{tag}")
        lines += [""] * draw(st.integers(1, 2))
    bom = "\ufeff" if draw(st.booleans()) else ""
    return bom + ending.join(lines), expected, conllu


@settings(FUZZ, max_examples=80)
@given(case=conll_files())
def test_conll_reader_reads_back_words_tags_and_spans(fuzz_dir, case):
    content, expected, conllu = case
    path = new_file(fuzz_dir, ".conllu" if conllu else ".bio", content.encode())
    sentences = read_conll(path)
    check_sentences(sentences)
    assert [(s.words, s.tags) for s in sentences] == expected


JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=5)
    | st.sampled_from(["B-LOC", "O", "I-X", "B-", " ", "東京", "\x00"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["text", "text_b", "label", "tokens", "tags", "entities", "start", "end"]
            )
            | st.text(max_size=3),
            inner,
            max_size=5,
        )
    ),
    max_leaves=15,
)
SMALL_TEXT = st.text(st.sampled_from(list("東京タワー a\t\u3000\n\r😀é\x00")), max_size=8)
ENTITY = st.fixed_dictionaries(
    {},
    optional={
        "start": st.integers(-2, 10) | JSON_VALUE,
        "end": st.integers(-2, 12) | JSON_VALUE,
        "label": st.sampled_from(["LOC", "", "B-", "a b", "-"]) | JSON_VALUE,
    },
)
RECORD = st.one_of(
    JSON_VALUE,
    st.fixed_dictionaries(
        {"text": SMALL_TEXT | JSON_VALUE, "entities": st.lists(ENTITY, max_size=4) | JSON_VALUE}
    ),
    st.fixed_dictionaries(
        {"tokens": st.lists(SMALL_TEXT, max_size=5) | JSON_VALUE},
        optional={
            "tags": st.lists(st.sampled_from(["O", "B-LOC", "I-", "B", "x"]) | JSON_VALUE)
            | JSON_VALUE,
            "text": SMALL_TEXT | JSON_VALUE,
        },
    ),
    st.fixed_dictionaries(
        {"text": SMALL_TEXT | JSON_VALUE},
        optional={"text_b": SMALL_TEXT | JSON_VALUE, "label": JSON_VALUE},
    ),
)
JSONL = st.lists(
    st.one_of(
        RECORD.map(lambda value: json.dumps(value, ensure_ascii=False)),
        FILE_TEXT.filter(lambda line: "\n" not in line),
    ),
    max_size=4,
).map(lambda lines: "\n".join(lines).encode())


@settings(FUZZ, max_examples=150)
@given(data=JSONL | FILE_BYTES)
def test_jsonl_readers_on_any_bytes(fuzz_dir, data):
    from jbert_tf2.data.jsonl import iter_jsonl_tagged

    path = new_file(fuzz_dir, ".jsonl", data)
    for example in read_or_data_error(lambda: read_jsonl(path), path) or ():
        assert isinstance(example.text, str) and example.text.strip()
        assert example.text_b is None or isinstance(example.text_b, str)
        assert example.label is None or isinstance(example.label, (str, tuple))
    sentences = read_or_data_error(lambda: read_jsonl_tagged(path), path)
    check_sentences(sentences)
    assert sentences == read_or_data_error(lambda: list(iter_jsonl_tagged(path)), path)


ENTITY_ALPHABET = list("東京タワーに行ったabc ABＡＢ1２。、…½\t\u3000\x00\u200bｶﾞ㍻😀é") + [
    "e\u0331\u0301"
]


@st.composite
def entity_records(draw):
    text = "".join(draw(st.lists(st.sampled_from(ENTITY_ALPHABET), min_size=1, max_size=16)))
    entities, position = [], 0
    for _ in range(draw(st.integers(0, 3))):
        if position >= len(text):
            break
        start = draw(st.integers(position, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        entities.append({"start": start, "end": end, "label": draw(st.sampled_from(["LOC", "X"]))})
        position = end
    return {"text": text, "entities": entities}


@settings(FUZZ, max_examples=80)
@given(record=entity_records())
def test_jsonl_entities_become_valid_bio_words(fuzz_dir, record):
    """Each entity's words are tagged B- then I-, cover its visible characters, and no two
    words overlap (or the entity holds no word and the reader says so)."""
    path = new_file(fuzz_dir, ".jsonl", json.dumps(record, ensure_ascii=False).encode())
    sentences = read_or_data_error(lambda: read_jsonl_tagged(path), path)
    if sentences is None:
        return
    (sentence,) = sentences
    check_sentences(sentences)
    assert sentence.text == record["text"]
    assert tagging.is_valid(sentence.tags, "BIO")
    for entity in record["entities"]:
        start, end, label = entity["start"], entity["end"], entity["label"]
        inside = [
            (a, b, tag)
            for (a, b), tag in zip(sentence.spans, sentence.tags, strict=True)
            if start <= a and b <= end
        ]
        assert inside and inside[0][2] == f"B-{label}", (record, sentence)
        assert all(tag == f"I-{label}" for _, _, tag in inside[1:]), (record, sentence)
        covered = {i for a, b, _ in inside for i in range(a, b)}
        visible = {i for i in range(start, end) if record["text"][i] not in " \t\u3000\x00\u200b"}
        assert visible <= covered, (record, sentence)


def test_jsonl_entity_after_leading_space_starts_with_b(fuzz_dir):
    """An entity whose span starts at a space got its first word tagged I- (invalid BIO)."""
    record = {"text": "東京 大阪", "entities": [{"start": 2, "end": 5, "label": "LOC"}]}
    path = new_file(fuzz_dir, ".jsonl", json.dumps(record, ensure_ascii=False).encode())
    (sentence,) = read_jsonl_tagged(path)
    assert (sentence.words, sentence.tags) == (["東京", "大阪"], ["O", "B-LOC"])


def test_jsonl_words_of_one_character_are_not_repeated(fuzz_dir):
    """NFKC makes several MeCab words of '…' (or of e + U+0331 + U+0301): the words came out
    repeated, with overlapping spans."""
    for text, entity, words, tags in (
        ("東京…大阪", (2, 3), ["東京", "…", "大阪"], ["O", "B-LOC", "O"]),
        # NFKC: é (e + U+0301) then U+0331, two MeCab words with their own code points
        ("e\u0301\u0331", (0, 1), ["e", "\u0301", "\u0331"], ["B-LOC", "O", "O"]),
    ):
        record = {
            "text": text,
            "entities": [{"start": entity[0], "end": entity[1], "label": "LOC"}],
        }
        path = new_file(fuzz_dir, ".jsonl", json.dumps(record, ensure_ascii=False).encode())
        (sentence,) = read_jsonl_tagged(path)
        assert (sentence.words, sentence.tags) == (words, tags)


def test_jsonl_entity_after_a_nul_is_kept_and_one_on_a_nul_is_refused(fuzz_dir):
    record = {"text": "東京\x00大阪", "entities": [{"start": 3, "end": 5, "label": "LOC"}]}
    path = new_file(fuzz_dir, ".jsonl", json.dumps(record, ensure_ascii=False).encode())
    (sentence,) = read_jsonl_tagged(path)
    assert (sentence.words, sentence.tags) == (["東京", "大阪"], ["O", "B-LOC"])
    record["entities"] = [{"start": 2, "end": 3, "label": "LOC"}]
    path = new_file(fuzz_dir, ".jsonl", json.dumps(record, ensure_ascii=False).encode())
    with pytest.raises(DataError, match=r"line 1: entity LOC \[2, 3\) .* holds no word"):
        read_jsonl_tagged(path)


def test_conll_reader_refuses_bad_column_and_delimiter_arguments(fuzz_dir):
    path = new_file(fuzz_dir, ".bio", "東京\tB-LOC\n".encode())
    for options, needle in (
        ({"delimiter": ""}, "delimiter=''"),
        ({"token_column": "0"}, "token_column='0'"),
        ({"tag_column": 1.0}, "tag_column=1.0"),
    ):
        with pytest.raises(DataError, match=needle) as info:
            read_conll(path, **options)
        assert str(path) in str(info.value)


@settings(FUZZ, max_examples=40)
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from(["sports", "it-life", ".hidden", "LICENSE.txt"]),
            st.sampled_from(["a.txt", "b.txt", "LICENSE.txt", "c.md"]),
            FILE_BYTES,
        ),
        max_size=4,
    ),
    text=st.sampled_from(["title", "body", "title+body"]),
    nested=st.booleans(),
)
def test_livedoor_reader_on_any_files(fuzz_dir, files, text, nested):
    root = fuzz_dir / f"livedoor{next(_FILE_NUMBER)}"
    base = root / "text" if nested else root
    base.mkdir(parents=True)
    for directory, name, data in files:
        if directory.endswith(".txt"):
            (base / directory).write_bytes(data)
        else:
            (base / directory).mkdir(exist_ok=True)
            (base / directory / name).write_bytes(data)
    for example in read_or_data_error(lambda: read_livedoor(root, text=text), root) or ():
        assert example.text.strip() and example.label in ("sports", "it-life")


@settings(FUZZ, max_examples=60)
@given(
    data=FILE_BYTES,
    task=st.sampled_from(sorted(PROCESSORS)),
    split=st.sampled_from(["train", "dev", "test"]),
)
def test_task_processors_on_any_bytes(fuzz_dir, data, task, split):
    processor = get_processor(task)
    if task == "xnli":
        files = {"train": "multinli/multinli.train.zh.tsv", "dev": "xnli.dev.tsv"}
    else:
        files = {name: layout.file for name, layout in processor.layouts.items()}
    if split not in files:
        return
    data_dir = fuzz_dir / f"task{next(_FILE_NUMBER)}"
    (data_dir / "multinli").mkdir(parents=True)
    (data_dir / files[split]).write_bytes(data)
    try:
        examples = processor.examples(data_dir, split)
    except JbertError as error:
        assert str(data_dir) in str(error), str(error)
        return
    for example in examples:
        assert isinstance(example.text, str)


def test_xnli_lines_end_at_newlines_only(fuzz_dir):
    """U+2028 / U+0085 inside a sentence cut the row in two (`str.splitlines`): refused."""
    data_dir = fuzz_dir / f"xnli{next(_FILE_NUMBER)}"
    data_dir.mkdir()
    row = ["zh", "neutral", "", "", "", "", "他说\u2028你好", "甲\x85乙"]
    (data_dir / "xnli.dev.tsv").write_text(
        "\t".join(["language", "gold_label", *"abcd", "sentence1", "sentence2"])
        + "\n"
        + "\t".join(row)
        + "\r\n",
        encoding="utf-8",
    )
    (example,) = get_processor("xnli").examples(data_dir, "dev")
    assert (example.text, example.text_b, example.label) == (
        "他说\u2028你好",
        "甲\x85乙",
        "neutral",
    )
