"""The TensorFlow optimizer's fused update (one XLA function for every variable) against Keras'
variable-by-variable update of the same `AdamWeightDecay`, and where each is used."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import jbert_tf2.training.optimizer as optimizer_module
from jbert_tf2 import BertConfig, BertModel
from jbert_tf2.backend import keras
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
    return before, [v.numpy() for v in variables], optimizer


@pytest.mark.parametrize("layerwise_lr_decay", [None, 0.8])
def test_fused_update_equals_the_variable_by_variable_update(monkeypatch, layerwise_lr_decay):
    before, fused, opt_fused = _one_update(True, monkeypatch, layerwise_lr_decay)
    _, plain, opt_plain = _one_update(False, monkeypatch, layerwise_lr_decay)
    assert len(opt_fused._fused_updates) == 1 and not opt_plain._fused_updates
    moved = max(np.abs(a - b).max() for a, b in zip(fused, before, strict=True))
    assert moved > 1e-3
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for slot in ("_adam_m", "_adam_v"):
        for a, b in zip(getattr(opt_fused, slot), getattr(opt_plain, slot), strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-12)


def test_default_strategy_uses_the_fused_update_and_replicas_do_not():
    """Replicated variables (MirroredStrategy, TPUs) keep Keras' update; the optimizer's
    MirroredStrategy run is checked against Google's formula in test_training_optimizer.py."""
    from types import SimpleNamespace

    from jbert_tf2.training.fused_update import one_device

    variables = [tf.Variable(1.0)]
    assert one_device(tf.distribute.get_strategy(), variables)
    assert not one_device(SimpleNamespace(num_replicas_in_sync=2), variables)
