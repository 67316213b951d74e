"""Parity of converted TF1 checkpoints with HF transformers' PyTorch models (independent code).

Each case builds a random HF model, writes it as a genuine TF1 checkpoint with Google's variable
names (tf.compat.v1 Saver, optimizer slots included), converts it with `jbert-convert`, and
compares every output at valid positions to 1e-5; then round-trips through `--to hf` and
`--to tf1`.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
import tf1_fixtures as fx
import torch
import transformers
from conversion_fixtures import close, convert

import jbert_tf2


def compare_encoder(out, ref, batch, hidden_states=True, attentions=True):
    """Sequence, pooled, all hidden states and attentions, at valid (query and key) positions."""
    valid = batch["input_mask"].astype(bool)
    close(out["sequence_output"], ref.hidden_states[-1], valid, "sequence_output")
    if hidden_states:
        assert len(out["hidden_states"]) == len(ref.hidden_states)
        for i, (a, b) in enumerate(zip(out["hidden_states"], ref.hidden_states, strict=True)):
            close(a, b, valid, f"hidden_states[{i}]")
    if attentions:
        assert len(out["attentions"]) == len(ref.attentions)
        pair = valid[:, None, :, None] & valid[:, None, None, :]
        for i, (a, b) in enumerate(zip(out["attentions"], ref.attentions, strict=True)):
            a, b = np.asarray(a), b.numpy()
            pair_full = np.broadcast_to(pair, a.shape)
            close(a, b, pair_full, f"attentions[{i}]")
            # probabilities: rows sum to one over valid keys, padded keys get nothing
            np.testing.assert_allclose(
                np.asarray(a).sum(-1)[np.broadcast_to(valid[:, None, :], a.shape[:3])], 1, atol=1e-5
            )


# ---------------------------------------------------------------- BERT


BERT_CASES = {
    # name: (hf config kwargs, how the config reaches the converter)
    "tanh-gelu-google-json": (
        dict(
            vocab_size=97,
            hidden_size=24,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=37,
            max_position_embeddings=16,
            hidden_act="gelu_new",
        ),
        "bert_config.json",
    ),
    "erf-gelu-yoheikikuta-ini-odd-heads": (
        dict(
            vocab_size=89,
            hidden_size=15,
            num_hidden_layers=3,
            num_attention_heads=3,
            intermediate_size=31,
            max_position_embeddings=12,
            type_vocab_size=3,
            hidden_act="gelu",
        ),
        "config.ini",
    ),
}


@pytest.fixture(scope="module", params=sorted(BERT_CASES))
def bert_case(request, tmp_path_factory):
    kwargs, config_kind = BERT_CASES[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=1, **kwargs)
    ckpt = tmp / "tf1" / "model.ckpt-1400000"
    fx.save_tf1_checkpoint(fx.with_optimizer_slots(fx.bert_variables(hf)), ckpt)
    if config_kind == "config.ini":
        fx.yoheikikuta_config_ini(hf.config, tmp / "tf1" / "config.ini")
    else:
        fx.google_bert_config(hf.config, tmp / "tf1" / "bert_config.json")
    (tmp / "tf1" / "vocab.txt").write_text(
        "\n".join(
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
            + [f"t{i}" for i in range(kwargs["vocab_size"] - 5)]
        )
        + "\n"
    )
    convert(ckpt, "-o", tmp / "jbert")
    return hf, tmp


def test_bert_outputs_match_hf(bert_case):
    hf, tmp = bert_case
    cfg = hf.config
    batch = fx.random_batch(cfg.vocab_size, cfg.max_position_embeddings, cfg.type_vocab_size)
    model = jbert_tf2.load(tmp / "jbert", output_hidden_states=True, output_attentions=True)
    assert isinstance(model, jbert_tf2.BertModel)
    out = model(batch)
    with torch.no_grad():
        ref = hf(**fx.torch_inputs(batch), output_hidden_states=True, output_attentions=True)
        pooled = hf.bert(**fx.torch_inputs(batch)).pooler_output
    compare_encoder(out, ref, batch)
    close(out["pooled_output"], pooled, what="pooled_output")


def test_bert_pretraining_heads_match_hf(bert_case):
    hf, tmp = bert_case
    cfg = hf.config
    batch = fx.random_batch(
        cfg.vocab_size, cfg.max_position_embeddings - 3, cfg.type_vocab_size, seed=5
    )
    model = jbert_tf2.load_pretraining(tmp / "jbert")
    assert isinstance(model, jbert_tf2.BertPretrainingModel)
    out = model(batch)
    with torch.no_grad():
        ref = hf(**fx.torch_inputs(batch))
    valid = batch["input_mask"].astype(bool)
    close(out["mlm_logits"], ref.prediction_logits, valid, "mlm_logits")
    close(out["nsp_logits"], ref.seq_relationship_logits, what="nsp_logits")


def test_bert_hidden_act_recorded(bert_case):
    hf, tmp = bert_case
    config = json.loads((tmp / "jbert" / "config.json").read_text())
    expected = {"gelu_new": "gelu_approx", "gelu": "gelu"}[hf.config.hidden_act]
    assert config["hidden_act"] == expected


def test_bert_to_hf_round_trip(bert_case):
    hf, tmp = bert_case
    out_dir = tmp / "hf"
    convert(tmp / "jbert", "-o", out_dir, "--to", "hf")
    loaded = transformers.BertForPreTraining.from_pretrained(
        out_dir, attn_implementation="eager"
    ).eval()
    cfg = hf.config
    batch = fx.random_batch(
        cfg.vocab_size, cfg.max_position_embeddings, cfg.type_vocab_size, seed=2
    )
    with torch.no_grad():
        ref = hf(**fx.torch_inputs(batch), output_hidden_states=True, output_attentions=True)
        got = loaded(**fx.torch_inputs(batch), output_hidden_states=True, output_attentions=True)
    valid = batch["input_mask"].astype(bool)
    close(got.prediction_logits, ref.prediction_logits, valid, "hf mlm_logits")
    close(got.seq_relationship_logits, ref.seq_relationship_logits, what="hf nsp_logits")
    for a, b in zip(got.hidden_states, ref.hidden_states, strict=True):
        close(a, b, valid, "hf hidden_states")
    assert (out_dir / "vocab.txt").is_file()
    # and back: HF directory -> jbert gives the same model
    convert(out_dir, "-o", tmp / "from_hf")
    again = jbert_tf2.load_pretraining(tmp / "from_hf")(batch)
    close(again["mlm_logits"], ref.prediction_logits, valid, "hf->jbert mlm_logits")


def test_bert_to_tf1_round_trip(bert_case):
    hf, tmp = bert_case
    out_dir = tmp / "tf1_out"
    convert(tmp / "jbert", "-o", out_dir, "--to", "tf1")
    original = tf.train.load_checkpoint(str(tmp / "tf1" / "model.ckpt-1400000"))
    written = tf.train.load_checkpoint(str(out_dir))
    model_vars = {
        n
        for n in original.get_variable_to_shape_map()
        if not n.endswith(("adam_m", "adam_v")) and n != "global_step"
    }
    assert set(written.get_variable_to_shape_map()) == model_vars
    for name in model_vars:
        np.testing.assert_array_equal(
            written.get_tensor(name), original.get_tensor(name), err_msg=name
        )
    # Google's scripts warm-start every variable with init_from_checkpoint(ckpt, {name: name})
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(0)  # a graph's own seed: the tests run with op determinism
        variables = {
            name: tf.compat.v1.get_variable(name, shape=original.get_tensor(name).shape)
            for name in sorted(model_vars)
        }
        tf.compat.v1.train.init_from_checkpoint(
            str(out_dir / "model.ckpt"), {name: name for name in variables}
        )
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            for name, var in variables.items():
                np.testing.assert_array_equal(session.run(var), original.get_tensor(name), name)
    google_config = json.loads((out_dir / "bert_config.json").read_text())
    assert google_config["hidden_size"] == hf.config.hidden_size
    assert google_config["hidden_act"] == "gelu"  # what Google's modeling.py accepts
    # converting the exported checkpoint again keeps the exact GELU flavour and the outputs
    convert(out_dir, "-o", tmp / "again")
    cfg = hf.config
    batch = fx.random_batch(cfg.vocab_size, cfg.max_position_embeddings, cfg.type_vocab_size)
    first = jbert_tf2.load_pretraining(tmp / "jbert")(batch)
    again = jbert_tf2.load_pretraining(tmp / "again")(batch)
    for key in ("sequence_output", "mlm_logits", "nsp_logits"):
        np.testing.assert_array_equal(np.asarray(again[key]), np.asarray(first[key]), err_msg=key)


# ---------------------------------------------------------------- ELECTRA


def _electra_pair(seed, disc_kwargs, gen_kwargs):
    disc = fx.hf_random_model(transformers.ElectraForPreTraining, seed=seed, **disc_kwargs)
    gen = fx.hf_random_model(transformers.ElectraForMaskedLM, seed=seed + 1, **gen_kwargs)
    with torch.no_grad():  # ELECTRA's generator shares the discriminator's embeddings
        gen.electra.embeddings.load_state_dict(disc.electra.embeddings.state_dict())
    return disc, gen


ELECTRA_CASES = {
    # embedding == hidden, no generator, no config file at all (Google's ELECTRA release)
    "disc-only-no-config": (
        dict(
            vocab_size=101,
            embedding_size=64,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=1,
            intermediate_size=128,
            max_position_embeddings=16,
            hidden_act="gelu",
        ),
        None,
        None,
    ),
    # Japanese-ELECTRA-like: embeddings_project, head size 26, a generator, config.json beside it
    "project-generator-head26": (
        dict(
            vocab_size=120,
            embedding_size=20,
            hidden_size=52,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=96,
            max_position_embeddings=16,
            hidden_act="gelu",
        ),
        dict(
            vocab_size=120,
            embedding_size=20,
            hidden_size=26,
            num_hidden_layers=2,
            num_attention_heads=1,
            intermediate_size=104,
            max_position_embeddings=16,
            hidden_act="gelu",
        ),
        "config.json",
    ),
}


@pytest.fixture(scope="module", params=sorted(ELECTRA_CASES))
def electra_case(request, tmp_path_factory):
    disc_kwargs, gen_kwargs, config_kind = ELECTRA_CASES[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    if gen_kwargs:
        disc, gen = _electra_pair(3, disc_kwargs, gen_kwargs)
    else:
        disc, gen = (
            fx.hf_random_model(transformers.ElectraForPreTraining, seed=3, **disc_kwargs),
            None,
        )
    ckpt = tmp / "tf1" / "model.ckpt-1000000"
    fx.save_tf1_checkpoint(fx.with_optimizer_slots(fx.electra_variables(disc, gen)), ckpt)
    if config_kind:
        fx.google_bert_config(disc.config, tmp / "tf1" / config_kind)
    convert(tmp / "tf1", "-o", tmp / "jbert")
    return disc, gen, tmp


def test_electra_outputs_match_hf(electra_case):
    disc, _, tmp = electra_case
    cfg = disc.config
    batch = fx.random_batch(cfg.vocab_size, cfg.max_position_embeddings)
    model = jbert_tf2.load(tmp / "jbert", output_hidden_states=True, output_attentions=True)
    assert isinstance(model, jbert_tf2.ElectraModel)
    out = model(batch)
    with torch.no_grad():
        ref = disc(**fx.torch_inputs(batch), output_hidden_states=True, output_attentions=True)
    compare_encoder(out, ref, batch)
    close(out["pooled_output"], ref.hidden_states[-1][:, 0], what="pooled_output = [CLS]")
    disc_model = jbert_tf2.load_pretraining(tmp / "jbert")
    valid = batch["input_mask"].astype(bool)
    close(disc_model(batch)["discriminator_logits"], ref.logits, valid, "discriminator_logits")


def test_electra_generator_matches_hf(electra_case):
    disc, gen, tmp = electra_case
    if gen is None:
        with pytest.raises(jbert_tf2.JbertError, match="no ELECTRA generator"):
            jbert_tf2.load_generator(tmp / "jbert")
        return
    batch = fx.random_batch(gen.config.vocab_size, 11, seed=7)
    model = jbert_tf2.load_generator(
        tmp / "jbert", output_hidden_states=True, output_attentions=True
    )
    out = model(batch)
    with torch.no_grad():
        ref = gen(**fx.torch_inputs(batch), output_hidden_states=True, output_attentions=True)
    valid = batch["input_mask"].astype(bool)
    compare_encoder(out, ref, batch)
    close(out["generator_logits"], ref.logits, valid, "generator_logits")


def test_electra_to_hf_round_trip(electra_case):
    disc, gen, tmp = electra_case
    out_dir = tmp / "hf"
    convert(tmp / "jbert", "-o", out_dir, "--to", "hf")
    batch = fx.random_batch(disc.config.vocab_size, disc.config.max_position_embeddings, seed=9)
    valid = batch["input_mask"].astype(bool)
    loaded = transformers.ElectraForPreTraining.from_pretrained(
        out_dir, attn_implementation="eager"
    ).eval()
    with torch.no_grad():
        close(
            loaded(**fx.torch_inputs(batch)).logits,
            disc(**fx.torch_inputs(batch)).logits,
            valid,
            "hf discriminator logits",
        )
    if gen is not None:
        loaded_gen = transformers.ElectraForMaskedLM.from_pretrained(
            out_dir / "generator", attn_implementation="eager"
        ).eval()
        with torch.no_grad():
            close(
                loaded_gen(**fx.torch_inputs(batch)).logits,
                gen(**fx.torch_inputs(batch)).logits,
                valid,
                "hf generator logits",
            )
    convert(out_dir, "-o", tmp / "from_hf")
    again = jbert_tf2.load_pretraining(tmp / "from_hf")(batch)
    with torch.no_grad():
        close(
            again["discriminator_logits"],
            disc(**fx.torch_inputs(batch)).logits,
            valid,
            "hf->jbert discriminator logits",
        )
    if gen is not None:
        regen = jbert_tf2.load_generator(tmp / "from_hf")(batch)
        with torch.no_grad():
            close(
                regen["generator_logits"],
                gen(**fx.torch_inputs(batch)).logits,
                valid,
                "hf->jbert generator logits",
            )


def test_electra_config_without_embedding_size(tmp_path):
    """Configs written from ELECTRA's BertConfig lack embedding_size; the weights say it."""
    kwargs = ELECTRA_CASES["project-generator-head26"][0]
    disc = fx.hf_random_model(transformers.ElectraForPreTraining, seed=8, **kwargs)
    ckpt = fx.save_tf1_checkpoint(fx.electra_variables(disc), tmp_path / "tf1" / "model.ckpt-5")
    config = fx.google_bert_config(disc.config, tmp_path / "tf1" / "bert_config.json")
    data = json.loads(config.read_text())
    del data["embedding_size"]
    config.write_text(json.dumps(data))
    assert "embedding_size" not in config.read_text()
    convert(ckpt, "-o", tmp_path / "jbert")
    batch = fx.random_batch(kwargs["vocab_size"], 8, seed=1)
    out = jbert_tf2.load_pretraining(tmp_path / "jbert")(batch)
    with torch.no_grad():
        ref = disc(**fx.torch_inputs(batch))
    close(out["discriminator_logits"], ref.logits, batch["input_mask"].astype(bool), "logits")


