"""Windows over long texts (`jbert_tf2.data.windows`): run_squad.py's cut, pairs, the
max-context choice of each token's window, the windowed tf.data batches, and the in-graph twin
(`jbert_tf2.data.windows_graph`) against the Python cut."""

import numpy as np
import pytest

from jbert_tf2.data.examples import TextExample
from jbert_tf2.data.features import encode_classification
from jbert_tf2.data.pipeline import make_dataset, steps_per_epoch
from jbert_tf2.data.windows import (
    best_windows,
    check_long_text,
    encode_windows,
    plan_windows,
    stitch,
    window_spans,
)
from jbert_tf2.errors import JbertError


@pytest.fixture(scope="module")
def tokenizer(tiny_model_root):
    from jbert_tf2.model_dir import load_tokenizer

    return load_tokenizer(tiny_model_root / "model")


@pytest.mark.parametrize(
    ("n", "room", "stride", "expected"),
    [
        (10, 4, 3, [(0, 4), (3, 4), (6, 4)]),
        (11, 4, 3, [(0, 4), (3, 4), (6, 4), (9, 2)]),
        (3, 4, 2, [(0, 3)]),
        (4, 4, 2, [(0, 4)]),
        (5, 4, 1, [(0, 4), (1, 4)]),
        (0, 4, 2, [(0, 0)]),
    ],
)
def test_window_spans_follow_run_squad(n, room, stride, expected):
    assert window_spans(n, room, stride) == expected


@pytest.mark.parametrize("n", [1, 7, 30, 61])
@pytest.mark.parametrize(("room", "stride"), [(5, 1), (5, 4), (8, 3), (14, 7)])
def test_windows_cover_every_token_and_end_at_the_last(n, room, stride):
    spans = window_spans(n, room, stride)
    covered = np.zeros(n, int)
    for start, length in spans:
        assert 0 < length <= room
        covered[start : start + length] += 1
    assert covered.min() >= 1
    assert spans[-1][0] + spans[-1][1] == n
    assert [b[0] - a[0] for a, b in zip(spans[:-1], spans[1:], strict=True)] == [stride] * (
        len(spans) - 1
    )


def test_single_text_windows_are_cls_slice_sep():
    plan = plan_windows(10, None, 6, 3)  # room 4: starts 0, 3, 6
    assert [p.tolist() for p in plan.positions] == [
        [0, 1, 2, 3, 4, 11],
        [0, 4, 5, 6, 7, 11],
        [0, 7, 8, 9, 10, 11],
    ]
    assert plan.full_length == 12 and plan.offset == 1


def test_pair_windows_the_longer_text_and_keeps_the_other():
    # a = 3 tokens (positions 1..3), [SEP] 4, b = 12 tokens (5..16), [SEP] 17; room 10 - 3 = 7
    plan = plan_windows(3, 12, 10, 2)
    assert plan.offset == 5
    for positions, (start, length) in zip(plan.positions, plan.spans, strict=True):
        assert positions[:5].tolist() == [0, 1, 2, 3, 4]
        assert positions[5:-1].tolist() == list(range(5 + start, 5 + start + length))
        assert positions[-1] == 17 and len(positions) <= 10
    assert plan.spans[-1][0] + plan.spans[-1][1] == 12
    # the first text longer: it is windowed, the second kept whole after it
    plan = plan_windows(12, 3, 10, 2)
    assert plan.offset == 1
    assert plan.positions[0].tolist() == [0, 1, 2, 3, 4, 13, 14, 15, 16, 17]
    assert plan.positions[1].tolist() == [0, 3, 4, 5, 6, 13, 14, 15, 16, 17]


def test_pair_other_text_is_cut_to_half_a_window_when_too_long():
    plan = plan_windows(40, 30, 19, 4)  # room 16: b keeps 8, a gets 8 a window
    for positions in plan.positions:
        b_part = positions[positions > 41]
        assert b_part.tolist() == [*range(42, 50), 72]
    assert 50 not in plan.covered


def test_pair_that_fits_is_one_window_of_everything():
    plan = plan_windows(3, 4, 12, 2)
    assert [p.tolist() for p in plan.positions] == [list(range(10))]


def _max_context_reference(spans, n):
    """Each token's window by run_squad.py's score, written out directly."""
    chosen = []
    for i in range(n):
        best, best_w = None, None
        for w, (start, length) in enumerate(spans):
            if not start <= i < start + length:
                continue
            score = min(i - start, start + length - 1 - i) + 0.01 * length
            if best is None or score > best:
                best, best_w = score, w
        chosen.append(best_w)
    return chosen


@pytest.mark.parametrize(("n", "room", "stride"), [(10, 4, 2), (23, 8, 3), (9, 8, 1), (40, 6, 5)])
def test_each_token_takes_the_window_where_it_has_most_context(n, room, stride):
    plan = plan_windows(n, None, room + 2, stride)
    choice = best_windows(plan)
    assert choice[1 : n + 1].tolist() == _max_context_reference(plan.spans, n)
    assert choice[0] == 0 and choice[n + 1] == 0  # [CLS], [SEP]: the first window


def test_ties_go_to_the_earlier_window():
    plan = plan_windows(10, None, 6, 2)  # room 4: spans (0,4), (2,4), (4,4), (6,4)
    choice = best_windows(plan)
    # token 4 (position 5): window 1 has 2 left / 1 right, window 2 has 0 / 3 -> window 1
    assert choice[5] == 1
    # token 5 (position 6): window 1: 3 / 0, window 2: 1 / 2 -> window 2
    assert choice[6] == 2


