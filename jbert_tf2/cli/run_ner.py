"""`jbert-run-ner`: fine-tune, evaluate and apply a named-entity tagger with run_classifier's
flags, on CoNLL-style files (UD_Japanese-GSD-NE's ``train.bio`` and the like).

Data: ``--train_file --dev_file --test_file``, or ``--data_dir`` holding ``train`` / ``dev`` /
``test`` files with one of the extensions .bio, .conll, .conllu, .txt, .tsv, .iob, .jsonl (CoNLL
/ BIO, CoNLL-U with ``NE=``, or JSON lines). The model tags in ``--tagging_scheme`` (BIOES by
default, converted from BIO data on the fly) with each word's first sub-token labelled.

Results in ``--output_dir``: ``eval_results.txt`` (span precision / recall / F1 overall and per
entity type, seqeval's conventions, plus ``eval_loss`` and ``global_step``),
``test_predictions.jsonl`` (one line per test sentence: its text and entities with character
offsets into that text), ``test_results.txt`` when the test file has tags, and the fine-tuned
model in ``output_dir/model``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from jbert_tf2.cli.common import add_model_flags, atomic_write_text, resolve_model_dir, run_command
from jbert_tf2.cli.fine_tune import add_training_flags, fine_tune, load_finetuned
from jbert_tf2.errors import JbertError

PROG = "jbert-run-ner"
EXTENSIONS = (".bio", ".conll", ".conllu", ".txt", ".tsv", ".iob", ".jsonl")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fine-tune and evaluate a BERT / ELECTRA named-entity tagger on "
        "CoNLL-style files, with run_classifier.py's flags.",
    )
    parser.add_argument("--data_dir", help="directory with train / dev / test files")
    parser.add_argument("--train_file", help="training file (default: DATA_DIR/train.*)")
    parser.add_argument("--dev_file", help="dev file (default: DATA_DIR/dev.*)")
    parser.add_argument("--test_file", help="test file (default: DATA_DIR/test.*)")
    parser.add_argument("--output_dir", help="where checkpoints and results are written")
    parser.add_argument(
        "--tagging_scheme",
        type=str.upper,
        choices=("BIO", "BIOES", "IO"),
        default="BIOES",
        help="the scheme the model predicts (data in another scheme is converted)",
    )
    add_model_flags(parser)
    add_training_flags(parser, learning_rate=5e-5)
    return parser


def find_file(args: argparse.Namespace, split: str) -> Path:
    given = getattr(args, f"{split}_file")
    if given:
        path = Path(given)
        if not path.is_file():
            raise JbertError(f"--{split}_file={path}: no such file")
        return path
    if not args.data_dir:
        raise JbertError(f"pass --{split}_file or --data_dir holding a {split} file")
    directory = Path(args.data_dir)
    if not directory.is_dir():
        raise JbertError(f"--data_dir={directory}: no such directory")
    found = [
        directory / f"{split}{ext}" for ext in EXTENSIONS if (directory / f"{split}{ext}").is_file()
    ]
    if not found:
        raise JbertError(
            f"--data_dir={directory}: no {split} file ({', '.join(split + e for e in EXTENSIONS)})"
        )
    if len(found) > 1:
        raise JbertError(
            f"--data_dir={directory}: several {split} files ({', '.join(p.name for p in found)}); "
            f"name one with --{split}_file"
        )
    return found[0]


def read_sentences(path: Path, tagged: bool = True):
    """Sentences of a CoNLL / BIO / CoNLL-U or JSON-lines file. A test file (``tagged=False``)
    may have a token per line and no tags."""
    from jbert_tf2.data import read_conll, read_jsonl_tagged

    if path.suffix == ".jsonl":
        sentences = read_jsonl_tagged(path)
    elif tagged or _has_tags(path):
        sentences = read_conll(path)
    else:
        sentences = read_conll(path, tag_column=None)
    if not sentences:
        raise JbertError(f"{path}: no sentences")
    return sentences


def _has_tags(path: Path) -> bool:
    """Whether the first token line of a CoNLL file has more than one column."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                return len(line.split()) > 1
    return True


