"""`Trainer`: fine-tune a compiled Keras model under a `tf.distribute` strategy, and survive kills.

The loop runs the model's own ``train_step`` / ``test_step`` through ``strategy.run`` in a
`tf.function` (as ``model.fit`` does), so custom steps, loss scaling and gradient all-reduce
behave as in Keras, while the loop decides what ``model.fit`` cannot: checkpoints in the middle
of an epoch that hold the complete training state, and a restart that skips the batches already
consumed, so an interrupted run ends with the same weights, bit for bit, as an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

import jbert_tf2.training.model_state as model_state
from jbert_tf2.atomic_files import write_text, written_aside
from jbert_tf2.backend import keras, tensorflow
from jbert_tf2.errors import JbertError
from jbert_tf2.training.checkpoints import CheckpointFiles
from jbert_tf2.training.curves import plot_training_curves
from jbert_tf2.training.strategy import is_chief, resolve_strategy

if TYPE_CHECKING:
    import tensorflow as tf

logger = logging.getLogger(__name__)

Data = Union[Callable[[int], "tf.data.Dataset"], "tf.data.Dataset"]

PRECISIONS = {None: None, "float32": None, "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}
_MINIMIZED = ("loss", "error", "mae", "mse", "mape", "msle", "crossentropy", "perplexity")


class Trainer:
    """Train ``model_fn()``'s compiled model for ``epochs``, checkpointing into ``output_dir``.

    ``fit`` seeds Python, NumPy, TensorFlow and Keras with ``seed``, then calls ``model_fn`` inside
    the strategy's scope (under the ``mixed_precision`` policy, restored afterwards). Run again
    with the same arguments, it continues from the newest checkpoint in ``output_dir``. The best
    epoch by ``monitor`` is saved under ``output_dir/best`` (with ``save_best(model, path)`` if
    given; a jbert task model as a model directory with ``save_pretrained``, loadable with
    `jbert_tf2.tasks.load_task`; any other model as ``model.weights.h5``); ``history.json``,
    ``training_curves.png`` and TensorBoard scalars (``logs/``) are written after each epoch.
    After `fit`, ``model`` is the trained model, ``history`` its metrics and ``resumed_from`` the
    checkpoint it continued from (None if none).
    """

    def __init__(
        self,
        model_fn: Callable[[], keras.Model],
        output_dir: str | PathLike,
        strategy: str | tf.distribute.Strategy = "auto",
        mixed_precision: str | None = None,
        epochs: int = 3,
        checkpoint_every_steps: int | None = None,
        keep_checkpoints: int = 3,
        monitor: str = "val_loss",
        monitor_mode: str = "auto",
        seed: int = 0,
        progress: bool = True,
        save_best: Callable[[keras.Model, Path], None] | None = None,
    ) -> None:
        if mixed_precision not in PRECISIONS:
            raise JbertError(
                f"mixed_precision={mixed_precision!r}: choose None, 'float16' (GPUs) or "
                "'bfloat16' (TPUs, recent GPUs and CPUs)"
            )
        if not isinstance(epochs, int) or epochs < 0:
            raise JbertError(f"epochs={epochs!r}: pass a whole number of epochs, 0 or more")
        if checkpoint_every_steps is not None and checkpoint_every_steps < 1:
            raise JbertError(
                f"checkpoint_every_steps={checkpoint_every_steps}: pass a positive step count, "
                "or None for a checkpoint at each epoch end only"
            )
        if not isinstance(keep_checkpoints, int) or keep_checkpoints < 1:
            raise JbertError(f"keep_checkpoints={keep_checkpoints!r}: keep at least 1 checkpoint")
        if monitor_mode not in ("auto", "min", "max"):
            raise JbertError(f"monitor_mode={monitor_mode!r}: choose 'auto', 'min' or 'max'")
        self.model_fn = model_fn
        self.output_dir = Path(output_dir)
        self.strategy = resolve_strategy(strategy)
        self.policy = PRECISIONS[mixed_precision]
        self.epochs = epochs
        self.checkpoint_every_steps = checkpoint_every_steps
        self.keep_checkpoints = keep_checkpoints
        self.monitor = monitor
        self.monitor_mode = monitor_mode
        self.seed = seed
        self.progress = progress
        self.save_best = save_best
        self.model: keras.Model | None = None
        self.history: dict[str, list[float]] = {}
        self.resumed_from: Path | None = None

    def fit(self, train_data: Data, eval_data: Data | None = None) -> dict[str, list[float]]:
        """Train (or continue training) and return the per-epoch metrics, ``val_*`` included.

        ``train_data`` is a callable ``epoch -> tf.data.Dataset`` giving that epoch's batches in a
        fixed order (needed for a bit-identical resume), or one dataset used for every epoch.
        Batches are ``(x, y)`` or ``(x, y, sample_weight)``; ``eval_data`` likewise.
        """
        chief = is_chief(self.strategy)
        scratch = None  # a worker's checkpoints and logs: only the chief's are kept
        if not chief:
            scratch = tempfile.TemporaryDirectory(
                prefix="jbert-worker-", ignore_cleanup_errors=True
            )
        write_dir = self.output_dir if scratch is None else Path(scratch.name)
        previous_policy = keras.mixed_precision.global_policy()
        if self.policy:
            keras.mixed_precision.set_global_policy(self.policy)
        try:
            with self.strategy.scope():
                run = _Run(self, train_data, eval_data, write_dir, chief)
                self.model, self.resumed_from = run.model, run.resumed_from
                self.history = run.train()
        finally:
            keras.mixed_precision.set_global_policy(previous_policy)
            if scratch is not None:
                scratch.cleanup()
        return self.history


class _Run:
    """One call of `Trainer.fit`: the model, its step functions, the loop and its outputs."""

    def __init__(self, trainer: Trainer, train_data, eval_data, write_dir: Path, chief: bool):
        self.t = trainer
        self.tf = tensorflow()
        self.train_data, self.eval_data = train_data, eval_data
        self.write_dir, self.chief = write_dir, chief
        self.monitor = trainer.monitor
        if eval_data is None and self.monitor.startswith("val_"):
            self.monitor = self.monitor[4:]
            logger.info("no eval_data: keeping the best epoch by training %s", self.monitor)
        self.mode = _monitor_mode(self.monitor, trainer.monitor_mode)
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.history: dict[str, list[float]] = {}
        self.best: dict[str, Any] | None = None
        self.step_losses: list[tuple[int, float]] = []
        self.progbar = None
        self.resumed_from: Path | None = None
        self.model = self._build_model()
        self.reader = CheckpointFiles(trainer.output_dir / "checkpoints", trainer.keep_checkpoints)
        self.writer = CheckpointFiles(write_dir / "checkpoints", trainer.keep_checkpoints)
        self._restore()
        self.train_step = self._step_function(self.model.train_step)
        self.test_step = self._step_function(self.model.test_step)
        logs = write_dir / "logs"
        self.summaries = {
            "train": self.tf.summary.create_file_writer(str(logs / "train")),
            "validation": self.tf.summary.create_file_writer(str(logs / "validation")),
        }

    def train(self) -> dict[str, list[float]]:
        try:
            if self.epoch >= self.t.epochs:  # a finished run: its reports again, nothing to train
                self._write_reports()
            for epoch in range(self.epoch, self.t.epochs):
                self.epoch = epoch
                self._train_epoch()
                epoch_logs = self._metrics()
                epoch_logs.update(self._evaluate())
                self._end_epoch(epoch_logs)
        finally:
            for writer in self.summaries.values():
                writer.close()
        return self.history

    def _build_model(self) -> keras.Model:
        keras.utils.set_random_seed(self.t.seed)
        model = self.t.model_fn()
        if not isinstance(model, keras.Model) or getattr(model, "optimizer", None) is None:
            raise JbertError(
                f"model_fn returned {type(model).__name__}, not a compiled keras.Model; "
                "call model.compile(optimizer=..., loss=...) before returning it"
            )
        default = self.tf.distribute.get_strategy()
        if model.distribute_strategy is not self.t.strategy and self.t.strategy is not default:
            raise JbertError(
                "model_fn returned a model built outside the training strategy's scope; "
                "create the model inside model_fn rather than returning an existing one"
            )
        self.model = model  # a dataset callable may take it
        spec = self._dataset(self.train_data, 0, "train_data").element_spec
        model._symbolic_build(data_batch=self.tf.nest.map_structure(_symbolic, spec))
        return model

    def _restore(self) -> None:
        loaded = self.reader.load_latest()
        if loaded is None:
            return
        arrays, state, path = loaded
        self.resumed_from = path
        model_state.restore(self.model, arrays, state["manifest"], path)
        self.epoch, self.step_in_epoch = state["epoch"], state["step_in_epoch"]
        self.global_step = state["global_step"]
        self.history = state["history"]
        self.best = state["best"]
        losses = arrays.get("trainer/step_losses", np.zeros((0, 2)))
        self.step_losses = [(int(s), float(v)) for s, v in losses]
        logger.info("resuming from %s: epoch %d, step %d", path, self.epoch + 1, self.step_in_epoch)

    def _step_function(self, step: Callable) -> Callable:
        strategy, tf = self.t.strategy, self.tf

        def one_step(data):
            outputs = strategy.run(step, args=(data,))
            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), outputs)

        return tf.function(
            one_step, reduce_retracing=True, jit_compile=bool(self.model.jit_compile)
        )

    def _dataset(self, data: Any, epoch: int, what: str):
        tf = self.tf
        dataset = data if isinstance(data, tf.data.Dataset) else None
        if dataset is None and callable(data):
            dataset = data(epoch, self.model) if _takes_model(data) else data(epoch)
        if not isinstance(dataset, tf.data.Dataset):
            raise JbertError(
                f"{what} gave {type(dataset).__name__}; pass a tf.data.Dataset of (x, y) batches "
                "or a callable epoch -> tf.data.Dataset"
            )
        return dataset

    def _train_epoch(self) -> None:
        skip = self.step_in_epoch
        if skip == 0:
            self.model.reset_metrics()
        dataset = self._dataset(self.train_data, self.epoch, "train_data")
        total = _cardinality(dataset)
        if skip:
            dataset = dataset.skip(skip)
        self.progbar = progbar = self._progbar(total, skip)
        every = self.t.checkpoint_every_steps
        for data in self._distribute(dataset, self.train_step):
            logs = _floats(self.train_step(data))
            self.step_in_epoch += 1
            self.global_step += 1
            if "loss" in logs:
                self.step_losses.append((self.global_step, logs["loss"]))
                with self.summaries["train"].as_default(step=self.global_step):
                    self.tf.summary.scalar("batch_loss", logs["loss"])
            if progbar is not None:
                progbar.update(self.step_in_epoch, list(logs.items()), finalize=False)
            if every and self.global_step % every == 0 and self.step_in_epoch != total:
                self._save_checkpoint()

    def _distribute(self, dataset, step: Callable):
        """The dataset split over the replicas, with ``step`` traced for its element spec.

        Tracing on the spec (``None`` where batches differ) rather than on the first batch's
        exact shapes gives one graph for every batch; a graph specialised to one batch's shapes
        can round differently, and a resumed run would use it on a different batch.
        """
        distributed = self.t.strategy.experimental_distribute_dataset(dataset)
        step.get_concrete_function(distributed.element_spec)
        return distributed

    def _evaluate(self) -> dict[str, float]:
        if self.eval_data is None:
            return {}
        self.model.reset_metrics()
        dataset = self._dataset(self.eval_data, self.epoch, "eval_data")
        for data in self._distribute(dataset, self.test_step):
            self.test_step(data)
        logs = {f"val_{name}": value for name, value in self._metrics().items()}
        self.model.reset_metrics()
        return logs

    def _metrics(self) -> dict[str, float]:
        return _floats(self.model.get_metrics_result())

    def _end_epoch(self, logs: dict[str, float]) -> None:
        if self.progbar is not None:
            self.progbar.update(self.step_in_epoch, list(logs.items()), finalize=True)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)
        self._write_epoch_summaries(logs)
        if self.monitor not in logs:
            raise JbertError(
                f"monitor={self.t.monitor!r} is not among this epoch's metrics "
                f"({', '.join(sorted(logs))}); pass one of them as monitor"
            )
        value = logs[self.monitor]
        if self._improves(value):
            self.best = {"epoch": self.epoch + 1, "monitor": self.monitor, "value": value}
            self._save_best()
        self._write_reports()
        self.epoch += 1
        self.step_in_epoch = 0
        self._save_checkpoint()

    def _improves(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best["value"]
        return value > self.best["value"]

    def _save_best(self) -> None:
        directory = self.write_dir / "best"
        if self.t.save_best is None and hasattr(self.model, "save_pretrained"):
            self.model.save_pretrained(directory, overwrite=True)  # a jbert task: a model dir
        directory.mkdir(parents=True, exist_ok=True)
        if self.t.save_best is not None:
            self.t.save_best(self.model, directory)
        elif not hasattr(self.model, "save_pretrained"):
            weights = directory / "model.weights.h5"
            with written_aside(weights, durable=True, suffix=".weights.h5") as partial:
                self.model.save_weights(partial)  # Keras wants the .weights.h5 ending
        write_text(directory / "best.json", json.dumps(self.best, indent=1), durable=True)
        logger.info(
            "best %s so far: %.6g (epoch %d)", self.monitor, self.best["value"], self.epoch + 1
        )

    def _save_checkpoint(self) -> None:
        arrays, manifest = model_state.capture(self.model)
        arrays["trainer/step_losses"] = np.asarray(self.step_losses, np.float64).reshape(-1, 2)
        state = {
            "format": 1,
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "history": self.history,
            "best": self.best,
            "manifest": manifest,
        }
        self.writer.save(self.global_step, arrays, state)
        for writer in self.summaries.values():
            writer.flush()

    def _write_reports(self) -> None:
        text = json.dumps(self.history, indent=1)
        write_text(self.write_dir / "history.json", text, durable=True)
        plot_training_curves(self.history, self.step_losses, self.write_dir / "training_curves.png")

    def _write_epoch_summaries(self, logs: dict[str, float]) -> None:
        for name, value in logs.items():
            split = "validation" if name.startswith("val_") else "train"
            with self.summaries[split].as_default(step=self.epoch + 1):
                self.tf.summary.scalar(f"epoch_{name.removeprefix('val_')}", value)

    def _progbar(self, total: int | None, start: int):
        if not (self.t.progress and self.chief):
            return None
        print(f"Epoch {self.epoch + 1}/{self.t.epochs}")
        progbar = keras.utils.Progbar(total)
        if start:
            progbar.update(start)
        return progbar


def _takes_model(data: Callable) -> bool:
    """True for ``lambda epoch, model: ...``: the dataset is made with the trained model
    (a task model's ``dataset`` method, which knows its tokenizer and labels)."""
    import inspect

    try:
        parameters = inspect.signature(data).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


def _monitor_mode(monitor: str, mode: str) -> str:
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_").lower()
    return "min" if any(part in name for part in _MINIMIZED) else "max"


def _symbolic(spec):
    return keras.KerasTensor(tuple(spec.shape), dtype=spec.dtype.name)


def _cardinality(dataset) -> int | None:
    count = int(dataset.cardinality())
    return count if count >= 0 else None


def _floats(logs: dict[str, Any]) -> dict[str, float]:
    values = {}
    for name, value in logs.items():
        array = np.asarray(value)
        if array.size == 1:
            values[name] = float(array.reshape(()))
    return values
