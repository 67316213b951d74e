"""`jbert-run-classifier`: google-research/bert's run_classifier.py command line on TF2.

Every flag of Google's script (and yoheikikuta's ``--model_file``) is accepted with its meaning
and default; results go to the same files: ``eval_results.txt`` (``key = value`` lines) and
``test_results.tsv`` (one row of class probabilities per test example). Training runs in the
resumable `Trainer` (checkpoints under ``output_dir/checkpoints``; the same command continues
after a kill), the fine-tuned model is saved as ``output_dir/model`` (a model directory that
``--init_checkpoint`` accepts later), and TPUs come from ``--use_tpu --tpu_name``.

``--do_predict`` streams the test file: it is read once to check and count it (before any
training), then again in chunks of `CHUNK_EXAMPLES` that are predicted and appended to a
partial ``test_results.tsv``, renamed into place when complete; memory stays bounded whatever
the file size. Texts longer than ``--max_seq_length`` tokens are truncated (Google's rules), with
one warning at the end that counts them, or with ``--long_text=windows`` read through windows
``--doc_stride`` tokens apart whose logits ``--window_aggregation`` combines (in training too).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterable
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
from jbert_tf2.cli.progress import Progress, Truncations, chunks
from jbert_tf2.cli.training_flags import (
    add_long_text_flags,
    add_training_flags,
    fine_tune,
    load_finetuned,
    long_text_options,
)
from jbert_tf2.errors import JbertError

PROG = "jbert-run-classifier"
CHUNK_EXAMPLES = 256  # test examples predicted together; only their results are held


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog=PROG,
        description="Fine-tune and evaluate a BERT / ELECTRA classifier with the flags of "
        "google-research/bert's run_classifier.py.",
    )
    parser.add_argument("--data_dir", help="directory with the task's .tsv files")
    parser.add_argument("--task_name", help="cola, mnli, mrpc, xnli, livedoor or tsv")
    parser.add_argument("--output_dir", help="where checkpoints and results are written")
    add_model_flags(parser)
    add_training_flags(parser, learning_rate=5e-5)
    add_bool(parser, "multi_label", False, "several labels per text (sigmoid; tsv task)")
    add_long_text_flags(parser)
    parser.add_argument(
        "--attention_examples",
        type=int,
        default=0,
        metavar="N",
        help="with --do_predict, write output_dir/attention/index.html (the last layer's [CLS] "
        "attention over the tokens) and heatmaps for the first N test examples (default: 0)",
    )
    add_bool(parser, "progress", True, "show --do_predict's progress on stderr")
    add_backend_flag(parser)
    add_overwrite_flag(parser)
    return parser


def check_args(args: argparse.Namespace) -> None:
    for flag in ("data_dir", "task_name", "output_dir"):
        if not getattr(args, flag):
            raise JbertError(f"--{flag} is required (as in Google's run_classifier.py)")
    if not (args.do_train or args.do_eval or args.do_predict):
        raise JbertError("at least one of --do_train, --do_eval or --do_predict must be true")
    if not Path(args.data_dir).is_dir():
        what = "is a file" if Path(args.data_dir).exists() else "no such directory"
        raise JbertError(
            f"--data_dir={args.data_dir}: {what}; name the directory of the .tsv files"
        )
    if args.attention_examples < 0:
        raise JbertError(f"--attention_examples={args.attention_examples}: must be 0 or more")
    if args.attention_examples and not args.do_predict:
        raise JbertError("--attention_examples shows test examples; add --do_predict=true")
    output = Path(args.output_dir)
    if output.exists() and not output.is_dir():
        raise JbertError(f"--output_dir={output}: exists and is not a directory")
    long_text_options(args)


def outputs(args: argparse.Namespace) -> Outputs:
    """What this run writes in ``--output_dir`` (checked before any data is read)."""
    results = ["eval_results.txt"] if args.do_eval else []
    if args.do_predict:
        results.append("test_results.tsv")
    if args.do_predict and args.attention_examples:
        results.append("attention")
    return run_outputs(args.output_dir, PROG, args.init_checkpoint, args.do_train, results)


def task_class(multi_label: bool):
    from jbert_tf2.tasks import MultiLabelClassifier, SequenceClassifier

    return MultiLabelClassifier if multi_label else SequenceClassifier


def train(args, model_dir: Path, labels: list[str], train_examples, dev_examples):
    cls = task_class(args.multi_label)
    options = long_text_options(args)
    return fine_tune(
        args,
        lambda: cls.from_pretrained(
            model_dir, labels=labels, max_seq_length=args.max_seq_length, **options
        ),
        train_examples,
        dev_examples,
    )


def evaluate(args, model, dev_examples, global_step: int) -> dict:
    """Google's eval_results.txt keys (eval_accuracy, eval_loss, global_step, loss) plus F1."""
    from jbert_tf2.backend import keras

    features = model.features(dev_examples)
    outputs = model.predict_logits(features, args.eval_batch_size)
    logits = np.stack(outputs).astype(np.float64)
    predicted = model.predictions_from_logits(outputs)
    truth = features.labels
    if args.multi_label:
        from jbert_tf2.tasks.multi_label_classifier import f1_scores

        loss = float(
            np.mean(
                keras.ops.convert_to_numpy(
                    keras.losses.binary_crossentropy(truth, logits, from_logits=True)
                )
            )
        )
        scores = f1_scores(truth, predicted)
        result = {
            "eval_accuracy": float(np.mean(np.all(predicted == truth.astype(bool), axis=1))),
            "eval_micro_f1": scores["micro_f1"],
            "eval_macro_f1": scores["macro_f1"],
        }
    else:
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = float(-np.mean(log_probs[np.arange(len(truth)), truth]))
        result = {"eval_accuracy": float(np.mean(predicted == truth))}
        result["eval_f1"] = _f1(truth, predicted, model.num_labels)
    result.update({"eval_loss": loss, "global_step": global_step, "loss": loss})
    return result


