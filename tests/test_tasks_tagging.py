"""Tag schemes: spans, conversion, repair and scores agree with seqeval; Viterbi finds the best
valid sequence (checked by brute force)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import BILOU, IOB2, IOBES, Tokens

from jbert_tf2.errors import JbertError
from jbert_tf2.tasks.tagging import (
    SCHEMES,
    convert_tags,
    detect_scheme,
    entities_in_text,
    entity_types,
    is_valid,
    labels_for,
    repair,
    span_scores,
    spans,
    tags_from_spans,
    viterbi_decode,
)

TYPES = ("PER", "ORG", "LOC", "DATE")
PREFIXES = {"BIO": "BI", "BIOES": "BIES", "BILOU": "BILU", "IO": "I"}
SEQEVAL_SCHEMES = {"BIO": IOB2, "BIOES": IOBES, "BILOU": BILOU}
# BILOU's letters for BIOES' (L = last, U = unit), written from the scheme's definition.
BILOU_LETTERS = {"E": "L", "S": "U"}
SETTINGS = settings(max_examples=150, deadline=None)


def tag_strategy(prefixes: str = "BIES"):
    return st.sampled_from(["O"] + [f"{p}-{t}" for p in prefixes for t in TYPES])


def sequences(prefixes: str = "BIES", max_size: int = 12):
    return st.lists(tag_strategy(prefixes), max_size=max_size)


@st.composite
def batches(draw, prefixes: str = "BIES"):
    """Pairs of (true, pred) sentence lists with matching lengths."""
    lengths = draw(st.lists(st.integers(0, 10), min_size=1, max_size=6))
    tags = tag_strategy(prefixes)
    true = [draw(st.lists(tags, min_size=n, max_size=n)) for n in lengths]
    pred = [draw(st.lists(tags, min_size=n, max_size=n)) for n in lengths]
    return true, pred


@st.composite
def entity_layouts(draw):
    """A valid layout: (entities, length), built from runs of O and typed entities."""
    chunks = draw(
        st.lists(st.one_of(st.just(None), st.tuples(st.sampled_from(TYPES), st.integers(1, 4))))
    )
    entities, position = [], 0
    for chunk in chunks:
        if chunk is None:
            position += 1
            continue
        kind, width = chunk
        entities.append((kind, position, position + width))
        position += width
    return entities, position


def render(entities, length, scheme):
    """Tags written by hand from the scheme definitions (independent of tags_from_spans)."""
    tags = ["O"] * length
    for kind, start, end in entities:
        for position in range(start, end):
            if scheme == "IO":
                prefix = "I"
            elif scheme == "BIO":
                prefix = "B" if position == start else "I"
            elif end - start == 1:
                prefix = "S"
            else:
                prefix = "B" if position == start else "E" if position == end - 1 else "I"
            if scheme == "BILOU":
                prefix = BILOU_LETTERS.get(prefix, prefix)
            tags[position] = f"{prefix}-{kind}"
    return tags


def as_bioes(tags):
    """BILOU tags in BIOES' letters."""
    swap = {"L": "E", "U": "S"}
    return [tag if tag == "O" else swap.get(tag[0], tag[0]) + tag[1:] for tag in tags]


def valid_by_rules(tags, scheme) -> bool:
    """The brief's transition rules, written out directly."""
    prev_prefix, prev_type = "O", ""
    for tag in tags:
        prefix, kind = ("O", "") if tag == "O" else (tag[0], tag[2:])
        if prefix not in "O" + PREFIXES[scheme]:
            return False
        if scheme == "BILOU":  # the BIOES rules with L for E and U for S
            prefix = {"L": "E", "U": "S"}.get(prefix, prefix)
        if (
            scheme == "BIO"
            and prefix == "I"
            and not (prev_prefix in ("B", "I") and prev_type == kind)
        ):
            return False
        if scheme in ("BIOES", "BILOU"):
            if prev_prefix in ("B", "I") and not (prefix in ("I", "E") and kind == prev_type):
                return False
            if prev_prefix not in ("B", "I") and prefix in ("I", "E"):
                return False
        prev_prefix, prev_type = prefix, kind
    return not (scheme in ("BIOES", "BILOU") and prev_prefix in ("B", "I"))


def seqeval_spans(tags):
    return [(kind, start, end + 1) for kind, start, end in get_entities(list(tags))]