def test_stitch_takes_rows_from_the_chosen_windows():
    plan = plan_windows(10, None, 6, 2)
    values = [
        np.stack([positions * 100 + w for _ in range(1)], axis=1)
        for w, positions in enumerate(plan.positions)
    ]
    positions, rows = stitch(plan, values)
    assert positions.tolist() == list(range(12))
    assert (rows[:, 0] // 100).tolist() == list(range(12))
    assert (rows[:, 0] % 100).tolist() == best_windows(plan).tolist()


def test_encode_windows_cuts_the_full_ids(tokenizer):
    text = "今日は野球の試合について話した。" * 3
    examples = [TextExample(text, None, "a"), TextExample("短い。", None, "b")]
    features = encode_windows(tokenizer, examples, ["a", "b"], 12, 4)
    full = tokenizer.token_ids(text)
    cls, sep = tokenizer.vocab["[CLS]"], tokenizer.vocab["[SEP]"]
    windows = [
        ids for ids, d in zip(features.input_ids, features.document_ids, strict=True) if d == 0
    ]
    assert len(windows) == len(window_spans(len(full), 10, 4)) > 1
    for ids, (start, length) in zip(windows, window_spans(len(full), 10, 4), strict=True):
        assert ids.tolist() == [cls, *full[start : start + length], sep]
    assert features.labels.tolist() == [0, 1]  # one label per document
    assert features.window_counts.tolist() == [len(windows), 1]
    short = encode_classification(tokenizer, examples[1:], None, 12)
    assert features.input_ids[-1].tolist() == short.input_ids[0].tolist()


def test_windowed_dataset_batches_whole_documents_once(tokenizer):
    texts = ["野球" * k + "。" for k in (1, 9, 4, 15, 2, 7, 3)]
    examples = [TextExample(t, None, str(i % 2)) for i, t in enumerate(texts)]
    features = encode_windows(tokenizer, examples, ["0", "1"], 10, 3)
    batches = list(make_dataset(features, 3, shuffle=True, seed=3, max_seq_length=10))
    assert len(batches) == steps_per_epoch(features, 3, 10)
    firsts = np.concatenate([[0], np.cumsum(features.window_counts)])
    seen = []
    for inputs, labels in batches:
        ids, mask = inputs["input_ids"].numpy(), inputs["input_mask"].numpy()
        assert ids.ndim == 3 and len(labels) == len(ids)
        for doc_row, window_rows in zip(ids, mask, strict=True):
            real = [r for r, m in zip(doc_row, window_rows, strict=True) if m.any()]
            document = next(
                d
                for d in range(len(texts))
                if features.window_counts[d] == len(real)
                and all(
                    r[: len(features.input_ids[firsts[d] + k])].tolist()
                    == features.input_ids[firsts[d] + k].tolist()
                    for k, r in enumerate(real)
                )
            )
            seen.append(document)
        assert (ids[mask == 0] == 0).all()
    assert sorted(seen) == list(range(len(texts)))


@pytest.mark.parametrize(
    ("long_text", "stride", "match"),
    [
        ("windows", 0, "doc_stride=0: must be in 1..7"),
        ("windows", -2, "doc_stride=-2"),
        ("windows", 8, "doc_stride=8: must be in 1..7"),
        ("windows", 2.5, "whole number"),
        ("slide", None, "long_text='slide': use one of truncate, windows"),
    ],
)
def test_bad_window_options_are_explained(long_text, stride, match):
    with pytest.raises(JbertError, match=match):
        check_long_text(long_text, stride, 10)


def test_default_stride_is_half_a_window():
    assert check_long_text("windows", None, 128) == 63
    assert check_long_text("truncate", None, 128) is None


@pytest.mark.parametrize("pairs", [False, True])
def test_in_graph_windows_equal_the_python_windows(pairs):
    from jbert_tf2.backend import tensorflow
    from jbert_tf2.data.windows_graph import window_inputs

    tf = tensorflow()
    rng = np.random.default_rng(7)
    lengths_a = [0, 1, 5, 8, 9, 30, 61, 3, 17]
    lengths_b = [4, 0, 30, 2, 9, 3, 12, 40, 17] if pairs else [None] * len(lengths_a)
    ids_a = [rng.integers(5, 50, n).tolist() for n in lengths_a]
    ids_b = [rng.integers(5, 50, n or 0).tolist() for n in lengths_b]
    max_seq_length, stride = 12, 3
    inputs, text_index = window_inputs(
        tf.ragged.constant(ids_a, tf.int32, row_splits_dtype=tf.int64),
        tf.ragged.constant(ids_b, tf.int32, row_splits_dtype=tf.int64) if pairs else None,
        cls_id=2,
        sep_id=3,
        max_seq_length=max_seq_length,
        doc_stride=stride,
    )
    expected_rows, expected_index = [], []
    for t, (a, b) in enumerate(zip(ids_a, ids_b, strict=True)):
        full = [2, *a, 3] + ([*b, 3] if b else [])
        segments = [0] * (len(a) + 2) + ([1] * (len(b) + 1) if b else [])
        plan = plan_windows(len(a), len(b) if pairs else None, max_seq_length, stride)
        for positions in plan.positions:
            expected_rows.append(([full[p] for p in positions], [segments[p] for p in positions]))
            expected_index.append(t)
    assert text_index.numpy().tolist() == expected_index
    ids, mask, segs = (inputs[k].numpy() for k in ("input_ids", "input_mask", "segment_ids"))
    assert ids.shape == (len(expected_rows), max_seq_length)
    for row, (want_ids, want_segments) in enumerate(expected_rows):
        n = len(want_ids)
        assert ids[row, :n].tolist() == want_ids and not ids[row, n:].any()
        assert segs[row, :n].tolist() == want_segments
        assert mask[row].tolist() == [1] * n + [0] * (max_seq_length - n)
