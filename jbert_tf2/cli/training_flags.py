"""Training flags and the fine-tuning run that run_classifier and run_ner share.

The flags are Google's run_classifier.py flags (their names, meanings and defaults), plus the
additive ``--strategy``, ``--mixed_precision``, ``--seed`` and ``--gradient_accumulation_steps``.
`fine_tune` runs the resumable `Trainer` with Google's optimizer and schedule: ``num_train_steps``
from the epochs (fractions included: the last epoch stops early), warmup ``--warmup_proportion``
of it, checkpoints every ``--save_checkpoints_steps``; the result is saved as
``output_dir/model``. With ``--gradient_accumulation_steps=K`` these steps count optimizer
updates, each made of K batches of ``--train_batch_size``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from jbert_tf2.cli.common import add_bool, non_negative_float, positive_int
from jbert_tf2.errors import JbertError


def add_training_flags(parser: argparse.ArgumentParser, learning_rate: float) -> None:
    parser.add_argument("--max_seq_length", type=positive_int("max_seq_length"), default=128)
    add_bool(parser, "do_train", False, "run training")
    add_bool(parser, "do_eval", False, "evaluate on the dev set")
    add_bool(parser, "do_predict", False, "predict the test set")
    parser.add_argument("--train_batch_size", type=positive_int("train_batch_size"), default=32)
    parser.add_argument("--eval_batch_size", type=positive_int("eval_batch_size"), default=8)
    parser.add_argument("--predict_batch_size", type=positive_int("predict_batch_size"), default=8)
    parser.add_argument(
        "--learning_rate", type=non_negative_float("learning_rate"), default=learning_rate
    )
    parser.add_argument(
        "--num_train_epochs", type=non_negative_float("num_train_epochs"), default=3.0
    )
    parser.add_argument(
        "--warmup_proportion", type=non_negative_float("warmup_proportion", 1.0), default=0.1
    )
    parser.add_argument(
        "--save_checkpoints_steps", type=positive_int("save_checkpoints_steps"), default=1000
    )
    add_accumulation_flag(parser)
    add_distribution_flags(parser)


def add_long_text_flags(parser: argparse.ArgumentParser, aggregation: bool = True) -> None:
    """``--long_text``, ``--doc_stride`` (and ``--window_aggregation``): how texts longer than
    ``--max_seq_length`` are read (`jbert_tf2.data.windows`). Left out, a fine-tuned model keeps
    the choice saved in its task.json and a new one truncates, as Google's scripts did."""
    parser.add_argument(
        "--long_text",
        choices=("truncate", "windows"),
        default=None,
        help="texts longer than --max_seq_length: truncate (Google's scripts) or read them "
        "through overlapping windows (default: the fine-tuned model's choice, else truncate)",
    )
    parser.add_argument(
        "--doc_stride",
        type=positive_int("doc_stride"),
        default=None,
        metavar="N",
        help="with --long_text=windows: tokens between the starts of consecutive windows, below "
        "--max_seq_length - 2 (default: half a window)",
    )
    if aggregation:
        parser.add_argument(
            "--window_aggregation",
            choices=("mean", "max", "cls_weighted"),
            default=None,
            help="with --long_text=windows: how a text's window logits are combined, in "
            "training and prediction (default: the fine-tuned model's choice, else mean)",
        )


def long_text_options(args: argparse.Namespace) -> dict:
    """The task options the long-text flags give (only those given), checked against
    ``--max_seq_length``."""
    from jbert_tf2.data.windows import check_long_text

    names = ("long_text", "doc_stride", "window_aggregation")
    options = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    window_only = [n for n in names[1:] if n in options]
    if options.get("long_text") == "truncate" and window_only:
        raise JbertError(
            f"--{window_only[0]} applies to --long_text=windows only; drop it, or pass "
            "--long_text=windows"
        )
    if options.get("doc_stride") is not None:
        try:
            check_long_text("windows", options["doc_stride"], args.max_seq_length)
        except JbertError as exc:
            raise JbertError(f"--{exc}") from None
    return options


def add_accumulation_flag(parser: argparse.ArgumentParser) -> None:
    """``--gradient_accumulation_steps``: one update per K batches, for batches that do not fit."""
    parser.add_argument(
        "--gradient_accumulation_steps",
        type=accumulation_steps,
        default=1,
        metavar="K",
        help="apply one optimizer update every K batches, with the mean of their gradients: "
        "the update of one batch of K x --train_batch_size, which may not fit in memory. "
        "--train_batch_size stays the batch of one step; training steps, warmup and "
        "--save_checkpoints_steps count updates (default: 1, an update every batch)",
    )


