"""The bad-input sweep for jbert-create-pretraining-data: a missing corpus.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import pytest
from bad_input_helpers import case_table, sweep_test

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("pretraining-data-missing-input", "create_pretraining_data", "corpus.txt")
def _(ws):
    return [
        f"--input_file={ws / 'corpus.txt'}",
        f"--output_file={ws / 'records.tfrecord'}",
        f"--vocab_file={ws / 'ckpt' / 'vocab.txt'}",
        "--tokenizer=character",
    ]


test_bad_input_gets_one_clear_message = sweep_test(CASES)
