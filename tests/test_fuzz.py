"""Fuzzing: tokenizers, readers, config parsing and tag decoding on arbitrary input.

Each property says what any input must give: a valid answer (offsets inside the text, ids in
the vocabulary, spans that slice the text) or the project's own error (`DataError`,
`ConfigError`, `JbertError`) naming the file / line / variable; never a bare exception from
deep inside, a hang, or a silently wrong answer. Every bug these found has a plain regression
test with its minimal input next to the property that found it.

Runs are reproducible and leave no files: ``derandomize=True`` and no example database.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jbert_tf2.config import BertConfig, read_config
from jbert_tf2.data import read_conll, read_jsonl, read_jsonl_tagged, read_livedoor, read_table
from jbert_tf2.data.processors import PROCESSORS, get_processor
from jbert_tf2.errors import ConfigError, DataError, JbertError
from jbert_tf2.tasks import tagging
from jbert_tf2.tokenization import BertTokenizer, SentencePieceTokenizer
from jbert_tf2.tokenization.mecab import MECAB_MAX_CHARS, mecab_pieces

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Fail when the block runs longer than ``seconds``; SIGALRM breaks a real hang."""

    def hung(signum, frame):
        raise TimeoutError(f"{what}: still running after {seconds} s")

    alarm = hasattr(signal, "setitimer")
    if alarm:
        previous = signal.signal(signal.SIGALRM, hung)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.perf_counter()
    try:
        yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"{what}: {elapsed:.1f} s (limit {seconds} s)"


# --- tokenizers ------------------------------------------------------------------------------

TOKENIZERS = {
    "basic-lower": lambda f: BertTokenizer(f["wordpiece_lower"]),
    "basic-cased": lambda f: BertTokenizer(f["wordpiece_cased"], do_lower_case=False),
    "mecab-unidic": lambda f: BertTokenizer(
        f["mecab_unidic_lite"], do_lower_case=False, word_tokenizer="mecab"
    ),
    "mecab-unidic-lower": lambda f: BertTokenizer(
        f["mecab_unidic_lite_lower"], word_tokenizer="mecab"
    ),
    "mecab-ipadic": lambda f: BertTokenizer(
        f["mecab_ipadic"], do_lower_case=False, word_tokenizer="mecab", mecab_dic="ipadic"
    ),
    "mecab-character": lambda f: BertTokenizer(
        f["character"], False, word_tokenizer="mecab", subword_tokenizer="character"
    ),
    "basic-character": lambda f: BertTokenizer(
        f["character"], False, word_tokenizer="basic", subword_tokenizer="character"
    ),
    "none-wordpiece": lambda f: BertTokenizer(f["wordpiece_cased"], False, word_tokenizer="none"),
    "sentencepiece": lambda f: SentencePieceTokenizer(f["spm_model"], f["spm_vocab"]),
}
_BUILT: dict = {}


def tokenizer(name, files):
    if name not in _BUILT:
        _BUILT[name] = TOKENIZERS[name](files)
    return _BUILT[name]


SPECIALS = ["[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]"]
# Characters that give tokens, and separators between them (whitespace, controls, format
# characters, NUL) that may give none.
VISIBLE = list("aZz09あがアｱﾞ東京都ＡＢ１、。!?ー々…½😀Σςéß㍻") + ["ｶﾞ", "İ"]
SEPARATORS = list(" \t\n\x00\u3000\u200b\u200d\ufeff\x7f\xa0\u2028\x85\x1c\x0b") + ["\r\n"]
JAPANESE = (
    VISIBLE
    + SEPARATORS
    + SPECIALS
    + list(
        "いうえおきぎくぐけこさしすせそたちつてとなにぬねのはばぱまみむめもやゆよらりるれろわをん"
    )
    + list("カキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンヴ")
    + list("日本語大阪府京都市漢字一二三〇〆ヶ㌔①ⅰ「」『』・〜ｰ｡｢｣ﾊﾟﾋﾟ\u3099\u309a\u0301\u0331")
    + ["##", "東京タワー", "三代目 J SOUL BROTHERS", "👨\u200d👩\u200d👧", "🇯🇵", "e\u0331\u0301"]
)
RUN_CHARS = list("aあア東Σ1.ｶ\u0301\u3099 -_[") + ["[CLS]"]

ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=50)
JAPANESE_TEXT = st.lists(st.sampled_from(JAPANESE), max_size=30).map("".join)
RUNS = st.lists(
    st.tuples(st.sampled_from(RUN_CHARS), st.integers(1, 260)).map(lambda run: run[0] * run[1]),
    min_size=1,
    max_size=3,
).map("".join)
TEXT = st.one_of(ANY_TEXT, JAPANESE_TEXT, RUNS)