def accumulation_steps(value: str) -> int:
    """``--gradient_accumulation_steps``, a whole number >= 1, checked when the flags are read."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(
            f"--gradient_accumulation_steps={value}: expected a whole number >= 1 (1: an update "
            "every batch; K: one update every K batches of --train_batch_size)"
        )
    return number


def add_distribution_flags(parser: argparse.ArgumentParser) -> None:
    """Google's TPU flags (``--use_tpu --tpu_name`` select TPUStrategy; the others are accepted
    for compatibility) and the additive ``--strategy``, ``--mixed_precision`` and ``--seed``."""
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
        type=strategy_name,
        default=None,
        help="auto, tpu[:NAME], mirrored, multiworker or cpu (default: tpu with --use_tpu, else "
        "auto)",
    )
    parser.add_argument(
        "--mixed_precision", choices=("float16", "bfloat16"), help="mixed-precision training"
    )
    parser.add_argument("--seed", type=int, default=12345, help="shuffling and dropout seed")


def strategy_name(value: str) -> str:
    """``--strategy``, checked when the flags are read (not after the data)."""
    from jbert_tf2.training.strategy import SPECS

    name = value.strip().lower()
    known = {"auto", "tpu", "mirrored", "multiworker", "multi_worker", "multi-worker", "cpu"}
    if name in known or name == "default" or name.startswith("tpu:"):
        return value.strip()
    raise argparse.ArgumentTypeError(
        f"--strategy={value}: unknown; choose one of {', '.join(SPECS)}"
    )


def strategy_spec(args: argparse.Namespace) -> str:
    if args.strategy:
        return args.strategy
    if args.use_tpu:
        return f"tpu:{args.tpu_name}" if args.tpu_name else "tpu"
    return "auto"


def fine_tune(args: argparse.Namespace, build: Callable, train_items, dev_items):
    """Train ``build()`` (a task model, compiled here) on ``train_items`` in the `Trainer`;
    returns ``(trained model, num_train_steps)``."""
    from jbert_tf2.data.pipeline import make_dataset, steps_per_epoch
    from jbert_tf2.training import Trainer, create_optimizer

    for item in dev_items or ():
        if getattr(item, "label", 0) is None or getattr(item, "tags", 0) is None:
            where = getattr(item, "source", "") or "the dev file"
            raise JbertError(
                f"{where}: has no label; --do_eval needs a labelled dev file (or leave it out)"
            )
    probe = build()
    train_features = probe.features(train_items)
    per_epoch = steps_per_epoch(train_features, args.train_batch_size, args.max_seq_length)
    accumulation = getattr(args, "gradient_accumulation_steps", 1)
    num_train_steps = int(per_epoch * args.num_train_epochs) // accumulation  # updates
    num_batches = num_train_steps * accumulation
    if num_train_steps < 1:
        accumulating = f", --gradient_accumulation_steps={accumulation}" if accumulation > 1 else ""
        raise JbertError(
            f"{len(train_items)} training examples at --train_batch_size="
            f"{args.train_batch_size}{accumulating} and --num_train_epochs="
            f"{args.num_train_epochs} make no training step; train longer or on more data"
        )
    num_warmup_steps = int(num_train_steps * args.warmup_proportion)

    def model_fn():
        model = build()
        model.compile(
            optimizer=create_optimizer(
                args.learning_rate,
                num_train_steps,
                num_warmup_steps,
                weight_decay=getattr(args, "weight_decay", 0.01),
                layerwise_lr_decay=getattr(args, "layerwise_lr_decay", None),
                gradient_accumulation_steps=accumulation,
            )
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
            # TPUs compile each batch shape: pad to the few length buckets there.
            pad_to_multiple_of=None if strategy_spec(args).startswith("tpu") else "auto",
        )
        remaining = num_batches - epoch * per_epoch
        return dataset.take(remaining) if remaining < per_epoch else dataset

    eval_data = probe.dataset(dev_items, args.eval_batch_size) if dev_items else None
    effective_batch = ""
    if accumulation > 1:
        effective_batch = (
            f"  Gradient accumulation steps = {accumulation}\n"
            f"  Effective batch size = {args.train_batch_size * accumulation}\n"
        )
    print(
        f"***** Running training *****\n  Num examples = {len(train_items)}\n"
        f"  Batch size = {args.train_batch_size}\n{effective_batch}"
        f"  Num steps = {num_train_steps}"
    )
    trainer = Trainer(
        model_fn,
        args.output_dir,
        strategy=strategy_spec(args),
        mixed_precision=args.mixed_precision,
        epochs=math.ceil(num_batches / per_epoch),
        checkpoint_every_steps=args.save_checkpoints_steps * accumulation,
        monitor="val_loss" if eval_data is not None else "loss",
        seed=args.seed,
    )
    trainer.fit(train_data, eval_data)
    trainer.model.save_pretrained(Path(args.output_dir) / "model", overwrite=True)
    return trainer.model, num_train_steps


def load_finetuned(args: argparse.Namespace, cls, model_dir: Path, **options):
    """The model to evaluate / predict without training: this run's earlier result
    (``output_dir/model``), or a fine-tuned ``--init_checkpoint``; ``options`` override its
    saved task options."""
    from jbert_tf2.model_dir import read_task_settings

    for candidate in (Path(args.output_dir) / "model", model_dir):
        if read_task_settings(candidate) is not None:
            return cls.from_pretrained(candidate, max_seq_length=args.max_seq_length, **options)
    raise JbertError(
        f"nothing fine-tuned to evaluate: {Path(args.output_dir) / 'model'} does not exist and "
        f"--init_checkpoint={args.init_checkpoint} is a pretrained model; add --do_train=true"
    )
