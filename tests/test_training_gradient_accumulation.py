"""Gradient accumulation: k batches of b, one update, equal to one update on the batch of k * b.

The reference is the same optimizer on the concatenated batch (its own agreement with Google's
numpy transcription is tests/test_training_optimizer.py's): every weight within 1e-5 after the
update, with global-norm clipping active, Google's weight decay, an embedding (sparse) gradient,
the warmup schedule counting updates, under MirroredStrategy, loss scaling and JAX, through a
Trainer checkpoint taken between two updates, and through ``jbert-run-classifier``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import task_fixtures as tf_
import tensorflow as tf
import trainer_script as ts

from jbert_tf2 import BertConfig, BertModel, JbertError
from jbert_tf2.backend import keras
from jbert_tf2.cli.run_classifier import main
from jbert_tf2.data import read_table
from jbert_tf2.data.pipeline import steps_per_epoch
from jbert_tf2.tasks import SequenceClassifier
from jbert_tf2.training import model_state
from jbert_tf2.training.checkpoints import CheckpointFiles
from jbert_tf2.training.optimizer import AdamWeightDecay, create_optimizer
from jbert_tf2.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]
TINY = dict(
    vocab_size=30,
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=16,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)
LABELS = ["a", "b", "c"]


def classifier() -> SequenceClassifier:
    """A tiny BERT classifier without dropout, the same weights on every call."""
    keras.utils.set_random_seed(0)
    model = SequenceClassifier(
        BertModel(BertConfig(**TINY), name="bert_model"), LABELS, max_seq_length=16, dropout=0.0
    )
    model.ensure_built()
    return model


def batch_of_16():
    """16 examples (ids with repeats, so embedding rows get several contributions)."""
    rng = np.random.default_rng(0)
    ids = rng.integers(5, TINY["vocab_size"], size=(16, 10)).astype(np.int32)
    ids[:, 0] = 2
    ids[8:, 7:] = 0
    x = {"input_ids": ids, "input_mask": (ids > 0).astype(np.int32), "segment_ids": 0 * ids}
    return x, rng.integers(0, len(LABELS), size=16).astype(np.int32)


def google_lr(step: int, lr: float, num_train: int, num_warmup: int) -> float:
    if num_warmup and step < num_warmup:
        return lr * step / num_warmup
    return lr * (1.0 - min(step, num_train) / num_train)


def updated(steps: int, clip_norm: float | None):
    """The classifier's weights after one update from the 16 examples in ``steps`` batches, and
    the first batch's gradients. Adam's epsilon is raised to 1e-3 so that clipping (a common
    scale of all gradients) changes the update well beyond the tolerance."""
    model = classifier()
    optimizer = create_optimizer(
        3e-2, 10, 0, clip_norm=clip_norm, epsilon=1e-3, gradient_accumulation_steps=steps
    )
    model.compile(optimizer=optimizer)
    (x, y), size = batch_of_16(), 16 // steps
    first = None
    for start in range(0, 16, size):
        part = {name: value[start : start + size] for name, value in x.items()}
        with tf.GradientTape() as tape:
            loss = model.compute_loss(part, y[start : start + size], model(part, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        first = grads if first is None else first
        optimizer.apply(grads, model.trainable_variables)
    assert int(optimizer.iterations) == 1
    return [w.numpy() for w in model.trainable_weights], first


def test_four_batches_of_four_give_the_weights_of_one_batch_of_sixteen():
    """Without and with Google's clipping, weight decay and a sparse (embedding) gradient."""
    clip = 0.02
    start = [w.numpy() for w in classifier().trainable_weights]
    names = [w.path for w in classifier().trainable_weights]
    unclipped, grads = updated(1, None)
    big, _ = updated(1, clip)
    for clip_norm, expected in ((None, unclipped), (clip, big)):
        accumulated, _ = updated(4, clip_norm)
        for a, b, name in zip(expected, accumulated, names, strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-5, err_msg=f"{name}, {clip_norm}")

    def largest_change(one, other):
        return max(float(np.abs(u - v).max()) for u, v in zip(one, other, strict=True))

    assert largest_change(big, start) > 1e-2  # 1000 times the tolerance: a wrong update fails
    assert any(isinstance(g, tf.IndexedSlices) for g in grads)  # word embeddings: the sparse path
    norm = np.sqrt(sum(np.sum(np.square(tf.convert_to_tensor(g).numpy())) for g in grads))
    assert norm > 5 * clip  # the whole batch's gradient is clipped...
    assert largest_change(big, unclipped) > 1e-3  # ...and that changes the update


