"""keras-tuner search over fine-tuning: `TaskHyperModel` builds a task model per trial.

The search space is what people tune when fine-tuning BERT: learning rate, batch size, epochs,
warmup proportion, dropout, ELECTRA's layer-wise decay and how many Transformer blocks train
(`freeze`). Every choice has a default range; ``space`` overrides or fixes them (a single value
is fixed, not searched). It works with RandomSearch, BayesianOptimization and Hyperband; ``search``
takes the training and validation examples, each trial tokenizes once per batch size.

keras-tuner on TensorFlow 2.16+ needs ``tensorboard`` importable, or every trial fails while
``search()`` returns normally: it is a dependency, and `check_trials` turns failed trials into
an error.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from jbert_tf2.backend import import_quietly
from jbert_tf2.errors import JbertError

keras_tuner = import_quietly("keras_tuner")

DEFAULT_SPACE = {  # (low, high): log-uniform; [a, b]: a choice; a single value: fixed
    "learning_rate": (1e-5, 1e-4),
    "batch_size": [16, 32],
    "epochs": [2, 3, 4],
    "warmup_proportion": [0.0, 0.1],
    "dropout": 0.1,
    "layerwise_lr_decay": 1.0,
    "trainable_layers": None,  # None: all; n: the last n blocks
}


class TaskHyperModel(keras_tuner.HyperModel):
    """Builds ``task_cls.from_pretrained(model_dir, labels, ...)`` from a trial's
    hyperparameters and fits it on length-bucketed datasets. Use it as a keras-tuner
    ``HyperModel``::

        hypermodel = TaskHyperModel(SequenceClassifier, "ja-bert", labels)
        tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=8,
                                         directory="tuning", project_name="livedoor")
        tuner.search(train_examples, validation_data=dev_examples)

    ``gradient_accumulation_steps=K`` makes each update from K batches of the trial's batch
    size (its steps and warmup count updates), for batch sizes that do not fit in memory.
    """

    def __init__(
        self,
        task_cls,
        model_dir: str | os.PathLike,
        labels: Sequence[str] | None,
        space: dict | None = None,
        max_seq_length: int | None = None,
        seed: int = 0,
        gradient_accumulation_steps: int = 1,
        **task_options,
    ):
        from jbert_tf2.training.optimizer import check_accumulation_steps

        super().__init__(name=task_cls.__name__, tunable=True)
        unknown = set(space or {}) - set(DEFAULT_SPACE)
        if unknown:
            raise JbertError(
                f"space: unknown hyperparameters {sorted(unknown)}; "
                f"tunable: {sorted(DEFAULT_SPACE)}"
            )
        self.task_cls = task_cls
        self.model_dir = Path(model_dir)
        self.labels = list(labels) if labels is not None else None
        self.space = {**DEFAULT_SPACE, **(space or {})}
        self.max_seq_length = max_seq_length
        self.seed = seed
        self.gradient_accumulation_steps = check_accumulation_steps(gradient_accumulation_steps)
        self.task_options = task_options
        self._features: dict = {}

    def _value(self, hp, name: str):
        """The trial's value: a (low, high) tuple is a log-uniform range (learning rate), a
        list a choice, anything else fixed. ``None`` (all layers trainable) is stored as -1."""
        choice = self.space[name]
        if isinstance(choice, tuple):
            return hp.Float(name, choice[0], choice[1], sampling="log")
        values = [
            -1 if c is None else c for c in (choice if isinstance(choice, list) else [choice])
        ]
        if len(values) == 1:
            return hp.Fixed(name, values[0])
        return hp.Choice(name, values)

    def build(self, hp):
        from jbert_tf2.backend import keras

        keras.utils.set_random_seed(self.seed)
        options = dict(self.task_options)
        if self.max_seq_length:
            options["max_seq_length"] = self.max_seq_length
        options["dropout"] = self._value(hp, "dropout")
        if self.labels is not None:
            options["labels"] = self.labels
        model = self.task_cls.from_pretrained(self.model_dir, **options)
        trainable = int(self._value(hp, "trainable_layers"))
        model.freeze(None if trainable < 0 else trainable)
        for name in (
            "learning_rate",
            "batch_size",
            "epochs",
            "warmup_proportion",
            "layerwise_lr_decay",
        ):
            self._value(hp, name)  # registered now, so every trial shows every value
        model.compile(optimizer="adam")  # replaced in fit, once the step count is known
        return model

    def fit(self, hp, model, train_examples, validation_data=None, **kwargs):
        """Fit on ``train_examples`` (and evaluate on the ``validation_data`` examples) with
        Google's optimizer at the trial's learning rate, warmup and layer-wise decay."""
        from jbert_tf2.data.pipeline import make_dataset, steps_per_epoch
        from jbert_tf2.training import create_optimizer

        batch_size = int(hp.get("batch_size"))
        epochs = int(kwargs.pop("epochs", hp.get("epochs")))  # Hyperband sets the epochs
        first_epoch = int(kwargs.pop("initial_epoch", 0))
        features = self._cached_features(model, train_examples, "train")
        per_epoch = steps_per_epoch(features, batch_size, model.max_seq_length)
        steps = per_epoch * epochs // self.gradient_accumulation_steps  # updates
        decay = float(hp.get("layerwise_lr_decay"))
        model.compile(
            optimizer=create_optimizer(
                float(hp.get("learning_rate")),
                steps,
                int(steps * float(hp.get("warmup_proportion"))),
                layerwise_lr_decay=None if decay == 1.0 else decay,
                gradient_accumulation_steps=self.gradient_accumulation_steps,
            )
        )
        validation = None
        if validation_data is not None:
            dev = self._cached_features(model, validation_data, "dev")
            validation = make_dataset(dev, 32, max_seq_length=model.max_seq_length)
        history = None
        verbose = kwargs.pop("verbose", 0)
        for epoch in range(first_epoch, epochs):  # a new seeded order each epoch
            data = make_dataset(
                features,
                batch_size,
                shuffle=True,
                seed=self.seed,
                epoch=epoch,
                max_seq_length=model.max_seq_length,
            )
            history = _joined(
                history,
                model.fit(
                    data,
                    validation_data=validation,
                    initial_epoch=epoch,
                    epochs=epoch + 1,
                    verbose=verbose,
                    callbacks=kwargs.get("callbacks"),
                ),
            )
        return history

    def _cached_features(self, model, examples, key: str):
        if key not in self._features:
            self._features[key] = model.features(examples)
        return self._features[key]


def _joined(history, more):
    """One Keras ``History`` of every epoch so far. keras-tuner scores a trial by the best
    epoch of the history ``fit`` returns, and keeps the weights of the best epoch it saw in
    its callbacks: with the last epoch's history alone, the score could come from another
    epoch than the weights of ``get_best_models`` (and ``best_model/``)."""
    if history is None:
        return more
    for key, values in more.history.items():
        history.history.setdefault(key, []).extend(values)
    history.epoch.extend(more.epoch)
    return history


def check_trials(tuner) -> None:
    """Raise if any trial failed (keras-tuner logs failures and carries on)."""
    states = {t.trial_id: t.status for t in tuner.oracle.trials.values()}
    failed = [trial for trial, status in states.items() if status not in ("COMPLETED",)]
    if not states:
        raise JbertError("the search ran no trial")
    if failed:
        raise JbertError(
            f"{len(failed)} of {len(states)} trials did not complete ({', '.join(failed)}); "
            "see the log above for the error (keras-tuner needs tensorboard installed)"
        )
