"""The bad-input sweep for jbert-pretrain: no records, files that are not TFRecords, records
of another length.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import pytest
from bad_input_helpers import case_table, check_as_a_process, new_workspace, sweep_test

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


test_bad_input_gets_one_clear_message = sweep_test(CASES)


@pytest.mark.parametrize("name", ["pretrain-not-tfrecords"])
def test_as_a_process_the_message_is_all_there_is(name, tmp_path_factory, tmp_path):
    """Run as users do (a fresh process): stderr holds the one message, no traceback."""
    bad = next(c for c in CASES if c.name == name)
    check_as_a_process(bad, new_workspace(tmp_path_factory, tmp_path))
