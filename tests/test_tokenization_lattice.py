"""In-graph lattices: the Viterbi engine against a brute-force search, `MecabGraph` against fugashi.

MeCab (through fugashi, the C library) is the reference: the graph's word boundaries must be
fugashi's on every corpus text, hard cases and seeded random strings, for both dictionaries.
"""

from __future__ import annotations

import functools
import random
import unicodedata

import numpy as np
import pytest
from tokenizer_fixtures import corpus

from jbert_tf2.tokenization.graph_ops_check import non_core_ops, op_types
from jbert_tf2.tokenization.lattice import (
    MecabGraph,
    best_paths,
    cheapest_edges,
    lattice_costs,
    tf,
)
from jbert_tf2.tokenization.mecab import MecabWordSplitter
from jbert_tf2.tokenization.mecab_dictionary import read_mecab_dictionary

# ----------------------------------------------------------------------------------------------
# The Viterbi engine
# ----------------------------------------------------------------------------------------------


def _brute_force(length: int, edges: list[tuple[int, int, float]]) -> list[int]:
    """Every path from 0 to ``length``, cheapest by (cost, then at each end position the
    smallest edge index), as a sequential Viterbi with first-wins ties."""
    if length == 0:
        return []
    best: dict[int, tuple[float, list[int]]] = {0: (0.0, [])}
    for end in range(1, length + 1):
        options = [
            (best[s][0] + weight, i, best[s][1] + [i])
            for i, (s, e, weight) in enumerate(edges)
            if e == end and s in best
        ]
        if options:
            cost, _, path = min(options)
            best[end] = (cost, path)
    return best.get(length, (0.0, []))[1]


