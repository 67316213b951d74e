"""The bad-input sweep for jbert-run-classifier: bad flags, TSVs (labels, encodings, ragged
rows, huge fields), checkpoints and output directories.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import shutil

import pytest
import task_fixtures as tf_
from bad_input_helpers import (
    case_table,
    check_as_a_process,
    classifier_flags,
    edit_json,
    new_workspace,
    sweep_test,
)

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("classifier-unknown-task", "run_classifier", "--task_name", "nope")
def _(ws):
    return [*classifier_flags(ws), "--task_name=nope"]


@case("classifier-bad-bool", "run_classifier", "--do_train=maybe", "true or false")
def _(ws):
    return [*classifier_flags(ws), "--do_train=maybe"]


@case("classifier-bad-number", "run_classifier", "--learning_rate=fast", "number")
def _(ws):
    return [*classifier_flags(ws), "--learning_rate=fast"]


@case("classifier-bad-accumulation", "run_classifier", "--gradient_accumulation_steps=0", ">= 1")
def _(ws):
    return [*classifier_flags(ws), "--gradient_accumulation_steps=0"]


@case("classifier-bad-doc-stride", "run_classifier", "--doc_stride=40", "1..29")
def _(ws):
    return [*classifier_flags(ws), "--long_text=windows", "--doc_stride=40"]


@case("classifier-stride-without-windows", "run_classifier", "--doc_stride", "--long_text=windows")
def _(ws):
    return [*classifier_flags(ws), "--long_text=truncate", "--doc_stride=8"]


@case("classifier-bad-window-aggregation", "run_classifier", "--window_aggregation", "median")
def _(ws):
    return [*classifier_flags(ws), "--long_text=windows", "--window_aggregation=median"]


@case("classifier-max-seq-too-long", "run_classifier", "max_seq_length=512", "64")
def _(ws):
    return [*classifier_flags(ws), "--max_seq_length=512"]


@case("classifier-unknown-label", "run_classifier", "train.tsv", "line 4", "not-a-category")
def _(ws):
    path = ws / "livedoor" / "train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = "なにかの記事\tnot-a-category"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return classifier_flags(ws)


@case("classifier-missing-label", "run_classifier", "train.tsv", "line 3")
def _(ws):
    path = ws / "livedoor" / "train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].split("\t")[0]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return classifier_flags(ws)


@case("classifier-missing-file", "run_classifier", "train.tsv")
def _(ws):
    (ws / "livedoor" / "train.tsv").unlink()
    return classifier_flags(ws)


@case("classifier-non-utf8", "run_classifier", "train.tsv", "line 2", "UTF-8")
def _(ws):
    path = ws / "livedoor" / "train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    data = "\n".join(lines).encode("utf-8").split(b"\n")
    data[1] = lines[1].encode("shift_jis", errors="replace")
    path.write_bytes(b"\n".join(data) + b"\n")
    return classifier_flags(ws)


@case("classifier-empty-file", "run_classifier", "train.tsv", "empty")
def _(ws):
    (ws / "livedoor" / "train.tsv").write_bytes(b"")
    return classifier_flags(ws)


@case("classifier-ragged-row", "run_classifier", "train.tsv", "line 5")
def _(ws):
    path = ws / "livedoor" / "train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4] + "\textra\tcolumns"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return classifier_flags(ws)


@case("classifier-enormous-field", "run_classifier", "train.tsv", "line 3", "16,777,216")
def _(ws):
    path = ws / "livedoor" / "train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = "長" * (17 * 1024 * 1024) + "\tsports-watch"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return classifier_flags(ws)


@case("classifier-missing-checkpoint", "run_classifier", "model.ckpt-99")
def _(ws):
    return [*classifier_flags(ws), f"--init_checkpoint={ws / 'ckpt' / 'model.ckpt-99'}"]


@case("classifier-missing-vocab", "run_classifier", "vocab-missing.txt")
def _(ws):
    return [*classifier_flags(ws), f"--vocab_file={ws / 'vocab-missing.txt'}"]


@case("classifier-config-mismatch", "run_classifier", "bert_config.json", "hidden_size")
def _(ws):
    edit_json(ws / "ckpt" / "bert_config.json", hidden_size=32, intermediate_size=64)
    return classifier_flags(ws)


@case("classifier-output-is-a-file", "run_classifier", "--output_dir", "out")
def _(ws):
    (ws / "out").write_text("my notes")
    return classifier_flags(ws)


@case("classifier-no-action", "run_classifier", "at least one of")
def _(ws):
    return [*classifier_flags(ws), "--nodo_train"]


# --- outputs, limits and empty inputs: the same rule in every command --------------------


@case("classifier-output-not-ours", "run_classifier", "out/eval_results.txt", "--overwrite")
def _(ws):
    (ws / "out").mkdir()
    (ws / "out" / "eval_results.txt").write_text("eval_accuracy = 0.93\n")  # an earlier run's
    return classifier_flags(ws, "--do_eval")


@case("classifier-model-not-ours", "run_classifier", "out/model", "--overwrite")
def _(ws):
    shutil.copytree(ws / "classifier", ws / "out" / "model")
    return classifier_flags(ws)


@case("classifier-test-header-only", "run_classifier", "test.tsv", "header")
def _(ws):
    (ws / "livedoor" / "test.tsv").write_text("text\n", encoding="utf-8")
    return classifier_flags(ws, "--do_predict")


# --- more mistakes a user makes ------------------------------------------------------------


@case("classifier-data-dir-is-a-file", "run_classifier", "--data_dir", "input.txt")
def _(ws):
    return classifier_flags(ws, data="input.txt")


@case("classifier-checkpoint-is-data-dir", "run_classifier", "--init_checkpoint", "livedoor")
def _(ws):
    return [*classifier_flags(ws), f"--init_checkpoint={ws / 'livedoor'}"]


@case("classifier-max-seq-not-a-number", "run_classifier", "--max_seq_length=long", "integer")
def _(ws):
    return [*classifier_flags(ws), "--max_seq_length=long"]


@case("classifier-zero-batch", "run_classifier", "--train_batch_size=0", "at least 1")
def _(ws):
    return [*classifier_flags(ws), "--train_batch_size=0"]


@case("classifier-warmup-above-one", "run_classifier", "--warmup_proportion=1.5", "between 0")
def _(ws):
    return [*classifier_flags(ws), "--warmup_proportion=1.5"]


@case("classifier-attention-without-predict", "run_classifier", "--attention_examples")
def _(ws):
    return [*classifier_flags(ws), "--attention_examples=2"]


@case("classifier-eval-nothing-fine-tuned", "run_classifier", "--do_train=true")
def _(ws):
    return [*classifier_flags(ws), "--nodo_train", "--do_eval"]


@case("classifier-dev-unknown-label", "run_classifier", "dev.tsv", "line 2", "no-such-topic")
def _(ws):
    path = ws / "livedoor" / "dev.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = "なにかの記事\tno-such-topic"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return classifier_flags(ws, "--do_eval")


@case("classifier-vocab-is-a-directory", "run_classifier", "ckpt")
def _(ws):
    return [*classifier_flags(ws), f"--vocab_file={ws / 'ckpt'}"]


@case("classifier-bad-strategy", "run_classifier", "--strategy", "quantum")
def _(ws):
    return [*classifier_flags(ws), "--strategy=quantum"]


@case("classifier-bad-seed", "run_classifier", "--seed", "abc")
def _(ws):
    return [*classifier_flags(ws), "--seed=abc"]


@case("classifier-unknown-tokenizer", "run_classifier", "--tokenizer", "bpe")
def _(ws):
    return [*classifier_flags(ws), "--tokenizer=bpe"]


@case("classifier-test-binary", "run_classifier", "test.tsv")
def _(ws):
    (ws / "livedoor" / "test.tsv").write_bytes(bytes(range(256)) * 4)
    return classifier_flags(ws, "--do_predict")


@case("classifier-epochs-infinite", "run_classifier", "--num_train_epochs=inf", "finite")
def _(ws):
    return [*classifier_flags(ws), "--num_train_epochs=inf"]


test_bad_input_gets_one_clear_message = sweep_test(CASES)


@pytest.mark.parametrize("name", ["classifier-non-utf8"])
def test_as_a_process_the_message_is_all_there_is(name, tmp_path_factory, tmp_path):
    """Run as users do (a fresh process): stderr holds the one message, no traceback."""
    bad = next(c for c in CASES if c.name == name)
    check_as_a_process(bad, new_workspace(tmp_path_factory, tmp_path))


def test_long_articles_are_read_whole(tmp_path):
    from jbert_tf2.data import read_table

    text = "長い記事。" * 60_000  # 300,000 characters, over csv's default field limit
    tf_.write_tsv(tmp_path / "train.tsv", ["text", "label"], [[text, "a"], ["短い", "b"]])
    examples = read_table(tmp_path / "train.tsv")
    assert [e.text for e in examples] == [text, "短い"]
