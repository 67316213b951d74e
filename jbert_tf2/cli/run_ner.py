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

``--do_predict`` streams the test file: it is read once to check and count it (before any
training), then again in chunks of `CHUNK_SENTENCES` that are tagged, appended to a partial
``test_predictions.jsonl`` (renamed into place when complete) and scored by summing entity
counts; memory stays bounded whatever the file size.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from jbert_tf2.atomic_files import write_text, written_aside
from jbert_tf2.cli.backend_flag import add_backend_flag, use_backend
from jbert_tf2.cli.common import (
    CommandParser,
    add_bool,
    add_model_flags,
    resolve_model_dir,
    run_command,
)
from jbert_tf2.cli.outputs import Outputs, add_overwrite_flag, run_outputs
from jbert_tf2.cli.progress import Progress, chunks
from jbert_tf2.cli.training_flags import add_training_flags, fine_tune, load_finetuned
from jbert_tf2.errors import JbertError
from jbert_tf2.tasks.tagging import SCHEME_ALIASES, SCHEMES

PROG = "jbert-run-ner"
CHUNK_SENTENCES = 256  # test sentences tagged together; only their results are held
EXTENSIONS = (".bio", ".conll", ".conllu", ".txt", ".tsv", ".iob", ".jsonl")


def _scheme_name(value: str) -> str:
    """``--tagging_scheme`` in any case, its other spellings (IOB2, IOBES, BILUO) accepted."""
    return SCHEME_ALIASES.get(value.upper(), value.upper())


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
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
        type=_scheme_name,
        choices=SCHEMES,
        default="BIOES",
        help="the scheme the model predicts (data in another scheme is converted)",
    )
    parser.add_argument(
        "--labels",
        metavar="FILE",
        help="the tags of a fine-tuned TF1 --init_checkpoint's head, one a line, in its order "
        "(Google-style NER scripts, ELECTRA's tagging tasks)",
    )
    parser.add_argument(
        "--task_name",
        help="the ELECTRA head (task_specific/<name>/) of a fine-tuned TF1 --init_checkpoint",
    )
    add_model_flags(parser)
    add_training_flags(parser, learning_rate=5e-5)
    add_bool(parser, "progress", True, "show --do_predict's progress on stderr")
    add_backend_flag(parser)
    add_overwrite_flag(parser)
    return parser


def outputs(args: argparse.Namespace) -> Outputs:
    """What this run writes in ``--output_dir`` (checked before any data is read)."""
    results = ["eval_results.txt"] if args.do_eval else []
    if args.do_predict:
        results += ["test_predictions.jsonl", "test_results.txt"]
    return run_outputs(args.output_dir, PROG, args.init_checkpoint, args.do_train, results)


def find_file(args: argparse.Namespace, split: str) -> Path:
    given = getattr(args, f"{split}_file")
    if given:
        path = Path(given)
        if not path.is_file():
            what = "is a directory; name the file in it" if path.is_dir() else "no such file"
            raise JbertError(f"--{split}_file={path}: {what}")
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


def iter_sentences(path: Path, tagged: bool = True):
    """`read_sentences`' sentences one at a time, read from the file as they are taken."""
    from jbert_tf2.data.conll import iter_conll
    from jbert_tf2.data.jsonl import iter_jsonl_tagged

    if path.suffix == ".jsonl":
        return iter_jsonl_tagged(path)
    if tagged or _has_tags(path):
        return iter_conll(path)
    return iter_conll(path, tag_column=None)


def survey_test(path: Path) -> tuple[int, bool, set[str]]:
    """Reads the whole test file once (checking every line): the number of sentences, whether
    every one has tags, and the tags used."""
    count, all_tagged, tags = 0, True, set()
    for sentence in iter_sentences(path, tagged=False):
        count += 1
        if sentence.tags:
            tags.update(sentence.tags)
        else:
            all_tagged = False
    return count, all_tagged, tags


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
    write_text(path, "".join(line + "\n" for line in lines))


def prediction_lines(tagger, sentences, all_tags) -> list[str]:
    """One JSON line per sentence: its text and entities as character spans of that text
    (`TokenClassifier.entities`, as `predict_entities` returns them)."""
    return [
        json.dumps({"text": sentence.text, "entities": entities}, ensure_ascii=False) + "\n"
        for sentence, entities in zip(sentences, tagger.entities(sentences, all_tags), strict=True)
    ]


def predict(args, tagger, path: Path, survey: tuple[int, bool, set[str]]) -> dict | None:
    """``test_predictions.jsonl`` from the test file, `CHUNK_SENTENCES` at a time, appended to
    a partial file renamed into place when complete. When every test sentence has tags, also
    their span scores (`TokenClassifier.evaluate_entities`' numbers, from summed counts)."""
    from jbert_tf2.tasks import tagging

    total, all_tagged, tags = survey
    target = Path(args.output_dir) / "test_predictions.jsonl"
    # As evaluate_entities does: tags in another scheme (over the whole file) are converted.
    convert = all_tagged and tagging.detect_scheme([sorted(tags)]) != tagger.scheme
    counts = (Counter(), Counter(), Counter())
    progress = Progress(PROG, total, "test sentences", args.progress)
    done = 0
    try:
        with written_aside(target) as partial, open(partial, "w", encoding="utf-8") as out:
            for chunk in chunks(iter_sentences(path, tagged=False), CHUNK_SENTENCES):
                all_tags = tagger.predict_tags(chunk, args.predict_batch_size)
                out.write("".join(prediction_lines(tagger, chunk, all_tags)))
                if all_tagged:
                    truth = [
                        tagging.convert_tags(s.tags, to=tagger.scheme) if convert else list(s.tags)
                        for s in chunk
                    ]
                    found = tagging.span_counts(truth, all_tags, scheme=tagger.scheme)
                    for into, more in zip(counts, found, strict=True):
                        into.update(more)
                done += len(chunk)
                progress.update(done)
    finally:
        progress.finish()
    print(f"wrote {target} ({done} sentences)")
    return tagging.scores_from_counts(*counts) if all_tagged else None


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
    planned = outputs(args)
    planned.check(args.overwrite)
    train = read_sentences(find_file(args, "train")) if args.do_train else None
    dev = read_sentences(find_file(args, "dev")) if args.do_eval else None
    test_file = find_file(args, "test") if args.do_predict else None
    test = survey_test(test_file) if args.do_predict else None  # checked now, streamed later
    planned.claim(args.overwrite)
    head = {"task": "token_classification", "task_name": args.task_name, "labels": args.labels}
    model_dir = resolve_model_dir(args, output / "init_model", head=head)
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
        planned.record("model")
    else:
        tagger = load_finetuned(args, TokenClassifier, model_dir)
    if args.do_eval:
        write_results(
            output / "eval_results.txt", evaluate(args, tagger, dev, global_step), "Eval results"
        )
        planned.record("eval_results.txt")
    if args.do_predict:
        use_backend(tagger, args.backend)
        scores = predict(args, tagger, test_file, test)
        planned.record("test_predictions.jsonl")
        if scores is not None:
            write_results(
                output / "test_results.txt",
                {f"test_{k}": v for k, v in scores.items() if k != "per_type"},
                "Test results",
            )
            planned.record("test_results.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
