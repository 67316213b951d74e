"""Activation functions by config name; the GELU flavour is explicit (see `BertConfig`)."""

from __future__ import annotations

from collections.abc import Callable

from jbert_tf2.backend import ops


def gelu(x):
    """Exact GELU, x * Phi(x) with erf: Google's first BERT release, ELECTRA, HF ``gelu``."""
    return ops.gelu(x, approximate=False)


def gelu_approx(x):
    """Tanh GELU: google-research/bert since Feb 2019, cl-tohoku, HF ``gelu_new``."""
    return ops.gelu(x, approximate=True)


_ACTIVATIONS: dict[str, Callable] = {
    "gelu": gelu,
    "gelu_approx": gelu_approx,
    "relu": ops.relu,
    "tanh": ops.tanh,
    "silu": ops.silu,
}


def get_activation(name: str) -> Callable:
    """The activation function for a `BertConfig.hidden_act` value."""
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; use one of {sorted(_ACTIVATIONS)}"
        ) from None
