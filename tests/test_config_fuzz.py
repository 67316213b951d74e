"""Fuzzing the config readers: any field values, any bytes, any config.ini lines give a sane
`BertConfig` or a `ConfigError` naming the file and the field.

Each property says what any input must give: a valid answer or the project's own error naming
the file / line / variable; never a bare exception from deep inside, a hang, or a silently wrong
answer. Every bug these found has a plain regression test with its minimal input next to the
property that found it. Settings and helpers: fuzz_helpers.py (reproducible, no example database).
"""

from __future__ import annotations

import json
import math

import pytest
from fuzz_helpers import FUZZ, new_file
from hypothesis import given, settings
from hypothesis import strategies as st

from jbert_tf2.config import BertConfig, read_config
from jbert_tf2.errors import ConfigError


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


GOOD = {
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 64,
    "initializer_range": 0.02,
    "intermediate_size": 128,
    "max_position_embeddings": 512,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "type_vocab_size": 2,
    "vocab_size": 100,
}
FIELDS = sorted(GOOD) + [
    "embedding_size",
    "layer_norm_eps",
    "layer_norm_epsilon",
    "model_type",
    "format",
    "jbert_hidden_act",
    "architectures",
    "transformers_version",
    "source",
]
CONFIG_FIELDS = {"vocab_size", "embedding_size", "layer_norm_eps", "model_type", *GOOD}
ODD_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.integers(),
    st.integers(2**31 - 2, 2**70),
    st.floats(),
    st.floats(0, 1),
    st.text(max_size=6),
    st.sampled_from(
        ["gelu", "gelu_new", "relu", "swish", "bert", "electra", "jbert_tf2", "768", "nan"]
        + [1e300, 768.0, 768.5, -0.0, 3, 5, 7, 96, 48]
    ),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


def check_config(read, path: str):
    """A valid config with sane fields, or a ConfigError naming the file and the field."""
    try:
        config = read()
    except ConfigError as error:
        message = str(error)
        assert path in message, message
        assert message.startswith(path) or message.split()[0] in CONFIG_FIELDS, message
        return None
    sizes = (
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "max_position_embeddings",
        "type_vocab_size",
        "embedding_size",
    )
    for name in sizes:
        value = getattr(config, name)
        assert type(value) is int and 0 < value < 2**31, (name, value)
    for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
        assert 0 <= getattr(config, name) < 1 and type(getattr(config, name)) is not bool
    for name in ("initializer_range", "layer_norm_eps"):
        value = getattr(config, name)
        assert type(value) in (int, float) and 0 < value and math.isfinite(value), (name, value)
    assert config.hidden_size % config.num_attention_heads == 0
    assert config.hidden_act in ("gelu", "gelu_approx", "relu", "tanh", "silu")
    assert config.model_type in ("bert", "electra")
    return config


@settings(FUZZ, max_examples=200)
@given(
    changes=st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4), ODD_VALUE, max_size=4),
    dropped=st.lists(st.sampled_from(sorted(GOOD)), max_size=3),
    model_type=st.sampled_from([None, "bert", "electra"]),
)
def test_config_from_any_field_values(fuzz_dir, changes, dropped, model_type):
    data = {**GOOD, **changes}
    for name in dropped:
        data.pop(name, None)
    check_config(lambda: BertConfig.from_dict(data, "cfg.json", model_type), "cfg.json")
    try:
        text = json.dumps(data)  # NaN and Infinity as Python's json writes them
    except (TypeError, ValueError):
        return
    path = new_file(fuzz_dir, ".json", text.encode())
    check_config(lambda: read_config(path, model_type)[0], str(path))


@settings(FUZZ, max_examples=120)
@given(
    data=st.one_of(
        st.binary(max_size=50),
        st.text(max_size=50).map(str.encode),
        st.recursive(
            ODD_VALUE.filter(lambda v: not (isinstance(v, float) and not math.isfinite(v))),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5)
            ),
        ).map(lambda value: json.dumps(value).encode()),
    ),
    suffix=st.sampled_from([".json", ".ini", ".JSON", ".cfg"]),
)
def test_config_files_of_any_bytes(fuzz_dir, data, suffix):
    path = new_file(fuzz_dir, suffix, data)
    check_config(lambda: read_config(path)[0], str(path))


INI_LINE = st.one_of(
    st.sampled_from(
        [
            "[BERT-CONFIG]",
            "[DATA]",
            "[DEFAULT]",
            "[]",
            "[x",
            "%(x)s",
            "hidden_size = 64",
            "hidden_size=",
            "num_attention_heads = 3",
            "vocab_size = 1e400",
            "vocab_size = 100",
            "vocab_size : 100",
            "  continued",
            "= 3",
            "hidden_act = gelu",
            "hidden_dropout_prob = nan",
            "initializer_range = inf",
            "hidden_size = 64.0",
            "hidden_size = 0x40",
            "hidden_size = 1_000",
            "hidden_size = 99999999999999999999",
        ]
    ),
    st.builds(
        lambda key, value: f"{key} = {value}",
        st.sampled_from(FIELDS),
        st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=6),
    ),
)


@settings(FUZZ, max_examples=120)
@given(lines=st.lists(INI_LINE, max_size=12), section=st.booleans())
def test_config_ini_of_any_lines(fuzz_dir, lines, section):
    text = ("[BERT-CONFIG]\n" if section else "") + "\n".join(lines)
    path = new_file(fuzz_dir, ".ini", text.encode())
    check_config(lambda: read_config(path)[0], str(path))


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("initializer_range", float("inf"), "positive number, got inf"),
        ("layer_norm_eps", float("inf"), "positive number, got inf"),
        ("vocab_size", 2**31, "too large"),
        ("hidden_size", 1e300, "too large"),  # a float with an integer value: read as an int
        ("num_attention_heads", 5, "does not divide hidden_size 64"),
    ],
)
def test_config_refuses_infinite_and_huge_values(fuzz_dir, field, value, message):
    """inf for initializer_range / layer_norm_eps and sizes beyond int32 were accepted."""
    path = new_file(fuzz_dir, ".json", json.dumps({**GOOD, field: value}).encode())
    with pytest.raises(ConfigError, match=message) as info:
        read_config(path)
    assert str(info.value).startswith(f"{field} in {path}")
