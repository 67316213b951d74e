"""Livedoor news topic classification: articles -> `SequenceClassifier` -> `Trainer`.

Reads the livedoor news corpus layout (``text/<category>/<category>-<id>.txt``) with
`read_livedoor`, splits it 70/15/15 by category with `split_examples`, fine-tunes a
`SequenceClassifier` with Google's AdamW (`create_optimizer`, 10% warmup) under the `Trainer`
(checkpoints, ``history.json``, ``training_curves.png`` and the best epoch as a model directory
in ``WORKDIR/train``; ``--resume`` continues a killed run there), reports test accuracy,
classifies two new texts, saves the model with ``save_pretrained`` and loads it back with
`load_task` to check that it predicts the same.

By default it runs on the bundled sample (63 short original articles in the 9 livedoor
categories) and a tiny random model, so it finishes in seconds and the scores only show that
the pipeline works. For the real task, unpack ldcc-20140209.tar.gz from rondhuit.com and convert
a Japanese BERT (e.g. cl-tohoku's) with ``jbert-convert``.

Usage::

    python examples/livedoor_classification.py
    python examples/livedoor_classification.py --data_dir ~/ldcc/text --model_dir ja-bert \\
        --epochs 3 --batch_size 32 --max_seq_length 256
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import tiny_model

import jbert_tf2
from jbert_tf2.data import (
    collect_labels,
    encode_classification,
    make_dataset,
    read_livedoor,
    split_examples,
)
from jbert_tf2.tasks import SequenceClassifier, load_task
from jbert_tf2.training import Trainer, create_optimizer

NEW_TEXTS = [
    "日本代表が強豪に逆転勝ち、監督は選手の粘りをたたえた。",
    "新しいAndroidスマートフォンが夏モデルとして発表された。",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data_dir",
        type=Path,
        default=tiny_model.DATA_DIR / "livedoor_sample",
        help="the corpus' text/ folder or the folder holding it (default: %(default)s)",
    )
    tiny_model.add_arguments(
        parser,
        "livedoor_classification",
        epochs=15,
        batch_size=8,
        max_seq_length=128,
        tiny_learning_rate=1e-3,
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its last checkpoint in WORKDIR/train instead of "
        "starting over",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.workdir = tiny_model.prepare_workdir(args.workdir)
    train_dir = args.workdir / "train"
    if not args.resume:
        shutil.rmtree(train_dir, ignore_errors=True)

    examples = read_livedoor(args.data_dir)
    train, dev, test = split_examples(examples, (0.7, 0.15, 0.15), seed=0)
    labels = collect_labels(examples)
    print(f"{len(examples)} articles in {len(labels)} categories: {', '.join(labels)}")
    print(f"split: {len(train)} train / {len(dev)} dev / {len(test)} test")
    model_dir, tiny = tiny_model.resolve_model(args, [e.text for e in examples] + NEW_TEXTS)

    # Tokenize once; each epoch then only reorders the rows (seeded by the epoch number).
    tokenizer = jbert_tf2.load_tokenizer(model_dir)
    train_features = encode_classification(tokenizer, train, labels, args.max_seq_length)
    dev_features = encode_classification(tokenizer, dev, labels, args.max_seq_length)

    def train_data(epoch: int):
        return make_dataset(
            train_features,
            args.batch_size,
            shuffle=True,
            seed=0,
            epoch=epoch,
            max_seq_length=args.max_seq_length,
        )

    dev_data = make_dataset(dev_features, args.batch_size, max_seq_length=args.max_seq_length)
    steps = int(train_data(0).cardinality()) * args.epochs  # length buckets add partial batches

    def build_model() -> SequenceClassifier:
        model = SequenceClassifier.from_pretrained(
            model_dir, labels=labels, max_seq_length=args.max_seq_length
        )
        model.compile(optimizer=create_optimizer(args.learning_rate, steps, steps // 10))
        return model

    print(f"\ntraining {args.epochs} epochs ({steps} steps, learning rate {args.learning_rate:g})")
    trainer = Trainer(build_model, train_dir, epochs=args.epochs, monitor="val_accuracy")
    history = trainer.fit(train_data, dev_data)
    if trainer.resumed_from is not None:
        print(f"continued from {trainer.resumed_from}")
    classifier = trainer.model
    print(f"dev accuracy by epoch: {' '.join(f'{a:.2f}' for a in history['val_accuracy'])}")
    print(f"the best epoch's model is in {train_dir / 'best'} (load it with load_task)")

    test_data = classifier.dataset(test, batch_size=args.batch_size)
    scores = classifier.evaluate(test_data, verbose=0, return_dict=True)
    print(f"\ntest accuracy: {scores['accuracy']:.3f} ({len(test)} articles)")
    if tiny:
        print("(tiny random model on a tiny sample: the scores show the plumbing, not Japanese)")

    predictions = classifier.classify(NEW_TEXTS)
    print("\nnew texts:")
    for text, prediction in zip(NEW_TEXTS, predictions, strict=True):
        print(f"  {prediction['label']:<16} {prediction['score']:.3f}  {text}")

    saved = classifier.save_pretrained(args.workdir / "livedoor-classifier", overwrite=True)
    reloaded = load_task(saved)
    same = np.allclose(reloaded.predict_proba(NEW_TEXTS), classifier.predict_proba(NEW_TEXTS))
    assert same and reloaded.labels == labels
    print(f"\nsaved to {saved}; load_task gives the same predictions: {same}")
    print(f"done in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