def seqeval_strict_spans(tags, scheme):
    found = Tokens(list(tags), SEQEVAL_SCHEMES[scheme]).entities
    return [(entity.tag, entity.start, entity.end) for entity in found]


# Spans


@SETTINGS
@given(sequences())
def test_spans_equal_seqeval_default_on_any_sequence(tags):
    assert spans(tags) == seqeval_spans(tags)


@SETTINGS
@given(sequences("BI"))
def test_strict_bio_equals_seqeval_iob2(tags):
    assert spans(tags, "BIO", strict=True) == seqeval_strict_spans(tags, "BIO")


@SETTINGS
@given(sequences())
def test_strict_bioes_equals_seqeval_iobes(tags):
    assert spans(tags, "BIOES", strict=True) == seqeval_strict_spans(tags, "BIOES")


@SETTINGS
@given(sequences("BILU"))
def test_strict_bilou_equals_seqeval_bilou(tags):
    assert spans(tags, "BILOU", strict=True) == seqeval_strict_spans(tags, "BILOU")


@SETTINGS
@given(sequences("BILU"))
def test_bilou_is_read_as_the_bioes_sequence_it_spells(tags):
    """Any BILOU sequence, valid or not, gives the entities of the same sequence written in
    BIOES' letters, in both readings (seqeval's default mode is the BIOES reference)."""
    bioes = as_bioes(tags)
    assert spans(tags) == spans(bioes) == seqeval_spans(bioes)
    assert spans(tags, "BILOU", strict=True) == spans(bioes, "BIOES", strict=True)


def test_bilou_entities_equal_those_of_the_equivalent_bio_tags():
    bio = ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "B-ORG"]
    bilou = ["B-PER", "I-PER", "L-PER", "O", "U-LOC", "B-LOC", "L-LOC", "O", "U-ORG"]
    entities = [("PER", 0, 3), ("LOC", 4, 5), ("LOC", 5, 7), ("ORG", 8, 9)]
    assert spans(bio) == entities == seqeval_spans(bio)
    assert spans(bilou) == entities == spans(bilou, "BILOU", strict=True)
    assert spans(bilou, "biluo") == entities  # spaCy's spelling of the name
    assert convert_tags(bio, "BILOU") == bilou and convert_tags(bilou, "BIO") == bio
    assert detect_scheme(bilou) == "BILOU" and is_valid(bilou, "BILOU")
    assert not is_valid(bilou, "BIOES") and not is_valid(as_bioes(bilou), "BILOU")
    assert labels_for(["PER"], "BILOU") == ["O", "B-PER", "I-PER", "L-PER", "U-PER"]
    text = "山田 太郎 さん が 東京 大阪 神戸 で NHK"
    word_spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    from_bio = entities_in_text(text, word_spans, bio, "BIO")
    assert entities_in_text(text, word_spans, bilou, "BILOU") == from_bio
    assert [e["text"] for e in from_bio] == ["山田 太郎 さん", "東京", "大阪 神戸", "NHK"]
    with pytest.raises(JbertError, match=r"'L-PER' at position 2 .*BIOES"):
        spans(bilou, "BIOES")
    with pytest.raises(JbertError, match=r"mix BIOES prefixes .* BILOU prefixes"):
        detect_scheme([["S-PER"], ["U-PER"]])


@SETTINGS
@given(batches("BILU"))
def test_span_scores_equal_seqeval_strict_bilou(batch):
    true, pred = batch
    ours = span_scores(true, pred, strict=True, scheme="BILOU")
    assert_scores_equal_seqeval(true, pred, ours, mode="strict", scheme=BILOU)
    assert span_scores(true, pred) == span_scores(
        [as_bioes(t) for t in true], [as_bioes(p) for p in pred]
    )


def test_hand_examples_of_default_and_strict_reading():
    tags = ["I-PER", "I-PER", "O", "B-LOC", "E-LOC", "B-ORG", "O", "I-ORG", "E-DATE"]
    expected = [("PER", 0, 2), ("LOC", 3, 5), ("ORG", 5, 6), ("ORG", 7, 8), ("DATE", 8, 9)]
    assert spans(tags) == expected == seqeval_spans(tags)
    assert spans(["B-PER", "I-PER", "O", "I-LOC"], "BIO", strict=True) == [("PER", 0, 2)]
    assert spans(["B-PER", "I-PER", "B-LOC", "E-LOC", "S-ORG"], strict=True) == [
        ("LOC", 2, 4),
        ("ORG", 4, 5),
    ]
    assert spans(["I-PER", "O", "I-PER", "I-PER"], strict=True) == [("PER", 0, 1), ("PER", 2, 4)]
    assert spans([]) == [] and spans([], strict=True) == []


