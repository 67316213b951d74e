"""The bad-input sweep for jbert-run-finetuning: bad --hparams and unknown tasks.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import json
import shutil

import pytest
from bad_input_helpers import case_table, finetuning_args, sweep_test

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("finetuning-bad-hparams", "run_finetuning", "--hparams")
def _(ws):
    return ["--data-dir", str(ws), "--model-name", "model", "--hparams", "{task_names: mrpc"]


@case("finetuning-unknown-task", "run_finetuning", "squad9")
def _(ws):
    hparams = {"task_names": ["squad9"], "init_checkpoint": str(ws / "model")}
    return ["--data-dir", str(ws), "--model-name", "model", "--hparams", json.dumps(hparams)]


# --- outputs, limits and empty inputs: the same rule in every command --------------------


@case("finetuning-output-not-ours", "run_finetuning", "livedoor_results.txt", "--overwrite")
def _(ws):
    results = ws / "models" / "small" / "results"
    results.mkdir(parents=True)
    (results / "livedoor_results.txt").write_text("eval_accuracy = 0.9\n")
    return finetuning_args(ws)


@case("finetuning-max-seq-too-long", "run_finetuning", "max_seq_length=128", "64")
def _(ws):
    return finetuning_args(ws, max_seq_length=128)


@case("finetuning-empty-train", "run_finetuning", "train.tsv", "empty")
def _(ws):
    args = finetuning_args(ws)
    (ws / "finetuning_data" / "livedoor" / "train.tsv").write_bytes(b"")
    return args


# --- more mistakes a user makes ------------------------------------------------------------


@case("finetuning-hparams-not-an-object", "run_finetuning", "--hparams", "JSON object")
def _(ws):
    return ["--data-dir", str(ws), "--model-name", "model", "--hparams", "[1]"]


@case("finetuning-unknown-hparam", "run_finetuning", "learning_rat")
def _(ws):
    return finetuning_args(ws, learning_rat=1e-4)


@case("finetuning-no-model", "run_finetuning", "models/nothing", "init_checkpoint")
def _(ws):
    return ["--data-dir", str(ws), "--model-name", "nothing"]


@case("finetuning-data-dir-missing", "run_finetuning", "--data-dir", "nowhere")
def _(ws):
    return ["--data-dir", str(ws / "nowhere"), "--model-name", "small"]


@case("finetuning-hparams-file-missing", "run_finetuning", "--hparams", "nope.json")
def _(ws):
    return ["--data-dir", str(ws), "--model-name", "small", "--hparams", str(ws / "nope.json")]


@case("finetuning-task-names-not-a-list", "run_finetuning", "task_names", "list")
def _(ws):
    return finetuning_args(ws, task_names=5)


@case("finetuning-learning-rate-not-a-number", "run_finetuning", "learning_rate", "number")
def _(ws):
    return finetuning_args(ws, learning_rate="fast")


@case("finetuning-bool-as-string", "run_finetuning", "do_lower_case", "true or false")
def _(ws):
    return finetuning_args(ws, do_lower_case="false")


@case("finetuning-task-data-missing", "run_finetuning", "finetuning_data/livedoor")
def _(ws):
    args = finetuning_args(ws)
    shutil.rmtree(ws / "finetuning_data" / "livedoor")
    return args


@case("finetuning-task-output-not-ours", "run_finetuning", "eval_results.txt", "--overwrite")
def _(ws):
    out = ws / "models" / "small" / "finetuning_models" / "livedoor_model"
    out.mkdir(parents=True)
    (out / "eval_results.txt").write_text("eval_accuracy = 0.9\n")
    return finetuning_args(ws)


@case("finetuning-negative-epochs", "run_finetuning", "num_train_epochs", "0 or more")
def _(ws):
    return finetuning_args(ws, num_train_epochs=-1)


@case("finetuning-hparams-file-not-utf8", "run_finetuning", "hparams.json", "UTF-8")
def _(ws):
    text = '{"task_names": ["livedoor"], "init_checkpoint": "日本語のモデル"}'
    (ws / "hparams.json").write_bytes(text.encode("cp932"))
    return ["--data-dir", str(ws), "--model-name", "small", "--hparams", str(ws / "hparams.json")]


@case("finetuning-vocab-without-specials", "run_finetuning", "no [CLS], [SEP]", "--vocab_file")
def _(ws):
    chars = ws / "characters.txt"
    chars.write_text("[PAD]\n[UNK]\n[BOS]\n[EOS]\n日\n本\n", encoding="utf-8")
    init = str(ws / "ckpt" / "model.ckpt-10")
    return finetuning_args(ws, init_checkpoint=init, vocab_file=str(chars))


@case("finetuning-labels-file-missing", "run_finetuning", "labels_file", "nope.txt")
def _(ws):
    return finetuning_args(ws, task_names=["chunk"], labels_file=str(ws / "nope.txt"))


test_bad_input_gets_one_clear_message = sweep_test(CASES)
