"""A tiny training run for tests/test_training_trainer.py: Dropout models on synthetic token data.

Imported by the tests, and run as a script for the ones that need a fresh process (kill and
resume, logical CPU devices, several workers):

    python tests/trainer_script.py OUTPUT_DIR [--strategy S] [--logical-cpus N] [--epochs E]
        [--every K] [--delay SECONDS] [--model small|bert] [--result WEIGHTS.npz]

It prints one JSON line (``RESULT {...}``) with the history, and with ``--result`` saves the
final weights (model weights and Dropout seed states) as an ``.npz`` file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

VOCAB = 40
EXAMPLES = 48
BATCH = 8


def examples(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Token sequences of 3 to 12 ids; the label says whether the first id is below 20."""
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(1, VOCAB, size=int(rng.integers(3, 13))) for _ in range(EXAMPLES)]
    labels = np.array([int(s[0] < 20) for s in sequences], dtype=np.int32)
    return sequences, labels


def batches(epoch: int, seed: int = 0, delay: float = 0.0, shuffle: bool = True):
    """That epoch's batches in length buckets, each padded to its longest sequence."""
    import tensorflow as tf

    sequences, labels = examples(seed)
    order = np.random.default_rng(1000 + epoch).permutation(EXAMPLES) if shuffle else None
    order = order if order is not None else np.arange(EXAMPLES)
    # Length buckets: sort each window of two batches by length, so batch shapes vary.
    window = 2 * BATCH
    order = np.concatenate(
        [
            sorted(order[i : i + window], key=lambda j: len(sequences[j]))
            for i in range(0, EXAMPLES, window)
        ]
    )

    def generate():
        for start in range(0, EXAMPLES, BATCH):
            index = order[start : start + BATCH]
            length = max(len(sequences[i]) for i in index)
            ids = np.zeros((len(index), length), np.int32)
            for row, i in enumerate(index):
                ids[row, : len(sequences[i])] = sequences[i]
            if delay:
                time.sleep(delay)
            yield {"input_ids": ids, "input_mask": (ids > 0).astype(np.int32)}, labels[index]

    signature = (
        {
            "input_ids": tf.TensorSpec((None, None), tf.int32),
            "input_mask": tf.TensorSpec((None, None), tf.int32),
        },
        tf.TensorSpec((None,), tf.int32),
    )
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(EXAMPLES // BATCH))


def small_model(learning_rate: float = 0.02):
    """Embedding, Dropout, masked mean, Dropout, Dense: a few hundred weights."""
    from jbert_tf2.backend import keras

    ids = keras.Input((None,), dtype="int32", name="input_ids")
    mask = keras.Input((None,), dtype="int32", name="input_mask")
    x = keras.layers.Embedding(VOCAB, 8)(ids)
    x = keras.layers.Dropout(0.3)(x)
    weights = keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    x = keras.ops.sum(x * weights, axis=1) / keras.ops.maximum(keras.ops.sum(weights, axis=1), 1)
    x = keras.layers.Dense(8, activation="relu")(x)
    x = keras.layers.Dropout(0.3)(x)
    logits = keras.layers.Dense(2)(x)
    model = keras.Model({"input_ids": ids, "input_mask": mask}, logits)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def bert_model(learning_rate: float = 0.01):
    """A two-layer BertModel (hidden size 16) with a Dropout + Dense classifier on [CLS], trained
    with BERT's AdamW (its warmup and decay read the optimizer's step counter)."""
    from jbert_tf2 import BertConfig, BertModel
    from jbert_tf2.backend import keras
    from jbert_tf2.training.optimizer import create_optimizer

    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    ids = keras.Input((None,), dtype="int32", name="input_ids")
    mask = keras.Input((None,), dtype="int32", name="input_mask")
    pooled = BertModel(config)({"input_ids": ids, "input_mask": mask})["pooled_output"]
    logits = keras.layers.Dense(2)(keras.layers.Dropout(0.1)(pooled))
    model = keras.Model({"input_ids": ids, "input_mask": mask}, logits)
    steps = 3 * EXAMPLES // BATCH
    model.compile(
        optimizer=create_optimizer(learning_rate, num_train_steps=steps, num_warmup_steps=2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def final_state(model) -> dict[str, np.ndarray]:
    """Model weights and Dropout seed states, keyed by position."""
    return {f"v{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(model.variables)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("output_dir")
    parser.add_argument("--strategy", default="cpu")
    parser.add_argument("--logical-cpus", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--every", type=int, default=None)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--model", choices=("small", "bert"), default="small")
    parser.add_argument("--result", default=None)
    parser.add_argument(
        "--resume-check",
        action="store_true",
        help="then resume a copy of the run from its second-newest checkpoint and compare",
    )
    args = parser.parse_args(argv)

    import tensorflow as tf

    if args.logical_cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        config = [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus
        tf.config.set_logical_device_configuration(cpu, config)

    trainer = run(args, args.output_dir)
    result = {"history": trainer.history, "resumed_from": str(trainer.resumed_from)}
    if args.result:
        np.savez(args.result, **final_state(trainer.model))
    if args.resume_check:
        result["resume"] = resume_check(args, trainer)
    print("RESULT " + json.dumps(result), flush=True)


def run(args: argparse.Namespace, output_dir: str):
    """Train (or continue) the run that ``args`` describe in ``output_dir``."""
    from jbert_tf2.training.trainer import Trainer

    trainer = Trainer(
        bert_model if args.model == "bert" else small_model,
        output_dir,
        strategy=args.strategy,
        epochs=args.epochs,
        checkpoint_every_steps=args.every,
        progress=False,
    )
    trainer.fit(lambda epoch: batches(epoch, delay=args.delay), batches(0, seed=1, shuffle=False))
    return trainer


def resume_check(args: argparse.Namespace, finished) -> dict:
    """Copy the finished run without its newest checkpoint, continue it, compare the weights."""
    copy = Path(args.output_dir + "-resumed")
    shutil.copytree(args.output_dir, copy)
    pointer = json.loads((copy / "checkpoints" / "checkpoint").read_text())
    (copy / "checkpoints" / pointer["latest"]).unlink()
    resumed = run(args, str(copy))
    expected, got = final_state(finished.model), final_state(resumed.model)
    return {
        "resumed_from": Path(resumed.resumed_from).name,
        "equal": all(np.array_equal(expected[k], got[k]) for k in expected),
        "history_equal": resumed.history == finished.history,
    }


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
