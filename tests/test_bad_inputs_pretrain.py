"""The bad-input sweep for jbert-pretrain: no records, files that are not TFRecords, records
of another length.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import pytest
from bad_input_helpers import (
    case_table,
    check_as_a_process,
    new_workspace,
    pretrain_flags,
    sweep_test,
)

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("pretrain-no-records", "pretrain", "--input_file", "nothing*.tfrecord")
def _(ws):
    return [
        f"--input_file={ws / 'nothing*.tfrecord'}",
        f"--output_dir={ws / 'pretrain'}",
        f"--bert_config_file={ws / 'ckpt' / 'bert_config.json'}",
        "--do_train",
        "--num_train_steps=1",
        "--max_seq_length=32",
    ]


@case("pretrain-not-tfrecords", "pretrain", "input.txt", "TFRecord")
def _(ws):
    return [
        f"--input_file={ws / 'input.txt'}",
        f"--output_dir={ws / 'pretrain'}",
        f"--bert_config_file={ws / 'ckpt' / 'bert_config.json'}",
        f"--vocab_file={ws / 'ckpt' / 'vocab.txt'}",
        "--do_train",
        "--num_train_steps=1",
        "--max_seq_length=32",
        "--train_batch_size=2",
    ]


@case("pretrain-records-other-length", "pretrain", "records.tfrecord", "--max_seq_length=64")
def _(ws):
    from jbert_tf2.cli.create_pretraining_data import main as create_data

    records = ws / "records.tfrecord"
    corpus = ws / "corpus.txt"
    corpus.write_text("今日は野球の試合。\n東京で寿司を食べた。\n\n昨日は雨。\n京都へ行った。\n")
    flags = [f"--input_file={corpus}", f"--output_file={records}", "--max_seq_length=32"]
    flags += [f"--vocab_file={ws / 'ckpt' / 'vocab.txt'}", "--tokenizer=character"]
    assert create_data([*flags, "--noprogress", "--max_predictions_per_seq=5"]) == 0
    return [
        f"--input_file={records}",
        f"--output_dir={ws / 'pretrain'}",
        f"--bert_config_file={ws / 'ckpt' / 'bert_config.json'}",
        "--do_train",
        "--num_train_steps=1",
        "--max_seq_length=64",
        "--max_predictions_per_seq=5",
    ]


# --- outputs, limits and empty inputs: the same rule in every command --------------------


@case("pretrain-output-not-ours", "pretrain", "pretrain/train_results.txt", "--overwrite")
def _(ws):
    (ws / "pretrain").mkdir()
    (ws / "pretrain" / "train_results.txt").write_text("loss = 1.5\n")
    return pretrain_flags(ws)


@case("pretrain-max-seq-too-long", "pretrain", "--max_seq_length=128", "64")
def _(ws):
    return [*pretrain_flags(ws), "--max_seq_length=128"]


@case("pretrain-empty-input", "pretrain", "empty.tfrecord", "no records")
def _(ws):
    (ws / "empty.tfrecord").write_bytes(b"")
    return [*pretrain_flags(ws), f"--input_file={ws / 'empty.tfrecord'}"]


# --- more mistakes a user makes ------------------------------------------------------------


@case("pretrain-vocab-larger-than-config", "pretrain", "vocab.txt", "vocab_size")
def _(ws):
    vocab = ws / "big_vocab.txt"
    words = (ws / "ckpt" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    vocab.write_text("\n".join(words + [f"extra{i}" for i in range(50)]) + "\n")
    return [*pretrain_flags(ws), f"--vocab_file={vocab}"]


@case("pretrain-no-config", "pretrain", "--bert_config_file")
def _(ws):
    return [a for a in pretrain_flags(ws) if not a.startswith("--bert_config_file")]


@case("pretrain-config-malformed", "pretrain", "bert_config.json", "JSON")
def _(ws):
    (ws / "ckpt" / "bert_config.json").write_text("{hidden_size: 64}")
    return pretrain_flags(ws)


@case("pretrain-no-action", "pretrain", "at least one of")
def _(ws):
    return [*pretrain_flags(ws), "--nodo_train"]


@case("pretrain-electra-half-command-line", "pretrain", "--data-dir", "--model-name")
def _(ws):
    return ["--data-dir", str(ws)]


@case("pretrain-electra-hparams-not-an-object", "pretrain", "--hparams", "JSON object")
def _(ws):
    return ["--data-dir", str(ws), "--model-name", "small", "--hparams", "[1, 2]"]


@case("pretrain-electra-unknown-hparam", "pretrain", "--hparams", "num_train_step")
def _(ws):
    return ["--data-dir", str(ws), "--model-name", "small", "--hparams", '{"num_train_step": 5}']


@case("pretrain-electra-bad-size", "pretrain", "model_size", "huge")
def _(ws):
    return ["--data-dir", str(ws), "--model-name", "small", "--hparams", '{"model_size": "huge"}']


@case("pretrain-electra-hparams-file-missing", "pretrain", "--hparams", "nope.json")
def _(ws):
    return ["--data-dir", str(ws), "--model-name", "small", "--hparams", str(ws / "nope.json")]


@case("pretrain-electra-no-vocab", "pretrain", "vocab.txt")
def _(ws):
    return ["--data-dir", str(ws), "--model-name", "small", "--hparams", '{"max_seq_length": 32}']


@case("pretrain-bad-model-type", "pretrain", "--model_type", "gpt")
def _(ws):
    return [*pretrain_flags(ws), "--model_type=gpt"]


@case("pretrain-missing-init-checkpoint", "pretrain", "model.ckpt-99")
def _(ws):
    return [*pretrain_flags(ws), f"--init_checkpoint={ws / 'ckpt' / 'model.ckpt-99'}"]


@case("pretrain-records-are-text", "pretrain", "sentences.txt", "TFRecord")
def _(ws):
    return [*pretrain_flags(ws), f"--input_file={ws / 'sentences.txt'}"]


test_bad_input_gets_one_clear_message = sweep_test(CASES)


@pytest.mark.parametrize("name", ["pretrain-not-tfrecords"])
def test_as_a_process_the_message_is_all_there_is(name, tmp_path_factory, tmp_path):
    """Run as users do (a fresh process): stderr holds the one message, no traceback."""
    bad = next(c for c in CASES if c.name == name)
    check_as_a_process(bad, new_workspace(tmp_path_factory, tmp_path))
