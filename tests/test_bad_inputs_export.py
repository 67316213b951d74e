"""The bad-input sweep for jbert-export: a directory that is no task model, a version that exists.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import pytest
from bad_input_helpers import case_table, sweep_test

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("export-not-a-task", "export", "task.json")
def _(ws):
    return [str(ws / "model"), "-o", str(ws / "serving")]


@case("export-version-exists", "export", "serving", "1")
def _(ws):
    (ws / "serving" / "classifier" / "1").mkdir(parents=True)
    (ws / "serving" / "classifier" / "1" / "saved_model.pb").write_bytes(b"mine")
    return [str(ws / "classifier"), "-o", str(ws / "serving"), "--name=classifier", "--version=1"]


test_bad_input_gets_one_clear_message = sweep_test(CASES)