def test_updates_every_kth_batch_and_the_schedule_counts_updates():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    lr, num_train, num_warmup, k = 0.1, 6, 2, 3
    opt = create_optimizer(lr, num_train, num_warmup, gradient_accumulation_steps=k)
    x = np.ones((2, 3), np.float32)
    for call in range(4 * k):
        before = [w.numpy() for w in model.weights]
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x) ** 2)
        opt.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        updates = (call + 1) // k
        assert int(opt.iterations) == updates
        np.testing.assert_allclose(
            float(opt.learning_rate), google_lr(updates, lr, num_train, num_warmup)
        )
        changed = any(
            not np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights, strict=True)
        )
        # the first update runs at learning rate 0 (warmup from 0, as Google's)
        assert changed == ((call + 1) % k == 0 and call + 1 > k), call


def test_one_step_adds_no_accumulators_and_the_config_round_trips():
    plain = create_optimizer(1e-3, 10, 1)
    plain.build([keras.Variable(np.zeros(3, np.float32))])
    assert [v.path.rsplit("/", 1)[-1] for v in plain.variables] == [
        "iteration",
        "variable_adam_m",
        "variable_adam_v",
    ]
    assert plain.get_config()["gradient_accumulation_steps"] == 1

    opt = create_optimizer(1e-3, 10, 1, gradient_accumulation_steps=4, layerwise_lr_decay=0.8)
    config = opt.get_config()
    assert config["gradient_accumulation_steps"] == 4
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(again) is AdamWeightDecay and again.get_config() == config
    assert again.gradient_accumulation_steps == 4


@pytest.mark.parametrize("steps", [0, -2, 2.5, True, "2"])
def test_bad_step_counts_name_the_flag(steps):
    with pytest.raises(JbertError, match=r"gradient_accumulation_steps.*whole number >= 1"):
        create_optimizer(1e-3, 10, 1, gradient_accumulation_steps=steps)


def test_task_hypermodel_checks_the_step_count(tmp_path):
    from jbert_tf2.tuning import TaskHyperModel

    with pytest.raises(JbertError, match="gradient_accumulation_steps"):
        TaskHyperModel(SequenceClassifier, tmp_path, LABELS, gradient_accumulation_steps=0)
    hypermodel = TaskHyperModel(SequenceClassifier, tmp_path, LABELS, gradient_accumulation_steps=3)
    assert hypermodel.gradient_accumulation_steps == 3 and "gradient_accumulation_steps" not in (
        hypermodel.task_options
    )


def test_ema_with_accumulation_is_refused():
    with pytest.raises(JbertError, match="use_ema"):
        AdamWeightDecay(1e-3, use_ema=True, gradient_accumulation_steps=2)


