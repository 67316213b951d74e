"""Trainer and strategies: spec errors, best model and reports, corrupt and foreign checkpoints,
and, in fresh processes, a SIGKILL mid-epoch followed by a bit-identical resume, two logical CPU
replicas and two workers. The models and data live in tests/trainer_script.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import trainer_script as ts

from jbert_tf2.backend import keras
from jbert_tf2.errors import JbertError
from jbert_tf2.training import model_state
from jbert_tf2.training.checkpoints import CheckpointFiles, read_checkpoint
from jbert_tf2.training.strategy import TPU_ENV_HINTS, resolve_strategy
from jbert_tf2.training.trainer import Trainer

SCRIPT = Path(__file__).with_name("trainer_script.py")
ROOT = SCRIPT.parent.parent


def train_data(epoch):
    return ts.batches(epoch)


def eval_data():
    return ts.batches(0, seed=1, shuffle=False)


def variables_of(model) -> list[np.ndarray]:
    """Weights and Dropout seed states, in order."""
    return [np.asarray(v.numpy()) for v in model.variables]


def assert_identical(expected: list[np.ndarray], got: list[np.ndarray]) -> None:
    assert len(expected) == len(got)
    for i, (a, b) in enumerate(zip(expected, got, strict=True)):
        assert np.array_equal(a, b), f"variable {i} differs"


def script(*args: str) -> list[str]:
    return [sys.executable, str(SCRIPT), *args]


def script_env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "TF_CONFIG"}
    paths = [str(ROOT), env.get("PYTHONPATH", "")]
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.pathsep.join(filter(None, paths)))
    env.update(TF_DETERMINISTIC_OPS="1", **extra)  # op determinism, as in this process (conftest)
    return env


def result_of(output: str) -> dict:
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert lines, output[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


# --- strategies --------------------------------------------------------------------------------


@pytest.fixture
def no_tpu_env(monkeypatch):
    for name in TPU_ENV_HINTS:
        monkeypatch.delenv(name, raising=False)


def test_local_specs_give_the_default_strategy(no_tpu_env):
    default = tf.distribute.get_strategy()
    assert resolve_strategy("default") is default
    if not tf.config.list_physical_devices("GPU"):
        assert resolve_strategy("cpu") is default
        assert resolve_strategy("auto") is default
    one_device = tf.distribute.OneDeviceStrategy("/cpu:0")
    assert resolve_strategy(one_device) is one_device


def test_unknown_spec_lists_the_choices():
    with pytest.raises(JbertError, match="'gpu4' is unknown; choose one of auto, tpu, tpu:NAME"):
        resolve_strategy("gpu4")


def test_tpu_without_a_tpu_is_one_quick_error(no_tpu_env):
    start = time.monotonic()
    with pytest.raises(JbertError, match="--strategy tpu: no TPU found") as caught:
        resolve_strategy("tpu")
    assert time.monotonic() - start < 30
    assert "on Colab choose a TPU runtime, on GCP pass the TPU name" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_multiworker_needs_a_valid_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(JbertError, match="needs the TF_CONFIG environment variable"):
        resolve_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", "{'cluster': 1}")
    with pytest.raises(JbertError, match="TF_CONFIG is not valid JSON"):
        resolve_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", '{"task": {"type": "worker", "index": 0}}')
    with pytest.raises(JbertError, match="'cluster' and 'task'.*TF_CONFIG"):
        resolve_strategy("multiworker")


def test_trainer_arguments_are_checked(tmp_path):
    with pytest.raises(JbertError, match="mixed_precision='fp16'"):
        Trainer(ts.small_model, tmp_path, strategy="cpu", mixed_precision="fp16")
    with pytest.raises(JbertError, match="checkpoint_every_steps=0"):
        Trainer(ts.small_model, tmp_path, strategy="cpu", checkpoint_every_steps=0)
    with pytest.raises(JbertError, match="monitor_mode='up'"):
        Trainer(ts.small_model, tmp_path, strategy="cpu", monitor_mode="up")
    with pytest.raises(JbertError, match="not a compiled keras.Model"):
        Trainer(lambda: keras.Sequential([keras.layers.Dense(1)]), tmp_path, strategy="cpu").fit(
            train_data
        )


# --- checkpoint files --------------------------------------------------------------------------


def test_checkpoint_round_trip_keeps_seed_states_bfloat16_and_the_newest_files(tmp_path):
    def make(seed):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(2, dtype="bfloat16"), keras.layers.Dropout(0.5)]
        )
        model.compile(optimizer="adam", loss="mse")
        model.optimizer.build(model.trainable_variables)
        return model

    source = make(1)
    source.layers[1].seed_generator.state.assign(np.array([7, 9]))
    source.optimizer.iterations.assign(5)
    files = CheckpointFiles(tmp_path, keep=2)
    for step in (1, 2, 3):
        arrays, manifest = model_state.capture(source)
        files.save(step, arrays, {"manifest": manifest, "epoch": 0, "step_in_epoch": step})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint",
        "ckpt-000000002.npz",
        "ckpt-000000003.npz",
    ]
    arrays, state, path = files.load_latest()
    assert path.name == "ckpt-000000003.npz"
    target = make(2)
    model_state.restore(target, arrays, state["manifest"], path)
    assert source.layers[0].kernel.dtype == "bfloat16"
    assert_identical(variables_of(source), variables_of(target))
    assert int(target.optimizer.iterations.numpy()) == 5
    assert target.layers[1].seed_generator.state.numpy().tolist() == [7, 9]


# --- in-process training -----------------------------------------------------------------------


def test_best_epoch_history_curves_and_one_trace(tmp_path):
    from matplotlib.image import imread

    traces = []

    def model_fn():
        model = ts.small_model()
        step = model.train_step
        model.train_step = lambda data: traces.append(1) or step(data)
        return model

    lengths = {int(x["input_ids"].shape[1]) for epoch in range(3) for x, _ in train_data(epoch)}
    assert len(lengths) >= 3  # dynamic padding: several batch shapes
    trainer = Trainer(
        model_fn, tmp_path, strategy="cpu", monitor_mode="max", progress=False, epochs=3
    )
    history = trainer.fit(train_data, eval_data())

    assert len(traces) <= 2  # traced once, maybe once more with a None length; not per shape
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 3 for values in history.values())
    # Over 5 seeds the loss fell 3.9% to 17%; without training it moves by 0.1% (docs/training.md)
    assert history["loss"][-1] < 0.98 * history["loss"][0], history["loss"]
    assert json.loads((tmp_path / "history.json").read_text()) == history

    best_epoch = int(np.argmax(history["val_loss"])) + 1  # monitor_mode="max": the worst loss
    best = json.loads((tmp_path / "best" / "best.json").read_text())
    assert best == {"epoch": best_epoch, "monitor": "val_loss", "value": max(history["val_loss"])}
    # Each epoch has 6 steps and ends with a checkpoint; the best weights are that epoch's.
    arrays, _ = read_checkpoint(tmp_path / "checkpoints" / f"ckpt-{6 * best_epoch:09d}.npz")
    saved = ts.small_model()
    saved.optimizer.build(saved.trainable_variables)
    saved.load_weights(tmp_path / "best" / "model.weights.h5")
    weight_ids = {id(w) for w in saved.weights}
    positions = [i for i, v in enumerate(saved.variables) if id(v) in weight_ids]
    assert positions
    for i in positions:
        assert np.array_equal(saved.variables[i].numpy(), arrays[f"model/{i:05d}"])
    assert best_epoch < 3  # the validation loss falls, so the best by "max" is not the last epoch

    png = tmp_path / "training_curves.png"
    assert png.stat().st_size > 1000
    image = imread(png)
    assert image.ndim == 3 and image.shape[0] > 100
    tags = {split: tensorboard_tags(tmp_path / "logs" / split) for split in ("train", "validation")}
    assert tags == {
        "train": {"batch_loss", "epoch_loss", "epoch_accuracy"},
        "validation": {"epoch_loss", "epoch_accuracy"},
    }


def tensorboard_tags(directory: Path) -> set[str]:
    (events,) = directory.glob("events.out.tfevents.*")
    return {
        value.tag
        for event in tf.compat.v1.train.summary_iterator(str(events))
        for value in event.summary.value
    }


def test_curves_are_skipped_with_one_note_without_matplotlib(tmp_path, monkeypatch, caplog):
    from jbert_tf2.training import curves

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setattr(curves, "_noted_missing", False)
    history = {"loss": [1.0, 0.5]}
    with caplog.at_level("WARNING", logger=curves.__name__):
        assert not curves.plot_training_curves(history, [(1, 1.0)], tmp_path / "a.png")
        assert not curves.plot_training_curves(history, [(1, 1.0)], tmp_path / "a.png")
    assert [r.getMessage() for r in caplog.records] == [
        f"matplotlib is not installed; skipping {tmp_path / 'a.png'} (pip install matplotlib)"
    ]
    assert not (tmp_path / "a.png").exists()


@pytest.mark.slow
def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    def make():
        return Trainer(
            ts.small_model, tmp_path, strategy="cpu", epochs=2, checkpoint_every_steps=2,
            progress=False,
        )  # fmt: skip

    first = make()
    history = first.fit(train_data, eval_data())
    expected = variables_of(first.model)
    directory = tmp_path / "checkpoints"
    assert sorted(p.name for p in directory.glob("ckpt-*")) == [
        "ckpt-000000008.npz",
        "ckpt-000000010.npz",
        "ckpt-000000012.npz",
    ]
    newest = directory / "ckpt-000000012.npz"
    data = newest.read_bytes()
    newest.write_bytes(data[:1000] + bytes(64) + data[1064:])

    second = make()
    with pytest.warns(RuntimeWarning, match=r"ckpt-000000012\.npz is unreadable"):
        assert second.fit(train_data, eval_data()) == history
    assert second.resumed_from == directory / "ckpt-000000010.npz"
    assert_identical(expected, variables_of(second.model))


@pytest.mark.slow
def test_checkpoints_of_another_model_are_refused_and_kept(tmp_path):
    Trainer(ts.small_model, tmp_path, strategy="cpu", epochs=1, progress=False).fit(train_data)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}

    def wider():
        model = ts.small_model()
        wider = keras.Model(model.inputs, keras.layers.Dense(3)(model.outputs[0]))
        wider.compile(optimizer="adam", loss=model.loss)
        return wider

    wider_trainer = Trainer(wider, tmp_path, strategy="cpu", epochs=2, progress=False)
    with pytest.raises(JbertError, match="different model .*pass a new --output_dir"):
        wider_trainer.fit(train_data)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


@pytest.mark.slow
def test_mixed_float16_wraps_the_optimizer_and_restores_the_policy(tmp_path, capsys):
    trainer = Trainer(ts.small_model, tmp_path, strategy="cpu", mixed_precision="float16", epochs=1)
    history = trainer.fit(train_data)
    assert "Epoch 1/1" in capsys.readouterr().out  # with a progress bar
    assert np.isfinite(history["loss"][0])
    assert isinstance(trainer.model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert trainer.model.layers[-1].dtype_policy.name == "mixed_float16"
    assert keras.mixed_precision.global_policy().name == "float32"


# --- fresh processes ---------------------------------------------------------------------------


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    """Killed once a mid-epoch checkpoint of epoch 2 exists, rerun with the same command: the
    weights (and Dropout seed states) equal those of an uninterrupted run, bit for bit."""
    run_dir = tmp_path / "run"
    command = script(str(run_dir), "--model", "bert", "--every", "2", "--delay", "0.25")
    command += ["--result", str(tmp_path / "resumed.npz")]
    pointer = run_dir / "checkpoints" / "checkpoint"
    with open(tmp_path / "killed.log", "w") as log:
        killed = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=script_env())
        seen = None
        deadline = time.monotonic() + 240
        while killed.poll() is None and time.monotonic() < deadline:
            try:
                seen = json.loads(pointer.read_text())
            except (OSError, ValueError):
                seen = None
            if seen and seen["epoch"] >= 1 and seen["step_in_epoch"] > 0:
                killed.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        killed.wait(timeout=60)
    assert killed.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()[-3000:]
    assert seen["epoch"] < 3

    with open(tmp_path / "resumed.log", "w") as log:
        resumed = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=script_env())
        # Meanwhile, the uninterrupted reference, in this process.
        args = ["--model", "bert", "--every", "2", "--result", str(tmp_path / "reference.npz")]
        ts.main([str(tmp_path / "reference"), *args])
        resumed.wait(timeout=300)
    output = (tmp_path / "resumed.log").read_text()
    assert resumed.returncode == 0, output[-3000:]
    result = result_of(output)
    resumed_from = Path(result["resumed_from"]).name
    assert resumed_from.startswith("ckpt-") and resumed_from >= seen["latest"]  # no restart
    reference = json.loads((tmp_path / "reference" / "history.json").read_text())
    assert result["history"] == reference

    expected, got = np.load(tmp_path / "reference.npz"), np.load(tmp_path / "resumed.npz")
    assert sorted(expected.files) == sorted(got.files)
    for key in expected.files:
        assert np.array_equal(expected[key], got[key]), key


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    command = script(str(tmp_path / "run"), "--strategy", "mirrored", "--logical-cpus", "2")
    command += ["--every", "4", "--resume-check"]
    done = subprocess.run(command, capture_output=True, text=True, env=script_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = result_of(done.stdout)
    history = result["history"]
    assert history["loss"][-1] < history["loss"][0]
    # Resumed from the mid-epoch checkpoint of epoch 3 (steps 13 to 18): same weights, and the
    # metrics up to float rounding (a restored sum is split across the replicas).
    assert result["resume"]["resumed_from"] == "ckpt-000000016.npz"
    assert result["resume"]["equal"]
    resumed = json.loads((tmp_path / "run-resumed" / "history.json").read_text())
    for name, values in history.items():
        np.testing.assert_allclose(resumed[name], values, rtol=1e-6)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_multiworker_two_processes_only_the_chief_writes(tmp_path):
    output_dir = tmp_path / "run"
    cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
    workers = []
    for index in range(2):
        config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        command = script(str(output_dir), "--strategy", "multiworker", "--every", "4")
        command += ["--epochs", "2", "--result", str(tmp_path / f"worker{index}.npz")]
        log = open(tmp_path / f"worker{index}.log", "w")  # noqa: SIM115
        env = script_env(TF_CONFIG=config)
        workers.append((subprocess.Popen(command, stdout=log, stderr=log, env=env), log))
    for process, log in workers:
        try:
            process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
            log.close()
    logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    for (process, _), output in zip(workers, logs, strict=True):
        assert process.returncode == 0, output[-3000:]
    histories = [result_of(output)["history"] for output in logs]
    assert histories[0] == histories[1]

    chief_pid = str(workers[0][0].pid)
    events = list((output_dir / "logs").rglob("events.out.tfevents.*"))
    assert len(events) == 2 and all(f".{chief_pid}." in e.name for e in events)
    assert sorted(p.name for p in output_dir.iterdir()) == [
        "best",
        "checkpoints",
        "history.json",
        "logs",
        "training_curves.png",
    ]
    pointer = json.loads((output_dir / "checkpoints" / "checkpoint").read_text())
    assert pointer["latest"] == "ckpt-000000012.npz"
    assert json.loads((output_dir / "history.json").read_text()) == histories[0]

    first, second = np.load(tmp_path / "worker0.npz"), np.load(tmp_path / "worker1.npz")
    for key in first.files:
        assert np.array_equal(first[key], second[key]), key
