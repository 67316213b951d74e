"""The bad-input sweep for jbert-tune: a search space naming an argument that is not tunable.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import pytest
from bad_input_helpers import case_table, sweep_test

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("tune-bad-space", "tune", "learning_rat", "tunable")
def _(ws):
    return [
        f"--data_dir={ws / 'livedoor'}",
        "--task_name=livedoor",
        f"--output_dir={ws / 'tune'}",
        f"--init_checkpoint={ws / 'model'}",
        "--space",
        '{"learning_rat": [1e-5]}',
    ]


test_bad_input_gets_one_clear_message = sweep_test(CASES)
