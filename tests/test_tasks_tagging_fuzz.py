"""Fuzzing the tag functions (jbert_tf2.tasks.tagging): any tags or arguments give valid spans,
repairs and Viterbi paths, or a `JbertError` naming the bad argument.

Each property says what any input must give: a valid answer or the project's own error naming
the file / line / variable; never a bare exception from deep inside, a hang, or a silently wrong
answer. Every bug these found has a plain regression test with its minimal input next to the
property that found it. Settings and helpers: fuzz_helpers.py (reproducible, no example database).
"""

from __future__ import annotations

import numpy as np
import pytest
from fuzz_helpers import FUZZ
from hypothesis import given, settings
from hypothesis import strategies as st

from jbert_tf2.errors import JbertError
from jbert_tf2.tasks import tagging

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
