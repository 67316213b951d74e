"""HF-format inputs users have on disk: ``tf_model.h5`` (transformers' TF2 weights),
``BertForMaskedLM`` and standalone ``ElectraForMaskedLM`` directories saved by transformers,
and ``tokenizer_config.json`` naming cl-tohoku's ``BertJapaneseTokenizer`` settings.

The ``tf_model.h5`` files are written here with h5py in the layout transformers' TF
``save_pretrained`` used (Keras 2 HDF5 weights: ``layer_names`` on the file, ``weight_names``
on each top-level layer's group, each weight's dataset at its full TF name), from the Google
names of `tf1_fixtures`, by a name table written here independently of the library's reader.
The converted models are compared with HF transformers' PyTorch models on the same weights.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import tf1_fixtures as fx
import torch
import transformers
from conversion_fixtures import close, convert
from tokenizer_fixtures import corpus

import jbert_tf2

pytestmark = pytest.mark.slow

BERT = dict(
    vocab_size=48,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=37,
    max_position_embeddings=12,
)
ELECTRA = dict(
    vocab_size=48,
    embedding_size=16,
    hidden_size=32,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=40,
    max_position_embeddings=12,
)


# --- tf_model.h5 as transformers' TF save_pretrained wrote it ---------------------------------

# Google's head scopes -> the TF2 top-level layer transformers' TF classes name.
_TF2_HEADS = [
    (r"^cls/predictions/output_bias$", "mlm___cls/predictions/bias"),
    (r"^cls/predictions/", "mlm___cls/predictions/"),
    (r"^cls/seq_relationship/output_weights$", "nsp___cls/seq_relationship/kernel"),
    (r"^cls/seq_relationship/output_bias$", "nsp___cls/seq_relationship/bias"),
    (r"^discriminator_predictions/dense_1/", "discriminator_predictions/dense_prediction/"),
    (r"^generator_predictions/output_bias$", "generator_lm_head/bias"),
    (r"^generator/", "electra/"),  # a standalone generator is an ElectraForMaskedLM
]


def tf2_name(google: str) -> str:
    """The TF2 (transformers) variable name of a Google TF1 variable, model name excluded."""
    name = google
    for pattern, replacement in _TF2_HEADS:
        name = re.sub(pattern, replacement, name)
    name = re.sub(r"/layer_(\d+)/", r"/layer_._\1/", name)
    name = re.sub(r"/word_embeddings$", "/word_embeddings/weight", name)
    name = re.sub(r"/(position|token_type)_embeddings$", r"/\1_embeddings/embeddings", name)
    return name + ":0"


def write_tf_model_h5(path, model_name: str, variables: dict, einsum_heads: int = 0) -> None:
    """``variables`` (Google names) as transformers' TF ``save_pretrained`` stored them; with
    ``einsum_heads``, attention kernels as transformers 4.2's EinsumDense shapes."""
    import h5py

    groups: dict[str, list[tuple[str, np.ndarray]]] = {}
    for google, value in variables.items():
        value = np.asarray(value, np.float32)
        name = tf2_name(google)
        if google.endswith("seq_relationship/output_weights"):
            value = value.T  # Google's [2, hidden]; a Keras Dense kernel is [hidden, 2]
        if einsum_heads and "/attention/" in google:
            heads = einsum_heads
            if re.search(r"self/(query|key|value)/kernel$", google):
                value = value.reshape(value.shape[0], heads, -1)
            elif re.search(r"self/(query|key|value)/bias$", google):
                value = value.reshape(heads, -1)
            elif google.endswith("attention/output/dense/kernel"):
                value = value.reshape(heads, -1, value.shape[-1])
        groups.setdefault(name.split("/")[0], []).append((f"{model_name}/{name}", value))
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["layer_names"] = [layer.encode() for layer in groups]
        for layer, weights in groups.items():
            group = f.create_group(layer)
            group.attrs["weight_names"] = [name.encode() for name, _ in weights]
            for name, value in weights:
                group.create_dataset(name, data=value)


