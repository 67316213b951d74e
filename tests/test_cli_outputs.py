"""The commands' one rule for outputs (jbert_tf2/cli/outputs.py), and the warning for a
vocabulary shorter than the model's embedding table (jbert_tf2/model_dir/vocabulary_check.py).

An output already there is replaced only when the same command wrote it (recorded in
``.jbert-outputs.json``) or with ``--overwrite``: rerunning a killed or finished run in the same
``--output_dir`` goes on by itself, while what another run or the user left is refused.
"""

from __future__ import annotations

import json
import shutil
import warnings

import pytest
import task_fixtures as tf_

from jbert_tf2.cli.outputs import MARKER, Outputs
from jbert_tf2.errors import JbertError

# --- the rule, on its own -------------------------------------------------------------------


def test_only_what_this_command_wrote_is_replaced_without_overwrite(tmp_path):
    mine = Outputs(tmp_path, ("eval_results.txt", "checkpoints"), "jbert-x", "--output_dir")
    (tmp_path / "eval_results.txt").write_text("another run's\n")
    with pytest.raises(JbertError) as error:
        mine.check(overwrite=False)
    assert str(tmp_path / "eval_results.txt") in str(error.value)
    assert "--overwrite" in str(error.value) and "--output_dir" in str(error.value)
    mine.check(overwrite=True)

    mine.record("eval_results.txt")  # now it is ours: no flag needed
    mine.check(overwrite=False)
    recorded = json.loads((tmp_path / MARKER).read_text())["files"]
    assert recorded == {"eval_results.txt": "jbert-x"}
    other = Outputs(tmp_path, ("eval_results.txt",), "jbert-y", "--output_dir")
    with pytest.raises(JbertError, match="not written by jbert-y"):
        other.check(overwrite=False)  # another command's result is not this one's


def test_claim_removes_only_foreign_training_state_and_only_with_overwrite(tmp_path):
    planned = Outputs(
        tmp_path, ("checkpoints", "model"), "jbert-x", "--output_dir", fresh=("checkpoints",)
    )
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "ckpt-1").write_text("someone else's")
    (tmp_path / "model").mkdir()
    with pytest.raises(JbertError):
        planned.claim(overwrite=False)
    assert (tmp_path / "checkpoints" / "ckpt-1").exists()
    planned.claim(overwrite=True)
    assert not (tmp_path / "checkpoints").exists()  # a fresh start, not someone else's run
    assert (tmp_path / "model").is_dir()  # results are replaced when written, not before
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "ckpt-2").write_text("ours")
    planned.claim(overwrite=True)  # ours now: kept, so the run continues from it
    assert (tmp_path / "checkpoints" / "ckpt-2").exists()


def test_the_record_is_rewritten_only_when_it_changes(tmp_path):
    planned = Outputs(tmp_path, ("a.txt",), "jbert-x", "--output_file")
    planned.record("a.txt")
    before = (tmp_path / MARKER).stat().st_mtime_ns
    planned.record("a.txt")
    assert (tmp_path / MARKER).stat().st_mtime_ns == before


def test_a_record_that_is_not_ours_is_an_error_naming_it(tmp_path):
    (tmp_path / MARKER).write_text("my notes")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(JbertError, match=MARKER):
        Outputs(tmp_path, ("a.txt",), "jbert-x", "--output_file").check(overwrite=False)


# --- commands: resuming our own run, refusing another's -------------------------------------


def _classifier_flags(root, data, out, *extra):
    ckpt = root / "ckpt"
    return [
        "--task_name=livedoor",
        f"--data_dir={data}",
        f"--output_dir={out}",
        f"--init_checkpoint={ckpt / 'model.ckpt-10'}",
        f"--vocab_file={ckpt / 'vocab.txt'}",
        f"--bert_config_file={ckpt / 'bert_config.json'}",
        "--tokenizer=mecab-character",
        "--nodo_lower_case",
        "--max_seq_length=32",
        "--train_batch_size=8",
        "--num_train_epochs=1",
        "--save_checkpoints_steps=2",
        *extra,
    ]


