"""`jbert-run-classifier`: google-research/bert's run_classifier.py command line on TF2.

Every flag of Google's script (and yoheikikuta's ``--model_file``) is accepted with its meaning
and default; results go to the same files: ``eval_results.txt`` (``key = value`` lines) and
``test_results.tsv`` (one row of class probabilities per test example). Training runs in the
resumable `Trainer` (checkpoints under ``output_dir/checkpoints``; the same command continues
after a kill), the fine-tuned model is saved as ``output_dir/model`` (a model directory that
``--init_checkpoint`` accepts later), and TPUs come from ``--use_tpu --tpu_name``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from jbert_tf2.cli.common import (
    add_bool,
    add_model_flags,
    atomic_write_text,
    non_negative_float,
    positive_int,
    resolve_model_dir,
    run_command,
)
from jbert_tf2.errors import JbertError

PROG = "jbert-run-classifier"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fine-tune and evaluate a BERT / ELECTRA classifier with the flags of "
        "google-research/bert's run_classifier.py.",
    )
    parser.add_argument("--data_dir", help="directory with the task's .tsv files")
    parser.add_argument("--task_name", help="cola, mnli, mrpc, xnli, livedoor or tsv")
    parser.add_argument("--output_dir", help="where checkpoints and results are written")
    add_model_flags(parser)
    parser.add_argument("--max_seq_length", type=positive_int("max_seq_length"), default=128)
    add_bool(parser, "do_train", False, "run training")
    add_bool(parser, "do_eval", False, "evaluate on the dev set")
    add_bool(parser, "do_predict", False, "predict the test set")
    parser.add_argument("--train_batch_size", type=positive_int("train_batch_size"), default=32)
    parser.add_argument("--eval_batch_size", type=positive_int("eval_batch_size"), default=8)
    parser.add_argument("--predict_batch_size", type=positive_int("predict_batch_size"), default=8)
    parser.add_argument("--learning_rate", type=non_negative_float("learning_rate"), default=5e-5)
    parser.add_argument(
        "--num_train_epochs", type=non_negative_float("num_train_epochs"), default=3.0
    )
    parser.add_argument(
        "--warmup_proportion", type=non_negative_float("warmup_proportion", 1.0), default=0.1
    )
    parser.add_argument(
        "--save_checkpoints_steps", type=positive_int("save_checkpoints_steps"), default=1000
    )
    parser.add_argument(
        "--iterations_per_loop",
        type=positive_int("iterations_per_loop"),
        default=1000,
        help="accepted for compatibility (TPUEstimator's loop size); not needed on TF2",
    )
    add_bool(parser, "use_tpu", False, "train on a TPU (TPUStrategy)")
    parser.add_argument("--tpu_name", help="TPU name or grpc:// address")
    parser.add_argument("--tpu_zone", help="accepted for compatibility (GCE zone of the TPU)")
    parser.add_argument("--gcp_project", help="accepted for compatibility (GCP project)")
    parser.add_argument("--master", help="accepted for compatibility (TensorFlow master URL)")
    parser.add_argument("--num_tpu_cores", type=positive_int("num_tpu_cores"), default=8)
    parser.add_argument(
        "--strategy",
        default=None,
        help="auto, tpu[:NAME], mirrored, multiworker or cpu (default: tpu with --use_tpu, else "
        "auto)",
    )
    parser.add_argument(
        "--mixed_precision", choices=("float16", "bfloat16"), help="mixed-precision training"
    )
    add_bool(parser, "multi_label", False, "several labels per text (sigmoid; tsv task)")
    parser.add_argument("--seed", type=int, default=12345, help="shuffling and dropout seed")
    return parser


def check_args(args: argparse.Namespace) -> None:
    for flag in ("data_dir", "task_name", "output_dir"):
        if not getattr(args, flag):
            raise JbertError(f"--{flag} is required (as in Google's run_classifier.py)")
    if not (args.do_train or args.do_eval or args.do_predict):
        raise JbertError("at least one of --do_train, --do_eval or --do_predict must be true")
    if not Path(args.data_dir).is_dir():
        raise JbertError(f"--data_dir={args.data_dir}: no such directory")
    output = Path(args.output_dir)
    if output.exists() and not output.is_dir():
        raise JbertError(f"--output_dir={output}: exists and is not a directory")


def strategy_spec(args: argparse.Namespace) -> str:
    if args.strategy:
        return args.strategy
    if args.use_tpu:
        return f"tpu:{args.tpu_name}" if args.tpu_name else "tpu"
    return "auto"


def task_class(multi_label: bool):
    from jbert_tf2.tasks import MultiLabelClassifier, SequenceClassifier

    return MultiLabelClassifier if multi_label else SequenceClassifier


def train(args, model_dir: Path, labels: list[str], train_examples, dev_examples):
    """Fine-tune in the resumable Trainer for ``--num_train_epochs`` (fractions included: the
    last epoch stops early, as Google's step count does), warmup ``--warmup_proportion``."""
    from jbert_tf2.data.pipeline import make_dataset, steps_per_epoch
    from jbert_tf2.training import Trainer, create_optimizer

    cls = task_class(args.multi_label)
    probe = cls.from_pretrained(model_dir, labels=labels, max_seq_length=args.max_seq_length)
    train_features = probe.features(train_examples)
    per_epoch = steps_per_epoch(train_features, args.train_batch_size, args.max_seq_length)
    num_train_steps = int(per_epoch * args.num_train_epochs)
    if num_train_steps < 1:
        raise JbertError(
            f"{len(train_examples)} training examples at --train_batch_size="
            f"{args.train_batch_size} and --num_train_epochs={args.num_train_epochs} make no "
            "training step; train longer or on more data"
        )
    num_warmup_steps = int(num_train_steps * args.warmup_proportion)

    def model_fn():
        model = cls.from_pretrained(model_dir, labels=labels, max_seq_length=args.max_seq_length)
        model.compile(
            optimizer=create_optimizer(args.learning_rate, num_train_steps, num_warmup_steps)
        )
        return model

    def train_data(epoch: int):
        dataset = make_dataset(
            train_features,
            args.train_batch_size,
            shuffle=True,
            seed=args.seed,
            epoch=epoch,
            max_seq_length=args.max_seq_length,
        )
        remaining = num_train_steps - epoch * per_epoch
        return dataset.take(remaining) if remaining < per_epoch else dataset

    eval_data = probe.dataset(dev_examples, args.eval_batch_size) if dev_examples else None
    print(
        f"***** Running training *****\n  Num examples = {len(train_examples)}\n"
        f"  Batch size = {args.train_batch_size}\n  Num steps = {num_train_steps}"
    )
    trainer = Trainer(
        model_fn,
        args.output_dir,
        strategy=strategy_spec(args),
        mixed_precision=args.mixed_precision,
        epochs=math.ceil(num_train_steps / per_epoch),
        checkpoint_every_steps=args.save_checkpoints_steps,
        monitor="val_loss" if eval_data is not None else "loss",
        seed=args.seed,
    )
    trainer.fit(train_data, eval_data)
    trainer.model.save_pretrained(Path(args.output_dir) / "model", overwrite=True)
    return trainer.model, num_train_steps


def load_finetuned(args, model_dir: Path, labels: list[str] | None):
    """The model to evaluate / predict without training: this run's earlier result, or a
    fine-tuned --init_checkpoint."""
    from jbert_tf2.tasks.base import read_task_file

    cls = task_class(args.multi_label)
    for candidate in (Path(args.output_dir) / "model", model_dir):
        if read_task_file(candidate) is not None:
            return cls.from_pretrained(candidate, max_seq_length=args.max_seq_length)
    raise JbertError(
        f"nothing fine-tuned to evaluate: {Path(args.output_dir) / 'model'} does not exist and "
        f"--init_checkpoint={args.init_checkpoint} is a pretrained model; add --do_train=true"
    )


def evaluate(args, model, dev_examples, global_step: int) -> dict:
    """Google's eval_results.txt keys (eval_accuracy, eval_loss, global_step, loss) plus F1."""
    from jbert_tf2.backend import keras

    features = model.features(dev_examples)
    logits = np.stack(model.predict_logits(features, args.eval_batch_size)).astype(np.float64)
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
        predicted = 1.0 / (1.0 + np.exp(-logits)) >= model.thresholds
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
        predicted = logits.argmax(axis=1)
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
    processor = get_processor(args.task_name, args.multi_label)
    output = Path(args.output_dir)
    train_examples = processor.examples(args.data_dir, "train") if args.do_train else None
    dev_examples = processor.examples(args.data_dir, "dev") if args.do_eval else None
    test_examples = processor.examples(args.data_dir, "test") if args.do_predict else None
    output.mkdir(parents=True, exist_ok=True)
    model_dir = resolve_model_dir(args, output / "init_model")
    global_step = 0
    if args.do_train:
        labels = processor.labels(train_examples)
        model, global_step = train(args, model_dir, labels, train_examples, dev_examples)
    else:
        model = load_finetuned(args, model_dir, None)
    if args.do_eval:
        result = evaluate(args, model, dev_examples, global_step)
        print("***** Eval results *****")
        lines = [f"{key} = {result[key]}" for key in sorted(result)]
        print("\n".join(f"  {line}" for line in lines))
        atomic_write_text(output / "eval_results.txt", "".join(line + "\n" for line in lines))
    if args.do_predict:
        probs = model.predict_proba(
            [e.text for e in test_examples],
            [e.text_b for e in test_examples] if any(e.text_b for e in test_examples) else None,
            args.predict_batch_size,
        )
        rows = ["\t".join(str(np.float32(p)) for p in row) + "\n" for row in probs]
        atomic_write_text(output / "test_results.tsv", "".join(rows))
        print(f"wrote {output / 'test_results.tsv'} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