def vocab_size(tok) -> int:
    return max(tok.vocab.values()) + 1


def check_offsets(tok, text: str) -> list:
    """Spans inside the text and in order; only SentencePiece's dummy-prefix piece, which draws
    on no character, has an empty span; ids equal the tokens' ids and lie in the vocabulary."""
    found = tok.tokenize_with_offsets(text)
    previous = 0
    for token, start, end in found:
        assert isinstance(token, str) and token, (text, found)
        assert 0 <= start <= end <= len(text), (text, token, start, end)
        assert start >= previous, (text, found)
        previous = start
        if start == end:
            assert isinstance(tok, SentencePieceTokenizer) and token == "\u2581", (text, found)
        if isinstance(tok, BertTokenizer):
            assert token in tok.vocab, (text, token)
    ids = tok.token_ids(text)
    assert ids == tok.convert_tokens_to_ids([t for t, _, _ in found]), (text, found, ids)
    assert all(0 <= i < vocab_size(tok) for i in ids), (text, ids)
    return found


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
@settings(FUZZ, max_examples=200)
@given(text=TEXT)
def test_tokenizer_offsets_and_ids_on_any_text(tokenizer_files, name, text):
    check_offsets(tokenizer(name, tokenizer_files), text)


@st.composite
def visible_and_separators(draw):
    """A text and the indexes of its visible characters (those that must be in some token)."""
    parts, must = [], []
    position = 0
    for _ in range(draw(st.integers(1, 12))):
        piece = draw(st.sampled_from(VISIBLE if draw(st.booleans()) else SEPARATORS))
        if piece in VISIBLE:
            must += range(position, position + len(piece))
        parts.append(piece)
        position += len(piece)
    return "".join(parts), must


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
@settings(FUZZ, max_examples=80)
@given(case=visible_and_separators())
def test_tokenizer_loses_no_visible_character(tokenizer_files, name, case):
    text, must = case
    found = check_offsets(tokenizer(name, tokenizer_files), text)
    covered = {i for _, start, end in found for i in range(start, end)}
    assert set(must) <= covered, (text, found, sorted(set(must) - covered))


def test_mecab_keeps_the_text_after_a_nul(tokenizer_files):
    """MeCab reads a C string: the text after a NUL was silently dropped."""
    for name in ("mecab-unidic", "mecab-ipadic", "mecab-character"):
        tok = tokenizer(name, tokenizer_files)
        found = tok.tokenize_with_offsets("東京\x00大阪")
        assert found[-1][2] == 5 and found[-1][1] >= 3, found
        assert tok.token_ids("東京\x00大阪") == tok.convert_tokens_to_ids([t for t, _, _ in found])
        assert tok.word_spans("東京\x00大阪")[-1] == (3, 5)
    assert mecab_pieces("a\x00\x00b\x00") == ["a", "b"]


def test_mecab_pieces_cut_long_texts_at_line_breaks_or_spaces():
    line = "東京タワーに行った。" * 100 + "\n"
    pieces = mecab_pieces(line * 50)
    assert "".join(pieces) == line * 50
    assert all(len(p) <= MECAB_MAX_CHARS and p.endswith("\n") for p in pieces)
    run = mecab_pieces("a" * (2 * MECAB_MAX_CHARS + 5))
    assert [len(p) for p in run] == [MECAB_MAX_CHARS, MECAB_MAX_CHARS, 5]
    assert mecab_pieces("短い文。") == ["短い文。"]


def test_mecab_does_not_crash_on_a_long_run_of_letters(tokenizer_files):
    """MeCab segfaulted (killing Python) on 'a' * 200_000, and took quadratic time on runs."""
    code = (
        "from jbert_tf2.tokenization import BertTokenizer\n"
        f"tok = BertTokenizer({str(tokenizer_files['mecab_unidic_lite'])!r}, False, "
        "word_tokenizer='mecab')\n"
        "print(len(tok.tokenize_with_offsets('a' * 210_000)))"
    )
    with time_limit(60, "MeCab on 210,000 letters"):
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).parent.parent,
        )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert int(done.stdout.split()[0]) > 0


