"""Sentence-pair classification (does the first sentence entail the second?) with
`SequenceClassifier` on text pairs.

Reads ``train.tsv`` and ``dev.tsv`` with columns ``text``, ``text_b`` and ``label``
(`read_table` picks up ``text_b`` by its name); each pair is encoded as
``[CLS] text [SEP] text_b [SEP]`` with segment ids 0 and 1, as Google's ``run_classifier.py``
did for MRPC and MNLI. Fine-tunes with `create_optimizer` and ``model.fit``, reports dev
accuracy and classifies two new pairs.

The bundled sample (``examples/data/pairs_sample``: 150 / 40 original pairs labelled 含意 /
非含意) and the tiny random model only show the plumbing; a real model (``--model_dir``) and a
real data set such as JSNLI or JGLUE's JNLI (converted to this TSV layout) give real scores.

Usage::

    python examples/sentence_pairs.py
    python examples/sentence_pairs.py --data_dir ~/jnli --model_dir ja-bert --epochs 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import tiny_model

from jbert_tf2.backend import keras
from jbert_tf2.data import collect_labels, read_table
from jbert_tf2.tasks import SequenceClassifier
from jbert_tf2.training import create_optimizer

NEW_PAIRS = [
    ("田中さんは昨日、友人と図書館で本を読んだ。", "田中さんは本を読んだ。"),
    ("田中さんは昨日、友人と図書館で本を読んだ。", "田中さんは本を読まなかった。"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data_dir",
        type=Path,
        default=tiny_model.DATA_DIR / "pairs_sample",
        help="folder with train.tsv and dev.tsv (default: %(default)s)",
    )
    tiny_model.add_arguments(parser, "sentence_pairs", epochs=12, batch_size=8)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.workdir = tiny_model.prepare_workdir(args.workdir)

    train = read_table(args.data_dir / "train.tsv")
    dev = read_table(args.data_dir / "dev.tsv")
    labels = collect_labels(train)
    print(f"{len(train)} train / {len(dev)} dev pairs, labels: {', '.join(labels)}")
    texts = [t for e in train + dev for t in (e.text, e.text_b)]
    model_dir, tiny = tiny_model.resolve_model(args, texts + [t for p in NEW_PAIRS for t in p])

    keras.utils.set_random_seed(0)  # the same head initialisation and dropout each run
    classifier = SequenceClassifier.from_pretrained(
        model_dir, labels=labels, max_seq_length=args.max_seq_length
    )
    train_data = classifier.dataset(train, batch_size=args.batch_size, shuffle=True, seed=0)
    dev_data = classifier.dataset(dev, batch_size=args.batch_size)
    steps = int(train_data.cardinality()) * args.epochs
    classifier.compile(optimizer=create_optimizer(args.learning_rate, steps, steps // 10))
    print(f"\ntraining {args.epochs} epochs ({steps} steps, learning rate {args.learning_rate:g})")
    classifier.fit(train_data, validation_data=dev_data, epochs=args.epochs, verbose=2)

    scores = classifier.evaluate(dev_data, verbose=0, return_dict=True)
    print(f"\ndev accuracy: {scores['accuracy']:.3f} ({len(dev)} pairs)")
    if tiny:
        print("(tiny random model on a tiny sample: the scores show the plumbing, not Japanese)")
    premises, hypotheses = zip(*NEW_PAIRS, strict=True)
    print("\nnew pairs:")
    for premise, hypothesis, result in zip(
        premises, hypotheses, classifier.classify(premises, hypotheses), strict=True
    ):
        print(f"  {result['label']:<4} {result['score']:.3f}  {premise} -> {hypothesis}")
    print(f"done in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
