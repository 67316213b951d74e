"""Activation functions by config name; the GELU flavour is explicit (see `BertConfig`)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from jbert_tf2.backend import ops

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_LOW_PRECISION = ("bfloat16", "float16")


def _in_float32(fn: Callable) -> Callable:
    """Compute ``fn`` in float32 for half-precision inputs: more exact, and faster on CPUs,
    whose elementwise kernels for bfloat16 convert every element anyway."""

    @functools.wraps(fn)
    def wrapped(x):
        dtype = ops.dtype(x)
        if str(dtype) in _LOW_PRECISION:
            return ops.cast(fn(ops.cast(x, "float32")), dtype)
        return fn(x)

    return wrapped


@_in_float32
def gelu(x):
    """Exact GELU, x * Phi(x) with erf: Google's first BERT release, ELECTRA, HF ``gelu``."""
    return 0.5 * x * (1.0 + ops.erf(x * (1.0 / math.sqrt(2.0))))


@_in_float32
def gelu_approx(x):
    """Tanh GELU: google-research/bert since Feb 2019, cl-tohoku, HF ``gelu_new``. The cube is
    two multiplications, not ``pow``, which TensorFlow's eager CPU kernels run far slower
    (docs/performance.md)."""
    return 0.5 * x * (1.0 + ops.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))))


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
