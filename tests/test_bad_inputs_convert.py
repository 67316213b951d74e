"""The bad-input sweep for jbert-convert: checkpoints, configs, vocabularies and output
directories that are wrong.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import json

import pytest
from bad_input_helpers import (
    case_table,
    check_as_a_process,
    convert_args,
    data_file,
    edit_json,
    new_workspace,
    sweep_test,
    truncate,
)

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("convert-truncated-index", "convert", "model.ckpt-10.index", "copy it again")
def _(ws):
    truncate(ws / "ckpt" / "model.ckpt-10.index")
    return convert_args(ws)


@case("convert-truncated-data", "convert", "model.ckpt-10", "copy the checkpoint again")
def _(ws):
    truncate(data_file(ws), 0.3)
    return convert_args(ws)


@case("convert-empty-checkpoint", "convert", "model.ckpt-10.index")
def _(ws):
    (ws / "ckpt" / "model.ckpt-10.index").write_bytes(b"")
    data_file(ws).write_bytes(b"")
    return convert_args(ws)


@case("convert-missing-data-file", "convert", "no model.ckpt-10.data-", "copy the data file")
def _(ws):
    data_file(ws).unlink()
    return convert_args(ws)


@case("convert-no-such-prefix", "convert", "model.ckpt-99", "model.ckpt-10")
def _(ws):
    return [str(ws / "ckpt" / "model.ckpt-99"), "-o", str(ws / "converted")]


@case("convert-wrong-family", "convert", "--family electra", "bert/")
def _(ws):
    return convert_args(ws, "--family", "electra")


@case("convert-not-bert", "convert", "neither bert/ nor electra/", "resnet")
def _(ws):
    import numpy as np

    from jbert_tf2.checkpoint.tf1 import write_tf1_checkpoint

    other = ws / "resnet"
    other.mkdir()
    write_tf1_checkpoint({"resnet/conv1/kernel": np.zeros((3, 3), np.float32)}, other / "m.ckpt")
    return [str(other / "m.ckpt"), "-o", str(ws / "converted")]


@case("convert-config-mismatch", "convert", "bert_config.json", "hidden_size")
def _(ws):
    edit_json(ws / "ckpt" / "bert_config.json", hidden_size=32, intermediate_size=64)
    return convert_args(ws)


@case("convert-config-too-many-layers", "convert", "num_hidden_layers", "layer_0..1")
def _(ws):
    edit_json(ws / "ckpt" / "bert_config.json", num_hidden_layers=3)
    return convert_args(ws)


@case("convert-config-bad-value", "convert", "bert_config.json", "num_attention_heads")
def _(ws):
    edit_json(ws / "ckpt" / "bert_config.json", num_attention_heads="two")
    return convert_args(ws)


@case("convert-config-malformed-json", "convert", "bert_config.json", "line")
def _(ws):
    path = ws / "ckpt" / "bert_config.json"
    path.write_text(path.read_text().replace(",", ",\n").replace('"hidden_size"', "hidden_size"))
    return convert_args(ws)


@case("convert-config-ini-bad", "convert", "config.ini", "hidden_size", "lots")
def _(ws):
    config = json.loads((ws / "ckpt" / "bert_config.json").read_text(encoding="utf-8"))
    config["hidden_size"] = "lots"
    body = "".join(f"{k} = {v}\n" for k, v in config.items())
    (ws / "config.ini").write_text(f"[BERT-CONFIG]\n{body}", encoding="utf-8")
    return convert_args(ws, "--config", str(ws / "config.ini"))


@case("convert-missing-vocab", "convert", "nope.txt")
def _(ws):
    return convert_args(ws, "--vocab", str(ws / "nope.txt"))


@case("convert-vocab-size-mismatch", "convert", "vocab.txt", "vocab_size")
def _(ws):
    vocab = ws / "ckpt" / "vocab.txt"
    extra = "".join(f"追加{i}\n" for i in range(10))
    vocab.write_text(vocab.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return convert_args(ws)


@case(
    "convert-spm-vocab-mismatch", "convert", "wiki-ja.vocab", "wiki-ja.model", "different trainings"
)
def _(ws):
    from tf1_fixtures import write_sentencepiece

    model, _ = write_sentencepiece(ws / "spm", 100)
    other = ("ramen", "sushi", "udon", "soba", "tempura", "wasabi", "miso", "natto")
    _, other_vocab = write_sentencepiece(ws / "spm2", 100, words=other)
    return convert_args(ws, "--spm-model", str(model), "--vocab", str(other_vocab))


@case("convert-output-exists", "convert", "converted", "--overwrite")
def _(ws):
    (ws / "converted").mkdir()
    (ws / "converted" / "notes.txt").write_text("mine")
    return convert_args(ws)


@case("convert-output-unwritable", "convert", "a_file")
def _(ws):
    (ws / "a_file").write_text("mine")
    return [str(ws / "ckpt" / "model.ckpt-10"), "-o", str(ws / "a_file" / "out")]


@case("convert-bad-flag-value", "convert", "--to")
def _(ws):
    return convert_args(ws, "--to", "onnx")


@case("convert-pickled-hf-weights", "convert", "pytorch_model.bin", "unsafe")
def _(ws):
    hf = ws / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    (hf / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    return [str(hf), "-o", str(ws / "converted")]


test_bad_input_gets_one_clear_message = sweep_test(CASES)


@pytest.mark.parametrize("name", ["convert-truncated-data"])
def test_as_a_process_the_message_is_all_there_is(name, tmp_path_factory, tmp_path):
    """Run as users do (a fresh process): stderr holds the one message, no traceback."""
    bad = next(c for c in CASES if c.name == name)
    check_as_a_process(bad, new_workspace(tmp_path_factory, tmp_path))