def test_ids_of_a_long_chunk_take_linear_time(tokenizer_files):
    """Basic-tokenizer ids of one 400,000-character chunk: `tuple +=` per word was quadratic."""
    tok = tokenizer("basic-cased", tokenizer_files)
    with time_limit(15, "ids of '[CLS]' * 80_000"):
        batch = tok(["[CLS]" * 80_000, "a." * 200_000], max_seq_length=8)
    assert batch["input_ids"].shape == (2, 8)


LONG_TEXT = (
    "東京タワーに行った。ｶﾞｷﾞ㍻ＡＢＣ 三代目 J SOUL BROTHERS\r\n"
    "😀👨\u200d👩\u200d👧 Σσς İı é\u0301\u0331 [CLS]\x00\u3000\t"
    + "superlongwordwithoutanyspaces" * 9
    + "\n"
)


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
def test_a_100k_character_text_tokenizes_in_reasonable_time(tokenizer_files, name):
    tok = tokenizer(name, tokenizer_files)
    text = (LONG_TEXT * (100_000 // len(LONG_TEXT) + 1))[:100_000]
    with time_limit(30, f"{name} on 100,000 characters"):
        found = tok.tokenize_with_offsets(text)
        batch = tok([text, text[:5000]], [text[:300], ""], max_seq_length=16)
    assert found and all(0 <= s <= e <= len(text) for _, s, e in found)
    assert batch["input_ids"].shape == (2, 16)


@st.composite
def batch_cases(draw):
    texts = draw(st.lists(TEXT, min_size=1, max_size=3))
    pairs = None
    if draw(st.booleans()):
        pairs = draw(st.lists(TEXT, min_size=len(texts), max_size=len(texts)))
    return texts, pairs, draw(st.integers(2, 16))


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
@settings(FUZZ, max_examples=60)
@given(case=batch_cases())
def test_batches_have_exact_shapes_and_consistent_masks(tokenizer_files, name, case):
    tok = tokenizer(name, tokenizer_files)
    texts, pairs, length = case
    try:
        batch = tok(texts, pairs, max_seq_length=length)
    except JbertError as error:  # room for [CLS] a [SEP] b [SEP] (an empty b is no pair)
        assert length == 2 and any(tok.tokenize(pair) for pair in pairs), error
        assert "max_seq_length=2" in str(error)
        return
    cls_id, sep_id = tok.vocab["[CLS]"], tok.vocab["[SEP]"]
    assert set(batch) == {"input_ids", "input_mask", "segment_ids"}
    for array in batch.values():
        assert array.shape == (len(texts), length) and array.dtype == np.int32
    ids, mask, segments = batch["input_ids"], batch["input_mask"], batch["segment_ids"]
    assert ((ids >= 0) & (ids < vocab_size(tok))).all()
    for row, text in enumerate(texts):
        n = int(mask[row].sum())
        assert 2 <= n <= length
        assert (mask[row, :n] == 1).all() and (mask[row, n:] == 0).all()
        assert (ids[row, n:] == 0).all() and (segments[row, n:] == 0).all()
        assert ids[row, 0] == cls_id and ids[row, n - 1] == sep_id
        assert (np.diff(segments[row, :n]) >= 0).all()  # 0 ... 0 then 1 ... 1
        first = n - int(segments[row, :n].sum())
        assert ids[row, first - 1] == sep_id
        pair = None if pairs is None else pairs[row]
        encoding = tok.encode(text, pair, max_seq_length=length)
        assert encoding.input_ids == ids[row].tolist()
        assert encoding.input_mask == mask[row].tolist()
        assert encoding.segment_ids == segments[row].tolist()
        assert encoding.length == n
        for (start, end), segment in zip(encoding.offsets, encoding.segment_ids, strict=True):
            source = text if segment == 0 else pair
            assert 0 <= start <= end <= len(source)
    longest = tok(texts, pairs, max_seq_length=length, padding="longest")["input_ids"]
    assert longest.shape == (len(texts), int(mask.sum(axis=1).max()))


TWINS = ("basic-lower", "basic-cased", "basic-character", "sentencepiece")


@pytest.mark.parametrize("name", TWINS)
@settings(FUZZ, max_examples=8)
@given(texts=st.lists(TEXT, min_size=1, max_size=16))
def test_in_graph_twins_agree_with_python_on_any_text(tokenizer_files, name, texts):
    """The tensorflow-text twins: same masks (and ids; SentencePiece may break score ties in
    the lattice another way, see test_tokenization_in_graph) on any text, no crash."""
    import tensorflow as tf

    tok = tokenizer(name, tokenizer_files)
    key = f"{name}-in-graph"
    if key not in _BUILT:
        _BUILT[key] = tok.in_graph(max_seq_length=16)
    got = {k: v.numpy() for k, v in _BUILT[key](tf.constant(texts)).items()}
    want = tok(texts, max_seq_length=16)
    np.testing.assert_array_equal(got["input_mask"], want["input_mask"])
    np.testing.assert_array_equal(got["segment_ids"], want["segment_ids"])
    if name != "sentencepiece":
        np.testing.assert_array_equal(got["input_ids"], want["input_ids"])


# --- readers ---------------------------------------------------------------------------------

_FILE_NUMBER = itertools.count()


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def new_file(directory, suffix: str, data: bytes):
    path = directory / f"f{next(_FILE_NUMBER)}{suffix}"
    path.write_bytes(data)
    return path


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
        ("e\u0301\u0331", (0, 1), ["e", "\u0301\u0331"], ["B-LOC", "O"]),
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


def test_tokenizer_word_spans_are_disjoint(tokenizer_files):
    for name in ("mecab-unidic", "basic-cased", "sentencepiece"):
        spans = tokenizer(name, tokenizer_files).word_spans("東京…大阪½")
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), (name, spans)


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


# --- config ----------------------------------------------------------------------------------

GOOD = {
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 64,
    "initializer_range": 0.02,
    "intermediate_size": 128,
    "max_position_embeddings": 512,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "type_vocab_size": 2,
    "vocab_size": 100,
}
FIELDS = sorted(GOOD) + [
    "embedding_size",
    "layer_norm_eps",
    "layer_norm_epsilon",
    "model_type",
    "format",
    "jbert_hidden_act",
    "architectures",
    "transformers_version",
    "source",
]
CONFIG_FIELDS = {"vocab_size", "embedding_size", "layer_norm_eps", "model_type", *GOOD}
ODD_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.integers(),
    st.integers(2**31 - 2, 2**70),
    st.floats(),
    st.floats(0, 1),
    st.text(max_size=6),
    st.sampled_from(
        ["gelu", "gelu_new", "relu", "swish", "bert", "electra", "jbert_tf2", "768", "nan"]
        + [1e300, 768.0, 768.5, -0.0, 3, 5, 7, 96, 48]
    ),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


def check_config(read, path: str):
    """A valid config with sane fields, or a ConfigError naming the file and the field."""
    try:
        config = read()
    except ConfigError as error:
        message = str(error)
        assert path in message, message
        assert message.startswith(path) or message.split()[0] in CONFIG_FIELDS, message
        return None
    sizes = (
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "max_position_embeddings",
        "type_vocab_size",
        "embedding_size",
    )
    for name in sizes:
        value = getattr(config, name)
        assert type(value) is int and 0 < value < 2**31, (name, value)
    for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
        assert 0 <= getattr(config, name) < 1 and type(getattr(config, name)) is not bool
    for name in ("initializer_range", "layer_norm_eps"):
        value = getattr(config, name)
        assert type(value) in (int, float) and 0 < value and math.isfinite(value), (name, value)
    assert config.hidden_size % config.num_attention_heads == 0
    assert config.hidden_act in ("gelu", "gelu_approx", "relu", "tanh", "silu")
    assert config.model_type in ("bert", "electra")
    return config


@settings(FUZZ, max_examples=200)
@given(
    changes=st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4), ODD_VALUE, max_size=4),
    dropped=st.lists(st.sampled_from(sorted(GOOD)), max_size=3),
    model_type=st.sampled_from([None, "bert", "electra"]),
)
def test_config_from_any_field_values(fuzz_dir, changes, dropped, model_type):
    data = {**GOOD, **changes}
    for name in dropped:
        data.pop(name, None)
    check_config(lambda: BertConfig.from_dict(data, "cfg.json", model_type), "cfg.json")
    try:
        text = json.dumps(data)  # NaN and Infinity as Python's json writes them
    except (TypeError, ValueError):
        return
    path = new_file(fuzz_dir, ".json", text.encode())
    check_config(lambda: read_config(path, model_type)[0], str(path))


