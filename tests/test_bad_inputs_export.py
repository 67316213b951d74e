"""The bad-input sweep for jbert-export: a directory that is no task model, a version that exists.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import pytest
from bad_input_helpers import case_table, edit_json, export_args, sweep_test, truncate

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


# --- limits: the same rule in every command ------------------------------------------------


@case("export-max-seq-too-long", "export", "--max_seq_length=512", "64")
def _(ws):
    return export_args(ws, "--max_seq_length=512")


# --- more mistakes a user makes ------------------------------------------------------------


@case("export-missing-model-dir", "export", "nope")
def _(ws):
    return [str(ws / "nope"), "-o", str(ws / "serving")]


@case("export-model-dir-is-a-file", "export", "input.txt")
def _(ws):
    return [str(ws / "input.txt"), "-o", str(ws / "serving")]


@case("export-bad-name", "export", "--name", "a/b")
def _(ws):
    return export_args(ws, "--name=a/b")


@case("export-version-zero", "export", "--version=0", "at least 1")
def _(ws):
    return export_args(ws, "--version=0")


@case("export-version-not-a-number", "export", "--version=v2", "integer")
def _(ws):
    return export_args(ws, "--version=v2")


@case("export-no-output", "export", "--output")
def _(ws):
    return [str(ws / "classifier")]


@case("export-truncated-weights", "export", "model.safetensors")
def _(ws):
    truncate(ws / "classifier" / "model.safetensors")
    return export_args(ws)


@case("export-empty-task-json", "export", "task.json")
def _(ws):
    (ws / "classifier" / "task.json").write_bytes(b"")
    return export_args(ws)


@case("export-output-is-a-file", "export", "input.txt")
def _(ws):
    return [str(ws / "classifier"), "-o", str(ws / "input.txt")]


@case("export-config-mismatch", "export", "config.json")
def _(ws):
    edit_json(ws / "classifier" / "config.json", hidden_size=32, intermediate_size=64)
    return export_args(ws)


@case("export-vocab-missing", "export", "vocab.txt")
def _(ws):
    (ws / "classifier" / "vocab.txt").unlink()
    return export_args(ws)


@case("export-max-seq-zero", "export", "--max_seq_length=0", "at least 1")
def _(ws):
    return export_args(ws, "--max_seq_length=0")


@case("export-bad-ops", "export", "--ops", "core", "text")
def _(ws):
    return export_args(ws, "--ops=onnx")


@case("export-quantize-saved-model", "export", "--quantize", "--format onnx or litert")
def _(ws):
    return export_args(ws, "--quantize=int8")


@case("export-ops-with-onnx", "export", "--ops", "--format onnx", "drop --ops")
def _(ws):
    return export_args(ws, "--format=onnx", "--ops=core")


@case("export-accuracy-drop-saved-model", "export", "--max_accuracy_drop", "--format onnx")
def _(ws):
    return export_args(ws, "--max_accuracy_drop=2")


@case("export-bad-format", "export", "--format", "onnx", "litert")
def _(ws):
    return export_args(ws, "--format=tflite")


@case("export-dev-file-missing", "export", "--dev_file", "nope.tsv")
def _(ws):
    return export_args(ws, "--format=onnx", f"--dev_file={ws / 'nope.tsv'}")


@case("export-negative-accuracy-drop", "export", "--max_accuracy_drop=-1", ">= 0")
def _(ws):
    return export_args(ws, "--format=onnx", "--quantize=int8", "--max_accuracy_drop=-1")


test_bad_input_gets_one_clear_message = sweep_test(CASES)
