"""Named entity recognition: BIO files -> `TokenClassifier` with BIOES labels -> entities as
exact character spans of raw text.

Reads ``train.bio``, ``dev.bio`` and ``test.bio`` in UD_Japanese-GSD-NE's layout (one
``word<TAB>tag`` per line, a blank line between sentences, ``# text = ...`` keeping the original
spacing) with `read_conll`. The labels are BIOES (``labels_for(entity_types(...), "BIOES")``);
the BIO data is converted on the fly. After ``model.fit`` it reports span precision / recall / F1
on test (seqeval's conventions) and tags a new sentence with `predict_entities`, which splits
raw text into words itself and returns each entity with character offsets into the input:
「三代目 J SOUL BROTHERS」 comes back whole, spaces included.

The bundled sample (``examples/data/ner_sample``: 150 / 30 / 30 original sentences with PERSON,
ORG, GPE, FAC, PRODUCT and DATE, written by ``examples/data/make_ner_sample.py``) and the tiny
random model only show the plumbing; use a real model and corpus for real scores.

Usage::

    python examples/ner.py
    python examples/ner.py --data_dir ~/UD_Japanese-GSD-NE --model_dir ja-bert --epochs 5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import tiny_model

from jbert_tf2.backend import keras
from jbert_tf2.data import read_conll
from jbert_tf2.tasks import TokenClassifier
from jbert_tf2.tasks.tagging import entity_types, labels_for
from jbert_tf2.training import create_optimizer

NEW_TEXT = "三代目 J SOUL BROTHERSが東京ドームで公演した。"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data_dir",
        type=Path,
        default=tiny_model.DATA_DIR / "ner_sample",
        help="folder with train.bio, dev.bio and test.bio (default: %(default)s)",
    )
    tiny_model.add_arguments(parser, "ner", epochs=8, batch_size=16)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.workdir = tiny_model.prepare_workdir(args.workdir)

    train, dev, test = (
        read_conll(args.data_dir / f"{name}.bio") for name in ("train", "dev", "test")
    )
    types = entity_types([s.tags for s in train + dev + test])
    labels = labels_for(types, "BIOES")
    print(f"{len(train)} train / {len(dev)} dev / {len(test)} test sentences")
    print(f"entity types: {', '.join(types)} -> {len(labels)} BIOES labels")
    model_dir, tiny = tiny_model.resolve_model(
        args, [s.text for s in train + dev + test] + [NEW_TEXT]
    )

    keras.utils.set_random_seed(0)  # the same head initialisation and dropout each run
    tagger = TokenClassifier.from_pretrained(
        model_dir, labels=labels, max_seq_length=args.max_seq_length
    )
    train_data = tagger.dataset(train, batch_size=args.batch_size, shuffle=True, seed=0)
    steps = int(train_data.cardinality()) * args.epochs
    tagger.compile(optimizer=create_optimizer(args.learning_rate, steps, steps // 10))
    print(f"\ntraining {args.epochs} epochs ({steps} steps, learning rate {args.learning_rate:g})")
    tagger.fit(
        train_data,
        validation_data=tagger.dataset(dev, batch_size=args.batch_size),
        epochs=args.epochs,
        verbose=2,
    )

    scores = tagger.evaluate_entities(test)
    print(
        f"\ntest entities: precision {scores['precision']:.3f}  recall {scores['recall']:.3f}  "
        f"F1 {scores['f1']:.3f}  ({scores['support']} entities)"
    )
    for kind, row in scores["per_type"].items():
        print(f"  {kind:<8} F1 {row['f1']:.3f}  ({row['support']})")
    if tiny:
        print("(tiny random model on a tiny sample: the scores show the plumbing, not Japanese)")

    entities = tagger.predict_entities(NEW_TEXT)[0]
    print(f"\nentities in {NEW_TEXT}")
    for entity in entities:
        assert NEW_TEXT[entity["start"] : entity["end"]] == entity["text"]
        print(f"  {entity['label']:<8} [{entity['start']}:{entity['end']}]  {entity['text']}")
    if not entities:
        print("  (none found)")
    print(f"done in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
