"""``python -m jbert_tf2.run_finetuning``: google-research/electra's run_finetuning.py on TF2.

ELECTRA's command line and directory layout::

    python -m jbert_tf2.run_finetuning --data-dir DATA --model-name electra_small \\
        --hparams '{"model_size": "small", "task_names": ["mrpc"]}'

    DATA/models/NAME/vocab.txt              (else DATA/vocab.txt, or "vocab_file")
    DATA/models/NAME/                       the pretrained TF1 checkpoint ('checkpoint' file)
    DATA/finetuning_data/TASK/{train,dev,test}.tsv   (ner: train.bio etc., CoNLL / BIO)

Each task of ``task_names`` is fine-tuned with ELECTRA's defaults (learning rate 1e-4,
layer-wise decay 0.8, 3 epochs, batch 32, warmup 10%, weight decay 0.01) unless ``--hparams``
(JSON, or a .json file) overrides them; classification tasks run as ``jbert-run-classifier``
does, ``ner`` as ``jbert-run-ner`` (BIO in, BIOES inside, first sub-token labelled). Models go
to ``DATA/models/NAME/finetuning_models/TASK_model``, scores to
``DATA/models/NAME/results/TASK_results.txt``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from jbert_tf2.atomic_files import write_text
from jbert_tf2.cli.common import CommandParser, run_command
from jbert_tf2.cli.outputs import Outputs, add_overwrite_flag
from jbert_tf2.errors import JbertError

PROG = "jbert-run-finetuning"
DEFAULTS = {
    "model_size": "small",
    "task_names": ["chunk"],
    "learning_rate": 1e-4,
    "layerwise_lr_decay": 0.8,
    "num_train_epochs": 3.0,
    "max_seq_length": 128,
    "train_batch_size": 32,
    "eval_batch_size": 32,
    "predict_batch_size": 32,
    "warmup_proportion": 0.1,
    "weight_decay_rate": 0.01,
    "do_lower_case": True,
    "do_train": True,
    "do_eval": True,
    "write_test_outputs": False,
    "num_trials": 1,
    "vocab_file": None,
    "vocab_size": None,
    "init_checkpoint": None,
    "tokenizer": None,
    "use_tpu": False,
    "tpu_name": None,
    "save_checkpoints_steps": 1000000,
    "preprocessed_data_dir": None,
    "labels_file": None,
    "gradient_accumulation_steps": 1,  # not ELECTRA's: one update every K batches
    # Not ELECTRA's: texts longer than max_seq_length in classification tasks (jbert-run-classifier's
    # --long_text, --doc_stride, --window_aggregation; None: that command's default).
    "long_text": None,
    "doc_stride": None,
    "window_aggregation": None,
}
IGNORED = {
    "model_hparam_overrides",
    "num_tpu_cores",
    "iterations_per_loop",
    "gcp_project",
    "tpu_zone",
    "tpu_job_name",
    "debug",
    "log_examples",
    "results_txt",
    "results_pkl",
    "keep_all_models",
    "embedding_size",
    "double_unordered",
    "num_train_steps",
    "use_tfrecords_if_existing",
    "qa_max_answer_length",
}
TAGGING_TASKS = ("ner", "chunk")  # chunk: CoNLL-2000 files, the tag in the last column


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog=PROG, description="Fine-tune an ELECTRA model with run_finetuning.py's arguments."
    )
    parser.add_argument(
        "--data-dir",
        "--data_dir",
        dest="data_dir",
        required=True,
        help="location of data files, models and results",
    )
    parser.add_argument(
        "--model-name",
        "--model_name",
        dest="model_name",
        required=True,
        help="the model's name under DATA_DIR/models",
    )
    parser.add_argument(
        "--hparams", default="{}", help="JSON dict of hyperparameters, or a .json file holding one"
    )
    add_overwrite_flag(parser)
    return parser


def read_hparams(text: str) -> dict:
    source = "--hparams"
    if text.strip().endswith(".json") and not text.strip().startswith("{"):
        path = Path(text.strip())
        if not path.is_file():
            raise JbertError(f"--hparams={text}: no such file")
        try:
            source, text = str(path), path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise JbertError(
                f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8"
            ) from None
    try:
        given = json.loads(text)
    except ValueError as exc:
        raise JbertError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(given, dict):
        raise JbertError(f'{source}: expected a JSON object like {{"task_names": ["mrpc"]}}')
    unknown = set(given) - set(DEFAULTS) - IGNORED
    if unknown:
        raise JbertError(
            f"{source}: unknown hyperparameters {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    hparams = {
        **DEFAULTS,
        **derived_defaults(given),
        **{k: v for k, v in given.items() if k in DEFAULTS},
    }
    if isinstance(hparams["task_names"], str):
        hparams["task_names"] = [hparams["task_names"]]
    check_hparam_types(hparams, source)
    return hparams


def check_hparam_types(hparams: dict, source: str) -> None:
    """Each value of the type its default has: ``"do_train": "false"`` would otherwise be
    true, and a list where a number belongs would fail deep inside a task."""
    names = hparams["task_names"]
    if not isinstance(names, list) or not names or not all(isinstance(t, str) for t in names):
        raise JbertError(
            f'{source}: task_names={names!r}; expected a list of task names like ["mrpc"]'
        )
    for key, default in DEFAULTS.items():
        value = hparams[key]
        if isinstance(default, bool) and not isinstance(value, bool):
            raise JbertError(f"{source}: {key}={value!r}; expected true or false")
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if isinstance(default, (int, float)) and not isinstance(default, bool) and not number:
            raise JbertError(f"{source}: {key}={value!r}; expected a number")


def derived_defaults(given: dict) -> dict:
    """ELECTRA's configure_finetuning.py defaults that depend on other settings (a value the
    user gives still wins): large models 5e-5 and layer-wise decay 0.9; RTE / STS 10 epochs;
    chunking 256 tokens."""
    derived = {}
    if given.get("model_size") == "large":
        derived.update(learning_rate=5e-5, layerwise_lr_decay=0.9)
    tasks = given.get("task_names", DEFAULTS["task_names"])
    tasks = [tasks] if isinstance(tasks, str) else tasks if isinstance(tasks, list) else []
    if "rte" in tasks or "sts" in tasks:
        derived["num_train_epochs"] = 10.0
    if "chunk" in tasks:
        derived["max_seq_length"] = 256
    return derived


def _flag(name: str, value) -> str:
    if isinstance(value, bool):
        return f"--{name}={'true' if value else 'false'}"
    return f"--{name}={value}"


def task_argv(hparams: dict, data_dir: Path, model_name: str, task: str) -> list[str]:
    """The run_classifier / run_ner command line that does what ELECTRA does for ``task``."""
    model_dir = data_dir / "models" / model_name
    vocab = hparams["vocab_file"] or next(  # ELECTRA's order: the model's own vocab first
        (str(p) for p in (model_dir / "vocab.txt", data_dir / "vocab.txt") if p.is_file()), None
    )
    argv = [
        _flag("init_checkpoint", hparams["init_checkpoint"] or model_dir),
        _flag("output_dir", model_dir / "finetuning_models" / f"{task}_model"),
        _flag("do_lower_case", bool(hparams["do_lower_case"])),
        _flag("do_train", bool(hparams["do_train"])),
        _flag("do_eval", bool(hparams["do_eval"])),
        _flag("do_predict", bool(hparams["write_test_outputs"])),
        _flag("use_tpu", bool(hparams["use_tpu"])),
    ]
    if vocab:
        argv.append(_flag("vocab_file", vocab))
    if hparams["tokenizer"]:
        argv.append(_flag("tokenizer", hparams["tokenizer"]))
    if hparams["tpu_name"]:
        argv.append(_flag("tpu_name", hparams["tpu_name"]))
    for key in (
        "learning_rate",
        "num_train_epochs",
        "max_seq_length",
        "train_batch_size",
        "eval_batch_size",
        "predict_batch_size",
        "warmup_proportion",
        "save_checkpoints_steps",
        "gradient_accumulation_steps",
    ):
        argv.append(_flag(key, hparams[key]))
    task_data = data_dir / "finetuning_data" / task
    if task not in TAGGING_TASKS:
        for key in ("long_text", "doc_stride", "window_aggregation"):
            if hparams[key] is not None:
                argv.append(_flag(key, hparams[key]))
    if task in TAGGING_TASKS:
        argv += [_flag("data_dir", task_data), "--tagging_scheme=BIOES", _flag("task_name", task)]
    else:
        argv += [_flag("data_dir", task_data), _flag("task_name", task)]
    return argv


def tagging_labels(hparams: dict, data_dir: Path, model_name: str, task: str):
    """The tags of a fine-tuned ELECTRA tagging head (its checkpoint has none): ``labels_file``
    of ``--hparams`` (a file, one tag a line; or ``{task: file}``), else ELECTRA's
    ``<task>_label_mapping.pkl`` where run_finetuning left it, else ELECTRA's list rebuilt
    from the task's data (`electra_tags`); None when there is nothing to build it from."""
    from jbert_tf2.cli.electra_tags import SPLITS, read_label_mapping, rebuild_tag_list

    given = hparams["labels_file"]
    if isinstance(given, dict):
        given = given.get(task)
    if given is not None:
        if not isinstance(given, str) or not Path(given).is_file():
            raise JbertError(
                f"--hparams labels_file={given!r}: no such file; name a file with one tag a "
                f'line, or {{"{task}": FILE}} per tagging task'
            )
        return given
    tfrecords = hparams["preprocessed_data_dir"] or (
        data_dir
        / "models"
        / model_name
        / "finetuning_tfrecords"
        / (",".join(hparams["task_names"]) + "_tfrecords")
    )
    pickled = Path(tfrecords) / f"{task}_label_mapping.pkl"
    if pickled.is_file():
        print(f"{PROG}: {task}: tags from {pickled}")
        return read_label_mapping(pickled)
    task_dir = data_dir / "finetuning_data" / task
    if not any((task_dir / f"{split}.txt").is_file() for split in SPLITS):
        return None
    return rebuild_tag_list(task_dir)