@settings(FUZZ, max_examples=120)
@given(
    data=st.one_of(
        st.binary(max_size=50),
        st.text(max_size=50).map(str.encode),
        st.recursive(
            ODD_VALUE.filter(lambda v: not (isinstance(v, float) and not math.isfinite(v))),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5)
            ),
        ).map(lambda value: json.dumps(value).encode()),
    ),
    suffix=st.sampled_from([".json", ".ini", ".JSON", ".cfg"]),
)
def test_config_files_of_any_bytes(fuzz_dir, data, suffix):
    path = new_file(fuzz_dir, suffix, data)
    check_config(lambda: read_config(path)[0], str(path))


INI_LINE = st.one_of(
    st.sampled_from(
        [
            "[BERT-CONFIG]",
            "[DATA]",
            "[DEFAULT]",
            "[]",
            "[x",
            "%(x)s",
            "hidden_size = 64",
            "hidden_size=",
            "num_attention_heads = 3",
            "vocab_size = 1e400",
            "vocab_size = 100",
            "vocab_size : 100",
            "  continued",
            "= 3",
            "hidden_act = gelu",
            "hidden_dropout_prob = nan",
            "initializer_range = inf",
            "hidden_size = 64.0",
            "hidden_size = 0x40",
            "hidden_size = 1_000",
            "hidden_size = 99999999999999999999",
        ]
    ),
    st.builds(
        lambda key, value: f"{key} = {value}",
        st.sampled_from(FIELDS),
        st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=6),
    ),
)


