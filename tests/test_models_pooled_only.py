"""`pooled_only=True` (what sentence classifiers call): the last block computes only [CLS], and
the pooled output and its gradients equal the full encoder's."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from jbert_tf2 import BertConfig, BertModel, ElectraModel
from jbert_tf2.backend import keras

TINY = dict(
    vocab_size=50,
    hidden_size=16,
    num_hidden_layers=3,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=32,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)


def _inputs():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 50, (3, 11))
    mask = np.ones((3, 11), np.int32)
    mask[1, 7:] = 0  # padding must not reach [CLS] in either path
    mask[2, 3:] = 0
    return {
        "input_ids": tf.constant(ids, tf.int32),
        "input_mask": tf.constant(mask),
        "segment_ids": tf.constant((np.arange(11) > 5).astype(np.int32)[None].repeat(3, 0)),
    }


@pytest.mark.parametrize("cls", [BertModel, ElectraModel])
def test_pooled_only_equals_the_full_pooled_output_and_its_gradients(cls):
    keras.utils.set_random_seed(1)
    model = cls(BertConfig(**TINY, model_type="electra" if cls is ElectraModel else "bert"))
    x = _inputs()

    def pooled(pooled_only):
        with tf.GradientTape() as tape:
            out = model(x, training=True, pooled_only=pooled_only)
            loss = tf.reduce_sum(out["pooled_output"] * tf.range(16, dtype=tf.float32))
        return out, tape.gradient(loss, model.trainable_variables)

    full, full_grads = pooled(False)
    short, short_grads = pooled(True)
    assert set(short) == {"pooled_output"}
    np.testing.assert_allclose(short["pooled_output"], full["pooled_output"], atol=1e-6)
    assert np.abs(full["pooled_output"]).max() > 0.1
    for a, b in zip(short_grads, full_grads, strict=True):
        np.testing.assert_allclose(
            tf.convert_to_tensor(a), tf.convert_to_tensor(b), rtol=1e-5, atol=1e-6
        )


def test_pooled_only_still_returns_every_layer_when_asked_for():
    model = BertModel(BertConfig(**TINY), output_hidden_states=True)
    out = model(_inputs(), pooled_only=True)
    assert out["sequence_output"].shape == (3, 11, 16)
    assert len(out["hidden_states"]) == TINY["num_hidden_layers"] + 1
