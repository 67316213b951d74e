"""jbert_tf2.checkpoint.tf1_format: the pure-Python reader of TF1 (tensor bundle) checkpoints.

Checkpoints are written by TensorFlow itself (tf.compat.v1 Saver as Google's scripts did, raw
SaveV2 + MergeV2Checkpoints for shards, tf.train.Checkpoint) and every variable is compared with
what ``tf.train.load_checkpoint`` reads. Broken files give a `CheckpointError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tf1_fixtures as fx

from jbert_tf2.checkpoint.tf1_format import TF1CheckpointReader, UnsupportedCheckpoint
from jbert_tf2.errors import CheckpointError

# Enough long names that the index spans several table blocks (4 KiB each) with shared prefixes.
MANY = 300


def _variables() -> dict[str, np.ndarray]:
    """One variable per dtype the reader maps, a scalar, an empty tensor and many long names."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 100, size=(2, 3))
    variables = {
        "bert/embeddings/word_embeddings": rng.normal(size=(7, 4)).astype(np.float32),
        "float64": rng.normal(size=(5,)),
        "float16": rng.normal(size=(2, 3)).astype(np.float16),
        "global_step": np.int64(1_400_000),
        "empty": np.zeros((0, 3), np.float32),
        "bool": rng.random(5) > 0.5,
    }
    for dtype in ("int8", "int16", "int32", "uint8", "uint16", "uint32", "uint64"):
        variables[dtype] = small.astype(dtype)
    for i in range(MANY):
        name = f"bert/encoder/layer_{i}/attention/self/query/kernel/adam_m"
        variables[name] = rng.normal(size=(2,)).astype(np.float32)
    return variables


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A checkpoint written by tf.compat.v1.train.Saver, and the values put in it."""
    variables = _variables()
    prefix = fx.save_tf1_checkpoint(variables, tmp_path_factory.mktemp("saver") / "model.ckpt-10")
    return prefix, variables


def _copy(prefix, directory):
    """The checkpoint's files copied into ``directory``, to break there; the copy's prefix."""
    for path in prefix.parent.glob(prefix.name + ".*"):
        (directory / path.name).write_bytes(path.read_bytes())
    return directory / prefix.name


def _data_file(prefix):
    (path,) = prefix.parent.glob(prefix.name + ".data-*")
    return path


def _assert_same_as_tensorflow(prefix: str) -> TF1CheckpointReader:
    ours = TF1CheckpointReader(prefix)
    theirs = tf.train.load_checkpoint(prefix)
    shapes = theirs.get_variable_to_shape_map()
    assert set(ours.entries) == set(shapes)
    for name, shape in shapes.items():
        assert ours.shape(name) == tuple(shape), name
        want = np.asarray(theirs.get_tensor(name))
        if want.dtype.kind in "OSU":  # TF2's object graph is a string tensor
            with pytest.raises(UnsupportedCheckpoint, match=name):
                ours.tensor(name)
            continue
        got = ours.tensor(name)
        assert got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    return ours


def test_every_variable_of_a_saver_checkpoint_equals_tensorflows(saved):
    prefix, variables = saved
    assert prefix.with_name(prefix.name + ".index").stat().st_size > 3 * 4096
    reader = _assert_same_as_tensorflow(str(prefix))
    assert reader.shards == 1 and set(reader.entries) == set(variables)
    for name, value in variables.items():
        np.testing.assert_array_equal(reader.tensor(name), value, err_msg=name)
        assert reader.tensor(name).dtype == np.asarray(value).dtype, name


def test_a_tf2_object_checkpoint_equals_tensorflows(tmp_path):
    checkpoint = tf.train.Checkpoint(
        kernel=tf.Variable(np.arange(12, dtype=np.float32).reshape(3, 4)),
        step=tf.Variable(7, dtype=tf.int64),
    )
    reader = _assert_same_as_tensorflow(checkpoint.write(str(tmp_path / "ckpt")))
    assert reader.shape("kernel/.ATTRIBUTES/VARIABLE_VALUE") == (3, 4)


def test_sharded_checkpoint_reads_each_variable_from_its_shard(tmp_path):
    """TF's sharded save: one SaveV2 per shard, then MergeV2Checkpoints writes one index."""
    values = {"a": np.arange(6, dtype=np.float32), "b": np.arange(4, dtype=np.int32) - 2}
    parts = []
    for shard, name in enumerate(values):
        part = tf.raw_ops.ShardedFilename(basename=str(tmp_path / "tmp"), shard=shard, num_shards=2)
        part = part.numpy().decode()
        tf.raw_ops.SaveV2(
            prefix=part, tensor_names=[name], shape_and_slices=[""], tensors=[values[name]]
        )
        parts.append(part)
    prefix = str(tmp_path / "model.ckpt-3")
    tf.raw_ops.MergeV2Checkpoints(checkpoint_prefixes=parts, destination_prefix=prefix)
    reader = _assert_same_as_tensorflow(prefix)
    assert reader.shards == 2
    assert (reader.entries["a"].shard, reader.entries["b"].shard) == (0, 1)
    for name, value in values.items():
        np.testing.assert_array_equal(reader.tensor(name), value)