@settings(FUZZ, max_examples=120)
@given(lines=st.lists(INI_LINE, max_size=12), section=st.booleans())
def test_config_ini_of_any_lines(fuzz_dir, lines, section):
    text = ("[BERT-CONFIG]\n" if section else "") + "\n".join(lines)
    path = new_file(fuzz_dir, ".ini", text.encode())
    check_config(lambda: read_config(path)[0], str(path))


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("initializer_range", float("inf"), "positive number, got inf"),
        ("layer_norm_eps", float("inf"), "positive number, got inf"),
        ("vocab_size", 2**31, "too large"),
        ("hidden_size", 1e300, "too large"),  # a float with an integer value: read as an int
        ("num_attention_heads", 5, "does not divide hidden_size 64"),
    ],
)
def test_config_refuses_infinite_and_huge_values(fuzz_dir, field, value, message):
    """inf for initializer_range / layer_norm_eps and sizes beyond int32 were accepted."""
    path = new_file(fuzz_dir, ".json", json.dumps({**GOOD, field: value}).encode())
    with pytest.raises(ConfigError, match=message) as info:
        read_config(path)
    assert str(info.value).startswith(f"{field} in {path}")


# --- tags ------------------------------------------------------------------------------------

ODD_TAG = st.one_of(
    st.sampled_from(
        ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "I-Y", "B-", "I-", "B", "I", "-", "B--X"]
        + ["B-X-", "U-X", "L-X", "o", "b-x", "", "O-X", "B-X Y", "B-東京"]
    ),
    st.text(max_size=4),
    st.none(),
    st.integers(-2, 5),
)
ODD_ARGUMENT = st.one_of(
    st.none(),
    st.integers(-3, 20),
    st.text(max_size=3),
    st.lists(ODD_TAG, max_size=3),
    st.lists(st.lists(ODD_TAG, max_size=3), max_size=3),
    st.lists(st.tuples(ODD_TAG, st.integers(-1, 4), st.integers(-1, 5)), max_size=3),
)


def answer_or_jbert_error(call):
    try:
        return call()
    except JbertError:
        return None


@settings(FUZZ, max_examples=200)
@given(
    tags=st.lists(ODD_TAG, max_size=10),
    scheme=st.sampled_from([None, "BIO", "BIOES", "IO", "iob2", "IOBES", "x"]),
    strict=st.booleans(),
)
def test_tag_sequences_of_any_tags(tags, scheme, strict):
    found = answer_or_jbert_error(lambda: tagging.spans(tags, scheme, strict))
    end = 0
    for kind, start, stop in found or ():
        assert isinstance(kind, str) and kind and end <= start < stop <= len(tags)
        end = stop
    target = scheme or "BIO"
    for call in (
        lambda: tagging.detect_scheme(tags),
        lambda: tagging.entity_types(tags),
        lambda: tagging.is_valid(tags, target),
        lambda: tagging.span_scores([tags], [tags[::-1]], strict, scheme),
    ):
        answer_or_jbert_error(call)
    repaired = answer_or_jbert_error(lambda: tagging.repair(tags, target))
    if repaired is not None:
        assert len(repaired) == len(tags) and tagging.is_valid(repaired, target)
    text = " ".join("w" * (i % 3 + 1) for i in range(len(tags)))
    words, position = [], 0
    for i in range(len(tags)):
        words.append((position, position + i % 3 + 1))
        position += i % 3 + 2
    entities = answer_or_jbert_error(lambda: tagging.entities_in_text(text, words, tags, target))
    for entity in entities or ():
        assert text[entity["start"] : entity["end"]] == entity["text"] and entity["text"]


