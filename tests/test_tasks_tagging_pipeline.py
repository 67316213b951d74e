"""`TaggingPipeline` on a character tokenizer (one token per letter): words into windows that fit
max_seq_length, the padded serving inputs, per-window decoding mapped back to the sentence, and
entities as character spans. Expected values are worked out by hand from the window rule."""

from __future__ import annotations

import numpy as np
import pytest

from jbert_tf2.errors import JbertError
from jbert_tf2.tasks.tagging_pipeline import TaggingPipeline
from jbert_tf2.tokenization import BertTokenizer

LABELS = ["O", "B-X", "I-X"]
TEXT = "ab c de fgh ijklm"  # words of 2, 1, 2, 3 and 5 tokens


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> TaggingPipeline:
    vocab = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklm"]
    vocab.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    tokenizer = BertTokenizer(vocab, do_lower_case=False, subword_tokenizer="character")
    # 6 tokens a window: [CLS], [SEP] and room for 4 word tokens.
    return TaggingPipeline(tokenizer, LABELS, "BIO", 6, word_splitter="tokenizer")


def _windows(pipeline):
    sentence = pipeline.sentences(TEXT)[0]
    with pytest.warns(UserWarning, match="truncated"):  # ijklm alone exceeds a window
        return sentence, pipeline.windows([sentence.words, []])


def test_words_are_cut_into_windows_that_fit(pipeline):
    sentence, windows = _windows(pipeline)
    assert sentence.words == ["ab", "c", "de", "fgh", "ijklm"]
    # ab+c (3 tokens; de would make 5), de, fgh, ijklm alone (too long: no labeled word);
    # the empty sentence still gets its (empty) window.
    assert windows.origins == [(0, 0), (0, 2), (0, 3), (0, 4), (1, 0)]
    assert windows.word_counts == [5, 0]
    inputs = pipeline.model_inputs(windows)
    assert set(inputs) == {"input_ids", "input_mask", "segment_ids", "labeled_positions"}
    assert inputs["input_ids"].shape == (5, 5)  # [CLS] a b c [SEP] is the longest row
    assert inputs["labeled_positions"].tolist() == [[1, 3], [1, 0], [1, 0], [0, 0], [0, 0]]
    assert inputs["input_mask"].sum(axis=1).tolist() == [5, 4, 5, 2, 2]
    assert not inputs["segment_ids"].any()


def test_window_scores_decode_into_the_sentence_and_entities(pipeline):
    sentence, windows = _windows(pipeline)
    o, b, i = np.eye(3) * 5
    i_then_b = np.array([0.0, 3.0, 5.0])
    # Rows padded to 2 words, as served outputs are; the padding must be ignored.
    scores = np.stack([[b, i], [i_then_b, o], [o, i], [o, o], [o, o]])
    tags = pipeline.decode(windows, scores)
    # Viterbi per window: "de" opens its window, where BIO forbids I-X: its next best, B-X.
    assert tags == [["B-X", "I-X", "B-X", "O", "O"], []]
    assert pipeline.entities([sentence], tags[:1]) == [
        [
            {"text": "ab c", "label": "X", "start": 0, "end": 4},
            {"text": "de", "label": "X", "start": 5, "end": 7},
        ]
    ]
    # Integer ids are taken as they are, then repaired: the I-X continues the entity.
    ids = np.array([[1, 2], [2, 0], [0, 0], [0, 0], [0, 0]])
    assert pipeline.decode_ids(windows, ids) == [["B-X", "I-X", "I-X", "O", "O"], []]


def test_outputs_of_other_texts_are_refused(pipeline):
    _, windows = _windows(pipeline)
    with pytest.raises(JbertError, match="5 windows"):
        pipeline.decode(windows, np.zeros((2, 2, 3)))
    with pytest.raises(JbertError, match="labels"):
        pipeline.decode(windows, np.zeros((5, 2, 4)))
    with pytest.raises(JbertError, match="label indexes"):
        pipeline.decode_ids(windows, np.full((5, 2), 3))


def test_a_bilou_tagger_finds_the_entities_of_the_equivalent_bio_tagger(pipeline):
    """BILOU (L = last, U = unit) is BIOES with other letters: scores that spell B L U O O give
    the entities that B I B O O give a BIO tagger; an invalid argmax is repaired the same way."""
    tokenizer = pipeline.tokenizer
    bilou_labels = ["O", "B-X", "I-X", "L-X", "U-X"]
    bilou = TaggingPipeline(tokenizer, bilou_labels, "BILOU", 32, word_splitter="tokenizer")
    bio = TaggingPipeline(tokenizer, LABELS, "BIO", 32, word_splitter="tokenizer")
    sentence = bilou.sentences(TEXT)[0]
    windows = bilou.windows([sentence.words])
    assert windows.origins == [(0, 0)]  # one window: the whole sentence
    o, b, _, last, unit = np.eye(5) * 5
    tags = bilou.decode(windows, np.stack([[b, last, unit, o, o]]))
    assert tags == [["B-X", "L-X", "U-X", "O", "O"]]
    expected = bio.entities([sentence], [["B-X", "I-X", "B-X", "O", "O"]])
    assert bilou.entities([sentence], tags) == expected
    assert [e["text"] for e in expected[0]] == ["ab c", "de"]
    # argmax ids L, O, B, O, I: an L after O opens an entity; B and I left open get closed.
    repaired = bilou.decode_ids(windows, np.array([[3, 0, 1, 0, 2]]))
    assert repaired == [["U-X", "O", "U-X", "O", "U-X"]]


def test_texts_that_are_no_list_of_texts_are_refused(pipeline):
    """A dict would be tagged as its keys, bytes as their byte values: a clear error instead;
    one str or UTF-8 bytes is one text."""
    for texts, message in (
        ({"ab c": 1}, "got dict"),
        ({"ab", "c"}, "got set"),
        (3, "got int"),
        ([["ab", "c"]], r"texts\[0\]: expected a str, got list"),
    ):
        with pytest.raises(JbertError, match=message):
            pipeline.sentences(texts)
    assert pipeline.sentences(b"ab c")[0].words == pipeline.sentences("ab c")[0].words
    for word_lists in (["ab c"], "ab c", [["ab"], "c"]):  # a text is no list of words
        with pytest.raises(JbertError, match=r"word_lists\[\d\] is a str, not a list of words"):
            pipeline.windows(word_lists)
