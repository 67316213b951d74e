"""Checkpoint variants real users hold: no NSP head, untied ELECTRA generators, configs that
omit fields, HF-format configs beside TF1 checkpoints, SentencePiece models without a config."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tf1_fixtures as fx
import torch
import transformers

import jbert_tf2
from jbert_tf2.cli.convert import main as convert_main

BERT = dict(
    vocab_size=61,
    hidden_size=64,
    num_hidden_layers=1,
    num_attention_heads=1,
    intermediate_size=40,
    max_position_embeddings=10,
)


def convert(*args, capsys=None):
    code = convert_main([str(a) for a in args])
    assert code == 0
    return capsys.readouterr().out if capsys else None


def close(ours, theirs, mask=None):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    if mask is not None:
        ours, theirs = ours[mask], theirs[mask]
    assert np.abs(ours - theirs).max() <= 1e-5 * max(1.0, np.abs(theirs).max())


def test_bert_without_nsp_head(tmp_path):
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=11, hidden_act="gelu_new", **BERT)
    variables = {
        k: v for k, v in fx.bert_variables(hf).items() if not k.startswith("cls/seq_relationship/")
    }
    ckpt = fx.save_tf1_checkpoint(variables, tmp_path / "tf1" / "model.ckpt-1")
    fx.google_bert_config(hf.config, tmp_path / "tf1" / "bert_config.json")
    convert(ckpt, "-o", tmp_path / "jbert")
    batch = fx.random_batch(61, 10)
    out = jbert_tf2.load_pretraining(tmp_path / "jbert")(batch)
    assert "nsp_logits" not in out
    with torch.no_grad():
        ref = hf(**fx.torch_inputs(batch))
    valid = batch["input_mask"].astype(bool)
    close(out["mlm_logits"], ref.prediction_logits, valid)
    convert(tmp_path / "jbert", "-o", tmp_path / "hf", "--to", "hf")
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["architectures"] == [
        "BertForMaskedLM"
    ]
    mlm, info = transformers.BertForMaskedLM.from_pretrained(
        tmp_path / "hf", output_loading_info=True
    )
    assert not info["missing_keys"], info
    assert all(k.startswith("bert.pooler.") for k in info["unexpected_keys"]), info
    with torch.no_grad():
        close(mlm.eval()(**fx.torch_inputs(batch)).logits, ref.prediction_logits, valid)
    convert(tmp_path / "hf", "-o", tmp_path / "back")  # and back, pooler included
    again = jbert_tf2.load(tmp_path / "back")(batch)
    with torch.no_grad():
        pooled = hf.bert(**fx.torch_inputs(batch)).pooler_output
    close(again["pooled_output"], pooled)


ELECTRA = dict(
    vocab_size=50,
    embedding_size=16,
    hidden_size=32,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=48,
    max_position_embeddings=10,
    hidden_act="gelu",
)
GENERATOR = dict(ELECTRA, hidden_size=24, num_attention_heads=1, intermediate_size=96)


def test_untied_generator_through_hf_and_back(tmp_path):
    disc = fx.hf_random_model(transformers.ElectraForPreTraining, seed=12, **ELECTRA)
    gen = fx.hf_random_model(transformers.ElectraForMaskedLM, seed=13, **GENERATOR)
    variables = fx.electra_variables(disc, gen, untied_generator=True)
    assert "generator/embeddings/word_embeddings" in variables
    ckpt = fx.save_tf1_checkpoint(variables, tmp_path / "tf1" / "model.ckpt-1")
    fx.google_bert_config(disc.config, tmp_path / "tf1" / "config.json")
    convert(ckpt, "-o", tmp_path / "jbert")
    batch = fx.random_batch(50, 9, seed=3)
    valid = batch["input_mask"].astype(bool)
    with torch.no_grad():
        expected = gen(**fx.torch_inputs(batch)).logits
    close(jbert_tf2.load_generator(tmp_path / "jbert")(batch)["generator_logits"], expected, valid)
    convert(tmp_path / "jbert", "-o", tmp_path / "hf", "--to", "hf")
    loaded = transformers.ElectraForMaskedLM.from_pretrained(tmp_path / "hf" / "generator").eval()
    with torch.no_grad():
        close(loaded(**fx.torch_inputs(batch)).logits, expected, valid)
    convert(tmp_path / "hf", "-o", tmp_path / "back")
    close(jbert_tf2.load_generator(tmp_path / "back")(batch)["generator_logits"], expected, valid)
    disc_again = jbert_tf2.load_pretraining(tmp_path / "back")(batch)["discriminator_logits"]
    with torch.no_grad():
        close(disc_again, disc(**fx.torch_inputs(batch)).logits, valid)


def test_generator_config_without_embedding_size(tmp_path, capsys):
    disc, gen = fx.hf_random_model(transformers.ElectraForPreTraining, seed=14, **ELECTRA), None
    gen = fx.hf_random_model(transformers.ElectraForMaskedLM, seed=15, **GENERATOR)
    with torch.no_grad():
        gen.electra.embeddings.load_state_dict(disc.electra.embeddings.state_dict())
    ckpt = fx.save_tf1_checkpoint(
        fx.electra_variables(disc, gen), tmp_path / "tf1" / "model.ckpt-1"
    )
    fx.google_bert_config(disc.config, tmp_path / "tf1" / "config.json")
    gen_config = fx.google_bert_config(gen.config, tmp_path / "tf1" / "generator_config.json")
    data = json.loads(gen_config.read_text())
    data.pop("embedding_size", None)
    data["num_attention_heads"] = 3  # not ELECTRA's rule: the file must win
    data["hidden_size"] = 24
    gen_config.write_text(json.dumps(data))
    hf_gen = fx.hf_random_model(
        transformers.ElectraForMaskedLM, seed=15, **dict(GENERATOR, num_attention_heads=3)
    )
    hf_gen.load_state_dict(gen.state_dict())
    report = convert(ckpt, "-o", tmp_path / "jbert", capsys=capsys)
    assert "embedding_size: 16" in report
    batch = fx.random_batch(50, 8, seed=4)
    with torch.no_grad():
        expected = hf_gen.eval()(**fx.torch_inputs(batch)).logits
    got = jbert_tf2.load_generator(tmp_path / "jbert")(batch)["generator_logits"]
    close(got, expected, batch["input_mask"].astype(bool))


def test_hf_format_config_beside_tf1_bert_is_googles_tanh(tmp_path, capsys):
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=16, hidden_act="gelu_new", **BERT)
    ckpt = fx.save_tf1_checkpoint(fx.bert_variables(hf), tmp_path / "tf1" / "model.ckpt-1")
    config = transformers.BertConfig(**dict(BERT, hidden_act="gelu"))
    config.save_pretrained(tmp_path / "tf1")  # an HF-style config.json says 'gelu'
    report = convert(ckpt, "-o", tmp_path / "jbert", capsys=capsys)
    assert "HF's format" in report
    assert (
        json.loads((tmp_path / "jbert" / "config.json").read_text())["hidden_act"] == "gelu_approx"
    )


def test_sentencepiece_bert_without_config_is_erf(tmp_path, capsys):
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=17, hidden_act="gelu", **BERT)
    ckpt = fx.save_tf1_checkpoint(
        fx.with_optimizer_slots(fx.bert_variables(hf)), tmp_path / "tf1" / "model.ckpt-1400000"
    )
    fx.write_sentencepiece(tmp_path / "tf1", BERT["vocab_size"])
    report = convert(ckpt, "-o", tmp_path / "jbert", capsys=capsys)
    assert "yoheikikuta" in report and "tokenizer: sentencepiece" in report
    batch = fx.random_batch(61, 10, seed=5)
    with torch.no_grad():
        ref = hf(**fx.torch_inputs(batch))
    out = jbert_tf2.load_pretraining(tmp_path / "jbert")(batch)
    close(out["mlm_logits"], ref.prediction_logits, batch["input_mask"].astype(bool))
    tokenizer = json.loads((tmp_path / "jbert" / "tokenizer.json").read_text())
    assert tokenizer["spm_model_file"] == "wiki-ja.model"
    assert tokenizer["vocab_file"] == "wiki-ja.vocab" and tokenizer["do_lower_case"] is True


def test_electra_without_config_and_odd_hidden_size(tmp_path):
    kwargs = dict(ELECTRA, hidden_size=78, num_attention_heads=1, intermediate_size=30)
    disc = fx.hf_random_model(transformers.ElectraForPreTraining, seed=18, **kwargs)
    ckpt = fx.save_tf1_checkpoint(fx.electra_variables(disc), tmp_path / "tf1" / "model.ckpt-1")
    convert(ckpt, "-o", tmp_path / "jbert")  # 78 // 64 = 1 head, as ELECTRA's rule says
    batch = fx.random_batch(50, 10, seed=6)
    with torch.no_grad():
        ref = disc(**fx.torch_inputs(batch)).logits
    got = jbert_tf2.load_pretraining(tmp_path / "jbert")(batch)["discriminator_logits"]
    close(got, ref, batch["input_mask"].astype(bool))


@pytest.fixture
def small_model_dir(tmp_path):
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=19, hidden_act="gelu_new", **BERT)
    ckpt = fx.save_tf1_checkpoint(fx.bert_variables(hf), tmp_path / "tf1" / "model.ckpt-1")
    fx.google_bert_config(hf.config, tmp_path / "tf1" / "bert_config.json")
    fx.write_vocab(tmp_path / "tf1" / "vocab.txt", 61)
    assert convert_main([str(ckpt), "-o", str(tmp_path / "jbert")]) == 0
    return tmp_path / "jbert"


def test_corrupt_tokenizer_json(small_model_dir, tmp_path, capsys):
    (small_model_dir / "tokenizer.json").write_text("{not json")
    assert jbert_tf2.load(small_model_dir)(np.ones((1, 3), np.int32))  # the encoder needs none
    capsys.readouterr()
    assert convert_main([str(small_model_dir), "-o", str(tmp_path / "hf"), "--to", "hf"]) == 2
    err = capsys.readouterr().err
    assert "tokenizer.json" in err and "not valid JSON" in err and "Traceback" not in err
    assert not (tmp_path / "hf").exists()


def test_missing_vocab_in_model_dir(small_model_dir, tmp_path, capsys):
    (small_model_dir / "vocab.txt").unlink()
    assert convert_main([str(small_model_dir), "-o", str(tmp_path / "hf"), "--to", "hf"]) == 2
    err = capsys.readouterr().err
    assert "vocab.txt" in err and "missing" in err


def test_output_is_current_directory(small_model_dir, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("mine")
    monkeypatch.chdir(work)
    assert convert_main([str(small_model_dir), "-o", ".", "--overwrite", "--to", "hf"]) == 2
    assert "current directory" in capsys.readouterr().err
    assert sorted(p.name for p in work.iterdir()) == ["keep.txt"]


def test_output_below_a_file(small_model_dir, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert convert_main([str(small_model_dir), "-o", str(tmp_path / "afile" / "out")]) == 2
    err = capsys.readouterr().err
    assert "afile" in err and "Traceback" not in err


def test_models_save_and_load_with_keras(small_model_dir, tmp_path):
    import keras

    batch = fx.random_batch(61, 6, seed=1)
    for loader in (jbert_tf2.load, jbert_tf2.load_pretraining):
        model = loader(small_model_dir)
        expected = model(batch)
        path = tmp_path / f"{loader.__name__}.keras"
        model.save(path)
        again = keras.models.load_model(path)
        got = again(batch)
        assert type(again) is type(model)
        for key in expected:
            np.testing.assert_allclose(np.asarray(got[key]), np.asarray(expected[key]), atol=1e-6)


def test_two_encoders_in_one_functional_model(small_model_dir):
    import keras

    first, second = jbert_tf2.load(small_model_dir), jbert_tf2.load(small_model_dir)
    ids = keras.Input((None,), dtype="int32")
    joined = keras.layers.Concatenate()([first(ids)["pooled_output"], second(ids)["pooled_output"]])
    model = keras.Model(ids, joined)
    assert model(np.ones((2, 4), np.int32)).shape == (2, 128)