def test_trainer_resumes_between_two_updates_bit_identically(tmp_path):
    """6 batches an epoch, 4 an update: the epoch-end checkpoint holds 2 accumulated batches."""

    def model_fn():
        model = ts.small_model()
        model.compile(
            optimizer=create_optimizer(0.05, 3, 1, gradient_accumulation_steps=4),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        return model

    def train_data(epoch):
        return ts.batches(epoch)

    straight = Trainer(model_fn, tmp_path / "straight", strategy="cpu", epochs=2, progress=False)
    straight.fit(train_data)
    assert int(straight.model.optimizer.iterations) == 3

    first = Trainer(model_fn, tmp_path / "resumed", strategy="cpu", epochs=1, progress=False)
    first.fit(train_data)
    arrays, state, _ = CheckpointFiles(tmp_path / "resumed" / "checkpoints").load_latest()
    held = [k for k, path, *_ in state["manifest"] if "gradient_accumulator" in path]
    assert held and any(np.any(arrays[k] != 0) for k in held)  # saved mid-accumulation

    second = Trainer(model_fn, tmp_path / "resumed", strategy="cpu", epochs=2, progress=False)
    second.fit(train_data)
    assert second.resumed_from is not None
    groups = model_state.state_variables(straight.model), model_state.state_variables(second.model)
    for name in ("model", "optimizer"):
        for a, b in zip(groups[0][name], groups[1][name], strict=True):
            assert np.array_equal(a.numpy(), b.numpy()), a.path


SCRIPT = """
import sys
import numpy as np
MODE = sys.argv[1]
if MODE == "mirrored":
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from jbert_tf2.backend import keras
from jbert_tf2.training.optimizer import create_optimizer

rng = np.random.default_rng(0)
ids = rng.integers(1, 20, size=(16, 6)).astype("int32")
y = rng.normal(size=(16, 3)).astype("float32")

def fit(steps, batch_size, loss_scale):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6,), dtype="int32"), keras.layers.Embedding(20, 4),
         keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    opt = create_optimizer(0.05, 5, 1, clip_norm=0.05, gradient_accumulation_steps=steps)
    if loss_scale:
        opt = keras.optimizers.LossScaleOptimizer(opt)
    model.compile(optimizer=opt, loss="mse")
    model.fit(ids, y, batch_size=batch_size, epochs=3, shuffle=False, verbose=0)
    return model.get_weights()

runs = [(1, 16, False), (4, 4, False), (4, 4, True)]
if MODE == "mirrored":
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    results = []
    for run in runs:
        with strategy.scope():
            results.append(fit(*run))
else:
    results = [fit(*run) for run in runs]
np.savez(sys.argv[2], **{f"{i}_{j}": w for i, r in enumerate(results) for j, w in enumerate(r)})
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["mirrored", "jax"])
def test_mirrored_loss_scaled_and_jax(mode, tmp_path):
    """Two replicas (gradients summed before they are accumulated), loss scaling, JAX's jit."""
    if mode == "jax":
        pytest.importorskip("jax")
    env = dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu")
    env["KERAS_BACKEND"] = "jax" if mode == "jax" else "tensorflow"
    out = tmp_path / "weights.npz"
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), mode, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    got = np.load(out)
    count = len(got.files) // 3
    for run in (1, 2):
        for j in range(count):
            np.testing.assert_allclose(got[f"{run}_{j}"], got[f"0_{j}"], rtol=0, atol=1e-5)
    initial_bias_moved = np.abs(got["0_2"]).max()  # the Dense bias starts at 0
    assert initial_bias_moved > 1e-2


@pytest.mark.slow
def test_run_classifier_counts_updates_and_prints_the_effective_batch(
    tiny_model_root, tmp_path, capsys
):
    ckpt = tiny_model_root / "ckpt"
    splits = (("train", 40, 1), ("dev", 8, 2))
    data = tf_.write_topic_splits(tmp_path / "data", splits, tf_.LIVEDOOR_NAMES)
    out = tmp_path / "out"
    flags = [
        "--task_name=livedoor",
        f"--data_dir={data}",
        f"--vocab_file={ckpt / 'vocab.txt'}",
        f"--bert_config_file={ckpt / 'bert_config.json'}",
        f"--init_checkpoint={ckpt / 'model.ckpt-10'}",
        "--tokenizer=mecab-character",
        "--nodo_lower_case",
        "--max_seq_length=48",
        "--train_batch_size=4",
        "--gradient_accumulation_steps=3",
        "--num_train_epochs=2",
        "--do_train",
        "--do_eval",
        f"--output_dir={out}",
    ]
    assert main(flags) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    model = SequenceClassifier.from_pretrained(tiny_model_root / "model", labels=["a"])
    features = model.features(read_table(data / "train.tsv", label_column=None))
    batches = steps_per_epoch(features, 4, 48) * 2
    updates = batches // 3
    assert "  Batch size = 4\n  Gradient accumulation steps = 3\n" in printed
    assert f"  Effective batch size = 12\n  Num steps = {updates}\n" in printed
    results = dict(
        line.split(" = ") for line in (out / "eval_results.txt").read_text().split("\n") if line
    )
    assert int(results["global_step"]) == updates
    arrays, state, _ = CheckpointFiles(out / "checkpoints").load_latest()
    assert state["global_step"] == 3 * updates  # batches: the last update's batches, no more
    counter = [k for k, path, *_ in state["manifest"] if path.endswith("/iteration")]
    assert [int(arrays[k]) for k in counter] == [3 * updates]  # Keras counts calls
