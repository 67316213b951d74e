"""Model behaviour beyond parity: input forms, masking, precision policies, jit, config round trip."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tf1_fixtures as fx

from jbert_tf2 import (
    BertConfig,
    BertModel,
    BertPretrainingModel,
    ElectraDiscriminator,
    ElectraGenerator,
    ElectraModel,
    JbertError,
)

CONFIG = BertConfig(
    vocab_size=60,
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=24,
    max_position_embeddings=12,
    hidden_act="gelu_approx",
)


def test_defaults_for_mask_and_segments():
    keras.utils.set_random_seed(0)
    model = BertModel(CONFIG)
    ids = np.array([[2, 7, 9, 3]], dtype=np.int32)
    full = model(
        {"input_ids": ids, "input_mask": np.ones_like(ids), "segment_ids": np.zeros_like(ids)}
    )
    bare = model(ids)
    np.testing.assert_allclose(bare["sequence_output"], full["sequence_output"], atol=1e-6)


def test_padding_does_not_change_valid_positions():
    keras.utils.set_random_seed(1)
    model = BertModel(CONFIG)
    ids = np.array([[2, 7, 9, 3]], dtype=np.int32)
    short = model({"input_ids": ids, "input_mask": np.ones_like(ids)})["sequence_output"]
    padded_ids = np.concatenate([ids, np.array([[5, 5, 5]], np.int32)], axis=1)
    mask = np.array([[1, 1, 1, 1, 0, 0, 0]], np.int32)
    long = model({"input_ids": padded_ids, "input_mask": mask})["sequence_output"]
    np.testing.assert_allclose(np.asarray(long)[:, :4], short, atol=1e-5)


def test_unknown_input_key_is_explained():
    model = BertModel(CONFIG)
    with pytest.raises(JbertError, match="attention_mask"):
        model(
            {"input_ids": np.zeros((1, 3), np.int32), "attention_mask": np.ones((1, 3), np.int32)}
        )


def test_too_long_input_is_explained():
    model = BertModel(CONFIG)
    with pytest.raises(JbertError, match="max_position_embeddings 12"):
        model(np.zeros((1, 13), np.int32))


def test_output_structure():
    model = BertModel(CONFIG, output_hidden_states=True, output_attentions=True)
    out = model(np.ones((3, 5), np.int32))
    assert len(out["hidden_states"]) == CONFIG.num_hidden_layers + 1
    assert len(out["attentions"]) == CONFIG.num_hidden_layers
    assert tuple(out["attentions"][0].shape) == (3, 4, 5, 5)
    assert tuple(out["pooled_output"].shape) == (3, 16)


def test_get_config_round_trip():
    model = ElectraModel(
        CONFIG.replace(model_type="electra", embedding_size=8), output_attentions=True
    )
    model.ensure_built()
    clone = ElectraModel.from_config(model.get_config())
    assert clone.config == model.config and clone.output_attentions
    clone.ensure_built()
    assert sorted(clone.canonical_weights()) == sorted(model.canonical_weights())
    assert "electra/embeddings_project/kernel" in clone.canonical_weights()


def test_generator_shares_embeddings_when_given():
    disc = ElectraDiscriminator(CONFIG.replace(model_type="electra", hidden_act="gelu"))
    disc.ensure_built()
    gen = ElectraGenerator(
        CONFIG.replace(
            model_type="electra",
            hidden_size=8,
            num_attention_heads=1,
            intermediate_size=32,
            embedding_size=16,
        ),
        embeddings=disc.encoder.embeddings,
    )
    gen.ensure_built()
    table_d = disc.canonical_weights()["electra/embeddings/word_embeddings"]
    table_g = gen.canonical_weights()["electra/embeddings/word_embeddings"]
    assert table_d is table_g
    assert "generator/embeddings_project/kernel" in gen.canonical_weights()


def _batch():
    return fx.random_batch(CONFIG.vocab_size, 10, seed=3)


def test_jit_compile_gives_same_results():
    keras.utils.set_random_seed(2)
    model = BertPretrainingModel(CONFIG, output_attentions=True)
    batch = _batch()
    eager = model(batch)
    compiled = tf.function(lambda b: model(b), jit_compile=True)(batch)
    for key in ("sequence_output", "pooled_output", "mlm_logits", "nsp_logits"):
        np.testing.assert_allclose(compiled[key], eager[key], atol=1e-5, err_msg=key)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_stays_close(policy):
    keras.utils.set_random_seed(3)
    reference = BertPretrainingModel(CONFIG)
    reference.ensure_built()
    weights = {k: np.asarray(v) for k, v in reference.canonical_weights().items()}
    batch = _batch()
    expected = reference(batch)
    keras.mixed_precision.set_global_policy(policy)
    model = BertPretrainingModel(CONFIG, output_attentions=True)
    for name, var in model.canonical_weights().items():
        assert var.dtype == "float32", name  # variables stay float32
        var.assign(weights[name])
    out = model(batch)
    assert out["attentions"][0].dtype == "float32"  # softmax in float32
    valid = batch["input_mask"].astype(bool)
    tol = 0.05 if policy == "mixed_bfloat16" else 0.01
    for key in ("sequence_output", "mlm_logits"):
        diff = np.abs(
            np.asarray(out[key], np.float32)[valid] - np.asarray(expected[key])[valid]
        ).max()
        assert diff < tol * max(1.0, np.abs(np.asarray(expected[key])).max()), (key, diff)


@pytest.mark.parametrize(
    "policy, tol", [("float32", 1e-5), ("mixed_bfloat16", 0.05), ("mixed_float16", 0.01)]
)
def test_fused_attention_path_matches_explicit_path(policy, tol):
    """Without attention probabilities requested, `keras.ops.dot_product_attention` computes
    the context; it must agree with the explicit softmax path (which the parity tests pin to
    HF) at float32 precision, and within the policy's tolerance under mixed precision."""
    keras.utils.set_random_seed(4)
    explicit = BertPretrainingModel(CONFIG, output_attentions=True)
    explicit.ensure_built()
    weights = {k: np.asarray(v) for k, v in explicit.canonical_weights().items()}
    batch = _batch()
    expected = explicit(batch)
    keras.mixed_precision.set_global_policy(policy)
    fused = BertPretrainingModel(CONFIG)
    for name, var in fused.canonical_weights().items():
        var.assign(weights[name])
    valid = batch["input_mask"].astype(bool)
    for run in (fused, tf.function(lambda b: fused(b), jit_compile=True)):
        out = run(batch)
        assert "attentions" not in out
        for key in ("sequence_output", "mlm_logits"):
            got = np.asarray(out[key], np.float32)[valid]
            want = np.asarray(expected[key])[valid]
            assert np.abs(got - want).max() <= tol * max(1.0, np.abs(want).max()), key
