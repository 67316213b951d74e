"""The bad-input sweep for the Python loaders (`jbert_tf2.load`, `load_tokenizer`,
`load_task`): broken model and task directories raise one `JbertError` naming the file.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import struct

import pytest
from bad_input_helpers import case_table, edit_json, sweep_test, truncate

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("load-truncated-weights", "load", "model.safetensors")
def _(ws):
    truncate(ws / "model" / "model.safetensors", 0.6)
    return ["load", str(ws / "model")]


@case("load-safetensors-header-lies", "load", "model.safetensors")
def _(ws):
    path = ws / "model" / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(struct.pack("<Q", 10**12) + data[8:])
    return ["load", str(ws / "model")]


@case("load-not-a-model-dir", "load", "config.json")
def _(ws):
    return ["load", str(ws / "livedoor")]


@case("load-config-mismatch", "load", "config.json", "hidden_size")
def _(ws):
    edit_json(ws / "model" / "config.json", hidden_size=32, intermediate_size=64)
    return ["load", str(ws / "model")]


@case("load-tokenizer-path-escapes", "load_tokenizer", "tokenizer.json", "vocab_file")
def _(ws):
    (ws / "secret.txt").write_text("[PAD]\n[UNK]\n", encoding="utf-8")
    edit_json(ws / "model" / "tokenizer.json", vocab_file="../secret.txt")
    return ["load_tokenizer", str(ws / "model")]


@case("load-tokenizer-absolute-path", "load_tokenizer", "tokenizer.json", "vocab_file")
def _(ws):
    edit_json(ws / "model" / "tokenizer.json", vocab_file=str(ws / "ckpt" / "vocab.txt"))
    return ["load_tokenizer", str(ws / "model")]


@case("load-tokenizer-unknown", "load_tokenizer", "tokenizer.json", "bpe")
def _(ws):
    edit_json(ws / "model" / "tokenizer.json", tokenizer="bpe")
    return ["load_tokenizer", str(ws / "model")]


@case("load-task-bad-task-json", "load_task", "task.json")
def _(ws):
    (ws / "classifier" / "task.json").write_text("{not json", encoding="utf-8")
    return ["load_task", str(ws / "classifier")]


@case("load-task-unknown-task", "load_task", "task.json", "unknown task")
def _(ws):
    edit_json(ws / "classifier" / "task.json", task="Summarizer")
    return ["load_task", str(ws / "classifier")]


test_bad_input_gets_one_clear_message = sweep_test(CASES)
