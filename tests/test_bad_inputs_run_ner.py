"""The bad-input sweep for jbert-run-ner: malformed BIO and JSONL files, unknown tags and
types, no data, bad scheme.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from bad_input_helpers import case_table, ner_flags, sweep_test

pytestmark = pytest.mark.slow

CASES, case = case_table()


@case("ner-malformed-bio", "run_ner", "train.bio", "line")
def _(ws):
    path = ws / "ner" / "train.bio"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = "単語だけでタグがない行\tB-PSN\textra\tcolumns"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ner_flags(ws)


@case("ner-invalid-tag", "run_ner", "train.bio", "X-PSN")
def _(ws):
    path = ws / "ner" / "train.bio"
    text = path.read_text(encoding="utf-8").replace("B-PSN", "X-PSN", 1)
    path.write_text(text, encoding="utf-8")
    return ner_flags(ws)


@case("ner-unknown-dev-type", "run_ner", "dev.bio", "EVENT", "LOC, ORG, PSN")
def _(ws):
    path = ws / "ner" / "dev.bio"
    lines = path.read_text(encoding="utf-8").splitlines()
    i = next(i for i, line in enumerate(lines) if line.endswith("\tO"))
    lines[i] = lines[i][:-1] + "B-EVENT"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [*ner_flags(ws), "--do_eval", "--train_batch_size=4", "--num_train_epochs=1"]


@case("ner-jsonl-malformed", "run_ner", "train.jsonl", "line 2")
def _(ws):
    for bio in (ws / "ner").glob("*.bio"):
        bio.unlink()
    good = {"text": "東京へ行った。", "entities": [{"start": 0, "end": 2, "label": "LOC"}]}
    rows = [json.dumps(good, ensure_ascii=False), '{"text": "壊れた']
    (ws / "ner" / "train.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ner_flags(ws)


@case("ner-jsonl-span-outside-text", "run_ner", "train.jsonl", "line 1", "40")
def _(ws):
    for bio in (ws / "ner").glob("*.bio"):
        bio.unlink()
    row = {"text": "東京へ行った。", "entities": [{"start": 0, "end": 40, "label": "LOC"}]}
    (ws / "ner" / "train.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return ner_flags(ws)


@case("ner-no-data", "run_ner", "ner_empty")
def _(ws):
    (ws / "ner_empty").mkdir()
    return [*ner_flags(ws), f"--data_dir={ws / 'ner_empty'}"]


@case("ner-bad-scheme", "run_ner", "--tagging_scheme")
def _(ws):
    return [*ner_flags(ws), "--tagging_scheme=BIOLU"]


# --- outputs, limits and empty inputs: the same rule in every command --------------------


@case("ner-output-not-ours", "run_ner", "ner_out/test_predictions.jsonl", "--overwrite")
def _(ws):
    (ws / "ner_out").mkdir()
    (ws / "ner_out" / "test_predictions.jsonl").write_text('{"text": "mine"}\n')
    return [*ner_flags(ws), "--do_predict"]


@case("ner-max-seq-too-long", "run_ner", "--max_seq_length=128", "64")
def _(ws):
    return [*ner_flags(ws), "--max_seq_length=128"]


@case("ner-empty-train", "run_ner", "train.bio", "no sentences")
def _(ws):
    (ws / "ner" / "train.bio").write_bytes(b"")
    return ner_flags(ws)


# --- more mistakes a user makes ------------------------------------------------------------


@case("ner-blank-test", "run_ner", "test.bio", "no sentences")
def _(ws):
    (ws / "ner" / "test.bio").write_text("\n\n\n")
    return [*ner_flags(ws), "--do_predict"]


@case("ner-several-train-files", "run_ner", "train.bio", "train.conll", "--train_file")
def _(ws):
    shutil.copy(ws / "ner" / "train.bio", ws / "ner" / "train.conll")
    return ner_flags(ws)


@case("ner-train-file-missing", "run_ner", "--train_file", "nope.bio")
def _(ws):
    return [*ner_flags(ws), f"--train_file={ws / 'nope.bio'}"]


@case("ner-train-file-is-a-directory", "run_ner", "--train_file", "ner")
def _(ws):
    return [*ner_flags(ws), f"--train_file={ws / 'ner'}"]


@case("ner-non-utf8", "run_ner", "train.bio", "UTF-8")
def _(ws):
    path = ws / "ner" / "train.bio"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp932", errors="replace"))
    return ner_flags(ws)


@case("ner-only-o-tags", "run_ner", "train.bio", "no entities")
def _(ws):
    path = ws / "ner" / "train.bio"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [re.sub(r"\t[BI]-\w+$", "\tO", line) for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ner_flags(ws)


@case("ner-output-is-a-file", "run_ner", "--output_dir", "ner_out")
def _(ws):
    (ws / "ner_out").write_text("my notes")
    return ner_flags(ws)


@case("ner-no-action", "run_ner", "at least one of")
def _(ws):
    return [*ner_flags(ws), "--nodo_train"]


@case("ner-negative-epochs", "run_ner", "--num_train_epochs=-1")
def _(ws):
    return [*ner_flags(ws), "--num_train_epochs=-1"]


@case("ner-eval-nothing-fine-tuned", "run_ner", "--do_train=true")
def _(ws):
    return [*ner_flags(ws), "--nodo_train", "--do_eval"]


@case("ner-missing-checkpoint", "run_ner", "model.ckpt-99")
def _(ws):
    return [*ner_flags(ws), f"--init_checkpoint={ws / 'ckpt' / 'model.ckpt-99'}"]


@case("ner-train-without-tags", "run_ner", "train.bio", "line 2", "add the tag")
def _(ws):
    path = ws / "ner" / "train.bio"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [line if line.startswith("#") else line.split("\t")[0] for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ner_flags(ws)


test_bad_input_gets_one_clear_message = sweep_test(CASES)