@pytest.mark.slow
def test_classifier_resumes_its_own_run_and_refuses_another_runs_results(
    tiny_model_root, tmp_path, capsys
):
    from jbert_tf2.cli.run_classifier import main

    data = tf_.write_topic_splits(
        tmp_path / "livedoor", (("train", 24, 1), ("dev", 6, 2)), tf_.LIVEDOOR_NAMES
    )
    out = tmp_path / "out"
    flags = _classifier_flags(tiny_model_root, data, out, "--do_train", "--do_eval")
    assert main(flags) == 0, capsys.readouterr().err
    first = (out / "eval_results.txt").read_text()
    recorded = json.loads((out / MARKER).read_text())["files"]
    for name in ("init_model", "checkpoints", "model", "eval_results.txt"):
        assert recorded[name] == "jbert-run-classifier"
    # The same command again in the same directory: no --overwrite needed, training resumes
    # from the last checkpoint (nothing left to train) and the result is written again.
    assert main(flags) == 0, capsys.readouterr().err
    assert (out / "eval_results.txt").read_text() == first

    # An eval_results.txt an unrelated run left is refused, before anything is read or written.
    other = tmp_path / "other"
    other.mkdir()
    (other / "eval_results.txt").write_text("eval_accuracy = 0.93\n")
    evaluate = [*_classifier_flags(tiny_model_root, data, other, "--do_eval")]
    evaluate = [f for f in evaluate if not f.startswith("--init_checkpoint")]
    evaluate.append(f"--init_checkpoint={out / 'model'}")
    capsys.readouterr()
    assert main(evaluate) == 2
    err = capsys.readouterr().err
    assert f"{other / 'eval_results.txt'}: already there" in err and "--overwrite" in err
    assert sorted(p.name for p in other.iterdir()) == ["eval_results.txt"]
    assert (other / "eval_results.txt").read_text() == "eval_accuracy = 0.93\n"
    assert main([*evaluate, "--overwrite"]) == 0, capsys.readouterr().err
    replaced = (other / "eval_results.txt").read_text()
    assert "global_step = 0\n" in replaced and "eval_accuracy = 0.93" not in replaced


@pytest.mark.slow
def test_extract_features_writes_again_its_own_output_but_not_the_users(
    tiny_model_root, tmp_path, capsys
):
    from jbert_tf2.cli.extract_features import main

    source = tmp_path / "input.txt"
    source.write_text("今日は晴れ。\n", encoding="utf-8")
    out = tmp_path / "features.jsonl"
    flags = [
        f"--input_file={source}",
        f"--output_file={out}",
        f"--init_checkpoint={tiny_model_root / 'model'}",
        "--max_seq_length=16",
        "--layers=-1",
        "--noprogress",
    ]
    assert main(flags) == 0, capsys.readouterr().err
    written = out.read_bytes()
    assert main(flags) == 0, capsys.readouterr().err  # our own output: written again
    assert out.read_bytes() == written
    mine = tmp_path / "mine.jsonl"
    mine.write_text("my features\n")
    flags_mine = [f for f in flags if not f.startswith("--output_file")]
    flags_mine.append(f"--output_file={mine}")
    capsys.readouterr()
    assert main(flags_mine) == 2
    assert "mine.jsonl: already there" in capsys.readouterr().err
    assert mine.read_text() == "my features\n"
    assert main([*flags_mine, "--overwrite"]) == 0
    assert mine.read_bytes() == written


# --- a vocabulary shorter than the embedding table --------------------------------------------


@pytest.fixture
def short_vocab_model(tiny_model_root, tmp_path):
    """The tiny model directory with the last 5 vocabulary lines removed."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model_root / "model", model)
    lines = (model / "vocab.txt").read_text(encoding="utf-8").splitlines()
    (model / "vocab.txt").write_text("\n".join(lines[:-5]) + "\n", encoding="utf-8")
    size = json.loads((model / "config.json").read_text())["vocab_size"]
    return model, len(lines) - 5, size


def test_loading_a_tokenizer_shorter_than_the_model_warns_with_both_numbers(short_vocab_model):
    import jbert_tf2

    model, rows, size = short_vocab_model
    assert rows < size
    with pytest.warns(UserWarning) as caught:
        jbert_tf2.load_tokenizer(model)
    [message] = [str(w.message) for w in caught if "vocab_size" in str(w.message)]
    assert f"{rows} rows" in message and f"vocab_size={size}" in message
    assert f"ids {rows} to {size - 1}" in message and str(model / "vocab.txt") in message


def test_a_vocabulary_as_long_as_the_table_is_silent(tiny_model_root):
    import jbert_tf2

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jbert_tf2.load_tokenizer(tiny_model_root / "model")


@pytest.mark.slow
def test_commands_print_the_vocabulary_warning_as_their_own_line(
    short_vocab_model, tmp_path, capsys
):
    from jbert_tf2.cli.extract_features import main

    model, rows, size = short_vocab_model
    source = tmp_path / "input.txt"
    source.write_text("今日は晴れ。\n", encoding="utf-8")
    flags = [
        f"--input_file={source}",
        f"--output_file={tmp_path / 'f.jsonl'}",
        f"--init_checkpoint={model}",
        "--max_seq_length=16",
        "--noprogress",
        "--layers=-1",
    ]
    assert main(flags) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "vocab_size" in line]
    assert lines == [
        f"jbert-extract-features: warning: {model / 'vocab.txt'}: {rows} rows, but the "
        f"embedding table of {model / 'config.json'} has vocab_size={size}; ids {rows} to "
        f"{size - 1} can never be produced by this tokenizer (check that the vocabulary "
        "belongs to the model)"
    ]
