"""Sentence vectors with `Embedder`: [CLS], mean or max pooling over one layer or the last four,
compared by cosine similarity.

``Embedder.from_pretrained(model_dir, pooling=..., layers=...)`` needs no labels and no training:
``pooling`` is ``cls`` (the [CLS] vector), ``mean`` or ``max`` over the real tokens (padding never
counts), ``layers`` index the hidden states (-1 the last layer; several are concatenated, as BERT's
paper did with the last four) and ``normalize=True`` returns unit vectors, so a dot product is the
cosine similarity. Prints the vector size of each setting and the similarity of a few sentences
to the first one.

With the tiny random model the similarities reflect shared characters, not meaning; pass
``--model_dir`` with a real converted model. Raw BERT vectors are a weak similarity measure even
then (fine-tuned sentence encoders do better); this shows the mechanics.

Usage::

    python examples/sentence_vectors.py
    python examples/sentence_vectors.py --model_dir ja-bert
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import tiny_model

from jbert_tf2.tasks import Embedder

SENTENCES = [
    "今日は天気が良いので公園を散歩した。",
    "晴れていたので近くの公園まで歩いた。",
    "新しいスマートフォンが来月発売される。",
    "日本代表が逆転勝ちで決勝に進んだ。",
]
SETTINGS = [
    (pooling, layers) for layers in ((-1,), (-1, -2, -3, -4)) for pooling in ("cls", "mean", "max")
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    tiny_model.add_arguments(parser, "sentence_vectors", epochs=None, batch_size=32)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.workdir = tiny_model.prepare_workdir(args.workdir)
    model_dir, tiny = tiny_model.resolve_model(args, SENTENCES)

    # Each Embedder below traces its own predict function once; TensorFlow would warn about
    # "retracing" from the fifth on, although nothing is traced twice.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    print("\ncosine similarity to sentence 0")
    header = "  ".join(f"{i:>5}" for i in range(1, len(SENTENCES)))
    print(f"  {'pooling':<8}{'layers':<16}{'size':>6}   {header}")
    for pooling, layers in SETTINGS:
        embedder = Embedder.from_pretrained(
            model_dir,
            pooling=pooling,
            layers=layers,
            normalize=True,
            max_seq_length=args.max_seq_length,
        )
        vectors = embedder.embed(SENTENCES, batch_size=args.batch_size)
        similarity = vectors[1:] @ vectors[0]
        cells = "  ".join(f"{s:.3f}" for s in similarity)
        print(f"  {pooling:<8}{str(layers):<16}{vectors.shape[1]:>6}   {cells}")
    print()
    for i, text in enumerate(SENTENCES):
        print(f"  {i}  {text}")
    if tiny:
        print(
            "(tiny random model: similarities follow shared characters, not meaning, and its "
            "[CLS] vectors are nearly identical)"
        )
    print(f"done in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