@settings(FUZZ, max_examples=200)
@given(a=ODD_ARGUMENT, b=ODD_ARGUMENT, strict=st.booleans())
def test_tag_functions_on_any_arguments(a, b, strict):
    for call in (
        lambda: tagging.spans(a, None, strict),
        lambda: tagging.detect_scheme(a),
        lambda: tagging.entity_types(a),
        lambda: tagging.convert_tags(a, "BIOES"),
        lambda: tagging.is_valid(a, "IO"),
        lambda: tagging.span_scores(a, b, strict),
        lambda: tagging.tags_from_spans(a, 4, "BIO"),
        lambda: tagging.tags_from_spans([], a, "BIO"),
        lambda: tagging.labels_for(a, "BIOES"),
        lambda: tagging.viterbi_decode(a, ["O", "B-X", "I-X"], "BIO"),
        lambda: tagging.viterbi_decode(np.zeros((2, 1)), a, "BIO"),
        lambda: tagging.entities_in_text("東京 タワー", a, b, "BIO"),
    ):
        answer_or_jbert_error(call)


@settings(FUZZ, max_examples=100)
@given(
    labels=st.lists(ODD_TAG, max_size=5),
    length=st.integers(0, 4),
    value=st.floats(allow_nan=True) | st.sampled_from([-np.inf, 0.0]),
    scheme=st.sampled_from(["BIO", "BIOES", "IO"]),
)
def test_viterbi_on_any_labels_and_scores(labels, length, value, scheme):
    scores = np.full((length, len(labels)), value)
    path = answer_or_jbert_error(lambda: tagging.viterbi_decode(scores, labels, scheme))
    if path is not None:
        assert len(path) == length and all(tag in labels for tag in path)
        assert tagging.is_valid(path, scheme)


@pytest.mark.parametrize(
    "call,needle",
    [
        (lambda: tagging.spans([None]), "tag None at position 0"),
        (lambda: tagging.detect_scheme([None]), "sentence 0 is None"),
        (lambda: tagging.entity_types([1]), "sentence 0 is 1"),
        (lambda: tagging.spans(None), "tags is None"),
        (lambda: tagging.convert_tags(iter(["B-X", "I-X"]), "IO") == ["I-X", "I-X"], None),
        (lambda: tagging.viterbi_decode(np.zeros((2, 0)), [], "BIO"), "labels is empty"),
        (lambda: tagging.viterbi_decode([["x"]], ["O"], "BIO"), "not an array of numbers"),
        (lambda: tagging.viterbi_decode(np.zeros((1, 1)), [[]], "BIO"), "label [] at index 0"),
        (lambda: tagging.labels_for(None, "BIO"), "types is None"),
        (lambda: tagging.tags_from_spans(None, 3, "BIO"), "entities is None"),
        (lambda: tagging.tags_from_spans([("X", "0", 1)], 3, "BIO"), "integer word indices"),
        (lambda: tagging.tags_from_spans([], "3", "BIO"), "length='3'"),
        (lambda: tagging.span_scores([None], [None]), "true_sequences[0] is None"),
        (lambda: tagging.entities_in_text("ab", [(0, 1)], ["O", "B-X"], "BIO"), "2 tags but 1"),
        (lambda: tagging.entities_in_text("ab", [(0, 9)], ["B-X"], "BIO"), "word_spans[0]"),
    ],
)
def test_tag_functions_name_the_bad_argument(call, needle):
    """Each of these raised TypeError / ValueError / IndexError from inside before."""
    if needle is None:
        assert call()
        return
    with pytest.raises(JbertError) as info:
        call()
    assert needle in str(info.value)


def test_visible_alphabet_is_what_the_properties_assume():
    """The coverage property's VISIBLE characters are letters, numbers, punctuation or symbols
    (kept by every tokenizer); SEPARATORS are whitespace, controls or format characters."""
    for piece in VISIBLE:
        assert all(unicodedata.category(c)[0] in "LNPS" for c in piece), piece
    for piece in SEPARATORS:
        assert all(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in piece), piece
