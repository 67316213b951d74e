"""The bad-input sweep for jbert-extract-features: missing, binary or non-UTF-8 input, bad
--layers, bad output.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import pytest
from bad_input_helpers import case_table, data_file, extract_flags, sweep_test

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("extract-missing-input", "extract_features", "missing.txt")
def _(ws):
    return extract_flags(ws, input_file=ws / "missing.txt")


@case("extract-non-utf8", "extract_features", "input.txt", "line 2")
def _(ws):
    (ws / "input.txt").write_bytes("一行目\n".encode() + "二行目\n".encode("cp932"))
    return extract_flags(ws)


@case("extract-binary-input", "extract_features", "model.ckpt-10.data")
def _(ws):
    return extract_flags(ws, input_file=data_file(ws))


@case("extract-bad-layers", "extract_features", "--layers", "-5")
def _(ws):
    return extract_flags(ws, "--layers=-1,-5")


@case("extract-output-dir-missing", "extract_features", "--output_file", "does not exist")
def _(ws):
    return [*extract_flags(ws), f"--output_file={ws / 'nowhere' / 'f.jsonl'}"]


@case("extract-output-is-user-dir", "extract_features", "features.jsonl")
def _(ws):
    (ws / "features.jsonl").mkdir()
    (ws / "features.jsonl" / "mine.txt").write_text("keep me")
    return extract_flags(ws)


test_bad_input_gets_one_clear_message = sweep_test(CASES)
