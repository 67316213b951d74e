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


@case("convert-vocab-size-mismatch", "convert", "vocab.txt", "vocab_size", "--no-tokenizer")
def _(ws):
    vocab = ws / "ckpt" / "vocab.txt"
    extra = "".join(f"追加{i}\n" for i in range(10))
    vocab.write_text(vocab.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return convert_args(ws)


@case("convert-vocab-duplicate-line", "convert", "vocab.txt, line", "--no-tokenizer")
def _(ws):
    vocab = ws / "ckpt" / "vocab.txt"
    lines = vocab.read_text(encoding="utf-8").splitlines()
    lines[-1] = lines[-2]  # same length: the duplicate is the only problem
    vocab.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return convert_args(ws)


def _hf_directory(ws):
    """An HF directory of the workspace model, as `jbert-convert --to hf` writes it."""
    from jbert_tf2.cli.convert import main as convert_main

    assert convert_main([str(ws / "model"), "-o", str(ws / "hf"), "--to", "hf"]) == 0
    return ws / "hf"


@case("convert-tf-h5-not-transformers", "convert", "tf_model.h5", "layer_names")
def _(ws):
    import h5py

    hf = _hf_directory(ws)
    (hf / "model.safetensors").unlink()
    with h5py.File(hf / "tf_model.h5", "w") as f:  # a Keras 3 .weights.h5 renamed, say
        f.create_dataset("layers/dense/vars/0", data=[1.0, 2.0])
    return [str(hf), "-o", str(ws / "converted")]


@case("convert-tf-h5-sharded", "convert", "tf_model.h5.index.json", "model.safetensors")
def _(ws):
    hf = _hf_directory(ws)
    (hf / "model.safetensors").unlink()
    (hf / "tf_model.h5.index.json").write_text('{"weight_map": {}}', encoding="utf-8")
    return [str(hf), "-o", str(ws / "converted")]


@case("convert-hf-tokenizer-config-bad", "convert", "tokenizer_config.json", "not valid JSON")
def _(ws):
    hf = _hf_directory(ws)
    (hf / "tokenizer_config.json").write_text('{"word_tokenizer_type": mecab}', encoding="utf-8")
    return [str(hf), "-o", str(ws / "converted")]


@case("convert-hf-tf1-option", "convert", "--config: applies to TF1 checkpoints", "drop --config")
def _(ws):
    hf = _hf_directory(ws)
    return [str(hf), "-o", str(ws / "converted"), "--config", str(ws / "ckpt" / "bert_config.json")]


@case(
    "convert-model-dir-tf1-option", "convert", "--vocab: ", "jbert model directory", "drop --vocab"
)
def _(ws):
    vocab = str(ws / "ckpt" / "vocab.txt")
    return [str(ws / "model"), "-o", str(ws / "converted"), "--to", "hf", "--vocab", vocab]


@case("convert-hf-electra-sequence-classifier", "convert", "ElectraForSequenceClassification")
def _(ws):
    hf = _hf_directory(ws)
    config = json.loads((hf / "config.json").read_text(encoding="utf-8"))
    config["architectures"] = ["ElectraForSequenceClassification"]
    (hf / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return [str(hf), "-o", str(ws / "converted")]


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


@case(
    "convert-pickled-hf-weights",
    "convert",
    "pytorch_model.bin",
    "unsafe",
    "model.safetensors",
    "safe_serialization",
)
def _(ws):
    hf = ws / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    (hf / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    return [str(hf), "-o", str(ws / "converted")]


def _fine_tuned(ws, heads: dict, electra: bool = False) -> str:
    """The workspace checkpoint plus fine-tuned head variables (``heads``: name -> shape), as
    run_classifier.py (output_weights) or ELECTRA's run_finetuning (task_specific/) saves it;
    the prefix in ``ws/ft``."""
    import shutil

    import numpy as np

    from jbert_tf2.checkpoint.tf1 import read_tf1_checkpoint, write_tf1_checkpoint

    weights, _ = read_tf1_checkpoint(str(ws / "ckpt" / "model.ckpt-10"))
    if electra:
        weights = {
            "electra/" + n[len("bert/") :]: v
            for n, v in weights.items()
            if n.startswith("bert/") and not n.startswith("bert/pooler/")
        }
    rng = np.random.default_rng(0)
    weights.update({n: rng.normal(size=shape).astype(np.float32) for n, shape in heads.items()})
    (ws / "ft").mkdir()
    shutil.copyfile(ws / "ckpt" / "bert_config.json", ws / "ft" / "bert_config.json")
    shutil.copyfile(ws / "ckpt" / "vocab.txt", ws / "ft" / "vocab.txt")
    write_tf1_checkpoint(weights, ws / "ft" / "model.ckpt-7")
    return str(ws / "ft" / "model.ckpt-7")


def _hidden(ws) -> int:
    return json.loads((ws / "ckpt" / "bert_config.json").read_text())["hidden_size"]


@case("convert-labels-count", "convert", "labels.txt", "2 labels", "3 outputs")
def _(ws):
    ckpt = _fine_tuned(ws, {"output_weights": (3, _hidden(ws)), "output_bias": (3,)})
    (ws / "labels.txt").write_text("sports\nit\n", encoding="utf-8")
    return [ckpt, "-o", str(ws / "converted"), "--labels", str(ws / "labels.txt")]


@case("convert-head-extra-variable", "convert", "loss/scale", "unmapped")
def _(ws):
    hidden = _hidden(ws)
    heads = {"output_weights": (3, hidden), "output_bias": (3,), "loss/scale": (3,)}
    return [_fine_tuned(ws, heads), "-o", str(ws / "converted")]


@case("convert-task-without-head", "convert", "model.ckpt-10", "no fine-tuned head", "--task")
def _(ws):
    return convert_args(ws, "--task", "multi_label")


@case("convert-tagger-without-labels", "convert", "token_classification", "--labels FILE")
def _(ws):
    ckpt = _fine_tuned(ws, {"output_weights": (5, _hidden(ws)), "output_bias": (5,)})
    return [ckpt, "-o", str(ws / "converted"), "--task", "token_classification"]


def _electra_two_tasks(ws) -> str:
    hidden = _hidden(ws)
    heads = {}
    for task, n in (("mnli", 3), ("chunk", 5)):
        heads[f"task_specific/{task}/dense/kernel"] = (hidden, n)
        heads[f"task_specific/{task}/dense/bias"] = (n,)
    return _fine_tuned(ws, heads, electra=True)


@case("convert-electra-task-name-missing", "convert", "model.ckpt-7", "chunk, mnli", "--task_name")
def _(ws):
    return [_electra_two_tasks(ws), "-o", str(ws / "converted")]


@case("convert-electra-unknown-task-name", "convert", "--task_name qnli", "chunk, mnli")
def _(ws):
    return [_electra_two_tasks(ws), "-o", str(ws / "converted"), "--task_name", "qnli"]


test_bad_input_gets_one_clear_message = sweep_test(CASES)


@pytest.mark.parametrize("name", ["convert-truncated-data"])
def test_as_a_process_the_message_is_all_there_is(name, tmp_path_factory, tmp_path):
    """Run as users do (a fresh process): stderr holds the one message, no traceback."""
    bad = next(c for c in CASES if c.name == name)
    check_as_a_process(bad, new_workspace(tmp_path_factory, tmp_path))
