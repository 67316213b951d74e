"""Google's AdamW update of every variable in one XLA-compiled function, on TensorFlow.

Keras updates one variable at a time with a chain of a dozen element-wise ops, each a full pass
over the tensor: on BERT-base (110M parameters) that is about 280 ms of a training step on 2 CPU
cores, as much as a tenth of the step. XLA fuses each variable's chain into one loop, about
50-70 ms (docs/performance.md, "Training: where the time went"). The formula and its order are
`AdamWeightDecay.update_step`'s; only the number of passes over memory changes.

JAX compiles the whole training step already, so this is for the TensorFlow backend only, and
only where every variable lives on one device (no mirrored or TPU replicas).
"""

from __future__ import annotations

from collections.abc import Sequence

from jbert_tf2.backend import tensorflow


def one_device(distribution, variables: Sequence) -> bool:
    """Whether `distribution` keeps one plain copy of each of `variables` (the default strategy
    or a one-device one), so one function can update them all."""
    tf = tensorflow()
    return distribution.num_replicas_in_sync == 1 and not any(
        isinstance(v, tf.distribute.DistributedValues) for v in variables
    )


def fused_adam_update(
    decays: Sequence[bool],
    lr_multipliers: Sequence[float],
    beta_1: float,
    beta_2: float,
    epsilon: float,
    weight_decay_rate: float,
):
    """A compiled ``update(grads, variables, ms, vs, learning_rate)`` for variables whose
    weight-decay flags and learning-rate factors are `decays` and `lr_multipliers`, in order."""
    tf = tensorflow()

    @tf.function(jit_compile=True, autograph=False)
    def update(grads, variables, ms, vs, learning_rate):
        for i, (grad, variable, m, v) in enumerate(zip(grads, variables, ms, vs, strict=True)):
            dtype = variable.dtype
            grad = tf.cast(grad, dtype)
            next_m = m * beta_1 + grad * (1.0 - beta_1)
            next_v = v * beta_2 + tf.square(grad) * (1.0 - beta_2)
            step = next_m / (tf.sqrt(next_v) + epsilon)
            if decays[i]:
                step = step + variable * weight_decay_rate
            lr = tf.cast(learning_rate, dtype)
            if lr_multipliers[i] != 1.0:
                lr = lr * lr_multipliers[i]
            m.assign(next_m)
            v.assign(next_v)
            variable.assign_sub(lr * step)

    return update


def fused_clip_by_global_norm(clip_norm: float):
    """A compiled ``clip(grads)``: `grads` scaled to a global norm of at most `clip_norm`
    (``tf.clip_by_global_norm``'s rule, NaN where the norm is not finite), reading each gradient
    once for the norm and once to scale it; Keras' clipping makes a squared copy of each."""
    tf = tensorflow()

    @tf.function(jit_compile=True, autograph=False)
    def clip(grads):
        norm = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g)) for g in grads]))
        scale = clip_norm * tf.minimum(1.0 / norm, 1.0 / clip_norm) + (norm - norm)
        return [g * tf.cast(scale, g.dtype) for g in grads]

    return clip