def test_electra_to_tf1_round_trip(electra_case):
    disc, gen, tmp = electra_case
    out_dir = tmp / "tf1_out"
    convert(tmp / "jbert", "-o", out_dir, "--to", "tf1")
    original = tf.train.load_checkpoint(str(tmp / "tf1" / "model.ckpt-1000000"))
    written = tf.train.load_checkpoint(str(out_dir / "model.ckpt"))
    model_vars = {
        n
        for n in original.get_variable_to_shape_map()
        if not n.endswith(("adam_m", "adam_v")) and n != "global_step"
    }
    assert set(written.get_variable_to_shape_map()) == model_vars
    for name in model_vars:
        np.testing.assert_array_equal(
            written.get_tensor(name), original.get_tensor(name), err_msg=name
        )
    # converting the written checkpoint again gives the same model
    convert(out_dir, "-o", tmp / "again")
    batch = fx.random_batch(disc.config.vocab_size, 9, seed=4)
    a = jbert_tf2.load(tmp / "jbert")(batch)["sequence_output"]
    b = jbert_tf2.load(tmp / "again")(batch)["sequence_output"]
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.slow
def test_bert_base_size_parity(tmp_path):
    """Full BERT-base shape with BERT's own 0.02 init: float32 error stays well under 1e-5
    through 12 layers and 128 positions."""
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=32000, hidden_act="gelu_new")
    config._attn_implementation = "eager"
    hf = transformers.BertForPreTraining(config).eval()
    with torch.no_grad():
        for name, param in hf.named_parameters():
            if "LayerNorm" in name or name.endswith("bias"):
                param.add_(torch.randn_like(param) * 0.05)
    ckpt = fx.save_tf1_checkpoint(fx.bert_variables(hf), tmp_path / "ckpt" / "bert_model.ckpt")
    fx.google_bert_config(config, tmp_path / "ckpt" / "bert_config.json")
    convert(ckpt, "-o", tmp_path / "out")
    batch = fx.random_batch(32000, 128, seed=0)
    out = jbert_tf2.load_pretraining(tmp_path / "out")(batch)
    with torch.no_grad():
        ref = hf(**fx.torch_inputs(batch), output_hidden_states=True)
        pooled = hf.bert.pooler(ref.hidden_states[-1])
    valid = batch["input_mask"].astype(bool)
    close(out["sequence_output"], ref.hidden_states[-1], valid, "sequence_output")
    close(out["pooled_output"], pooled, what="pooled")
    close(out["mlm_logits"], ref.prediction_logits, valid, "mlm_logits")
    close(out["nsp_logits"], ref.seq_relationship_logits, what="nsp_logits")
