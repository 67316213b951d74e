"""`BertConfig` reads every supported file form and names the field it rejects."""

from __future__ import annotations

import json

import pytest

from jbert_tf2 import BertConfig, ConfigError
from jbert_tf2.config import read_config

GOOGLE = {
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "type_vocab_size": 2,
    "vocab_size": 32000,
}


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data) if isinstance(data, dict) else data)
    return path


def test_google_bert_json_gelu_is_tanh(tmp_path):
    config, note = read_config(write(tmp_path, "bert_config.json", GOOGLE))
    assert config.hidden_act == "gelu_approx" and "tanh" in note
    assert config.embedding_size == 768 and config.model_type == "bert"


def test_google_json_read_as_electra_is_erf(tmp_path):
    config, _ = read_config(
        write(tmp_path, "config.json", {**GOOGLE, "embedding_size": 128}), model_type="electra"
    )
    assert config.hidden_act == "gelu" and config.embedding_size == 128


def test_hf_config_gelu_is_erf_and_gelu_new_is_tanh(tmp_path):
    hf = {**GOOGLE, "model_type": "bert", "architectures": ["BertForPreTraining"]}
    assert read_config(write(tmp_path, "a.json", hf))[0].hidden_act == "gelu"
    hf["hidden_act"] = "gelu_new"
    assert read_config(write(tmp_path, "b.json", hf))[0].hidden_act == "gelu_approx"


def test_hf_electra_config(tmp_path):
    hf = {
        **GOOGLE,
        "model_type": "electra",
        "embedding_size": 128,
        "hidden_size": 256,
        "num_attention_heads": 4,
        "intermediate_size": 1024,
    }
    config = read_config(write(tmp_path, "config.json", hf))[0]
    assert config.model_type == "electra" and config.embedding_size == 128


def test_yoheikikuta_ini_is_erf(tmp_path):
    ini = "[DATA]\nFILEURL = x\n\n[BERT-CONFIG]\n" + "".join(
        f"{k} = {v}\n" for k, v in GOOGLE.items()
    )
    config, note = read_config(write(tmp_path, "config.ini", ini))
    assert config.hidden_act == "gelu" and "yoheikikuta" in note
    assert config.vocab_size == 32000 and config.hidden_dropout_prob == 0.1


def test_ini_without_sizes(tmp_path):
    with pytest.raises(ConfigError, match=r"BERT-CONFIG"):
        read_config(write(tmp_path, "config.ini", "[DATA]\nx = 1\n"))


def test_round_trip_through_our_json(tmp_path):
    config = BertConfig(
        vocab_size=50,
        hidden_size=52,
        num_attention_heads=2,
        intermediate_size=9,
        hidden_act="gelu",
        embedding_size=20,
        model_type="electra",
    )
    config.to_json_file(tmp_path / "config.json")
    again = read_config(tmp_path / "config.json")[0]
    assert again == config and again.head_size == 26


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("num_attention_heads", 5, "does not divide hidden_size 768"),
        ("vocab_size", 0, "positive integer"),
        ("hidden_size", "768", "positive integer"),
        ("hidden_dropout_prob", 1.5, "probability"),
        ("hidden_act", "swishy", "unknown activation"),
        ("initializer_range", "x", "positive number"),
        ("layer_norm_eps", 0, "positive number"),
    ],
)
def test_bad_values_name_field_and_file(tmp_path, field, value, message):
    path = write(tmp_path, "bert_config.json", {**GOOGLE, field: value})
    with pytest.raises(ConfigError) as info:
        read_config(path)
    assert str(info.value).startswith(field) and str(path) in str(info.value)
    assert message in str(info.value)


def test_missing_vocab_size(tmp_path):
    data = dict(GOOGLE)
    del data["vocab_size"]
    with pytest.raises(ConfigError, match="vocab_size .* missing"):
        read_config(write(tmp_path, "bert_config.json", data))


def test_electra_generator_rule():
    disc = BertConfig(
        vocab_size=30522,
        hidden_size=768,
        num_attention_heads=12,
        model_type="electra",
        hidden_act="gelu",
    )
    gen = disc.generator_config(generator_hidden_size=1 / 3)
    assert (gen.hidden_size, gen.num_attention_heads, gen.intermediate_size) == (256, 4, 1024)
    assert gen.num_hidden_layers == 12 and gen.embedding_size == 768


def test_ini_with_percent_signs(tmp_path):
    ini = "[DATA]\nFILEURL = https://x/a%20b\n[BERT-CONFIG]\n" + "".join(
        f"{k} = {v}\n" for k, v in GOOGLE.items()
    )
    assert read_config(write(tmp_path, "config.ini", ini))[0].hidden_size == 768


def test_hf_json_for_tf1_bert_checkpoint_is_tanh(tmp_path):
    hf = {**GOOGLE, "model_type": "bert", "architectures": ["BertModel"]}
    config, note = read_config(write(tmp_path, "config.json", hf), tf1_checkpoint=True)
    assert config.hidden_act == "gelu_approx" and "HF's format" in note
    assert read_config(tmp_path / "config.json")[0].hidden_act == "gelu"  # as an HF directory


def test_exact_flavour_key_wins(tmp_path):
    data = {**GOOGLE, "jbert_hidden_act": "gelu"}
    assert read_config(write(tmp_path, "bert_config.json", data))[0].hidden_act == "gelu"