def evaluate(args, tagger, sentences, global_step: int) -> dict:
    """Span scores (overall and per type), the token-level loss and the step."""
    from jbert_tf2.backend import keras

    scores = tagger.evaluate_entities(sentences, args.eval_batch_size)
    known = set(tagger.labels)
    tagged = [s for s in tagger.in_scheme(sentences) if set(s.tags or ()) <= known]
    features = tagger.features(tagged)  # the loss skips sentences with types never trained
    logits = tagger.predict_logits(features, args.eval_batch_size)
    losses, weights = [], []
    for row, output in enumerate(logits):
        n = len(features.input_ids[row])
        loss = keras.ops.convert_to_numpy(
            keras.losses.sparse_categorical_crossentropy(
                features.labels[row], output[:n], from_logits=True
            )
        )
        losses.append(float(np.sum(loss * features.label_weights[row])))
        weights.append(float(np.sum(features.label_weights[row])))
    loss = sum(losses) / max(sum(weights), 1.0)
    result = {
        "eval_precision": scores["precision"],
        "eval_recall": scores["recall"],
        "eval_f1": scores["f1"],
        "eval_macro_f1": scores["macro_f1"],
        "eval_loss": loss,
        "global_step": global_step,
        "loss": loss,
    }
    for kind, values in sorted(scores["per_type"].items()):
        for key in ("precision", "recall", "f1"):
            result[f"eval_{key}_{kind}"] = values[key]
        result[f"eval_support_{kind}"] = values["support"]
    return result


def write_results(path: Path, result: dict, title: str) -> None:
    lines = [f"{key} = {result[key]}" for key in sorted(result)]
    print(f"***** {title} *****")
    print("\n".join(f"  {line}" for line in lines))
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def predict(args, tagger, sentences) -> list[str]:
    """One JSON line per sentence: its text and entities as character spans of that text."""
    from jbert_tf2.tasks import tagging

    all_tags = tagger.predict_tags(sentences, args.predict_batch_size)
    lines = []
    for sentence, tags in zip(sentences, all_tags, strict=True):
        entities = tagging.entities_in_text(sentence.text, sentence.spans, tags, tagger.scheme)
        lines.append(
            json.dumps({"text": sentence.text, "entities": entities}, ensure_ascii=False) + "\n"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(PROG, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from jbert_tf2.tasks import TokenClassifier, tagging

    if not args.output_dir:
        raise JbertError("--output_dir is required")
    if not (args.do_train or args.do_eval or args.do_predict):
        raise JbertError("at least one of --do_train, --do_eval or --do_predict must be true")
    output = Path(args.output_dir)
    if output.exists() and not output.is_dir():
        raise JbertError(f"--output_dir={output}: exists and is not a directory")
    train = read_sentences(find_file(args, "train")) if args.do_train else None
    dev = read_sentences(find_file(args, "dev")) if args.do_eval else None
    test = read_sentences(find_file(args, "test"), tagged=False) if args.do_predict else None
    output.mkdir(parents=True, exist_ok=True)
    model_dir = resolve_model_dir(args, output / "init_model")
    global_step = 0
    if args.do_train:
        types = tagging.entity_types([s.tags for s in train if s.tags])
        if not types:
            raise JbertError(f"{find_file(args, 'train')}: has no entities (every tag is O)")
        labels = tagging.labels_for(types, args.tagging_scheme)
        tagger, global_step = fine_tune(
            args,
            lambda: TokenClassifier.from_pretrained(
                model_dir,
                labels=labels,
                max_seq_length=args.max_seq_length,
                scheme=args.tagging_scheme,
            ),
            train,
            dev,
        )
    else:
        tagger = load_finetuned(args, TokenClassifier, model_dir)
    if args.do_eval:
        write_results(
            output / "eval_results.txt", evaluate(args, tagger, dev, global_step), "Eval results"
        )
    if args.do_predict:
        atomic_write_text(output / "test_predictions.jsonl", "".join(predict(args, tagger, test)))
        print(f"wrote {output / 'test_predictions.jsonl'} ({len(test)} sentences)")
        if all(s.tags for s in test):
            scores = tagger.evaluate_entities(test, args.predict_batch_size)
            write_results(
                output / "test_results.txt",
                {f"test_{k}": v for k, v in scores.items() if k != "per_type"},
                "Test results",
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
