"""Pretraining losses against a hand computation, and saving as a model directory."""

import numpy as np
import pytest

import jbert_tf2
from jbert_tf2 import BertConfig
from jbert_tf2.backend import keras
from jbert_tf2.pretraining.pretrainers import BertPretrainer, ElectraPretrainer

CONFIG = BertConfig(
    vocab_size=50,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=32,
)


def _log_softmax(x):
    x = x.astype(np.float64)
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _batch(seed=0, batch=3, length=12, predictions=4):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 50, (batch, length)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[0, 9:] = 0
    ids[0, 9:] = 0
    positions = np.stack(
        [rng.choice(np.arange(1, 8), predictions, replace=False) for _ in range(batch)]
    ).astype(np.int32)
    weights = np.ones((batch, predictions), np.float32)
    weights[1, 3] = 0.0  # a padding prediction
    return {
        "input_ids": ids,
        "input_mask": mask,
        "segment_ids": np.zeros_like(ids),
        "masked_lm_positions": positions,
        "masked_lm_ids": rng.integers(5, 50, (batch, predictions)).astype(np.int32),
        "masked_lm_weights": weights,
        "next_sentence_labels": np.array([[0], [1], [0]], np.int32),
    }


def test_bert_losses_equal_googles_formula():
    keras.utils.set_random_seed(0)
    pretrainer = BertPretrainer(CONFIG)
    batch = _batch()
    outputs = pretrainer(batch)
    loss = float(pretrainer.compute_loss(x=batch, y_pred=outputs))
    full = pretrainer.model({k: batch[k] for k in ("input_ids", "input_mask", "segment_ids")})
    mlm = np.asarray(full["mlm_logits"])
    rows = np.arange(3)[:, None]
    log_probs = _log_softmax(mlm[rows, batch["masked_lm_positions"]])
    nll = -np.take_along_axis(log_probs, batch["masked_lm_ids"][..., None], -1)[..., 0]
    w = batch["masked_lm_weights"]
    expected_mlm = (nll * w).sum() / (w.sum() + 1e-5)
    nsp = _log_softmax(np.asarray(full["nsp_logits"]))
    expected_nsp = -nsp[np.arange(3), batch["next_sentence_labels"][:, 0]].mean()
    assert loss == pytest.approx(expected_mlm + expected_nsp, rel=1e-5)


def test_electra_replaced_labels_and_losses():
    keras.utils.set_random_seed(1)
    config = CONFIG.replace(
        model_type="electra", embedding_size=16, hidden_size=64, intermediate_size=128
    )
    pretrainer = ElectraPretrainer(config, generator_hidden_size=0.5, seed=3)
    batch = _batch(seed=2)
    out = {k: np.asarray(v) for k, v in pretrainer(batch).items()}
    # Replaced = a masked position whose sample differs from the original token; else 0.
    labels = out["is_replaced"]
    unmasked = np.ones_like(labels, bool)
    for b in range(3):
        for p, pos in enumerate(batch["masked_lm_positions"][b]):
            if batch["masked_lm_weights"][b, p] > 0:
                unmasked[b, pos] = False
    assert not labels[unmasked].any()
    assert 0 < labels.sum() <= (batch["masked_lm_weights"] > 0).sum()
    # Hand computation on the outputs of one call (each call samples anew).
    out = {k: np.asarray(v) for k, v in pretrainer(batch).items()}
    gen = _log_softmax(out["mlm_logits"])
    nll = -np.take_along_axis(gen, batch["masked_lm_ids"][..., None], -1)[..., 0]
    w = batch["masked_lm_weights"]
    gen_loss = (nll * w).sum() / (w.sum() + 1e-5)
    z, y, m = out["disc_logits"].astype(np.float64), out["is_replaced"], batch["input_mask"]
    per = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    disc_loss = (per * m).sum() / (m.sum() + 1e-6)
    value = float(pretrainer.compute_loss(x=batch, y_pred={k: v for k, v in out.items()}))
    assert value == pytest.approx(gen_loss + 50 * disc_loss, rel=1e-5)


def test_saved_pretrainers_load_and_convert_to_tf1(tmp_path):
    from jbert_tf2.cli.convert import main as convert

    keras.utils.set_random_seed(0)
    bert = BertPretrainer(CONFIG)
    bert.build()
    out = bert.save_pretrained(tmp_path / "bert")
    loaded = jbert_tf2.load_pretraining(out)
    batch = _batch()
    inputs = {k: batch[k] for k in ("input_ids", "input_mask", "segment_ids")}
    np.testing.assert_allclose(
        np.asarray(loaded(inputs)["nsp_logits"]),
        np.asarray(bert.model(inputs)["nsp_logits"]),
        atol=1e-6,
    )
    assert convert([str(out), "--to", "tf1", "-o", str(tmp_path / "tf1")]) == 0
    assert convert([str(tmp_path / "tf1"), "-o", str(tmp_path / "back")]) == 0

    electra = ElectraPretrainer(
        CONFIG.replace(model_type="electra", hidden_size=64, intermediate_size=128), 0.5
    )
    electra.build()
    out = electra.save_pretrained(tmp_path / "electra")
    disc = jbert_tf2.load_pretraining(out)
    gen = jbert_tf2.load_generator(out)
    np.testing.assert_allclose(
        np.asarray(disc(inputs)["discriminator_logits"]),
        np.asarray(electra.discriminator(inputs)["discriminator_logits"]),
        atol=1e-6,
    )
    assert np.asarray(gen(inputs)["generator_logits"]).shape == (3, 12, 50)
    assert convert([str(out), "--to", "tf1", "-o", str(tmp_path / "etf1")]) == 0
    assert convert([str(tmp_path / "etf1"), "-o", str(tmp_path / "eback")]) == 0
    again = jbert_tf2.load_pretraining(tmp_path / "eback")
    np.testing.assert_allclose(
        np.asarray(again(inputs)["discriminator_logits"]),
        np.asarray(disc(inputs)["discriminator_logits"]),
        atol=1e-6,
    )