def hf_config_json(model, directory, architecture: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    data = model.config.to_dict()
    data["architectures"] = [architecture]
    (directory / "config.json").write_text(json.dumps(data))


def batch_for(config, seed=4):
    return fx.random_batch(config.vocab_size, config.max_position_embeddings, seed=seed)


@pytest.mark.parametrize("einsum", [False, True])
def test_tf_model_h5_bert_for_pretraining(tmp_path, capsys, einsum):
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=21, **BERT)
    hf_dir = tmp_path / "hf"
    hf_config_json(hf, hf_dir, "BertForPreTraining")
    heads = BERT["num_attention_heads"] if einsum else 0
    write_tf_model_h5(
        hf_dir / "tf_model.h5", "tf_bert_for_pre_training", fx.bert_variables(hf), heads
    )
    report, _ = convert(hf_dir, "-o", tmp_path / "jbert", capsys=capsys)
    assert "tf_model.h5" in report
    batch = batch_for(hf.config)
    out = jbert_tf2.load_pretraining(tmp_path / "jbert")(batch)
    with torch.no_grad():
        ref = hf(**fx.torch_inputs(batch))
    valid = batch["input_mask"].astype(bool)
    close(out["mlm_logits"], ref.prediction_logits, valid)
    close(out["nsp_logits"], ref.seq_relationship_logits)


def test_tf_model_h5_bert_model(tmp_path):
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=22, **BERT)
    variables = {k: v for k, v in fx.bert_variables(hf).items() if k.startswith("bert/")}
    hf_dir = tmp_path / "hf"
    hf_config_json(hf, hf_dir, "BertModel")
    write_tf_model_h5(hf_dir / "tf_model.h5", "tf_bert_model", variables)
    convert(hf_dir, "-o", tmp_path / "jbert")
    batch = batch_for(hf.config)
    out = jbert_tf2.load(tmp_path / "jbert")(batch)
    with torch.no_grad():
        ref = hf.bert(**fx.torch_inputs(batch))
    close(out["sequence_output"], ref.last_hidden_state, batch["input_mask"].astype(bool))
    close(out["pooled_output"], ref.pooler_output)


def test_tf_model_h5_electra_for_pretraining_and_model(tmp_path):
    disc = fx.hf_random_model(transformers.ElectraForPreTraining, seed=23, **ELECTRA)
    variables = fx.electra_variables(disc)
    batch = batch_for(disc.config)
    valid = batch["input_mask"].astype(bool)
    with torch.no_grad():
        ref = disc(**fx.torch_inputs(batch), output_hidden_states=True)

    full = tmp_path / "disc"
    hf_config_json(disc, full, "ElectraForPreTraining")
    write_tf_model_h5(full / "tf_model.h5", "tf_electra_for_pre_training", variables)
    convert(full, "-o", tmp_path / "jbert_disc")
    out = jbert_tf2.load_pretraining(tmp_path / "jbert_disc")(batch)
    close(out["discriminator_logits"], ref.logits, valid)

    encoder_only = tmp_path / "model"
    hf_config_json(disc, encoder_only, "ElectraModel")
    body = {k: v for k, v in variables.items() if k.startswith("electra/")}
    write_tf_model_h5(encoder_only / "tf_model.h5", "tf_electra_model", body)
    convert(encoder_only, "-o", tmp_path / "jbert_model")
    out = jbert_tf2.load(tmp_path / "jbert_model")(batch)
    close(out["sequence_output"], ref.hidden_states[-1], valid)


def _generator_variables(gen) -> dict:
    """A standalone ElectraForMaskedLM's weights under Google's generator names."""
    disc_like = fx.hf_random_model(transformers.ElectraForPreTraining, seed=0, **ELECTRA)
    with torch.no_grad():  # ELECTRA shares the embeddings: give the generator's to both
        disc_like.electra.embeddings.load_state_dict(gen.electra.embeddings.state_dict())
    variables = fx.electra_variables(disc_like, gen)
    return {
        k: v for k, v in variables.items() if k.startswith(("generator", "electra/embeddings/"))
    }


GENERATOR = dict(ELECTRA, hidden_size=16, intermediate_size=24, num_attention_heads=1)


@pytest.mark.parametrize("weights_file", ["model.safetensors", "tf_model.h5"])
def test_standalone_electra_generator(tmp_path, capsys, weights_file):
    gen = fx.hf_random_model(transformers.ElectraForMaskedLM, seed=24, **GENERATOR)
    hf_dir = tmp_path / "hf"
    if weights_file == "model.safetensors":
        gen.save_pretrained(hf_dir)
    else:
        hf_config_json(gen, hf_dir, "ElectraForMaskedLM")
        write_tf_model_h5(
            hf_dir / "tf_model.h5", "tf_electra_for_masked_lm", _generator_variables(gen)
        )
    report, _ = convert(hf_dir, "-o", tmp_path / "jbert", capsys=capsys)
    assert "generator only" in report
    batch = batch_for(gen.config)
    valid = batch["input_mask"].astype(bool)
    with torch.no_grad():
        ref = gen(**fx.torch_inputs(batch), output_hidden_states=True)
    close(
        jbert_tf2.load_generator(tmp_path / "jbert")(batch)["generator_logits"], ref.logits, valid
    )
    close(
        jbert_tf2.load(tmp_path / "jbert")(batch)["sequence_output"], ref.hidden_states[-1], valid
    )
    # and out again as transformers reads it
    convert(tmp_path / "jbert", "-o", tmp_path / "back", "--to", "hf")
    again = transformers.ElectraForMaskedLM.from_pretrained(
        tmp_path / "back" / "generator", attn_implementation="eager"
    ).eval()
    with torch.no_grad():
        close(again(**fx.torch_inputs(batch)).logits, ref.logits, valid)


