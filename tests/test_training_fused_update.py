"""The TensorFlow optimizer's fused kernels (``ResourceApplyAdam``, ``tf.clip_by_global_norm``)
against Keras' variable-by-variable update of the same `AdamWeightDecay`, and where each is used."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import jbert_tf2.training.optimizer as optimizer_module
from jbert_tf2 import BertConfig, BertModel
from jbert_tf2.backend import keras
from jbert_tf2.training.fused_update import second_moment_scale
from jbert_tf2.training.optimizer import create_optimizer

TINY = dict(
    vocab_size=40,
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=16,
)


def _one_update(fused: bool, monkeypatch, layerwise_lr_decay=None):
    """The encoder's weights after two updates with fixed gradients, and the optimizer."""
    monkeypatch.setattr(optimizer_module, "one_device", lambda *a: fused)
    calls = []
    kernel_update = optimizer_module.apply_adam_weight_decay

    def counted(*args, **kwargs):
        calls.append(len(args[1]))
        return kernel_update(*args, **kwargs)

    monkeypatch.setattr(optimizer_module, "apply_adam_weight_decay", counted)
    keras.utils.set_random_seed(3)
    model = BertModel(BertConfig(**TINY))
    model.build()
    variables = model.trainable_variables
    rng = np.random.default_rng(0)
    grads = [tf.constant(rng.normal(0, 0.5, v.shape), tf.float32) for v in variables]
    # A learning rate this large makes each update visible far above float noise.
    optimizer = create_optimizer(
        1e-2, 10, 0, weight_decay=0.05, layerwise_lr_decay=layerwise_lr_decay, clip_norm=1.0
    )
    before = [v.numpy().copy() for v in variables]

    @tf.function
    def apply():
        optimizer.apply(grads, variables)

    apply()
    apply()
    norm = np.sqrt(sum(float(tf.reduce_sum(g * g)) for g in grads))
    assert norm > 10.0  # clipping to 1.0 matters
    optimizer.kernel_calls = calls
    return before, [v.numpy() for v in variables], optimizer


@pytest.mark.parametrize("layerwise_lr_decay", [None, 0.8])
def test_fused_update_equals_the_variable_by_variable_update(monkeypatch, layerwise_lr_decay):
    before, fused, opt_fused = _one_update(True, monkeypatch, layerwise_lr_decay)
    _, plain, opt_plain = _one_update(False, monkeypatch, layerwise_lr_decay)
    # Traced inside the tf.function for every variable at once; never on the other path.
    assert opt_fused.kernel_calls and set(opt_fused.kernel_calls) == {len(fused)}
    assert opt_plain.kernel_calls == []
    moved = max(np.abs(a - b).max() for a, b in zip(fused, before, strict=True))
    assert moved > 1e-3
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # The kernel keeps v as Google does and m times the scale that corrects its float32
    # ``1 - beta_2`` (6.4e-6 for 0.999; see jbert_tf2/training/fused_update.py).
    scale = second_moment_scale(0.999)
    assert 1.000006 < scale < 1.000007
    for slot, factor in (("_adam_m", scale), ("_adam_v", 1.0)):
        for a, b in zip(getattr(opt_fused, slot), getattr(opt_plain, slot), strict=True):
            np.testing.assert_allclose(a.numpy(), factor * b.numpy(), rtol=1e-6, atol=1e-12)


def test_default_and_one_device_strategies_use_the_kernels_and_replicas_do_not():
    """Replicated variables (MirroredStrategy, TPUs) keep Keras' update; the optimizer's
    MirroredStrategy run is checked against Google's formula in test_training_optimizer.py."""
    from jbert_tf2.training.fused_update import one_device

    variables = [tf.Variable(1.0)]
    assert one_device(tf.distribute.get_strategy(), variables)
    assert one_device(tf.distribute.OneDeviceStrategy("/cpu:0"), variables)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0"])
    assert mirrored.num_replicas_in_sync == 1
    with mirrored.scope():
        assert not one_device(tf.distribute.get_strategy(), [tf.Variable(1.0)])
    assert not one_device(mirrored, variables)
