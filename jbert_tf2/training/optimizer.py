"""BERT's AdamW: Google's ``AdamWeightDecayOptimizer`` as a Keras 3 optimizer, plus ELECTRA's
layer-wise learning-rate decay.

This follows google-research/bert ``optimization.py`` (and google-research/electra
``model/optimization.py`` for the layer-wise decay): Adam moments ``m`` and ``v`` with *no* bias
correction, ``update = m / (sqrt(v) + epsilon)``, plus ``weight_decay_rate * param`` for every
variable whose name matches none of the exclusion patterns (``LayerNorm``, ``layer_norm``,
``bias``), then ``param -= lr * update``. Gradients are first clipped to a global norm of 1.0 and
the learning rate warms up linearly and then decays linearly to 0 (`WarmupLinearDecay`). ELECTRA
scales the rate of a variable at depth ``d`` (0 embeddings, ``i + 1`` for ``layer_i``, ``n + 2``
task heads) by ``decay ** (n + 2 - d)``. Exclusions and depths are decided once, from each
variable's Keras ``path`` (e.g. ``bert_model/layer_0/attention_LayerNorm/gamma``), so the update
step itself is plain ``keras.ops`` and runs on TensorFlow (tf.distribute, XLA) and JAX.

With ``gradient_accumulation_steps=k`` (Keras's own accumulators, which are optimizer variables
and so are checkpointed) the dense gradients of ``k`` micro-batches are summed and their mean is
clipped and applied once: the update of one batch ``k`` times as large, whose schedule counts
updates, not micro-batches.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from numbers import Real

from jbert_tf2.backend import keras, ops, tensorflow
from jbert_tf2.errors import JbertError
from jbert_tf2.training.fused_update import (
    apply_adam_weight_decay,
    clip_by_global_norm,
    one_device,
)
from jbert_tf2.training.schedules import WarmupLinearDecay, check_learning_rate

GOOGLE_EXCLUDE_FROM_WEIGHT_DECAY = ("LayerNorm", "layer_norm", "bias")
# Keras names a layer norm's variables gamma and beta; a custom head's norm may lack "LayerNorm".
DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY = GOOGLE_EXCLUDE_FROM_WEIGHT_DECAY + ("beta", "gamma")

_EMBEDDINGS = re.compile(r"(?:^|/)embeddings(?:_project)?/")
_LAYER = re.compile(r"(?:^|/)layer_(\d+)/")
_POOLER = re.compile(r"(?:^|/)pooler/")


def layer_index(path: str) -> int | None:
    """The ``i`` of the Transformer block ``layer_{i}`` that holds the variable, else ``None``."""
    match = _LAYER.search(path)
    return int(match.group(1)) if match else None


def layer_depth(path: str, num_layers: int) -> int:
    """ELECTRA's depth of a variable: 0 for the embeddings (and ``embeddings_project``),
    ``i + 1`` for ``layer_{i}``, ``num_layers + 1`` for the pooler and ``num_layers + 2`` for
    anything else (task heads)."""
    if _EMBEDDINGS.search(path):
        return 0
    index = layer_index(path)
    if index is not None:
        if index >= num_layers:
            raise JbertError(
                f"variable {path} is in layer_{index} but num_layers is {num_layers}; pass "
                "num_layers=None (inferred from the variables) or the encoder's num_hidden_layers"
            )
        return index + 1
    if _POOLER.search(path):
        return num_layers + 1
    return num_layers + 2


def layerwise_lr_multipliers(
    paths: Sequence[str], decay: float, num_layers: int | None = None
) -> list[float]:
    """Each variable's learning-rate factor ``decay ** (num_layers + 2 - depth)`` (ELECTRA's
    ``_get_layer_lrs``); `num_layers` defaults to the highest ``layer_{i}`` seen plus one."""
    if num_layers is None:
        num_layers = 1 + max((i for i in map(layer_index, paths) if i is not None), default=-1)
    return [decay ** (num_layers + 2 - layer_depth(path, num_layers)) for path in paths]


def _check_range(name: str, value, low: float, high: float, closed: str, fix: str) -> float:
    """`value` as a float when it lies in the interval; `JbertError` naming `name` otherwise."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        above = value >= low if closed[0] == "[" else value > low
        below = value <= high if closed[1] == "]" else value < high
        ok = above and below
    if not ok:
        if math.isinf(high):
            interval = f"{'>=' if closed[0] == '[' else '>'} {low:g}"
        else:
            interval = f"in {closed[0]}{low:g}, {high:g}{closed[1]}"
        raise JbertError(f"{name} must be {interval}, got {value!r}; {fix}")
    return float(value)


def check_accumulation_steps(value) -> int:
    """`value` as an int >= 1 (``None``, Keras's "off", is 1); `JbertError` naming the flag otherwise."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise JbertError(
            f"gradient_accumulation_steps (--gradient_accumulation_steps) must be a whole number "
            f">= 1, got {value!r}; pass 1 for no accumulation, or k to apply one update every k "
            "batches (an effective batch k times --train_batch_size)"
        )
    return value


def _sum_over_replicas(grads: list) -> list:
    """Under tf.distribute, each replica's gradients summed over all replicas (the whole batch's)."""
    if keras.backend.backend() != "tensorflow":
        return grads
    tf = tensorflow()
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return grads
    summed = iter(
        context.all_reduce(tf.distribute.ReduceOp.SUM, [g for g in grads if g is not None])
    )
    return [None if g is None else next(summed) for g in grads]


def _dense(gradient):
    """TensorFlow's sparse embedding gradient (IndexedSlices) as a dense tensor."""
    if gradient is None or keras.backend.backend() != "tensorflow":
        return gradient
    tf = tensorflow()
    return tf.convert_to_tensor(gradient) if isinstance(gradient, tf.IndexedSlices) else gradient


