"""Compiled, shape-bucketed inference gives the eager model's outputs with few compilations."""

from __future__ import annotations

import numpy as np
import pytest
import tf1_fixtures as fx

from jbert_tf2 import BertConfig, BertPretrainingModel, JbertError
from jbert_tf2.inference import CompiledPredictor, bucket

CONFIG = BertConfig(
    vocab_size=60,
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=24,
    max_position_embeddings=64,
)


def _batch(rows, width, longest, seed):
    batch = fx.random_batch(CONFIG.vocab_size, width, seed=seed)
    ids = np.resize(batch["input_ids"], (rows, width))
    mask = np.zeros((rows, width), np.int32)
    lengths = np.random.default_rng(seed).integers(1, longest + 1, size=rows)
    lengths[0] = longest
    for row, n in enumerate(lengths):
        mask[row, :n] = 1
    return {"input_ids": ids * mask, "input_mask": mask, "segment_ids": np.zeros_like(ids)}


@pytest.mark.slow
def test_bucketed_outputs_equal_the_eager_model_at_valid_positions():
    model = BertPretrainingModel(CONFIG, output_hidden_states=True)
    predict = CompiledPredictor(model, length_buckets=(8, 16, 32))
    shapes = [(3, 48, 5), (5, 48, 7), (2, 48, 12), (4, 48, 30), (3, 48, 6)]
    for i, (rows, width, longest) in enumerate(shapes):
        batch = _batch(rows, width, longest, seed=i)
        got = predict(batch)
        want = model(batch)
        valid = batch["input_mask"].astype(bool)
        assert got["sequence_output"].shape == (rows, width, 16)
        np.testing.assert_allclose(
            got["sequence_output"][valid], np.asarray(want["sequence_output"])[valid], atol=1e-5
        )
        np.testing.assert_allclose(got["nsp_logits"], want["nsp_logits"], atol=1e-5)
        np.testing.assert_allclose(
            got["mlm_logits"][valid], np.asarray(want["mlm_logits"])[valid], atol=1e-4
        )
        assert len(got["hidden_states"]) == 3
        trimmed = bucket(longest, (8, 16, 32))  # dynamic padding: only this much was computed
        assert not got["sequence_output"][:, trimmed:].any()
    # lengths 5, 7, 6 -> 8; 12 -> 16; 30 -> 32; batch sizes 3, 5 -> 4, 8; 2 -> 2; 4 -> 4
    assert predict.traces == 4  # (4, 8), (8, 8), (2, 16), (4, 32): reused, not one per batch


def test_bad_inputs_are_explained():
    predict = CompiledPredictor(BertPretrainingModel(CONFIG))
    with pytest.raises(JbertError, match="input_ids"):
        predict({"ids": np.zeros((1, 4), np.int32)})
    with pytest.raises(JbertError, match=r"\[batch, seq\]"):
        predict({"input_ids": np.zeros((4,), np.int32)})