def test_strict_bio_rejects_bioes_prefixes_like_seqeval():
    tags = ["B-PER", "E-PER"]
    with pytest.raises(ValueError):
        seqeval_strict_spans(tags, "BIO")
    with pytest.raises(JbertError, match=r"'E-PER' at position 1 .*BIO"):
        spans(tags, "BIO", strict=True)


# Conversion and repair


@SETTINGS
@given(entity_layouts())
def test_valid_sequences_round_trip_and_keep_spans(layout):
    entities, length = layout
    bio, bioes = render(entities, length, "BIO"), render(entities, length, "BIOES")
    bilou = render(entities, length, "BILOU")
    assert spans(bilou) == entities == spans(bilou, "BILOU", strict=True)
    assert convert_tags(bio, "BILOU") == bilou and convert_tags(bilou, "BIOES") == bioes
    assert is_valid(bilou, "BILOU") and repair(bilou, "BILOU") == bilou
    assert spans(bio) == entities == spans(bioes)
    assert spans(bio, "BIO", strict=True) == entities == spans(bioes, "BIOES", strict=True)
    assert convert_tags(bio, "BIOES") == bioes == convert_tags(bio, "BIOES", source="BIO")
    assert convert_tags(bioes, "BIO") == bio == convert_tags(convert_tags(bio, "BIOES"), "BIO")
    assert tags_from_spans(entities, length, "BIO") == bio
    assert is_valid(bio, "BIO") and is_valid(bioes, "BIOES")
    assert repair(bio, "BIO") == bio and repair(bioes, "BIOES") == bioes


@SETTINGS
@given(entity_layouts())
def test_io_round_trip_merges_only_touching_entities_of_one_type(layout):
    entities, length = layout
    io = convert_tags(render(entities, length, "BIO"), "IO")
    assert io == render(entities, length, "IO")
    merged = []
    for kind, start, end in entities:
        if merged and merged[-1][0] == kind and merged[-1][2] == start:
            merged[-1] = (kind, merged[-1][1], end)
        else:
            merged.append((kind, start, end))
    assert spans(io) == merged == spans(convert_tags(io, "BIO", source="IO"))


@SETTINGS
@given(sequences(), st.sampled_from(SCHEMES))
def test_repair_gives_a_valid_sequence_with_the_same_entities(tags, scheme):
    fixed = repair(tags, scheme)
    assert valid_by_rules(fixed, scheme) and is_valid(fixed, scheme)
    assert is_valid(tags, scheme) == valid_by_rules(tags, scheme)
    assert repair(fixed, scheme) == fixed
    if scheme != "IO":
        assert spans(fixed, scheme, strict=True) == spans(tags) == spans(fixed)


def test_invalid_bio_is_read_like_seqeval_when_converting():
    assert convert_tags(["O", "I-PER", "I-PER", "B-PER"], "BIOES") == [
        "O",
        "B-PER",
        "E-PER",
        "S-PER",
    ]
    assert convert_tags(["I-LOC", "I-ORG"], "BIO") == ["B-LOC", "B-ORG"]
    assert convert_tags(["B-PER", "B-PER"], "IO") == ["I-PER", "I-PER"]
    with pytest.raises(JbertError, match=r"'S-PER' at position 0 .*BIO"):
        convert_tags(["S-PER"], "BIOES", source="BIO")


# UD_Japanese-GSD-NE-like sentences (OntoNotes types, words as in the treebank)

