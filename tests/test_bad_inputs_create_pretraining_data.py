"""The bad-input sweep for jbert-create-pretraining-data: a missing corpus.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import pytest
from bad_input_helpers import case_table, pretraining_data_flags, sweep_test

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


# --- outputs, limits and empty inputs: the same rule in every command --------------------


@case("pretraining-data-output-not-ours", "create_pretraining_data", "mine.tfrecord", "--overwrite")
def _(ws):
    (ws / "mine.tfrecord").write_bytes(b"records I made")
    return [*pretraining_data_flags(ws), f"--output_file={ws / 'mine.tfrecord'}"]


@case("pretraining-data-max-seq-too-long", "create_pretraining_data", "--max_seq_length=128", "64")
def _(ws):
    flags = [f for f in pretraining_data_flags(ws) if not f.startswith(("--vocab", "--tok"))]
    return [*flags, f"--model_dir={ws / 'model'}", "--max_seq_length=128"]


@case("pretraining-data-empty-input", "create_pretraining_data", "sentences.txt", "empty")
def _(ws):
    (ws / "sentences.txt").write_bytes(b"")
    return pretraining_data_flags(ws)


# --- more mistakes a user makes ------------------------------------------------------------


@case("pretraining-data-blank-input", "create_pretraining_data", "sentences.txt", "empty")
def _(ws):
    (ws / "sentences.txt").write_text("\n\n \n")
    return pretraining_data_flags(ws)


@case("pretraining-data-output-is-input", "create_pretraining_data", "--output_file", "input")
def _(ws):
    return [*pretraining_data_flags(ws), f"--output_file={ws / 'sentences.txt'}"]


@case("pretraining-data-output-is-a-directory", "create_pretraining_data", "--output_file", "ner")
def _(ws):
    return [*pretraining_data_flags(ws), f"--output_file={ws / 'ner'}"]


@case("pretraining-data-no-tokenizer", "create_pretraining_data", "--vocab_file")
def _(ws):
    return [f for f in pretraining_data_flags(ws) if not f.startswith(("--vocab", "--tok"))]


@case("pretraining-data-model-dir-and-vocab", "create_pretraining_data", "--model_dir")
def _(ws):
    return [*pretraining_data_flags(ws), f"--model_dir={ws / 'model'}"]


@case("pretraining-data-electra-with-bert-flags", "create_pretraining_data", "--dupe_factor")
def _(ws):
    return [*pretraining_data_flags(ws), "--format=electra", "--dupe_factor=2"]


@case("pretraining-data-bert-in-parallel", "create_pretraining_data", "--num_processes=2")
def _(ws):
    return [*pretraining_data_flags(ws), "--num_processes=2"]


@case("pretraining-data-seq-too-short", "create_pretraining_data", "--max_seq_length=3")
def _(ws):
    return [*pretraining_data_flags(ws), "--max_seq_length=3"]


@case("pretraining-data-non-utf8", "create_pretraining_data", "sentences.txt", "UTF-8")
def _(ws):
    (ws / "sentences.txt").write_bytes("一行目\n".encode() + "二行目\n".encode("cp932"))
    return pretraining_data_flags(ws)


@case("pretraining-data-missing-vocab", "create_pretraining_data", "nope.txt")
def _(ws):
    return [*pretraining_data_flags(ws), f"--vocab_file={ws / 'nope.txt'}"]


@case("pretraining-data-sentencepiece-without-model", "create_pretraining_data", "--model_file")
def _(ws):
    return [*pretraining_data_flags(ws), "--tokenizer=sentencepiece"]


@case("pretraining-data-mask-prob-above-one", "create_pretraining_data", "--masked_lm_prob=2")
def _(ws):
    return [*pretraining_data_flags(ws), "--masked_lm_prob=2"]


@case("pretraining-data-empty-output-name", "create_pretraining_data", "--output_file", "empty")
def _(ws):
    return [*pretraining_data_flags(ws), f"--output_file={ws / 'a.tfrecord'},,{ws / 'b'}"]


test_bad_input_gets_one_clear_message = sweep_test(CASES)
