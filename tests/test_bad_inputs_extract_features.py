"""The bad-input sweep for jbert-extract-features: missing, binary or non-UTF-8 input, bad
--layers, bad output.

Each case breaks a copy of the valid workspace and must get one message naming the file / line /
variable and the fix, exit status 2, no traceback, and no user file changed (bad_input_helpers.py;
the cases are listed in docs/errors.md).
"""

from __future__ import annotations

import pytest
from bad_input_helpers import (
    case_table,
    check_as_a_process,
    data_file,
    extract_flags,
    new_workspace,
    sweep_test,
)

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


@case("extract-bad-doc-stride", "extract_features", "--doc_stride=0", "at least 1")
def _(ws):
    return extract_flags(ws, "--long_text=windows", "--doc_stride=0")


@case("extract-output-dir-missing", "extract_features", "--output_file", "does not exist")
def _(ws):
    return [*extract_flags(ws), f"--output_file={ws / 'nowhere' / 'f.jsonl'}"]


@case("extract-output-is-user-dir", "extract_features", "features.jsonl")
def _(ws):
    (ws / "features.jsonl").mkdir()
    (ws / "features.jsonl" / "mine.txt").write_text("keep me")
    return extract_flags(ws)


# --- outputs, limits and empty inputs: the same rule in every command --------------------


@case("extract-output-not-ours", "extract_features", "features.jsonl", "--overwrite")
def _(ws):
    (ws / "features.jsonl").write_text("my earlier features\n")
    return extract_flags(ws)


@case("extract-max-seq-too-long", "extract_features", "--max_seq_length=1000", "64")
def _(ws):
    return [*extract_flags(ws), "--max_seq_length=1000"]


@case("extract-empty-input", "extract_features", "input.txt", "empty")
def _(ws):
    (ws / "input.txt").write_bytes(b"")
    return extract_flags(ws)


# --- more mistakes a user makes ------------------------------------------------------------


@case("extract-blank-input", "extract_features", "input.txt", "empty")
def _(ws):
    (ws / "input.txt").write_text("\n   \n\n")
    return extract_flags(ws)


@case("extract-input-is-a-directory", "extract_features", "--input_file", "directory")
def _(ws):
    return extract_flags(ws, input_file=ws / "livedoor")


@case("extract-output-is-the-input", "extract_features", "--output_file", "input file")
def _(ws):
    return [*extract_flags(ws), f"--output_file={ws / 'input.txt'}"]


@case("extract-npy-output-is-a-file", "extract_features", "--output_file", "directory")
def _(ws):
    return [*extract_flags(ws), "--format=npy", f"--output_file={ws / 'sentences.txt'}"]


@case("extract-npy-output-not-ours", "extract_features", "features", "--overwrite")
def _(ws):
    (ws / "features").mkdir()
    (ws / "features" / "mine.txt").write_text("keep me")
    return [*extract_flags(ws), "--format=npy", f"--output_file={ws / 'features'}"]


@case("extract-bad-format", "extract_features", "--format", "csv")
def _(ws):
    return [*extract_flags(ws), "--format=csv"]


@case("extract-bad-pooling", "extract_features", "--pooling", "sum")
def _(ws):
    return [*extract_flags(ws), "--pooling=sum"]


@case("extract-layers-not-numbers", "extract_features", "--layers=a,b", "integers")
def _(ws):
    return [*extract_flags(ws), "--layers=a,b"]


@case("extract-no-checkpoint", "extract_features", "--init_checkpoint")
def _(ws):
    return [a for a in extract_flags(ws) if not a.startswith("--init_checkpoint")]


@case("extract-config-malformed", "extract_features", "bert_config.json", "JSON")
def _(ws):
    (ws / "ckpt" / "bert_config.json").write_text('{"hidden_size": 64,,}')
    return extract_flags(ws)


@case("extract-empty-vocab", "extract_features", "vocab.txt", "empty")
def _(ws):
    (ws / "ckpt" / "vocab.txt").write_bytes(b"")
    return extract_flags(ws)


@case("extract-zero-batch", "extract_features", "--batch_size=0", "at least 1")
def _(ws):
    return [*extract_flags(ws), "--batch_size=0"]


@case("extract-model-dir-max-seq", "extract_features", "--max_seq_length=65", "64")
def _(ws):
    flags = [a for a in extract_flags(ws) if not a.startswith(("--vocab", "--bert", "--tok"))]
    return [*flags, f"--init_checkpoint={ws / 'model'}", "--max_seq_length=65"]


test_bad_input_gets_one_clear_message = sweep_test(CASES)


@pytest.mark.parametrize("name", ["extract-output-not-ours", "extract-max-seq-too-long"])
def test_as_a_process_the_message_is_all_there_is(name, tmp_path_factory, tmp_path):
    """Run as users do (a fresh process): stderr holds the one message, no traceback."""
    bad = next(c for c in CASES if c.name == name)
    check_as_a_process(bad, new_workspace(tmp_path_factory, tmp_path))