def test_sharded_safetensors(tmp_path):
    from safetensors.numpy import load_file, save_file

    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=27, **BERT)
    hf.save_pretrained(tmp_path / "hf")
    weights = load_file(str(tmp_path / "hf" / "model.safetensors"))
    (tmp_path / "hf" / "model.safetensors").unlink()
    names = sorted(weights)
    shards = {
        "model-00001-of-00002.safetensors": names[::2],
        "model-00002-of-00002.safetensors": names[1::2],
    }
    for shard, shard_names in shards.items():
        save_file({n: weights[n] for n in shard_names}, str(tmp_path / "hf" / shard))
    weight_map = {n: shard for shard, shard_names in shards.items() for n in shard_names}
    (tmp_path / "hf" / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": weight_map})
    )
    convert(tmp_path / "hf", "-o", tmp_path / "jbert")
    batch = batch_for(hf.config)
    with torch.no_grad():
        ref = hf(**fx.torch_inputs(batch))
    out = jbert_tf2.load_pretraining(tmp_path / "jbert")(batch)
    close(out["mlm_logits"], ref.prediction_logits, batch["input_mask"].astype(bool))


@pytest.mark.parametrize("weights_file", ["model.safetensors", "tf_model.h5"])
def test_bert_for_masked_lm_saved_by_transformers_converts_with_a_new_pooler(
    tmp_path, capsys, weights_file
):
    if weights_file == "model.safetensors":
        hf = fx.hf_random_model(transformers.BertForMaskedLM, seed=25, **BERT)
        hf.save_pretrained(tmp_path / "hf")
    else:  # TFBertForMaskedLM: bert (no pooler) and mlm___cls
        hf = fx.hf_random_model(transformers.BertForPreTraining, seed=25, **BERT)
        variables = {
            k: v
            for k, v in fx.bert_variables(hf).items()
            if not k.startswith(("bert/pooler/", "cls/seq_relationship/"))
        }
        hf_config_json(hf, tmp_path / "hf", "BertForMaskedLM")
        write_tf_model_h5(tmp_path / "hf" / "tf_model.h5", "tf_bert_for_masked_lm", variables)
    convert(tmp_path / "hf", "-o", tmp_path / "jbert")
    assert "pooler: none in the file" in capsys.readouterr().out

    batch = batch_for(hf.config)
    with torch.no_grad():
        out = hf(**fx.torch_inputs(batch))
    reference = out.logits if weights_file == "model.safetensors" else out.prediction_logits
    got = jbert_tf2.load_pretraining(tmp_path / "jbert")(batch)
    close(got["mlm_logits"], reference, batch["input_mask"].astype(bool))
    # The pooler is new, as transformers initialises one: normal(0, initializer_range), bias 0.
    pooler = jbert_tf2.load(tmp_path / "jbert").get_layer("pooler")
    kernel, bias = (np.asarray(w) for w in pooler.weights)
    assert abs(kernel.std() - hf.config.initializer_range) < 0.1 * hf.config.initializer_range
    assert not bias.any()


# --- tokenizer_config.json --------------------------------------------------------------------


