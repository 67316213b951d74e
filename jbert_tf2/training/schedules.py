"""BERT's learning-rate schedule: linear warmup from 0, then linear decay to 0.

Google's ``optimization.create_optimizer`` computes ``polynomial_decay(lr, step, num_train_steps,
end_learning_rate=0.0, power=1.0)`` and, while ``step < num_warmup_steps``, replaces it with
``lr * step / num_warmup_steps``. The step is the optimizer's update count starting at 0, so the
first update of a warmup runs at learning rate 0, as in Google's code.
"""

from __future__ import annotations

import math
from numbers import Real

from jbert_tf2.backend import keras, ops
from jbert_tf2.errors import JbertError


def check_steps(num_train_steps: int, num_warmup_steps: int) -> None:
    """Raise `JbertError` unless 0 <= num_warmup_steps <= num_train_steps and num_train_steps > 0."""
    for name, value in (
        ("num_train_steps", num_train_steps),
        ("num_warmup_steps", num_warmup_steps),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise JbertError(f"{name} must be an int, got {value!r}; pass a whole number of steps")
    if num_train_steps <= 0:
        raise JbertError(
            f"num_train_steps must be positive, got {num_train_steps}; pass the number of "
            "optimizer updates in the whole run (epochs * steps per epoch)"
        )
    if not 0 <= num_warmup_steps <= num_train_steps:
        raise JbertError(
            f"num_warmup_steps must be between 0 and num_train_steps ({num_train_steps}), got "
            f"{num_warmup_steps}; Google's recipe warms up over 10% of num_train_steps"
        )


def check_learning_rate(learning_rate: float) -> float:
    """The learning rate as a float; `JbertError` when it is negative, NaN or infinite."""
    if (
        isinstance(learning_rate, bool)
        or not isinstance(learning_rate, Real)
        or not math.isfinite(learning_rate)
        or learning_rate < 0
    ):
        raise JbertError(
            f"learning_rate must be a finite number >= 0, got {learning_rate!r}; BERT fine-tuning "
            "uses 1e-5 to 5e-5"
        )
    return float(learning_rate)


@keras.saving.register_keras_serializable(package="jbert_tf2")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Google BERT's schedule: ``lr * step / warmup`` while ``step < warmup``, then
    ``lr * (1 - min(step, num_train_steps) / num_train_steps)``.

    Args:
        learning_rate: the peak learning rate, reached at ``step == num_warmup_steps``.
        num_train_steps: the step at which the rate reaches 0 (and stays there).
        num_warmup_steps: steps of linear warmup from 0; 0 for none.
    """

    def __init__(self, learning_rate: float, num_train_steps: int, num_warmup_steps: int = 0):
        self.learning_rate = check_learning_rate(learning_rate)
        check_steps(num_train_steps, num_warmup_steps)
        self.num_train_steps = num_train_steps
        self.num_warmup_steps = num_warmup_steps

    def __call__(self, step):
        step_float = ops.cast(step, "float32")
        decay_steps = float(self.num_train_steps)
        done = ops.divide(ops.minimum(step_float, decay_steps), decay_steps)
        decayed = ops.multiply(self.learning_rate, ops.subtract(1.0, done))
        if not self.num_warmup_steps:
            return decayed
        warmup = ops.multiply(
            self.learning_rate, ops.divide(step_float, float(self.num_warmup_steps))
        )
        return ops.where(ops.less(step, self.num_warmup_steps), warmup, decayed)

    def get_config(self) -> dict:
        return {
            "learning_rate": self.learning_rate,
            "num_train_steps": self.num_train_steps,
            "num_warmup_steps": self.num_warmup_steps,
        }
