"""Multi-label classification: shop reviews tagged with every aspect they mention, with
`MultiLabelClassifier` and per-label thresholds tuned on held-out data.

Reads ``train.tsv`` and ``dev.tsv`` with columns ``text`` and ``labels`` (comma-separated, e.g.
``価格,配送``) with ``read_table(..., multi_label=True)``. The model has one sigmoid per label and
binary cross-entropy; it is fine-tuned with `create_optimizer` and ``model.fit``. Micro / macro F1
on dev is reported at the default threshold 0.5 and after `tune_thresholds` has picked each
label's best threshold on dev. Tuning and scoring on the same rows flatters the second number:
with real data, tune on a dev set and report on a separate test set.

The bundled sample (``examples/data/multilabel_sample``: 150 / 40 original reviews, aspects
価格, 品質, 配送, 接客) and the tiny random model only show the plumbing.

Usage::

    python examples/multi_label.py
    python examples/multi_label.py --data_dir my_reviews --model_dir ja-bert --epochs 5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import tiny_model

from jbert_tf2.backend import keras
from jbert_tf2.data import collect_labels, read_table
from jbert_tf2.tasks import MultiLabelClassifier
from jbert_tf2.training import create_optimizer

NEW_TEXTS = [
    "値段は安いのに作りがしっかりしていて驚きました。",
    "届くのが遅く、問い合わせても返事がありませんでした。",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data_dir",
        type=Path,
        default=tiny_model.DATA_DIR / "multilabel_sample",
        help="folder with train.tsv and dev.tsv (default: %(default)s)",
    )
    tiny_model.add_arguments(parser, "multi_label", epochs=10, max_seq_length=128)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.workdir = tiny_model.prepare_workdir(args.workdir)

    train = read_table(args.data_dir / "train.tsv", label_column="labels", multi_label=True)
    dev = read_table(args.data_dir / "dev.tsv", label_column="labels", multi_label=True)
    labels = collect_labels(train)
    print(f"{len(train)} train / {len(dev)} dev reviews, labels: {', '.join(labels)}")
    texts = [e.text for e in train + dev] + NEW_TEXTS
    model_dir, tiny = tiny_model.resolve_model(args, texts)

    keras.utils.set_random_seed(0)  # the same head initialisation and dropout each run
    classifier = MultiLabelClassifier.from_pretrained(
        model_dir, labels=labels, max_seq_length=args.max_seq_length
    )
    train_data = classifier.dataset(train, batch_size=args.batch_size, shuffle=True, seed=0)
    steps = int(train_data.cardinality()) * args.epochs
    classifier.compile(optimizer=create_optimizer(args.learning_rate, steps, steps // 10))
    print(f"\ntraining {args.epochs} epochs ({steps} steps, learning rate {args.learning_rate:g})")
    classifier.fit(
        train_data,
        validation_data=classifier.dataset(dev, batch_size=args.batch_size),
        epochs=args.epochs,
        verbose=2,
    )

    print("\ndev F1        micro  macro")
    at_half = classifier.evaluate_examples(dev)
    print(f"  threshold 0.5  {at_half['micro_f1']:.3f}  {at_half['macro_f1']:.3f}")
    thresholds = classifier.tune_thresholds(dev)
    tuned = classifier.evaluate_examples(dev)
    print(f"  tuned on dev   {tuned['micro_f1']:.3f}  {tuned['macro_f1']:.3f}  (optimistic)")
    print(
        "thresholds: " + ", ".join(f"{k} {t:.2f}" for k, t in zip(labels, thresholds, strict=True))
    )
    if tiny:
        print("(tiny random model on a tiny sample: the scores show the plumbing, not Japanese)")

    print("\nnew texts:")
    for text, result in zip(NEW_TEXTS, classifier.classify(NEW_TEXTS), strict=True):
        scores = " ".join(f"{k}={p:.2f}" for k, p in result["scores"].items())
        print(f"  {','.join(result['labels']) or '-':<12} {scores}  {text}")
    print(f"done in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
