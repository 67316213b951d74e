"""Long documents: classification that reads every window against truncation.

The task: three labels, decided by the family of one keyword (``KEYWORD_FAMILIES`` of the
fine-tuning benchmark: animals, instruments, foods) placed in a text of natural Japanese from
``tests/data/tokenizer_corpus.txt`` (clauses joined, none of them holding a keyword). Two sets:

- ``long``: texts of 2 to 8 times ``--max_seq_length`` characters, the keyword placed at a random
  position past the first window (after token ``max_seq_length - 2``: truncation never sees it);
- ``short``: texts that fit in one window, the keyword anywhere.

Each model trains on the same mixed set (half long, half short) and is scored on held-out long
and short texts. Contenders: ``truncate`` (Google's run_classifier: the first
``max_seq_length - 2`` tokens) and ``windows`` with each aggregation (``mean``, ``max``,
``cls_weighted``; stride ``--doc_stride``), every one with the same data, seeds, optimizer and
steps. The model is a small BERT (``--layers`` x ``--hidden``, MeCab + character tokenizer on the
corpus's characters) initialised at random with the seed, so it learns the keywords from
scratch; accuracies are means and standard deviations over ``--seeds``.

Run from the repository root::

    python benchmarks/long_documents.py            # the table in docs/tasks.md (~10 minutes)
    python benchmarks/long_documents.py --quick    # seconds: a smoke run (tests use it)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.extract_features import clauses, natural_texts  # noqa: E402
from benchmarks.fine_tuning_job import KEYWORD_FAMILIES  # noqa: E402

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CONTENDERS = ("truncate", "windows-mean", "windows-max", "windows-cls_weighted")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max_seq_length", type=int, default=32)
    parser.add_argument("--doc_stride", type=int, default=24)
    parser.add_argument("--train", type=int, default=480, help="training texts (half long)")
    parser.add_argument("--test", type=int, default=150, help="test texts of each set")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--learning_rate", type=float, default=5e-4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--contenders",
        nargs="+",
        choices=CONTENDERS,
        default=list(CONTENDERS),
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--quick", action="store_true", help="a tiny run in seconds")
    args = parser.parse_args(argv)
    if args.quick:
        args.train, args.test, args.epochs, args.seeds = 12, 4, 1, [0]
        args.contenders = ["truncate", "windows-mean"]
    return args


def filler(rng: random.Random, pool: list[str], length: int) -> str:
    text = ""
    while len(text) < length:
        text += rng.choice(pool)
    return text[:length]


def make_texts(n: int, long: bool, max_seq_length: int, seed: int, tokenizer, pool):
    """``n`` (text, label) pairs; the keyword's first token past the first window when
    ``long``, the whole text within one window otherwise."""
    rng = random.Random(seed)
    families = sorted(KEYWORD_FAMILIES)
    room = max_seq_length - 2
    examples = []
    while len(examples) < n:
        label = rng.randrange(len(families))
        word = rng.choice(KEYWORD_FAMILIES[families[label]])
        if long:
            text = filler(rng, pool, rng.randint(2 * max_seq_length, 8 * max_seq_length))
            at = rng.randint(max_seq_length, len(text))
        else:
            text = filler(rng, pool, rng.randint(room // 2, room - len(word)))
            at = rng.randint(0, len(text))
        text = text[:at] + word + text[at:]
        spans = tokenizer.tokenize_with_offsets(text)
        first = next(k for k, (_, s, e) in enumerate(spans) if s >= at)
        if (first >= room) == long and (long or len(spans) <= room):
            examples.append((text, families[label]))
    return examples


def build(workdir: Path, args):
    """The tokenizer, and the train / long test / short test examples (fixed for all runs)."""
    from jbert_tf2.data.examples import TextExample
    from jbert_tf2.tokenization import BertTokenizer

    texts = natural_texts()
    pool = [
        c for c in clauses(texts) if not any(w in c for ws in KEYWORD_FAMILIES.values() for w in ws)
    ]
    chars = {c for t in texts for c in t if not c.isspace()}
    chars |= {c for words in KEYWORD_FAMILIES.values() for w in words for c in w}
    vocab = workdir / "vocab.txt"
    vocab.write_text("\n".join(SPECIALS + sorted(chars)) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(
        vocab, do_lower_case=False, word_tokenizer="mecab", subword_tokenizer="character"
    )
    msl = args.max_seq_length
    half = args.train // 2
    train = make_texts(half, True, msl, 1, tokenizer, pool)
    train += make_texts(args.train - half, False, msl, 2, tokenizer, pool)
    random.Random(3).shuffle(train)
    sets = {
        "train": train,
        "long": make_texts(args.test, True, msl, 4, tokenizer, pool),
        "short": make_texts(args.test, False, msl, 5, tokenizer, pool),
    }
    as_examples = {
        name: [TextExample(text, None, label) for text, label in rows]
        for name, rows in sets.items()
    }
    return tokenizer, as_examples


def train_and_score(contender: str, seed: int, tokenizer, data, args) -> dict:
    import numpy as np

    import jbert_tf2
    from jbert_tf2.backend import keras
    from jbert_tf2.tasks import SequenceClassifier
    from jbert_tf2.training import create_optimizer

    keras.utils.set_random_seed(seed)
    config = jbert_tf2.BertConfig(
        vocab_size=len(tokenizer.vocab),
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=max(1, args.hidden // 32),
        intermediate_size=4 * args.hidden,
        max_position_embeddings=max(64, args.max_seq_length),
    )
    options = {"max_seq_length": args.max_seq_length}
    if contender != "truncate":
        options.update(
            long_text="windows",
            doc_stride=args.doc_stride,
            window_aggregation=contender.split("-", 1)[1],
        )
    labels = sorted(KEYWORD_FAMILIES)
    model = SequenceClassifier(jbert_tf2.BertModel(config), labels=labels, **options)
    model.tokenizer = tokenizer
    model.ensure_built()
    from jbert_tf2.data.pipeline import steps_per_epoch

    features = model.features(data["train"])
    per_epoch = steps_per_epoch(features, args.batch_size, args.max_seq_length)
    steps = per_epoch * args.epochs
    model.compile(optimizer=create_optimizer(args.learning_rate, steps, steps // 10))
    started = time.perf_counter()
    for epoch in range(args.epochs):
        from jbert_tf2.data.pipeline import make_dataset

        dataset = make_dataset(
            features,
            args.batch_size,
            shuffle=True,
            seed=seed,
            epoch=epoch,
            max_seq_length=args.max_seq_length,
        )
        model.fit(dataset, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    result = {"contender": contender, "seed": seed, "train_seconds": round(seconds, 1)}
    for name in ("long", "short"):
        examples = data[name]
        predicted = [r["label"] for r in model.classify([e.text for e in examples], batch_size=64)]
        result[name] = float(
            np.mean([p == e.label for p, e in zip(predicted, examples, strict=True)])
        )
    return result


def table(results: list[dict], contenders: list[str]) -> str:
    import numpy as np

    lines = [
        "| contender | long texts: accuracy | short texts: accuracy | training s (mean) |",
        "|---|---|---|---|",
    ]
    for contender in contenders:
        rows = [r for r in results if r["contender"] == contender]
        cells = []
        for name in ("long", "short"):
            values = np.array([r[name] for r in rows])
            cells.append(f"{values.mean():.3f} ± {values.std():.3f}")
        seconds = np.mean([r["train_seconds"] for r in rows])
        lines.append(f"| `{contender}` | {cells[0]} | {cells[1]} | {seconds:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jbert-long-") as scratch:
        tokenizer, data = build(Path(scratch), args)
        lengths = [len(tokenizer.tokenize(e.text)) for e in data["long"]]
        print(
            f"long texts: {min(lengths)}..{max(lengths)} tokens (max_seq_length "
            f"{args.max_seq_length}); {len(data['train'])} training texts, {len(data['long'])} "
            f"+ {len(data['short'])} test texts; seeds {args.seeds}",
            flush=True,
        )
        results = []
        for seed in args.seeds:
            for contender in args.contenders:
                result = train_and_score(contender, seed, tokenizer, data, args)
                print(json.dumps(result), flush=True)
                results.append(result)
    print(table(results, args.contenders))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
