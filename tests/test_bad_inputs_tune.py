"""The bad-input sweep for jbert-tune: a search space naming an argument that is not tunable.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import pytest
from bad_input_helpers import case_table, sweep_test, tune_flags

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("tune-bad-space", "tune", "learning_rat", "tunable")
def _(ws):
    return [
        f"--data_dir={ws / 'livedoor'}",
        "--task_name=livedoor",
        f"--output_dir={ws / 'tune'}",
        f"--init_checkpoint={ws / 'model'}",
        "--max_seq_length=32",
        "--space",
        '{"learning_rat": [1e-5]}',
    ]


# --- outputs, limits and empty inputs: the same rule in every command --------------------


@case("tune-output-not-ours", "tune", "tune/trials.json", "--overwrite")
def _(ws):
    (ws / "tune").mkdir()
    (ws / "tune" / "trials.json").write_text("[]\n")
    return tune_flags(ws)


@case("tune-max-seq-too-long", "tune", "--max_seq_length=128", "64")
def _(ws):
    return [*tune_flags(ws), "--max_seq_length=128"]


@case("tune-empty-train", "tune", "train.tsv", "empty")
def _(ws):
    (ws / "livedoor" / "train.tsv").write_bytes(b"")
    return tune_flags(ws)


# --- more mistakes a user makes ------------------------------------------------------------


@case("tune-space-not-an-object", "tune", "--space", "JSON object")
def _(ws):
    return [*tune_flags(ws), "--space=[1, 2]"]


@case("tune-space-not-json", "tune", "--space", "JSON")
def _(ws):
    return [*tune_flags(ws), "--space={learning_rate: 1}"]


@case("tune-unknown-task", "tune", "--task_name", "nope")
def _(ws):
    return [*tune_flags(ws), "--task_name=nope"]


@case("tune-unknown-tuner", "tune", "--tuner", "grid")
def _(ws):
    return [*tune_flags(ws), "--tuner=grid"]


@case("tune-zero-trials", "tune", "--max_trials=0", "at least 1")
def _(ws):
    return [*tune_flags(ws), "--max_trials=0"]


@case("tune-missing-data-dir", "tune", "nowhere")
def _(ws):
    return [*tune_flags(ws), f"--data_dir={ws / 'nowhere'}"]


@case("tune-missing-dev", "tune", "dev.tsv")
def _(ws):
    (ws / "livedoor" / "dev.tsv").unlink()
    return tune_flags(ws)


@case("tune-output-is-a-file", "tune", "--output_dir", "input.txt")
def _(ws):
    return [*tune_flags(ws), f"--output_dir={ws / 'input.txt'}"]


@case("tune-missing-checkpoint", "tune", "model.ckpt-99")
def _(ws):
    return [*tune_flags(ws), f"--init_checkpoint={ws / 'ckpt' / 'model.ckpt-99'}"]


@case("tune-unknown-label", "tune", "train.tsv", "line 3", "not-a-category")
def _(ws):
    path = ws / "livedoor" / "train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = "なにかの記事\tnot-a-category"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tune_flags(ws)


@case("tune-bad-range", "tune", "learning_rate")
def _(ws):
    return [*tune_flags(ws), '--space={"learning_rate": [1e-3, 1e-5]}']


@case("tune-space-batch-size-text", "tune", "batch_size", "integer")
def _(ws):
    return [*tune_flags(ws), '--space={"batch_size": "abc"}']


@case("tune-space-negative-epochs", "tune", "epochs=-1", "at least 1")
def _(ws):
    return [*tune_flags(ws), '--space={"epochs": -1}']


test_bad_input_gets_one_clear_message = sweep_test(CASES)
