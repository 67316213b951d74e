"""Google's AdamW update and global-norm clipping with TensorFlow's fused kernels.

Keras updates a variable with a chain of a dozen element-wise ops, each a full pass over the
tensor, and clips by squaring every gradient into a copy: on BERT-base (110M parameters) that
is several hundred milliseconds of each training step on 2 CPU cores. TensorFlow's own kernels
do the same arithmetic in fewer passes: ``ResourceApplyAdam`` (with its bias-correction powers
set to 0 it is Google's update without bias correction), one multiply for the decoupled weight
decay, and ``tf.clip_by_global_norm`` (a fused sum of squares per gradient). Measured against
XLA-compiling the update, the kernels were faster and need no compilation before the first step
(docs/performance.md, "Training: where the time went").

The kernel computes ``1 - beta_2`` in float32 (0.00099998713 for 0.999) where Google multiplies
by ``1 - beta_2`` taken in double (0.001): the second moment would run 1.3e-5 low. The kernel
is therefore given the gradient times ``s = sqrt(0.001 / 0.00099998713)`` and the learning rate
over ``s``: ``v`` is then Google's, ``m`` is ``s`` times Google's (6.4e-6 high) and the update
``lr / s * s m / (sqrt(v) + epsilon)`` is Google's, all up to float32 rounding.

JAX compiles the whole training step already, so this is for the TensorFlow backend only, and
only where every variable lives on one device (no mirrored or TPU replicas).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from jbert_tf2.backend import tensorflow


def one_device(distribution, variables: Sequence) -> bool:
    """Whether `distribution` keeps one plain copy of each of `variables`: TensorFlow's default
    strategy or a `OneDeviceStrategy` (any other strategy, even with one replica, may wrap its
    variables, so it keeps Keras' update)."""
    tf = tensorflow()
    plain = isinstance(distribution, tf.distribute.OneDeviceStrategy) or (
        type(distribution).__name__ == "_DefaultDistributionStrategy"
    )
    return plain and not any(isinstance(v, tf.distribute.DistributedValues) for v in variables)


def apply_adam_weight_decay(
    grads: Sequence,
    variables: Sequence,
    ms: Sequence,
    vs: Sequence,
    learning_rate,
    decays: Sequence[bool],
    lr_multipliers: Sequence[float],
    beta_1: float,
    beta_2: float,
    epsilon: float,
    weight_decay_rate: float,
    grads_scaled: bool = False,
) -> None:
    """Update each ``variables[i]`` (and its moments ``ms[i]``, ``vs[i]``) with ``grads[i]``:
    ``param -= lr * (m / (sqrt(v) + epsilon) + decay * param)``, Google's formula, the decay
    applied to the parameter before the Adam step (the same value up to rounding).
    ``grads_scaled``: the gradients already carry `second_moment_scale` (`clip_by_global_norm`
    multiplies them by it, saving a pass over every gradient)."""
    tf = tensorflow()
    scale = second_moment_scale(beta_2)
    constants = {}
    for grad, variable, m, v, decay, multiplier in zip(
        grads, variables, ms, vs, decays, lr_multipliers, strict=True
    ):
        dtype = variable.dtype
        if dtype not in constants:
            constants[dtype] = {
                "lr": tf.cast(learning_rate, dtype),
                "zero": tf.constant(0.0, dtype),
                "beta_1": tf.constant(beta_1, dtype),
                "beta_2": tf.constant(beta_2, dtype),
                "epsilon": tf.constant(epsilon, dtype),
            }
        const = constants[dtype]
        lr = const["lr"] if multiplier == 1.0 else const["lr"] * multiplier
        if decay:
            variable.assign_sub(variable * (lr * weight_decay_rate))
        grad = tf.cast(grad, dtype)
        if scale != 1.0:
            lr = lr / scale
            if not grads_scaled:
                grad = grad * scale
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=m.handle,
            v=v.handle,
            beta1_power=const["zero"],
            beta2_power=const["zero"],
            lr=lr,
            beta1=const["beta_1"],
            beta2=const["beta_2"],
            epsilon=const["epsilon"],
            grad=grad,
        )


def second_moment_scale(beta_2: float) -> float:
    """``sqrt(c / c_kernel)``: ``c`` is Google's ``1 - beta_2`` (double, then float32),
    ``c_kernel`` the kernel's float32 ``1 - float32(beta_2)``; 1.0 when they agree."""
    google = float(np.float32(1.0 - beta_2))
    kernel = 1.0 - float(np.float32(beta_2))
    return 1.0 if kernel == google or kernel == 0.0 else math.sqrt(google / kernel)


def clip_by_global_norm(grads: Sequence, clip_norm: float, beta_2: float) -> list:
    """`grads` scaled to a global norm of at most `clip_norm` (NaN where the norm is not finite),
    as Google's ``tf.clip_by_global_norm``, and by `second_moment_scale` in the same multiply
    (for `apply_adam_weight_decay` with ``grads_scaled=True``)."""
    tf = tensorflow()
    grads = list(grads)
    norm = tf.linalg.global_norm(grads)
    factor = clip_norm * tf.minimum(1.0 / norm, 1.0 / clip_norm) + (norm - norm)
    factor = factor * second_moment_scale(beta_2)
    return [g * tf.cast(factor, g.dtype) for g in grads]