def _engine_paths(lengths, edges, dtype, padded, unroll):
    """The engine on a lattice of positions (node ``position * rows + row``; position 0 the
    roots): each row's path as indices into ``edges`` (row, start, end, weight)."""
    rows, width = len(lengths), max([0, *lengths])
    order = sorted(range(len(edges)), key=lambda i: edges[i][2])  # by end, stable
    row, start, end, weight = (
        np.array([edges[i][k] for i in order], dtype=np.int32 if k < 3 else dtype) for k in range(4)
    )
    source, target = tf.constant(start * rows + row), tf.constant(end * rows + row)
    weight = tf.constant(weight)
    count = (width + 1) * rows
    costs = lattice_costs(
        tf.constant(width),
        rows,
        tf.range(count) // rows - 1,
        source,
        target,
        weight,
        unroll,
        padded=padded,
    )
    winner = cheapest_edges(costs, source, target, weight, count).numpy()
    parent = np.where(
        winner < len(order),
        np.append(start * rows + row, 0)[np.minimum(winner, len(order))],
        np.arange(count),
    )
    finals = tf.constant(np.array(lengths, np.int32) * rows + np.arange(rows, dtype=np.int32))
    on_path = best_paths(tf.constant(parent, tf.int32), finals, count).numpy()
    paths = [[] for _ in range(rows)]
    for node in np.flatnonzero(on_path & (winner < len(order))):
        paths[node % rows].append((node // rows, order[winner[node]]))
    return [[edge for _, edge in sorted(path)] for path in paths]


@pytest.mark.parametrize(
    "dtype, padded, unroll",
    [(np.float32, True, 3), (np.float32, False, 1), (np.int64, False, 2), (np.int64, True, 4)],
)
def test_engine_matches_brute_force(dtype, padded, unroll):
    rng = np.random.default_rng(7)
    for _ in range(25):
        lengths = [int(n) for n in rng.integers(0, 7, rng.integers(1, 4))]
        edges = [
            (r, int(s), int(rng.integers(s + 1, n + 1)), float(rng.integers(-3, 3)))
            for r, n in enumerate(lengths)
            if n
            for s in rng.integers(0, n, rng.integers(0, 14))
        ]
        rng.shuffle(edges)
        got = _engine_paths(lengths, edges, dtype, padded, unroll)
        for r, length in enumerate(lengths):
            mine = [i for i, edge in enumerate(edges) if edge[0] == r]
            expected = _brute_force(length, [edges[i][1:] for i in mine])
            assert got[r] == [mine[i] for i in expected]


def test_engine_ties_take_the_smallest_edge_index_and_unreached_rows_are_empty():
    # Row 0: 0->2 (cost -2) ties with 0->1->2 (-1 + -1); edge 1 (0->2) comes before 3 (1->2).
    # Row 1: nothing reaches position 3.
    edges = [(0, 0, 1, -1.0), (0, 0, 2, -2.0), (0, 1, 2, -0.5), (0, 1, 2, -1.0), (1, 0, 1, -1.0)]
    for padded in (True, False):
        assert _engine_paths([2, 3], edges, np.float32, padded, 2) == [[1], []]


# ----------------------------------------------------------------------------------------------
# MecabGraph
# ----------------------------------------------------------------------------------------------

HARD_CASES = [
    "",
    " ",
    "   \t\n ",
    "\n",
    "今日は良い天気です。",
    "  前後に空白  ",
    "a b\tc\nd\re\x0bf\x0cg\u3000h\u00a0i\u2028j\x85k",
    "改行\n\n\nの連続\r\nと\t\tタブ",
    "𠮷野家で🍣を食べた😀😀😀",
    "\U00020000\U0010ffff\uffff\ufffe\ufeff",
    "鬱鬯鬮鼈龘齉",  # rare kanji, unknown words
    "ABCdef123 ４５６ abc_def-ghi",
    "カタカナカタカナカタカナカタカナカタカナカタカナカタカナ",
    "ア" * 24 + "。" + "ア" * 25 + "。" + "ア" * 26,
    "漢" * 40,
    "1" * 30 + "あ" + "a" * 26,
    "αβγ ЖЗИ ﬁ ß é ①Ⅻ々〆ヶ",
    "「括弧」（丸）・中黒…三点、読点。!?",
    "mixedスクリプトのテキスト123abcと漢字とひらがな",
    "\x00",
    "\x00abc\x00\x00def\x00",
    "NUL\x00で切る\x00テキスト",
]


def _fugashi_spans(splitter: MecabWordSplitter, text: str) -> list[list[int]]:
    spans, position = [], 0
    for surface in splitter._surfaces(text):
        if surface:
            found = text.index(surface, position)
            position = found + len(surface)
            spans.append([found, position])
    return spans


def _random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = sorted(set("".join(corpus())))
    extras = list(
        " \t\n\r\x0b\x0c\u3000\x00\u00a0\u2028\x85\ufeff\uffff😀𠮷🍣\U0010ffffー々ヶ①αЖ0a_-!?。、「」・…"
    )
    texts = []
    for _ in range(count):
        chars: list[str] = []
        for _ in range(rng.choice([1, 2, 3, 5, 8, 13, 30, 80])):
            pick = rng.random()
            if pick < 0.55:
                chars.append(rng.choice(alphabet))
            elif pick < 0.8:
                chars.append(rng.choice(extras))
            else:
                code = rng.randrange(0x20, 0x110000 if pick > 0.9 else 0x3100)
                chars.append(chr(0x41 if 0xD800 <= code < 0xE000 else code))
            if rng.random() < 0.08:
                chars.append(chars[-1] * rng.randrange(2, 30))
        texts.append("".join(chars))
    return texts


@functools.cache
def _traced(name: str):
    """(dictionary name, traced word_spans on raw strings, fugashi's splitter)."""
    graph = MecabGraph(read_mecab_dictionary(name))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def word_spans(texts):
        return graph.word_spans(tf.strings.unicode_decode(texts, "UTF-8"))

    return name, word_spans, MecabWordSplitter(False, name)


@pytest.fixture(params=["ipadic", "unidic_lite"])
def mecab(request):
    return _traced(request.param)


def _check(mecab, texts: list[str]) -> None:
    name, word_spans, splitter = mecab
    got = word_spans(tf.constant(texts)).to_list()
    for text, spans in zip(texts, got, strict=True):
        assert spans == _fugashi_spans(splitter, text), (name, text)


def test_word_spans_equal_fugashi_on_the_corpus(mecab):
    _check(mecab, [unicodedata.normalize("NFKC", text) for text in corpus()])


def test_word_spans_equal_fugashi_on_hard_cases(mecab):
    _check(mecab, HARD_CASES)


def _dense_texts(count: int, seed: int) -> list[str]:
    """Short strings over a few characters of every category, whitespace and NUL: many
    category boundaries, grouped runs and near-ties per text."""
    rng = random.Random(seed)
    alphabet = list("アイーッン あのは a1Z_ 漢字々 。、!? \t\n\r\x0b\u00a0\x85ａ１😀\uffff\x00ⅰαЖ")
    return ["".join(rng.choices(alphabet, k=rng.randrange(0, 70))) for _ in range(count)]


@pytest.mark.slow
def test_word_spans_equal_fugashi_on_random_strings(mecab):
    _check(mecab, _random_texts(120, seed=22) + _dense_texts(300, seed=23))


@pytest.mark.slow
def test_word_spans_of_long_texts_are_cut_like_mecab_pieces():
    japanese = "".join(t for t in corpus() if any("\u3040" <= c <= "\u30ff" for c in t))
    body = (japanese * (21_000 // len(japanese) + 1))[:20_900]
    texts = [
        body,  # cut after the window's last line break, else whitespace, else sentence end
        "あ" * 20_030 + "い",  # no cut character: cut at exactly 20,000
    ]
    assert "\n" in body[10_000:20_000]
    _check(_traced("ipadic"), texts)  # the cutting does not depend on the dictionary


def test_word_spans_batch_rows_are_independent(mecab):
    _, word_spans, _ = mecab
    texts = ["今日は良い天気です。", "", "  東京都に住む", "今日は良い天気です。"]
    together = word_spans(tf.constant(texts)).to_list()
    alone = [word_spans(tf.constant([text])).to_list()[0] for text in texts]
    assert together == alone
    assert together[0] == together[3] and together[1] == []
    assert word_spans(tf.constant([], tf.string)).to_list() == []


def test_word_spans_graph_holds_core_ops_only():
    _, word_spans, _ = _traced("ipadic")  # the graph's ops do not depend on the dictionary
    types = op_types(word_spans.get_concrete_function())
    assert {"StatelessWhile", "LookupTableFindV2", "UnicodeDecode"} <= types
    assert non_core_ops(types) == set()
    assert "LowerBound" not in types  # LiteRT's converter has no LowerBound


@pytest.mark.slow
def test_non_core_ops_names_tensorflow_text_ops():
    assert non_core_ops({"GatherV2", "RegexSplitWithOffsets", "FastBertNormalize"}) == {
        "RegexSplitWithOffsets",
        "FastBertNormalize",
    }
