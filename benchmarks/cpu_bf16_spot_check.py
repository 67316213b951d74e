"""Spot check: BERT-base forward at 32 x 128 in bfloat16 on CPU, jbert_tf2 against HF.

Runs one configuration per process (pass its name); prints sequences per second (median of 3
timed calls after 2 warm-up calls). Random weights, tanh GELU, full-length inputs.

    python benchmarks/cpu_bf16_spot_check.py jbert-bf16       # mixed_bfloat16, tf.function
    python benchmarks/cpu_bf16_spot_check.py jbert-xla-bf16   # the same under XLA
    python benchmarks/cpu_bf16_spot_check.py hf-bf16          # HF BertModel, torch.autocast
"""

from __future__ import annotations

import sys
import time

import numpy as np

BATCH, LENGTH = 32, 128


def build(name: str):
    ids = np.random.default_rng(0).integers(1, 30000, size=(BATCH, LENGTH)).astype(np.int32)
    if name.startswith("jbert"):
        import keras
        import tensorflow as tf

        import jbert_tf2

        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        config = jbert_tf2.BertConfig(
            vocab_size=30522,
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=3072,
            hidden_act="gelu_approx",
        )
        model = jbert_tf2.BertModel(config)
        step = tf.function(lambda b: model(b)["sequence_output"], jit_compile="xla" in name)
        batch = {"input_ids": ids, "input_mask": np.ones_like(ids), "segment_ids": 0 * ids}
        return lambda: step(batch).numpy()
    import torch
    import transformers

    model = transformers.BertModel(transformers.BertConfig(hidden_act="gelu_pytorch_tanh")).eval()
    tokens = torch.tensor(ids, dtype=torch.long)

    def run():
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return model(tokens).last_hidden_state

    return run


def main() -> None:
    name = sys.argv[1]
    run = build(name)
    for _ in range(2):
        run()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(f"{name}: {BATCH / np.median(times):.2f} sequences/s")


if __name__ == "__main__":
    main()
