"""The bad-input sweep for jbert-run-finetuning: bad --hparams and unknown tasks.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import json

import pytest
from bad_input_helpers import case_table, sweep_test

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("finetuning-bad-hparams", "run_finetuning", "--hparams")
def _(ws):
    return ["--data-dir", str(ws), "--model-name", "model", "--hparams", "{task_names: mrpc"]


@case("finetuning-unknown-task", "run_finetuning", "squad9")
def _(ws):
    hparams = {"task_names": ["squad9"], "init_checkpoint": str(ws / "model")}
    return ["--data-dir", str(ws), "--model-name", "model", "--hparams", json.dumps(hparams)]


test_bad_input_gets_one_clear_message = sweep_test(CASES)
