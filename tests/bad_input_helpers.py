"""Shared by the bad-input sweep (test_bad_inputs_*.py): the cases' table, the workspace they
break, the command lines they build on it, and the check every case must pass.

Each case is a function that breaks a copy of a small, valid workspace (a tiny TF1 checkpoint,
its converted model directory, a fine-tuned classifier, livedoor-style TSVs, BIO files) and
returns the command line. Every command or loader must then answer with one message naming the
file / line / variable, exit status 2, no traceback, and leave every file as it was. The cases
are listed in docs/errors.md; test_bad_inputs_docs.py checks that the two agree.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import task_fixtures as tf_

TF_LOG = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl)")


@dataclass(frozen=True)
class Case:
    name: str
    command: str
    needles: tuple[str, ...]
    build: Callable[[Path], list[str]]


def case_table() -> tuple[list[Case], Callable]:
    """A test file's list of cases, and the decorator ``@case(name, command, *needles)`` that
    adds the function below it (``build(workspace) -> argv``) to that list."""
    cases: list[Case] = []

    def case(name: str, command: str, *needles: str):
        def register(build):
            cases.append(Case(name, command, needles, build))
            return build

        return register

    return cases, case


def case_ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


# --- the workspace ---------------------------------------------------------------------------


@functools.cache
def _template(basetemp: Path) -> Path:
    """The valid workspace, built once per test session (``basetemp``) and never changed: the
    cases break copies of it."""
    import jbert_tf2
    from jbert_tf2.tasks import SequenceClassifier

    root = basetemp / "bad_input_workspace"
    shutil.rmtree(root, ignore_errors=True)  # what an earlier, failed build left
    root.mkdir()
    tf_.make_model_dir(root)
    splits = (("train", 12, 1), ("dev", 6, 2), ("test", 4, 3))
    tf_.write_topic_splits(root / "livedoor", splits, tf_.LIVEDOOR_NAMES)
    ner = root / "ner"
    ner.mkdir()
    tok = jbert_tf2.load_tokenizer(root / "model")
    for split, n, seed in (("train", 8, 1), ("dev", 4, 2), ("test", 4, 3)):
        tf_.write_bio(ner / f"{split}.bio", tf_.tagged_sentences(tok, n, seed))
    (root / "input.txt").write_text("今日は野球の試合。\n東京で寿司を食べた。\n", encoding="utf-8")
    classifier = SequenceClassifier.from_pretrained(root / "model", labels=["a", "b"])
    classifier.save_pretrained(root / "classifier")
    _write_records(root)
    return root


def _write_records(root: Path) -> None:
    """``sentences.txt`` and the BERT pretraining records made from it (``records.tfrecord``,
    32 tokens, 5 predictions), for jbert-pretrain."""
    from jbert_tf2.cli.create_pretraining_data import main as create_data

    corpus = root / "sentences.txt"
    corpus.write_text("今日は野球の試合。\n東京で寿司を食べた。\n\n昨日は雨。\n京都へ行った。\n")
    flags = [f"--input_file={corpus}", f"--output_file={root / 'records.tfrecord'}"]
    flags += [f"--vocab_file={root / 'ckpt' / 'vocab.txt'}", "--tokenizer=character"]
    flags += ["--max_seq_length=32", "--max_predictions_per_seq=5", "--noprogress"]
    assert create_data(flags) == 0


def new_workspace(tmp_path_factory, tmp_path: Path) -> Path:
    """A fresh copy of the valid workspace for one case to break."""
    ws = tmp_path / "ws"
    shutil.copytree(_template(tmp_path_factory.getbasetemp()), ws)
    return ws


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- command lines on the workspace ----------------------------------------------------------


def ckpt_flags(ws: Path) -> list[str]:
    c = ws / "ckpt"
    return [
        f"--init_checkpoint={c / 'model.ckpt-10'}",
        f"--vocab_file={c / 'vocab.txt'}",
        f"--bert_config_file={c / 'bert_config.json'}",
        "--tokenizer=mecab-character",
        "--do_lower_case=false",
    ]


def classifier_flags(ws: Path, *extra: str, data: str = "livedoor") -> list[str]:
    return [
        "--task_name=livedoor",
        f"--data_dir={ws / data}",
        f"--output_dir={ws / 'out'}",
        *ckpt_flags(ws),
        "--max_seq_length=32",
        "--num_train_epochs=0.1",
        "--do_train",
        *extra,
    ]


def extract_flags(ws: Path, *extra: str, input_file: Path | None = None) -> list[str]:
    return [
        f"--input_file={input_file or ws / 'input.txt'}",
        f"--output_file={ws / 'features.jsonl'}",
        *ckpt_flags(ws),
        "--max_seq_length=32",
        "--layers=-1,-2",
        *extra,
    ]


def ner_flags(ws: Path, *extra: str) -> list[str]:
    return [
        f"--data_dir={ws / 'ner'}",
        f"--output_dir={ws / 'ner_out'}",
        *ckpt_flags(ws),
        "--max_seq_length=32",
        "--num_train_epochs=0.1",
        "--do_train",
        *extra,
    ]


def pretrain_flags(ws: Path, *extra: str) -> list[str]:
    return [
        f"--input_file={ws / 'records.tfrecord'}",
        f"--output_dir={ws / 'pretrain'}",
        f"--bert_config_file={ws / 'ckpt' / 'bert_config.json'}",
        "--do_train",
        "--num_train_steps=1",
        "--max_seq_length=32",
        "--max_predictions_per_seq=5",
        "--train_batch_size=2",
        *extra,
    ]


def pretraining_data_flags(ws: Path, *extra: str) -> list[str]:
    return [
        f"--input_file={ws / 'sentences.txt'}",
        f"--output_file={ws / 'new.tfrecord'}",
        f"--vocab_file={ws / 'ckpt' / 'vocab.txt'}",
        "--tokenizer=character",
        "--max_seq_length=32",
        "--noprogress",
        *extra,
    ]


def tune_flags(ws: Path, *extra: str) -> list[str]:
    return [
        f"--data_dir={ws / 'livedoor'}",
        "--task_name=livedoor",
        f"--output_dir={ws / 'tune'}",
        f"--init_checkpoint={ws / 'model'}",
        "--max_seq_length=32",
        "--max_trials=1",
        *extra,
    ]


def export_args(ws: Path, *extra: str) -> list[str]:
    return [str(ws / "classifier"), "-o", str(ws / "serving"), *extra]


def finetuning_args(ws: Path, **hparams) -> list[str]:
    """ELECTRA's layout on the workspace: DATA = ws, the livedoor TSVs as the task's data
    (``finetuning_data/livedoor``), the model directory as the init checkpoint."""
    data = ws / "finetuning_data" / "livedoor"
    if not data.exists():
        shutil.copytree(ws / "livedoor", data)
    given = {
        "task_names": ["livedoor"],
        "init_checkpoint": str(ws / "model"),
        "max_seq_length": 32,
        "num_train_epochs": 0.1,
        **hparams,
    }
    return ["--data-dir", str(ws), "--model-name", "small", "--hparams", json.dumps(given)]


def convert_args(ws: Path, *extra: str) -> list[str]:
    return [str(ws / "ckpt" / "model.ckpt-10"), "-o", str(ws / "converted"), *extra]


# --- breaking files --------------------------------------------------------------------------


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


def data_file(ws: Path) -> Path:
    return next((ws / "ckpt").glob("model.ckpt-10.data-*"))


# --- the checks ------------------------------------------------------------------------------


PROGS = {
    "convert": ("jbert_tf2.cli.convert", "jbert-convert"),
    "run_classifier": ("jbert_tf2.cli.run_classifier", "jbert-run-classifier"),
    "extract_features": ("jbert_tf2.cli.extract_features", "jbert-extract-features"),
    "run_ner": ("jbert_tf2.cli.run_ner", "jbert-run-ner"),
    "run_finetuning": ("jbert_tf2.cli.run_finetuning", "jbert-run-finetuning"),
    "export": ("jbert_tf2.cli.export", "jbert-export"),
    "tune": ("jbert_tf2.cli.tune", "jbert-tune"),
    "pretrain": ("jbert_tf2.cli.run_pretraining", "jbert-pretrain"),
    "create_pretraining_data": (
        "jbert_tf2.cli.create_pretraining_data",
        "jbert-create-pretraining-data",
    ),
}


def _run_loader(argv: list[str]) -> str:
    import jbert_tf2
    from jbert_tf2.errors import JbertError

    what, path = argv
    with pytest.raises(JbertError) as error:
        getattr(jbert_tf2, what)(path)
    return f"{what}: error: {error.value}"


def _run_command(command: str, argv: list[str], capsys) -> str:
    module, prog = PROGS[command]
    main = importlib.import_module(module).main
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2, err
    errors = [line for line in err.splitlines() if line.startswith(f"{prog}: error: ")]
    assert len(errors) == 1, err
    return err


def check_one_clear_message(bad: Case, workspace: Path, capsys) -> None:
    """In this process: exit status 2 (loaders: `JbertError`), one ``PROG: error:`` line with
    every needle, no traceback, and the user's files untouched."""
    argv = bad.build(workspace)
    before = snapshot(workspace)
    if bad.command.startswith("load"):
        message = _run_loader(argv)
    else:
        message = _run_command(bad.command, argv, capsys)
    assert "Traceback" not in message
    for needle in bad.needles:
        assert needle in message, message
    after = snapshot(workspace)
    changed = sorted(k for k in before if after.get(k) != before[k])
    assert not changed, f"user files modified or removed: {changed}"


def check_as_a_process(bad: Case, workspace: Path) -> None:
    """Run as users do (a fresh process): stderr holds the one message, no traceback."""
    argv = bad.build(workspace)
    before = snapshot(workspace)
    module, prog = PROGS[bad.command]
    code = f"import sys; from {module} import main; sys.exit(main())"
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    # TensorFlow's own C++ log lines (I0000 ..., E0000 ... cuInit) are not ours to count
    ours = [line for line in done.stderr.splitlines() if not TF_LOG.match(line)]
    errors = [line for line in ours if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith(f"{prog}: error: "), done.stderr
    assert all(needle in done.stderr for needle in bad.needles)
    assert snapshot(workspace) == before


def sweep_test(cases: list[Case]) -> Callable:
    """The test each test_bad_inputs_*.py runs over its ``CASES`` (assign it after the cases):
    every case, on a fresh copy of the workspace, gets one clear message."""

    @pytest.mark.parametrize("bad", cases, ids=case_ids(cases))
    def test_bad_input_gets_one_clear_message(bad: Case, tmp_path_factory, tmp_path, capsys):
        check_one_clear_message(bad, new_workspace(tmp_path_factory, tmp_path), capsys)

    return test_bad_input_gets_one_clear_message
