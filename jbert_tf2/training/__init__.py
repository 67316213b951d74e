"""Training: BERT's AdamW with warmup and decay (and ELECTRA's layer-wise decay), tf.distribute
strategy resolution, and a `Trainer` that checkpoints atomically and resumes after a kill.
Names load on first use."""

from __future__ import annotations

from jbert_tf2.lazy_exports import lazy_exports

_EXPORTS = {
    "AdamWeightDecay": "jbert_tf2.training.optimizer",
    "Trainer": "jbert_tf2.training.trainer",
    "WarmupLinearDecay": "jbert_tf2.training.schedules",
    "create_optimizer": "jbert_tf2.training.optimizer",
    "layerwise_lr_multipliers": "jbert_tf2.training.optimizer",
    "resolve_strategy": "jbert_tf2.training.strategy",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