@keras.saving.register_keras_serializable(package="jbert_tf2")
class AdamWeightDecay(keras.optimizers.Optimizer):
    """Google BERT's ``AdamWeightDecayOptimizer``: Adam without bias correction and decoupled
    weight decay, with ELECTRA's optional layer-wise learning-rate decay.

    Args:
        learning_rate: a float or a schedule (`WarmupLinearDecay` for Google's).
        weight_decay_rate: decay added to the update of every non-excluded variable
            (Google's name; Keras's own ``weight_decay`` is not used).
        beta_1: Adam's first-moment decay (Google: 0.9).
        beta_2: Adam's second-moment decay (Google: 0.999).
        epsilon: added to the denominator (Google: 1e-6).
        exclude_from_weight_decay: regular expressions; a variable whose ``path`` matches any
            of them gets no weight decay.
        layerwise_lr_decay: ELECTRA's factor in (0, 1]; ``None`` for one rate everywhere.
        num_layers: the encoder's Transformer blocks; inferred from the variables when ``None``.
        gradient_accumulation_steps: apply one update every ``k`` calls, with the mean of their
            gradients (equal-sized batches: the gradient of one ``k`` times larger batch); the
            learning-rate schedule and `iterations` count updates. 1 for an update every call.
        **kwargs: Keras optimizer arguments; ``global_clipnorm`` is Google's gradient clipping.
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay_rate: float = 0.0,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-6,
        exclude_from_weight_decay: Sequence[str] | None = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
        layerwise_lr_decay: float | None = None,
        num_layers: int | None = None,
        gradient_accumulation_steps: int | None = 1,
        **kwargs,
    ):
        if kwargs.get("weight_decay") is not None:
            raise JbertError(
                "AdamWeightDecay applies Google's weight decay: pass weight_decay_rate=..., "
                "not Keras's weight_decay"
            )
        if isinstance(learning_rate, Real):
            learning_rate = check_learning_rate(learning_rate)
        clip = kwargs.get("global_clipnorm")
        if clip is not None:
            _check_range(
                "clip_norm (global_clipnorm)",
                clip,
                0.0,
                math.inf,
                "(]",
                "pass None for no clipping",
            )
        steps = check_accumulation_steps(gradient_accumulation_steps)
        if steps > 1 and kwargs.get("use_ema"):
            raise JbertError(
                "AdamWeightDecay does not combine use_ema with gradient_accumulation_steps > 1; "
                "drop one of them"
            )
        super().__init__(
            learning_rate=learning_rate,
            gradient_accumulation_steps=steps if steps > 1 else None,
            **kwargs,
        )
        self.weight_decay_rate = _check_range(
            "weight_decay (weight_decay_rate)",
            weight_decay_rate,
            0.0,
            math.inf,
            "[]",
            "Google uses 0.01",
        )
        self.beta_1 = _check_range("beta_1", beta_1, 0.0, 1.0, "[)", "Google uses 0.9")
        self.beta_2 = _check_range("beta_2", beta_2, 0.0, 1.0, "[)", "Google uses 0.999")
        self.epsilon = _check_range("epsilon", epsilon, 0.0, math.inf, "[]", "Google uses 1e-6")
        self.weight_decay_exclusions = tuple(exclude_from_weight_decay or ())
        for pattern in self.weight_decay_exclusions:
            try:
                re.compile(pattern)
            except (re.error, TypeError) as exc:
                raise JbertError(
                    f"exclude_from_weight_decay holds {pattern!r}, not a regular expression; "
                    "pass names such as 'LayerNorm' or 'bias'"
                ) from exc
        if layerwise_lr_decay is not None:
            layerwise_lr_decay = _check_range(
                "layerwise_lr_decay", layerwise_lr_decay, 0.0, 1.0, "(]", "ELECTRA uses 0.8"
            )
        self.layerwise_lr_decay = layerwise_lr_decay
        if num_layers is not None and (
            isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1
        ):
            raise JbertError(
                f"num_layers must be a positive int or None, got {num_layers!r}; pass the "
                "encoder's num_hidden_layers or None to count the layer_{i} variables"
            )
        self.num_layers = num_layers

    def uses_weight_decay(self, path: str) -> bool:
        """Whether the variable at `path` is decayed (Google's ``_do_use_weight_decay``)."""
        if not self.weight_decay_rate:
            return False
        return not any(re.search(p, path) for p in self.weight_decay_exclusions)

    def build(self, var_list):
        """Create ``adam_m`` and ``adam_v`` for every variable; fix each one's decay and rate."""
        if self.built:
            return
        super().build(var_list)
        self._adam_m, self._adam_v = self.add_optimizer_variables(var_list, ["adam_m", "adam_v"])
        paths = [getattr(v, "path", v.name) for v in var_list]
        self._decays = tuple(self.uses_weight_decay(p) for p in paths)
        if self.layerwise_lr_decay is None:
            self._lr_multipliers = (1.0,) * len(paths)
        else:
            self._lr_multipliers = tuple(
                layerwise_lr_multipliers(paths, self.layerwise_lr_decay, self.num_layers)
            )

    def update_step(self, gradient, variable, learning_rate):
        """One variable's update, Google's formula in Google's order."""
        index = self._get_variable_index(variable)
        m, v = self._adam_m[index], self._adam_v[index]
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        next_m = ops.add(ops.multiply(m, self.beta_1), ops.multiply(gradient, 1.0 - self.beta_1))
        next_v = ops.add(
            ops.multiply(v, self.beta_2), ops.multiply(ops.square(gradient), 1.0 - self.beta_2)
        )
        update = ops.divide(next_m, ops.add(ops.sqrt(next_v), self.epsilon))
        if self._decays[index]:
            update = ops.add(update, ops.multiply(variable, self.weight_decay_rate))
        lr = ops.cast(learning_rate, dtype)
        if self._lr_multipliers[index] != 1.0:
            lr = ops.multiply(lr, self._lr_multipliers[index])
        self.assign(m, next_m)
        self.assign(v, next_v)
        self.assign_sub(variable, ops.multiply(lr, update))

    def _backend_apply_gradients(self, grads, trainable_variables):
        """Sum the dense gradients over replicas first, then update (or accumulate).

        Google clips the whole batch's dense gradient with ``tf.clip_by_global_norm``; Keras clips
        each replica's gradient before summing them and takes the norm of an embedding gradient
        over its sparse rows. Summing here, before clipping, gives Google's norm, and the
        accumulators (dense, equal on every replica) then hold the whole batch's gradient, so a
        checkpoint taken between updates holds everything. `_all_reduce_sum_gradients`
        (TensorFlow's later sum) passes the result through.
        """
        grads = _sum_over_replicas([_dense(g) for g in grads])
        if self.gradient_accumulation_steps and keras.backend.backend() == "tensorflow":
            self._accumulate_tf(grads, trainable_variables)
        else:
            super()._backend_apply_gradients(grads, trainable_variables)

    def _accumulate_tf(self, grads, variables) -> None:
        """Add `grads` to the accumulators, or (every k-th call) apply their clipped mean.

        Keras's own accumulation branches in the replica context around steps that call
        ``merge_call``, which `tf.distribute.MirroredStrategy` refuses; here the mean is
        clipped in the replica context (the gradients are already summed over replicas) and the
        branch runs in the cross-replica context, where variables are updated without
        ``merge_call``, as `keras.optimizers.LossScaleOptimizer` does.
        """
        tf = tensorflow()
        steps = self.gradient_accumulation_steps
        accumulators = [self._accumulated_gradients[self._get_variable_index(v)] for v in variables]
        totals = [ops.add(a.value, g) for a, g in zip(accumulators, grads, strict=True)]
        mean = self._clip_gradients([ops.divide(t, steps) for t in totals])

        def branch(distribution, totals, mean, learning_rate):
            def assign(variable, value):
                variable.assign(value)

            def update():
                pairs = [(g, v.value) for g, v in zip(mean, variables, strict=True)]
                self._distributed_tf_update_step(distribution, pairs, learning_rate)
                for accumulator in accumulators:
                    zeros = tf.zeros(accumulator.shape, accumulator.dtype)
                    distribution.extended.update(
                        accumulator.value, assign, args=(zeros,), group=False
                    )

            def accumulate():
                for accumulator, total in zip(accumulators, totals, strict=True):
                    distribution.extended.update(
                        accumulator.value, assign, args=(total,), group=False
                    )

            is_update = tf.equal(tf.math.floormod(self._iterations + 1, steps), 0)
            tf.cond(is_update, update, accumulate)

        tf.__internal__.distribute.interim.maybe_merge_call(
            branch, self._distribution_strategy, totals, mean, self.learning_rate
        )

    def _all_reduce_sum_gradients(self, grads_and_vars):
        """The gradients were summed over replicas in `_backend_apply_gradients`."""
        return grads_and_vars

    def _uses_kernels(self) -> bool:
        """Whether clipping and the update run on TensorFlow's fused kernels (`fused_update`):
        on TensorFlow, with one copy of each variable."""
        return keras.backend.backend() == "tensorflow" and one_device(
            self._distribution_strategy, []
        )

    def _clip_gradients(self, grads):
        """Google's global-norm clipping; on the kernels, one multiply per gradient that also
        applies the kernel's `second_moment_scale`. The gradients are dense already
        (`_backend_apply_gradients`)."""
        if not (self.global_clipnorm and self._uses_kernels()):
            return super()._clip_gradients(grads)
        return clip_by_global_norm(grads, self.global_clipnorm, self.beta_2)

    def _distributed_tf_update_step(self, distribution, grads_and_vars, learning_rate):
        """TensorFlow's update of all variables: its fused Adam kernel where each variable has
        one copy (`fused_update`), else Keras' variable-by-variable `update_step`."""
        variables = [v for _, v in grads_and_vars]
        if not one_device(distribution, variables):
            return super()._distributed_tf_update_step(distribution, grads_and_vars, learning_rate)
        indices = [self._get_variable_index(v) for v in variables]
        apply_adam_weight_decay(
            [g for g, _ in grads_and_vars],
            variables,
            [self._adam_m[i].value for i in indices],
            [self._adam_v[i].value for i in indices],
            learning_rate,
            decays=[self._decays[i] for i in indices],
            lr_multipliers=[self._lr_multipliers[i] for i in indices],
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            weight_decay_rate=self.weight_decay_rate,
            grads_scaled=bool(self.global_clipnorm),
        )

    def _get_current_learning_rate(self):
        """The schedule at the number of updates (Keras passes it the number of calls)."""
        if isinstance(self._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            return self._learning_rate(self.iterations)
        return super()._get_current_learning_rate()

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Not used here: exclusions are the constructor's `exclude_from_weight_decay` patterns."""
        raise JbertError(
            "AdamWeightDecay takes its weight-decay exclusions at construction: pass "
            "exclude_from_weight_decay=(patterns matched against variable.path)"
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "weight_decay_rate": self.weight_decay_rate,
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "exclude_from_weight_decay": list(self.weight_decay_exclusions),
                "layerwise_lr_decay": self.layerwise_lr_decay,
                "num_layers": self.num_layers,
                "gradient_accumulation_steps": check_accumulation_steps(
                    self.gradient_accumulation_steps
                ),
            }
        )
        return config


def create_optimizer(
    learning_rate: float,
    num_train_steps: int,
    num_warmup_steps: int,
    weight_decay: float = 0.01,
    layerwise_lr_decay: float | None = None,
    num_layers: int | None = None,
    clip_norm: float | None = 1.0,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
    exclude_from_weight_decay: Sequence[str] = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
    gradient_accumulation_steps: int = 1,
) -> keras.optimizers.Optimizer:
    """Google's fine-tuning optimizer: `AdamWeightDecay` on `WarmupLinearDecay`, gradients
    clipped to a global norm of `clip_norm`; `layerwise_lr_decay` adds ELECTRA's per-layer rates.
    With `gradient_accumulation_steps` k, `num_train_steps` and `num_warmup_steps` count
    updates (each made of k batches), as they would for one batch k times as large.
    """
    schedule = WarmupLinearDecay(learning_rate, num_train_steps, num_warmup_steps)
    return AdamWeightDecay(
        learning_rate=schedule,
        weight_decay_rate=weight_decay,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        exclude_from_weight_decay=exclude_from_weight_decay,
        layerwise_lr_decay=layerwise_lr_decay,
        num_layers=num_layers,
        global_clipnorm=clip_norm,
        gradient_accumulation_steps=gradient_accumulation_steps,
    )
