"""Features and tf.data pipelines: bucketed dynamic padding, seeded order, aligned labels."""

import numpy as np
import pytest

from jbert_tf2.data.features import Features
from jbert_tf2.data.pipeline import batch_indices, make_dataset
from jbert_tf2.errors import JbertError


def _features(lengths, tagging=False, seed=0):
    rng = np.random.default_rng(seed)
    ids = [rng.integers(5, 100, n).astype(np.int32) for n in lengths]
    segments = [np.zeros(n, np.int32) for n in lengths]
    if tagging:
        labels = [rng.integers(0, 3, n).astype(np.int32) for n in lengths]
        weights = [(rng.random(n) < 0.5).astype(np.float32) for n in lengths]
        return Features(ids, segments, labels, weights, [np.arange(n) for n in lengths])
    return Features(ids, segments, np.arange(len(lengths), dtype=np.int32))


def test_batches_cover_every_example_once_and_stay_within_a_bucket():
    lengths = np.random.default_rng(1).integers(3, 200, 500)
    for shuffle in (False, True):
        batches = batch_indices(lengths, 16, shuffle=shuffle, seed=3, length_buckets=(32, 64, 128))
        flat = np.concatenate(batches)
        assert sorted(flat.tolist()) == list(range(500))
        for b in batches:
            buckets = {
                min((x for x in (32, 64, 128) if x >= n), default=int(n)) for n in lengths[b]
            }
            assert len(buckets) == 1 and len(b) <= 16


def test_order_is_a_function_of_seed_and_epoch():
    lengths = np.random.default_rng(2).integers(3, 100, 300)
    run = lambda **kw: [b.tolist() for b in batch_indices(lengths, 8, shuffle=True, **kw)]  # noqa: E731
    assert run(seed=1, epoch=0) == run(seed=1, epoch=0)
    assert run(seed=1, epoch=0) != run(seed=1, epoch=1)
    assert run(seed=1, epoch=0) != run(seed=2, epoch=0)
    assert [b.tolist() for b in batch_indices(lengths, 8)] == [
        b.tolist() for b in batch_indices(lengths, 8)
    ]


@pytest.mark.parametrize(
    "pad_to_multiple_of, expected",
    [
        (8, [8, 16, 32, 104]),
        (1, [7, 9, 30, 100]),
        ("auto", [7, 9, 30, 100]),
        (None, [16, 16, 32, 128]),
    ],
)
def test_dataset_pads_each_batch_to_its_longest_or_its_bucket(pad_to_multiple_of, expected):
    lengths = [5, 7, 20, 30, 100, 9]
    features = _features(lengths)
    widths = []
    seen = {}
    for inputs, labels in make_dataset(
        features,
        2,
        length_buckets=(16, 32, 64, 128),
        max_seq_length=128,
        pad_to_multiple_of=pad_to_multiple_of,
    ):
        ids, mask = inputs["input_ids"].numpy(), inputs["input_mask"].numpy()
        widths.append(ids.shape[1])
        for row, label in enumerate(labels.numpy()):
            n = lengths[label]
            np.testing.assert_array_equal(ids[row, :n], features.input_ids[label])
            assert mask[row].sum() == n and not ids[row, n:].any()
            seen[int(label)] = True
    assert sorted(seen) == list(range(len(lengths)))
    assert sorted(widths) == expected


def test_shuffled_batches_from_sorted_windows_carry_little_padding(monkeypatch):
    import jbert_tf2.data.pipeline as pipeline

    lengths = np.random.default_rng(0).integers(20, 129, 512)

    def padded_tokens() -> int:
        batches = pipeline.batch_indices(lengths, 16, shuffle=True, seed=1, length_buckets=None)
        assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
        return sum(len(b) * int(lengths[b].max()) for b in batches)

    sorted_windows = padded_tokens()
    monkeypatch.setattr(pipeline, "SORT_WINDOW", 1)  # a window of one batch: no sorting
    unsorted = padded_tokens()
    assert sorted_windows < 1.1 * lengths.sum() < unsorted / 1.3


def test_pad_to_multiple_of_must_be_a_positive_int():
    features = _features([5, 7])
    for bad in (0, -8, 2.5, True, "longest"):
        with pytest.raises(JbertError, match="pad_to_multiple_of"):
            make_dataset(features, 2, pad_to_multiple_of=bad)


def test_tagging_dataset_carries_aligned_labels_and_weights():
    lengths = [4, 6, 11]
    features = _features(lengths, tagging=True)
    for inputs, labels, weights in make_dataset(features, 3, length_buckets=None):
        assert labels.shape == weights.shape == inputs["input_ids"].shape == (3, 11)
        for row, n in enumerate(lengths):
            np.testing.assert_array_equal(labels.numpy()[row, :n], features.labels[row])
            np.testing.assert_array_equal(weights.numpy()[row, :n], features.label_weights[row])
            assert not weights.numpy()[row, n:].any()


def test_shuffled_dataset_is_reproducible():
    features = _features(np.random.default_rng(3).integers(3, 60, 64))
    order = lambda epoch: np.concatenate(  # noqa: E731
        [y.numpy() for _, y in make_dataset(features, 8, shuffle=True, seed=5, epoch=epoch)]
    )
    np.testing.assert_array_equal(order(0), order(0))
    assert not np.array_equal(order(0), order(1))


def test_bad_inputs_are_named():
    with pytest.raises(JbertError, match="batch_size"):
        batch_indices([3, 4], 0)
    with pytest.raises(JbertError, match="no examples"):
        make_dataset(_features([]), 4)
    with pytest.raises(JbertError, match="max_seq_length=8"):
        make_dataset(_features([5, 12]), 4, max_seq_length=8)


def test_plain_fit_sees_a_new_batch_order_each_pass_but_fresh_datasets_repeat():
    features = _features(np.random.default_rng(4).integers(3, 60, 64))
    dataset = make_dataset(features, 8, shuffle=True, seed=5)
    first = np.concatenate([y.numpy() for _, y in dataset])
    second = np.concatenate([y.numpy() for _, y in dataset])
    assert sorted(first) == sorted(second) and not np.array_equal(first, second)
    fresh = np.concatenate([y.numpy() for _, y in make_dataset(features, 8, shuffle=True, seed=5)])
    np.testing.assert_array_equal(first, fresh)


def test_steps_per_epoch_counts_the_bucketed_batches():
    from jbert_tf2.data.pipeline import steps_per_epoch

    lengths = np.random.default_rng(5).integers(3, 120, 100)
    features = _features(lengths)
    expected = sum(1 for _ in make_dataset(features, 16, max_seq_length=128))
    assert steps_per_epoch(features, 16, 128) == expected
    assert expected >= int(np.ceil(100 / 16))