def _f1(truth: np.ndarray, predicted: np.ndarray, num_labels: int) -> float:
    """Binary tasks: F1 of label 1 (MRPC's positive class); more labels: macro F1."""
    classes = [1] if num_labels == 2 else range(num_labels)
    scores = []
    for k in classes:
        tp = np.sum((predicted == k) & (truth == k))
        denom = np.sum(predicted == k) + np.sum(truth == k)
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(PROG, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from jbert_tf2.data.processors import get_processor

    check_args(args)
    planned = outputs(args)
    planned.check(args.overwrite)
    processor = get_processor(args.task_name, args.multi_label)
    output = Path(args.output_dir)
    train_examples = processor.examples(args.data_dir, "train") if args.do_train else None
    dev_examples = processor.examples(args.data_dir, "dev") if args.do_eval else None
    # The test file is checked (and counted) now, before training; predicting streams it.
    test_count = (
        sum(1 for _ in processor.iter_examples(args.data_dir, "test")) if args.do_predict else 0
    )
    planned.claim(args.overwrite)
    model_dir = resolve_model_dir(args, output / "init_model", head=tf1_head(args, processor))
    global_step = 0
    if args.do_train:
        labels = processor.labels(train_examples)
        model, global_step = train(args, model_dir, labels, train_examples, dev_examples)
        planned.record("model")
    else:
        model = load_finetuned(
            args, task_class(args.multi_label), model_dir, **long_text_options(args)
        )
    if args.do_eval:
        result = evaluate(args, model, dev_examples, global_step)
        print("***** Eval results *****")
        lines = [f"{key} = {result[key]}" for key in sorted(result)]
        print("\n".join(f"  {line}" for line in lines))
        write_text(output / "eval_results.txt", "".join(line + "\n" for line in lines))
        planned.record("eval_results.txt")
    if args.do_predict:
        use_backend(model, args.backend)
        rows = predict(args, model, processor.iter_examples(args.data_dir, "test"), test_count)
        planned.record("test_results.tsv")
        print(f"wrote {output / 'test_results.tsv'} ({rows} rows)")
        if args.attention_examples:
            first = processor.iter_examples(args.data_dir, "test")
            write_attention(
                model, list(itertools.islice(first, args.attention_examples)), output / "attention"
            )
            planned.record("attention")
    return 0


def tf1_head(args, processor) -> dict:
    """How a fine-tuned TF1 ``--init_checkpoint``'s head is read: softmax (Google's
    run_classifier) or a sigmoid per label (``--multi_label``), ELECTRA's head of
    ``--task_name``, and the task's fixed labels."""
    fixed = processor.fixed_labels
    return {
        "task": "multi_label" if args.multi_label else "sequence_classification",
        "task_name": args.task_name,
        "labels": list(fixed) if fixed else None,
        "labels_from": f"--task_name={args.task_name}" if fixed else None,
    }


def predict(args, model, examples: Iterable, total: int) -> int:
    """Google's ``test_results.tsv`` in ``--output_dir`` (a line of tab-separated class
    probabilities per example), predicted `CHUNK_EXAMPLES` at a time and appended to a partial
    file that is renamed into place when complete; returns the number of rows."""
    target = Path(args.output_dir) / "test_results.tsv"
    progress = Progress(PROG, total, "test examples", args.progress)
    truncations = Truncations(PROG, "test examples", args.max_seq_length)
    done = 0
    try:
        with written_aside(target) as partial, open(partial, "w", encoding="utf-8") as out:
            for chunk in chunks(examples, CHUNK_EXAMPLES):
                features = model.text_features(
                    [e.text for e in chunk], [e.text_b for e in chunk], warn=False
                )
                for row in features.truncated_rows:
                    truncations.add(_where(chunk[row].source) or f"example {done + row + 1}")
                logits = model.predict_logits(features, args.predict_batch_size)
                probs = model.proba_from_logits(logits)
                out.write("".join("\t".join(str(np.float32(p)) for p in r) + "\n" for r in probs))
                done += len(chunk)
                progress.update(done)
    finally:
        progress.finish()
    truncations.warn(done)
    return done


def _where(source: str) -> str:
    """``file:line`` (a `TextExample`'s source) as ``file line N``."""
    path, _, line = source.rpartition(":")
    return f"{path} line {line}" if path and line.isdigit() else source


def write_attention(model, examples, out_dir: Path) -> None:
    """The attention page (`jbert_tf2.viz.save_attention_pages`) for ``examples``."""
    from jbert_tf2.viz import save_attention_pages

    index = save_attention_pages(
        model,
        [e.text for e in examples],
        out_dir,
        [e.text_b for e in examples],
        true_labels=[e.label for e in examples],
        title=f"{PROG}: attention on test examples",
    )
    print(f"wrote {index} ({len(examples)} examples)")


if __name__ == "__main__":
    sys.exit(main())
