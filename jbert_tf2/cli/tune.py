"""`jbert-tune`: a keras-tuner search over a run_classifier task, with its data flags.

    jbert-tune --task_name=livedoor --data_dir=data/livedoor --init_checkpoint=ja-bert \\
        --output_dir=tuning --tuner=bayesian --max_trials=10 \\
        --space='{"learning_rate": [1e-5, 1e-4], "batch_size": [16, 32]}'

Trials train on train.tsv and are scored on dev.tsv (``--objective``, default
``val_accuracy``). In ``--output_dir``: keras-tuner's project (``search/``, so a rerun continues
the search), ``trials.json`` (every trial: status, hyperparameters, score),
``best_hyperparameters.json`` and ``best_model/`` (a model directory; ``load_task`` reads it).
A trial that fails makes the command fail with its error (keras-tuner alone would carry on).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from jbert_tf2.atomic_files import write_text
from jbert_tf2.cli.common import (
    CommandParser,
    add_bool,
    add_model_flags,
    positive_int,
    resolve_model_dir,
    run_command,
)
from jbert_tf2.cli.outputs import Outputs, add_overwrite_flag, converted_model
from jbert_tf2.cli.training_flags import add_long_text_flags, long_text_options
from jbert_tf2.errors import JbertError

PROG = "jbert-tune"
TUNERS = ("random", "bayesian", "hyperband")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", required=True, help="directory with train.tsv and dev.tsv")
    parser.add_argument(
        "--task_name", required=True, help="a run_classifier task (tsv, livedoor, ...)"
    )
    parser.add_argument("--output_dir", required=True, help="search state and results")
    add_model_flags(parser)
    parser.add_argument("--max_seq_length", type=positive_int("max_seq_length"), default=128)
    add_bool(parser, "multi_label", False, "several labels per text (tsv task)")
    add_long_text_flags(parser)
    parser.add_argument("--tuner", choices=TUNERS, default="random")
    parser.add_argument("--max_trials", type=positive_int("max_trials"), default=10)
    parser.add_argument(
        "--objective",
        default=None,
        help="metric to optimise (default: val_accuracy, or val_micro_f1 with "
        "--multi_label); val_loss is minimised",
    )
    parser.add_argument(
        "--space",
        default="{}",
        help='JSON: {"learning_rate": [low, high]} is a log range, a list a choice, '
        "a value fixed; keys: learning_rate, batch_size, epochs, "
        "warmup_proportion, dropout, layerwise_lr_decay, trainable_layers",
    )
    parser.add_argument("--seed", type=int, default=0)
    add_overwrite_flag(parser)
    return parser


def read_space(text: str) -> dict:
    try:
        space = json.loads(text)
    except ValueError as exc:
        raise JbertError(f"--space: not valid JSON ({exc})") from None
    if not isinstance(space, dict):
        raise JbertError('--space: expected a JSON object like {"batch_size": [16, 32]}')
    if isinstance(space.get("learning_rate"), list) and len(space["learning_rate"]) == 2:
        low, high = space["learning_rate"]
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        if not numbers or not 0 < low < high:
            raise JbertError(
                f"--space: learning_rate={space['learning_rate']}: a range is [low, high] with "
                "0 < low < high, e.g. [1e-5, 1e-4]"
            )
        space["learning_rate"] = tuple(space["learning_rate"])  # [low, high]: a log range
    for key, value in space.items():
        check_space_value(key, value)
    return space


def outputs(args: argparse.Namespace) -> Outputs:
    """What the search writes in ``--output_dir``; keras-tuner's ``search/`` is continued by
    the same command run again, and started afresh with ``--overwrite`` when another's."""
    converted = converted_model(args.init_checkpoint)
    names = (*converted, "search", "trials.json", "best_hyperparameters.json", "best_model")
    return Outputs(Path(args.output_dir), names, PROG, "--output_dir", (*converted, "search"))


# What each tunable takes: integers or numbers, and the allowed interval (closed, open).
SPACE_VALUES = {
    "learning_rate": (float, 0.0, None, "a number above 0"),
    "batch_size": (int, 1, None, "an integer of at least 1"),
    "epochs": (int, 1, None, "an integer of at least 1"),
    "warmup_proportion": (float, 0.0, 1.0, "a number from 0 to 1"),
    "dropout": (float, 0.0, 1.0, "a number from 0 to below 1"),
    "layerwise_lr_decay": (float, 0.0, 1.0, "a number above 0, at most 1"),
    "trainable_layers": (int, 0, None, "null (all) or an integer of at least 0"),
}