def _hf_bert_dir(directory, vocab_file, tokenizer_config: dict | None, h5: bool = False):
    """An HF BERT directory on ``vocab_file`` as cl-tohoku publishes them."""
    rows = len(vocab_file.read_text(encoding="utf-8").splitlines())
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=26, **dict(BERT, vocab_size=rows))
    if h5:
        hf_config_json(hf, directory, "BertForPreTraining")
        write_tf_model_h5(
            directory / "tf_model.h5", "tf_bert_for_pre_training", fx.bert_variables(hf)
        )
    else:
        hf.save_pretrained(directory)
    (directory / "vocab.txt").write_bytes(vocab_file.read_bytes())
    if tokenizer_config is not None:
        (directory / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    return directory


def _same_tokens(ours, reference):
    texts = [t for t in corpus() if "\x00" not in t]  # HF's MeCab stops at a NUL
    bad = [(t, ours.tokenize(t), reference.tokenize(t)) for t in texts]
    bad = [b for b in bad if b[1] != b[2]]
    assert not bad, bad[:3]


# tohoku-nlp/bert-base-japanese-v3 and -char-v3 name their tokenizer so.
V3 = {
    "tokenizer_class": "BertJapaneseTokenizer",
    "model_max_length": 512,
    "do_lower_case": False,
    "word_tokenizer_type": "mecab",
    "subword_tokenizer_type": "wordpiece",
    "mecab_kwargs": {"mecab_dic": "unidic_lite"},
}
CHAR_V3 = dict(V3, subword_tokenizer_type="character")
# cl-tohoku/bert-base-japanese(-whole-word-masking), v1: no dictionary named, which meant ipadic
# in the transformers releases that wrote and read them.
V1 = {"do_lower_case": False, "word_tokenizer_type": "mecab", "subword_tokenizer_type": "wordpiece"}


@pytest.mark.parametrize("h5", [False, True])
def test_tohoku_v3_directory_records_its_mecab_tokenizer(tmp_path, tokenizer_files, capsys, h5):
    from transformers import BertJapaneseTokenizer

    hf_dir = _hf_bert_dir(tmp_path / "hf", tokenizer_files["mecab_unidic_lite"], V3, h5)
    report, err = convert(hf_dir, "-o", tmp_path / "jbert", capsys=capsys)
    assert "warning" not in err
    settings = json.loads((tmp_path / "jbert" / "tokenizer.json").read_text())
    assert settings["tokenizer"] == "mecab-wordpiece"
    assert settings["mecab_dic"] == "unidic_lite" and settings["do_lower_case"] is False
    assert "tokenizer_config.json" in report
    _same_tokens(
        jbert_tf2.load_tokenizer(tmp_path / "jbert"), BertJapaneseTokenizer.from_pretrained(hf_dir)
    )


def test_tohoku_char_v3_directory_records_mecab_character(tmp_path, tokenizer_files):
    from transformers import BertJapaneseTokenizer

    hf_dir = _hf_bert_dir(tmp_path / "hf", tokenizer_files["character"], CHAR_V3)
    convert(hf_dir, "-o", tmp_path / "jbert")
    assert jbert_tf2.load_tokenizer(tmp_path / "jbert").word_tokenizer == "mecab"
    settings = json.loads((tmp_path / "jbert" / "tokenizer.json").read_text())
    assert settings["tokenizer"] == "mecab-character"
    _same_tokens(
        jbert_tf2.load_tokenizer(tmp_path / "jbert"), BertJapaneseTokenizer.from_pretrained(hf_dir)
    )


def test_tohoku_v1_directory_gets_ipadic(tmp_path, tokenizer_files, capsys):
    from transformers import BertJapaneseTokenizer

    hf_dir = _hf_bert_dir(tmp_path / "hf", tokenizer_files["mecab_ipadic"], V1)
    report, _ = convert(hf_dir, "-o", tmp_path / "jbert", capsys=capsys)
    assert "ipadic (transformers 4's default)" in report
    # transformers 5 changed the default dictionary; the model was trained with ipadic
    reference = BertJapaneseTokenizer(
        str(hf_dir / "vocab.txt"), word_tokenizer_type="mecab", mecab_kwargs={"mecab_dic": "ipadic"}
    )
    _same_tokens(jbert_tf2.load_tokenizer(tmp_path / "jbert"), reference)


def test_options_override_tokenizer_config(tmp_path, tokenizer_files):
    hf_dir = _hf_bert_dir(tmp_path / "hf", tokenizer_files["mecab_unidic_lite"], V3)
    convert(hf_dir, "-o", tmp_path / "jbert", "--mecab-dic", "ipadic")
    settings = json.loads((tmp_path / "jbert" / "tokenizer.json").read_text())
    assert (settings["tokenizer"], settings["mecab_dic"]) == ("mecab-wordpiece", "ipadic")


def test_tokenizer_config_we_cannot_reproduce_records_none_with_one_warning(
    tmp_path, tokenizer_files, capsys
):
    config = dict(V3, mecab_kwargs={"mecab_dic": "unidic"})
    hf_dir = _hf_bert_dir(tmp_path / "hf", tokenizer_files["mecab_unidic_lite"], config)
    report, err = convert(hf_dir, "-o", tmp_path / "jbert", capsys=capsys)
    warned = [line for line in err.splitlines() if line.startswith("jbert-convert: warning:")]
    assert len(warned) == 1 and "'unidic'" in warned[0] and "--tokenizer" in warned[0]
    assert not (tmp_path / "jbert" / "tokenizer.json").exists()
    jbert_tf2.load(tmp_path / "jbert")