GSD_SENTENCES = [
    (
        ["三代目", "J", "SOUL", "BROTHERS", "が", "出演", "し", "た"],
        ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "O", "O", "O"],
        ["B-ORG", "I-ORG", "I-ORG", "E-ORG", "O", "O", "O", "O"],
    ),
    (
        ["2016", "年", "4", "月", "に", "東京", "都", "で", "開催"],
        ["B-DATE", "I-DATE", "I-DATE", "I-DATE", "O", "B-GPE", "I-GPE", "O", "O"],
        ["B-DATE", "I-DATE", "I-DATE", "E-DATE", "O", "B-GPE", "E-GPE", "O", "O"],
    ),
    (
        ["日本", "の", "首相", "安倍", "晋三", "は", "「", "美しい", "国", "へ", "」", "を"],
        ["B-GPE", "O", "O", "B-PERSON", "I-PERSON", "O", "O"]
        + ["B-WORK_OF_ART", "I-WORK_OF_ART", "I-WORK_OF_ART", "O", "O"],
        ["S-GPE", "O", "O", "B-PERSON", "E-PERSON", "O", "O"]
        + ["B-WORK_OF_ART", "I-WORK_OF_ART", "E-WORK_OF_ART", "O", "O"],
    ),
]


@pytest.mark.parametrize(("words", "bio", "bioes"), GSD_SENTENCES)
def test_gsd_ne_sentences_convert_to_bioes(words, bio, bioes):
    assert len(words) == len(bio) == len(bioes)
    assert convert_tags(bio, "BIOES", source="BIO") == bioes
    assert convert_tags(bioes, "BIO") == bio
    assert spans(bioes, "BIOES", strict=True) == spans(bio) == seqeval_spans(bio)
    assert detect_scheme(bio) == "BIO" and detect_scheme(bioes) == "BIOES"


def test_gsd_ne_entities_and_labels():
    first_words, first_tags, _ = GSD_SENTENCES[0]
    kind, start, end = spans(first_tags)[0]
    assert (kind, " ".join(first_words[start:end])) == ("ORG", "三代目 J SOUL BROTHERS")
    all_tags = [bio for _, bio, _ in GSD_SENTENCES]
    types = entity_types(all_tags)
    assert types == ["DATE", "GPE", "ORG", "PERSON", "WORK_OF_ART"]
    labels = labels_for(types, "BIOES")
    assert labels[:5] == ["O", "B-DATE", "I-DATE", "E-DATE", "S-DATE"] and len(labels) == 21
    assert labels_for(["ORG", "DATE"], "BIO") == ["O", "B-ORG", "I-ORG", "B-DATE", "I-DATE"]
    assert labels_for(["ORG"], "IO") == ["O", "I-ORG"]
    assert labels_for(["ORG"], "iobes") == labels_for(["ORG"], "BIOES")


def test_detect_scheme():
    assert detect_scheme([["O", "B-PER"], ["S-LOC"]]) == "BIOES"
    assert detect_scheme(["O", "I-PER", "B-PER"]) == "BIO"
    assert detect_scheme([["I-PER", "O"], []]) == "IO"
    assert detect_scheme(["O", "O"]) == "BIO" and detect_scheme([]) == "BIO"
    assert detect_scheme([["O", "B-PER", "L-PER"], ["O"]]) == "BILOU"


# Scores


def assert_scores_equal_seqeval(true, pred, ours, **mode):
    reference = {"zero_division": 0, **mode}
    assert ours["precision"] == pytest.approx(precision_score(true, pred, **reference))
    assert ours["recall"] == pytest.approx(recall_score(true, pred, **reference))
    assert ours["f1"] == pytest.approx(f1_score(true, pred, **reference))
    if not ours["per_type"]:
        return
    report = classification_report(true, pred, output_dict=True, **reference)
    per_type = {k: v for k, v in report.items() if not k.endswith(" avg")}
    assert sorted(per_type) == sorted(ours["per_type"])
    for kind, row in per_type.items():
        mine = ours["per_type"][kind]
        assert mine["support"] == row["support"]
        for key, theirs in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert mine[key] == pytest.approx(row[theirs])
    assert ours["macro_f1"] == pytest.approx(report["macro avg"]["f1-score"])
    assert ours["support"] == report["micro avg"]["support"]


@SETTINGS
@given(batches())
def test_span_scores_equal_seqeval_default_mode(batch):
    true, pred = batch
    assert_scores_equal_seqeval(true, pred, span_scores(true, pred))


@SETTINGS
@given(batches("BI"))
def test_span_scores_equal_seqeval_strict_iob2(batch):
    true, pred = batch
    ours = span_scores(true, pred, strict=True, scheme="BIO")
    assert_scores_equal_seqeval(true, pred, ours, mode="strict", scheme=IOB2)


@SETTINGS
@given(batches())
def test_span_scores_equal_seqeval_strict_iobes(batch):
    true, pred = batch
    ours = span_scores(true, pred, strict=True, scheme="BIOES")
    assert_scores_equal_seqeval(true, pred, ours, mode="strict", scheme=IOBES)