def check_space_value(key: str, value) -> None:
    """A fixed value, a choice (list) or the learning rate's range, each of the type and in
    the interval the hyperparameter takes (a trial would otherwise fail with a traceback)."""
    if key not in SPACE_VALUES:
        return  # TaskHyperModel names the unknown ones
    kind, low, high, wanted = SPACE_VALUES[key]
    choices = list(value) if isinstance(value, (list, tuple)) else [value]
    if not choices or not all(_in_range(key, c, kind, low, high) for c in choices):
        raise JbertError(f"--space: {key}={json.dumps(value)}: each value must be {wanted}")


def _in_range(key: str, choice, kind: type, low: float, high: float | None) -> bool:
    if key == "trainable_layers" and choice is None:
        return True
    if not isinstance(choice, (int, float)) or isinstance(choice, bool):
        return False
    if kind is int and not float(choice).is_integer():
        return False
    if key in ("learning_rate", "layerwise_lr_decay"):  # above 0
        return choice > low and (high is None or choice <= high)
    if key == "dropout":
        return low <= choice < high
    return choice >= low and (high is None or choice <= high)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(PROG, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from jbert_tf2.backend import import_quietly
    from jbert_tf2.cli.run_classifier import task_class
    from jbert_tf2.data.processors import get_processor
    from jbert_tf2.tuning import TaskHyperModel, check_trials

    keras_tuner = import_quietly("keras_tuner")

    space = read_space(args.space)
    long_text = long_text_options(args)
    output = Path(args.output_dir)
    if output.exists() and not output.is_dir():
        raise JbertError(f"--output_dir={output}: exists and is not a directory")
    planned = outputs(args)
    planned.check(args.overwrite)
    processor = get_processor(args.task_name, args.multi_label)
    train = processor.examples(args.data_dir, "train")
    dev = processor.examples(args.data_dir, "dev")
    planned.claim(args.overwrite)
    model_dir = resolve_model_dir(args, output / "init_model")
    cls = task_class(args.multi_label)
    hypermodel = TaskHyperModel(
        cls,
        model_dir,
        processor.labels(train),
        space=space,
        max_seq_length=args.max_seq_length,
        seed=args.seed,
        **long_text,
    )
    name = args.objective or ("val_micro_f1" if args.multi_label else "val_accuracy")
    direction = "min" if "loss" in name else "max"
    objective = keras_tuner.Objective(name, direction=direction)
    common = dict(
        objective=objective,
        directory=str(output),
        project_name="search",
        seed=args.seed,
        max_consecutive_failed_trials=1,
    )
    if args.tuner == "random":
        tuner = keras_tuner.RandomSearch(hypermodel, max_trials=args.max_trials, **common)
    elif args.tuner == "bayesian":
        tuner = keras_tuner.BayesianOptimization(hypermodel, max_trials=args.max_trials, **common)
    else:
        epochs = space.get("epochs", 4)
        top = max(epochs) if isinstance(epochs, list) else int(epochs)
        tuner = keras_tuner.Hyperband(hypermodel, max_epochs=top, **common)
    try:
        tuner.search(train, validation_data=dev)
    except RuntimeError as exc:  # keras-tuner's "too many failed trials"
        raise JbertError(f"the search stopped: {exc}") from None
    check_trials(tuner)
    trials = [
        {
            "trial_id": t.trial_id,
            "status": t.status,
            "score": t.score,
            "hyperparameters": t.hyperparameters.values,
        }
        for t in sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
    ]
    write_text(output / "trials.json", json.dumps(trials, indent=1) + "\n")
    best_hp = tuner.get_best_hyperparameters(1)[0]
    write_text(output / "best_hyperparameters.json", json.dumps(best_hp.values, indent=1) + "\n")
    best = tuner.get_best_models(1)[0]
    best.save_pretrained(output / "best_model", overwrite=True)
    planned.record("trials.json", "best_hyperparameters.json", "best_model")
    score = tuner.oracle.get_best_trials(1)[0].score
    print(
        f"{PROG}: {len(trials)} trials completed; best {name} = {score} with "
        f"{best_hp.values}; model in {output / 'best_model'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
