"""Every layer of jbert_tf2.layers and every pretraining head saves and reloads on its own.

For each: build it with arguments that differ from the defaults, give it seeded random weights,
wrap it in a functional `keras.Model`, save to ``.keras`` and load; the reloaded layer gives the
same outputs (1e-6), has the same config, and holds each weight under the same TF1 name.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import pytest

from jbert_tf2.layers import Embeddings, MultiHeadSelfAttention, Pooler, TransformerBlock
from jbert_tf2.layers.attention import attention_bias
from jbert_tf2.layers.layer_norm import LayerNorm
from jbert_tf2.models.pretraining_heads import MaskedLMHead, NextSentenceHead, ReplacedTokenHead

BATCH, SEQ, HIDDEN, EMBEDDING, VOCAB = 2, 7, 16, 8, 30
# Arguments Layer.get_config adds to the constructor's own.
BASE_CONFIG_KEYS = {"name", "trainable", "dtype"}


@dataclass(frozen=True)
class LayerCase:
    """A layer to build, its model inputs (Keras tensors) and matching arrays."""

    make: Callable[[], keras.layers.Layer]
    inputs: Callable[[], dict[str, keras.KerasTensor]]
    arrays: Callable[[np.random.Generator], dict[str, np.ndarray]]
    call: Callable[[keras.layers.Layer, dict], object]


def _ids(rng: np.random.Generator, high: int) -> np.ndarray:
    return rng.integers(0, high, size=(BATCH, SEQ)).astype("int32")


def _hidden(rng: np.random.Generator, width: int = HIDDEN) -> np.ndarray:
    return rng.normal(size=(BATCH, SEQ, width)).astype("float32")


def _bias(rng: np.random.Generator) -> np.ndarray:
    mask = np.ones((BATCH, SEQ), "int32")
    mask[1, 4:] = 0  # padding in the second row, so the bias matters
    return keras.ops.convert_to_numpy(attention_bias(mask))


def _hidden_and_bias() -> dict:
    return {
        "x": keras.Input((None, HIDDEN), name="x"),
        "bias": keras.Input((1, 1, None), name="bias"),
    }


def _embeddings(name: str = "embeddings") -> Embeddings:
    return Embeddings(
        vocab_size=VOCAB,
        embedding_size=EMBEDDING,
        max_position_embeddings=16,
        type_vocab_size=3,
        initializer_range=0.05,
        layer_norm_eps=1e-6,
        dropout_rate=0.2,
        name=name,
    )


CASES = {
    "Embeddings": LayerCase(
        make=_embeddings,
        inputs=lambda: {
            "input_ids": keras.Input((None,), dtype="int32", name="input_ids"),
            "segment_ids": keras.Input((None,), dtype="int32", name="segment_ids"),
        },
        arrays=lambda rng: {"input_ids": _ids(rng, VOCAB), "segment_ids": _ids(rng, 3)},
        call=lambda layer, x: layer(x["input_ids"], x["segment_ids"]),
    ),
    "MultiHeadSelfAttention": LayerCase(
        make=lambda: MultiHeadSelfAttention(HIDDEN, 4, 0.2, 0.05, name="self"),
        inputs=_hidden_and_bias,
        arrays=lambda rng: {"x": _hidden(rng), "bias": _bias(rng)},
        call=lambda layer, x: layer(x["x"], bias=x["bias"]),
    ),
    "TransformerBlock": LayerCase(
        make=lambda: TransformerBlock(
            hidden_size=HIDDEN,
            num_heads=4,
            intermediate_size=24,
            hidden_act="gelu",
            hidden_dropout_rate=0.2,
            attention_dropout_rate=0.3,
            initializer_range=0.05,
            layer_norm_eps=1e-6,
            name="layer_0",
        ),
        inputs=_hidden_and_bias,
        arrays=lambda rng: {"x": _hidden(rng), "bias": _bias(rng)},
        call=lambda layer, x: layer(x["x"], bias=x["bias"]),
    ),
    "Pooler": LayerCase(
        make=lambda: Pooler(HIDDEN, 0.05, name="pooler"),
        inputs=lambda: {"x": keras.Input((None, HIDDEN), name="x")},
        arrays=lambda rng: {"x": _hidden(rng)},
        call=lambda layer, x: layer(x["x"]),
    ),
    "LayerNorm": LayerCase(
        make=lambda: LayerNorm(1e-6, name="LayerNorm"),
        inputs=lambda: {"x": keras.Input((None, HIDDEN), name="x")},
        arrays=lambda rng: {"x": _hidden(rng)},
        call=lambda layer, x: layer(x["x"]),
    ),
    "MaskedLMHead": LayerCase(
        make=lambda: MaskedLMHead(
            _embeddings(),
            "gelu",
            layer_norm_eps=1e-6,
            initializer_range=0.05,
            scope="generator_predictions",
            transform_scope="",
            name="generator_predictions",
        ),
        inputs=lambda: {"x": keras.Input((None, EMBEDDING), name="x")},
        arrays=lambda rng: {"x": _hidden(rng, EMBEDDING)},
        call=lambda layer, x: layer(x["x"]),
    ),
    "NextSentenceHead": LayerCase(
        make=lambda: NextSentenceHead(0.05, name="seq_relationship"),
        inputs=lambda: {"x": keras.Input((HIDDEN,), name="x")},
        arrays=lambda rng: {"x": rng.normal(size=(BATCH, HIDDEN)).astype("float32")},
        call=lambda layer, x: layer(x["x"]),
    ),
    "ReplacedTokenHead": LayerCase(
        make=lambda: ReplacedTokenHead(HIDDEN, "relu", 0.05, name="discriminator_predictions"),
        inputs=lambda: {"x": keras.Input((None, HIDDEN), name="x")},
        arrays=lambda rng: {"x": _hidden(rng)},
        call=lambda layer, x: layer(x["x"]),
    ),
}


def _numpy(outputs) -> list[np.ndarray]:
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [keras.ops.convert_to_numpy(o) for o in outputs if o is not None]


def _wrapped(case: LayerCase, seed: int) -> tuple[keras.Model, keras.layers.Layer]:
    """A functional model around a fresh layer whose every weight is seeded random."""
    layer = case.make()
    inputs = case.inputs()
    model = keras.Model(inputs, case.call(layer, inputs))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0.0, 0.5, size=w.shape) for w in layer.weights])
    return model, layer


def _as_saved(config: dict) -> dict:
    """The config as the .keras file stores it (JSON: tuples become lists)."""
    return json.loads(json.dumps(config))


def _canonical(layer) -> dict[str, np.ndarray]:
    return {k: keras.ops.convert_to_numpy(v) for k, v in layer.canonical_weights().items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_saves_and_reloads_with_the_same_outputs(name, tmp_path):
    case = CASES[name]
    model, layer = _wrapped(case, seed=len(name))
    arrays = case.arrays(np.random.default_rng(7))
    want = _numpy(model(arrays, training=False))

    path = tmp_path / "layer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    (again,) = [lay for lay in loaded.layers if lay.name == layer.name]

    assert type(again) is type(layer)
    assert _as_saved(again.get_config()) == _as_saved(layer.get_config())
    got = _numpy(loaded(arrays, training=False))
    assert len(got) == len(want) >= 1
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
    if hasattr(layer, "canonical_weights"):
        before, after = _canonical(layer), _canonical(again)
        assert sorted(after) == sorted(before)
        for key, value in before.items():
            np.testing.assert_array_equal(after[key], value, err_msg=key)


@pytest.mark.parametrize("name", sorted(CASES))
def test_from_config_rebuilds_the_layer(name):
    case = CASES[name]
    model, layer = _wrapped(case, seed=3)
    config = layer.get_config()
    twin = type(layer).from_config(config)
    assert twin.get_config() == config
    twin_inputs = case.inputs()
    twin_model = keras.Model(twin_inputs, case.call(twin, twin_inputs))
    twin.set_weights(layer.get_weights())
    arrays = case.arrays(np.random.default_rng(11))
    for g, w in zip(
        _numpy(twin_model(arrays, training=False)),
        _numpy(model(arrays, training=False)),
        strict=True,
    ):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"LayerNorm"}))
def test_config_lists_exactly_the_constructor_arguments(name):
    layer = CASES[name].make()
    parameters = inspect.signature(type(layer).__init__).parameters.values()
    arguments = {p.name for p in parameters if p.name != "self" and p.kind is not p.VAR_KEYWORD}
    assert set(layer.get_config()) - BASE_CONFIG_KEYS == arguments


def test_config_holds_the_arguments_given():
    """Values, not defaults: a layer rebuilt from its config has the sizes it was given."""
    block = CASES["TransformerBlock"].make()
    config = block.get_config()
    assert (config["intermediate_size"], config["hidden_act"]) == (24, "gelu")
    assert (config["hidden_dropout_rate"], config["attention_dropout_rate"]) == (0.2, 0.3)
    twin = TransformerBlock.from_config(config)
    twin.build((None, None, HIDDEN))
    assert tuple(twin.intermediate.kernel.shape) == (HIDDEN, 24)
    assert twin.attention_dropout.rate == 0.2 and twin.attention.dropout.rate == 0.3
    head = MaskedLMHead.from_config(CASES["MaskedLMHead"].make().get_config())
    assert head.embeddings.word_embeddings.input_dim == VOCAB and head.transform_scope == ""