def test_span_scores_hand_example_and_empty():
    true = [["B-ORG", "I-ORG", "O", "B-PER"], ["B-LOC"]]
    pred = [["B-ORG", "I-ORG", "O", "O"], ["B-PER"]]
    scores = span_scores(true, pred)
    assert (scores["precision"], scores["recall"]) == (0.5, 1 / 3)
    assert scores["per_type"]["ORG"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert scores["per_type"]["PER"]["support"] == 1 and scores["per_type"]["PER"]["f1"] == 0.0
    empty = span_scores([["O"]], [["O"]])
    assert empty["f1"] == empty["macro_f1"] == 0.0 and empty["per_type"] == {}


# Errors


@pytest.mark.parametrize("bad", ["X-PER", "B_PER", "B-", "PER", "o", "B--PER", "I-PER-", ""])
def test_bad_tag_names_tag_and_position(bad):
    with pytest.raises(JbertError, match=rf"{bad!r} at position 2"):
        spans(["O", "B-PER", bad])


def test_tags_in_a_dict_or_set_are_refused_not_read_as_keys():
    """A dict iterates its keys and a set has no order: either would be a silently wrong
    sentence."""
    for bad in ({"B-PER": 1, "O": 2}, {"B-PER", "O"}, "B-PER"):
        with pytest.raises(JbertError, match="not a list"):
            spans(bad)
        with pytest.raises(JbertError, match="not a list"):
            convert_tags(bad, "BIO")
    with pytest.raises(JbertError, match="not a list"):
        detect_scheme([{"B-PER": 1}])
    with pytest.raises(JbertError, match="not a list"):
        labels_for({"PER": 1}, "BIO")


def test_length_mismatch_names_sentence_and_lengths():
    with pytest.raises(JbertError, match=r"sentence 1 has 2 true tags but 3 predicted"):
        span_scores([["O"], ["O", "O"]], [["O"], ["O", "O", "O"]])
    with pytest.raises(JbertError, match=r"2 sentences but pred_sequences has 1"):
        span_scores([["O"], ["O"]], [["O"]])
    with pytest.raises(JbertError, match=r"'Q-PER' at position 0 of sentence 1"):
        span_scores([["O"], ["Q-PER"]], [["O"], ["O"]])


def test_bad_scheme_labels_and_spans():
    with pytest.raises(JbertError, match=r"'IOBX'.*BIO, BIOES, BILOU, IO"):
        convert_tags(["O"], "IOBX")
    with pytest.raises(JbertError, match=r"'PER'.*repeated"):
        labels_for(["PER", "PER"], "BIO")
    with pytest.raises(JbertError, match=r"overlaps"):
        tags_from_spans([("PER", 0, 2), ("LOC", 1, 3)], 3, "BIO")
    with pytest.raises(JbertError, match=r"outside 0..2"):
        tags_from_spans([("PER", 1, 3)], 2, "BIO")


# Viterbi


def best_valid_by_enumeration(log_probs, labels, scheme):
    best, best_score = None, -np.inf
    for path in itertools.product(range(len(labels)), repeat=len(log_probs)):
        tags = [labels[i] for i in path]
        score = sum(log_probs[t, i] for t, i in enumerate(path))
        if valid_by_rules(tags, scheme) and score > best_score:
            best, best_score = tags, score
    return best, best_score


def score_of(tags, log_probs, labels):
    return sum(log_probs[t, labels.index(tag)] for t, tag in enumerate(tags))


@st.composite
def decoding_cases(draw, max_length: int = 10, max_types: int = 3):
    scheme = draw(st.sampled_from(SCHEMES))
    labels = labels_for(TYPES[: draw(st.integers(1, max_types))], scheme)
    order = draw(st.permutations(labels))
    length = draw(st.integers(0, max_length))
    seed = draw(st.integers(0, 2**32 - 1))
    logits = np.random.default_rng(seed).normal(scale=3.0, size=(length, len(labels)))
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return scheme, list(order), log_probs


@SETTINGS
@given(decoding_cases())
def test_viterbi_is_valid_and_keeps_a_valid_argmax(case):
    scheme, labels, log_probs = case
    decoded = viterbi_decode(log_probs, labels, scheme)
    assert len(decoded) == len(log_probs) and valid_by_rules(decoded, scheme)
    argmax = [labels[i] for i in log_probs.argmax(axis=-1)]
    if valid_by_rules(argmax, scheme):
        assert decoded == argmax
    assert score_of(decoded, log_probs, labels) <= score_of(argmax, log_probs, labels) + 1e-9


@settings(max_examples=40, deadline=None)
@given(decoding_cases(max_length=4, max_types=1))
def test_viterbi_equals_brute_force_on_tiny_cases(case):
    scheme, labels, log_probs = case
    decoded = viterbi_decode(log_probs, labels, scheme)
    best, best_score = best_valid_by_enumeration(log_probs, labels, scheme)
    assert decoded == best
    assert score_of(decoded, log_probs, labels) == pytest.approx(best_score)


def test_viterbi_brute_force_two_types_bio():
    labels = labels_for(["PER", "LOC"], "BIO")
    rng = np.random.default_rng(7)
    for _ in range(5):
        log_probs = rng.normal(size=(4, len(labels)))
        assert (
            viterbi_decode(log_probs, labels, "BIO")
            == best_valid_by_enumeration(log_probs, labels, "BIO")[0]
        )


def test_viterbi_repairs_a_hand_made_invalid_argmax():
    labels = ["O", "B-ORG", "I-ORG", "E-ORG", "S-ORG"]
    probs = np.array(
        [
            [0.50, 0.40, 0.04, 0.03, 0.03],  # argmax O, but the sentence is one entity
            [0.05, 0.05, 0.80, 0.05, 0.05],
            [0.05, 0.05, 0.70, 0.15, 0.05],  # argmax I at the end: invalid in BIOES
        ]
    )
    log_probs = np.log(probs)
    argmax = [labels[i] for i in probs.argmax(axis=-1)]
    assert argmax == ["O", "I-ORG", "I-ORG"] and not valid_by_rules(argmax, "BIOES")
    # B I E: .40*.80*.15 = .048 beats O S O (.5*.05*.05), B E O (.4*.05*.05), O O O, ...
    assert viterbi_decode(log_probs, labels, "BIOES") == ["B-ORG", "I-ORG", "E-ORG"]
    bio = np.log(probs[:, :3] / probs[:, :3].sum(axis=1, keepdims=True))
    assert viterbi_decode(bio, labels[:3], "BIO") == ["B-ORG", "I-ORG", "I-ORG"]


def test_viterbi_lengths_zero_and_one():
    labels = labels_for(["PER"], "BIOES")
    assert viterbi_decode(np.zeros((0, 5)), labels, "BIOES") == []
    one = np.log(np.array([[0.1, 0.2, 0.5, 0.05, 0.15]]))
    assert viterbi_decode(one, labels, "BIOES") == ["S-PER"]
    assert viterbi_decode(np.log([[0.1, 0.3, 0.6]]), labels_for(["PER"], "BIO"), "BIO") == ["B-PER"]
    assert viterbi_decode(np.log([[0.1, 0.9]]), ["O", "I-PER"], "IO") == ["I-PER"]


def test_viterbi_handles_zero_probabilities_and_rejects_bad_input():
    labels = labels_for(["PER"], "BIOES")
    only_invalid = np.array([[-np.inf, 0.0, 0.0, -np.inf, -np.inf]] * 2)
    assert viterbi_decode(only_invalid, labels, "BIOES") == ["B-PER", "E-PER"]
    impossible = np.array([[-np.inf, -1.0, -1.0, -np.inf, -np.inf]])
    assert valid_by_rules(viterbi_decode(impossible, labels, "BIOES"), "BIOES")
    with pytest.raises(JbertError, match=r"shape \(3, 4\), expected \[length, 5\]"):
        viterbi_decode(np.zeros((3, 4)), labels, "BIOES")
    with pytest.raises(JbertError, match=r"NaN"):
        viterbi_decode(np.full((1, 5), np.nan), labels, "BIOES")
    with pytest.raises(JbertError, match=r"label 'E-PER' at index 2 .*BIO"):
        viterbi_decode(np.zeros((1, 3)), ["O", "B-PER", "E-PER"], "BIO")
    with pytest.raises(JbertError, match=r"no valid BIOES sequence"):
        viterbi_decode(np.zeros((1, 3)), ["B-PER", "I-PER", "E-PER"], "BIOES")