def test_values_are_read_only_maps_of_the_data_file(saved):
    prefix, _ = saved
    value = TF1CheckpointReader(str(prefix)).tensor("bert/embeddings/word_embeddings")
    assert isinstance(value, np.memmap) and not value.flags.writeable
    assert Path(value.filename) == _data_file(prefix)


def test_floating_entries_are_the_float_dtypes(saved):
    prefix, _ = saved
    entries = TF1CheckpointReader(str(prefix)).entries
    floating = {n for n, e in entries.items() if e.is_floating}
    assert {"float64", "float16", "empty", "bert/embeddings/word_embeddings"} <= floating
    assert not floating & {"global_step", "bool", "int32", "uint8"}


def test_bfloat16_and_string_variables_are_left_to_tensorflow(tmp_path):
    """Dtypes numpy cannot map raise UnsupportedCheckpoint (read_tf1_checkpoint then asks TF)."""
    prefix = str(tmp_path / "m")
    tensors = [tf.constant([1.5, 2.0], tf.bfloat16), tf.constant(["x"])]
    tf.raw_ops.SaveV2(
        prefix=prefix, tensor_names=["bf16", "text"], shape_and_slices=["", ""], tensors=tensors
    )
    reader = TF1CheckpointReader(prefix)
    assert reader.entries["bf16"].is_floating and reader.shape("bf16") == (2,)
    for name, dtype in (("bf16", 14), ("text", 7)):
        with pytest.raises(
            UnsupportedCheckpoint, match=f"variable {name} has TensorFlow dtype {dtype}"
        ):
            reader.tensor(name)


@pytest.mark.parametrize(
    "cut,reason",
    [
        (lambda data: b"", "shorter than a table footer"),
        (lambda data: data[:-60], "no table magic number at the end"),
        (lambda data: b"not a checkpoint index, just text\n" * 4, "no table magic number"),
    ],
    ids=["empty", "cut-short", "not-an-index"],
)
def test_broken_index_names_the_file(saved, tmp_path, cut, reason):
    prefix = _copy(saved[0], tmp_path)
    index = prefix.with_name(prefix.name + ".index")
    index.write_bytes(cut(index.read_bytes()))
    with pytest.raises(CheckpointError) as info:
        TF1CheckpointReader(str(prefix))
    message = str(info.value)
    assert message.startswith(f"{index}: cannot read the checkpoint index ({reason}")
    assert "copy it again" in message


def test_truncated_data_file_names_the_variable_and_the_sizes(saved, tmp_path):
    prefix = _copy(saved[0], tmp_path)
    data = _data_file(prefix)
    full = data.stat().st_size
    data.write_bytes(data.read_bytes()[: full // 3])
    reader = TF1CheckpointReader(str(prefix))
    inside = {n: e for n, e in reader.entries.items() if e.offset + e.size <= full // 3}
    beyond = {n: e for n, e in reader.entries.items() if e.offset + e.size > full // 3}
    assert inside and beyond
    for name in inside:  # what the cut left whole still reads
        np.testing.assert_array_equal(reader.tensor(name), saved[1][name], err_msg=name)
    name, entry = next(iter(beyond.items()))
    with pytest.raises(CheckpointError) as info:
        reader.tensor(name)
    assert str(info.value).startswith(
        f"{prefix}: variable {name} cannot be read (needs bytes up to {entry.offset + entry.size}, "
        f"the .data file has {full // 3})"
    )
    assert "copy the checkpoint again" in str(info.value)


def test_missing_data_file_names_it(saved, tmp_path):
    prefix = _copy(saved[0], tmp_path)
    data = _data_file(prefix)
    data.unlink()
    reader = TF1CheckpointReader(str(prefix))  # the index alone lists the variables
    assert reader.shape("bert/embeddings/word_embeddings") == (7, 4)
    with pytest.raises(CheckpointError, match="needs its .index and .data files") as info:
        reader.tensor("bert/embeddings/word_embeddings")
    assert str(info.value).startswith(f"{data}: missing")


def test_missing_index_names_it(saved, tmp_path):
    prefix = _copy(saved[0], tmp_path)
    index = prefix.with_name(prefix.name + ".index")
    index.unlink()
    with pytest.raises(CheckpointError) as info:
        TF1CheckpointReader(str(prefix))
    assert str(index) in str(info.value)


def test_partitioned_variables_are_left_to_tensorflow(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(0)  # a graph's own seed: the tests run with op determinism
        partitioner = tf.compat.v1.fixed_size_partitioner(2)
        tf.compat.v1.get_variable("w", shape=[8, 4], partitioner=partitioner)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            prefix = saver.save(session, str(tmp_path / "m"), write_meta_graph=False)
    with pytest.raises(UnsupportedCheckpoint, match="partitioned"):
        TF1CheckpointReader(prefix)
