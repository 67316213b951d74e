"""Training: BERT's AdamW with warmup and decay (and ELECTRA's layer-wise decay), tf.distribute
strategy resolution, and a `Trainer` that checkpoints atomically and resumes after a kill.
Names load on first use."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "AdamWeightDecay": "jbert_tf2.training.optimizer",
    "Trainer": "jbert_tf2.training.trainer",
    "WarmupLinearDecay": "jbert_tf2.training.schedules",
    "create_optimizer": "jbert_tf2.training.optimizer",
    "layerwise_lr_multipliers": "jbert_tf2.training.optimizer",
    "resolve_strategy": "jbert_tf2.training.strategy",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jbert_tf2.training' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
