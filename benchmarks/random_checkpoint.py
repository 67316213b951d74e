"""A Google-format TF1 BERT checkpoint with random weights, for the benchmarks: the weights do
not change the timings, so the benchmarks need no download."""

from __future__ import annotations

import json
from pathlib import Path


def write_random_checkpoint(
    directory: Path, config: dict, tokens: list[str], name: str, heads: bool = False
) -> Path:
    """``directory/{vocab.txt, bert_config.json, name.*}``: BERT-init weights (normal, 0.02;
    LayerNorm gammas one) for ``config``, with the pretraining heads when ``heads``; returns
    the checkpoint prefix."""
    import numpy as np

    import jbert_tf2
    from jbert_tf2.checkpoint.tf1 import write_tf1_checkpoint

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    (directory / "bert_config.json").write_text(json.dumps(config, indent=2) + "\n")
    cls = jbert_tf2.BertPretrainingModel if heads else jbert_tf2.BertModel
    variables = cls(jbert_tf2.BertConfig.from_dict(config)).canonical_weights()
    rng = np.random.default_rng(0)
    weights = {
        key: np.ones(tuple(variables[key].shape), np.float32)
        if key.endswith("gamma")
        else rng.standard_normal(tuple(variables[key].shape), np.float32) * np.float32(0.02)
        for key in sorted(variables)
    }
    return Path(write_tf1_checkpoint(weights, directory / name))