def parse_task_args(command, argv: list[str]) -> argparse.Namespace:
    """The task command's arguments; a bad value (from --hparams) is this command's error."""
    parser = command.build_parser()
    parser.exit_on_error = False
    try:
        return parser.parse_args(argv)
    except argparse.ArgumentError as exc:
        raise JbertError(f"--hparams: {exc}; fix that value in --hparams") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(PROG, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from jbert_tf2.cli import run_classifier, run_ner

    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        raise JbertError(f"--data-dir={data_dir}: no such directory")
    hparams = read_hparams(args.hparams)
    if not (data_dir / "models" / args.model_name).exists() and not hparams["init_checkpoint"]:
        raise JbertError(
            f"{data_dir / 'models' / args.model_name}: not found; put the pretrained checkpoint "
            'there (ELECTRA\'s layout) or set "init_checkpoint" in --hparams'
        )
    from jbert_tf2.data.processors import PROCESSORS

    known = [*PROCESSORS, *TAGGING_TASKS]
    unknown = [t for t in hparams["task_names"] if t not in known]
    if unknown:
        raise JbertError(f"--hparams task_names: unknown task {unknown[0]!r}; one of {known}")
    if hparams["num_trials"] != 1:
        print(f"{PROG}: num_trials={hparams['num_trials']}: running one trial per task")
    results_dir = data_dir / "models" / args.model_name / "results"
    runs = []
    for task in hparams["task_names"]:
        command = run_ner if task in TAGGING_TASKS else run_classifier
        task_args = parse_task_args(command, task_argv(hparams, data_dir, args.model_name, task))
        if task in TAGGING_TASKS:
            task_args.labels = tagging_labels(hparams, data_dir, args.model_name, task)
        task_args.layerwise_lr_decay = hparams["layerwise_lr_decay"]
        task_args.weight_decay = hparams["weight_decay_rate"]
        task_args.overwrite = args.overwrite
        results = Outputs(results_dir, (f"{task}_results.txt",), PROG, "--model-name")
        task_outputs = dataclasses.replace(command.outputs(task_args), flag="--model-name")
        for planned in (task_outputs, results):  # every task's, before the first runs
            planned.check(args.overwrite)
        runs.append((task, command, task_args, results))
    for task, command, task_args, results in runs:
        command.run(task_args)
        evaluated = Path(task_args.output_dir) / "eval_results.txt"
        if evaluated.is_file():
            results_dir.mkdir(parents=True, exist_ok=True)
            write_text(results_dir / f"{task}_results.txt", evaluated.read_text())
            results.record(f"{task}_results.txt")
            print(f"{PROG}: {task} results in {results_dir / f'{task}_results.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
