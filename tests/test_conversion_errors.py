"""Every bad input to `jbert-convert` gets one clear message, exit status 2, and no output."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tf1_fixtures as fx
import transformers

from jbert_tf2.cli.convert import main as convert_main

TINY = dict(
    vocab_size=40,
    hidden_size=8,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=12,
    max_position_embeddings=8,
)


@pytest.fixture(scope="module")
def bert_ckpt(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    hf = fx.hf_random_model(transformers.BertForPreTraining, **TINY)
    variables = fx.bert_variables(hf)
    prefix = fx.save_tf1_checkpoint(
        fx.with_optimizer_slots(variables), tmp / "ckpt" / "model.ckpt-10"
    )
    fx.google_bert_config(hf.config, tmp / "ckpt" / "bert_config.json")
    return hf, variables, prefix


def run_failing(capsys, *args):
    code = convert_main([str(a) for a in args])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "Traceback" not in captured.err
    assert captured.err.startswith("jbert-convert: error: ")
    return captured.err


def test_prefix_that_matches_nothing_lists_what_is_there(bert_ckpt, tmp_path, capsys):
    _, _, prefix = bert_ckpt
    err = run_failing(capsys, prefix.parent / "model.ckpt-99", "-o", tmp_path / "out")
    assert "model.ckpt-99" in err and "model.ckpt-10" in err  # names the typo and what exists
    assert not (tmp_path / "out").exists()


def test_directory_without_checkpoint_lists_contents(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    err = run_failing(capsys, tmp_path / "empty", "-o", tmp_path / "out")
    assert "no TF1 checkpoint" in err and "notes.txt" in err


def test_missing_data_file(bert_ckpt, tmp_path, capsys):
    _, _, prefix = bert_ckpt
    copy = tmp_path / "model.ckpt-10"
    (tmp_path / "model.ckpt-10.index").write_bytes(
        prefix.with_name("model.ckpt-10.index").read_bytes()
    )
    err = run_failing(capsys, copy, "-o", tmp_path / "out")
    assert ".data-" in err and "model.ckpt-10" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("part", ["index", "data-00000-of-00001"])
def test_truncated_checkpoint_file(bert_ckpt, tmp_path, capsys, part):
    _, _, prefix = bert_ckpt
    for source in prefix.parent.glob("model.ckpt-10.*"):
        data = source.read_bytes()
        if source.name.endswith(part):
            data = data[: len(data) // 3]
        (tmp_path / source.name).write_bytes(data)
    err = run_failing(capsys, tmp_path / "model.ckpt-10", "-o", tmp_path / "out")
    assert "truncated" in err or "corrupt" in err
    assert not (tmp_path / "out").exists()


def test_config_that_disagrees_names_field_variable_and_shapes(bert_ckpt, tmp_path, capsys):
    hf, _, prefix = bert_ckpt
    config = tmp_path / "bert_config.json"
    fx.google_bert_config(hf.config, config)
    data = json.loads(config.read_text())
    data["vocab_size"] = 32000
    config.write_text(json.dumps(data))
    err = run_failing(capsys, prefix, "-o", tmp_path / "out", "--config", config)
    assert "vocab_size" in err and "32000" in err and "40" in err
    assert "bert/embeddings/word_embeddings" in err and "[40, 8]" in err


def test_config_with_too_many_layers(bert_ckpt, tmp_path, capsys):
    hf, _, prefix = bert_ckpt
    config = fx.google_bert_config(hf.config, tmp_path / "bert_config.json")
    data = json.loads(config.read_text())
    data["num_hidden_layers"] = 12
    config.write_text(json.dumps(data))
    err = run_failing(capsys, prefix, "-o", tmp_path / "out", "--config", config)
    assert "num_hidden_layers" in err and "12" in err and "1 layers" in err


def test_bad_config_value_names_the_field(bert_ckpt, tmp_path, capsys):
    hf, _, prefix = bert_ckpt
    config = fx.google_bert_config(hf.config, tmp_path / "bert_config.json")
    data = json.loads(config.read_text())
    data["num_attention_heads"] = 3
    config.write_text(json.dumps(data))
    err = run_failing(capsys, prefix, "-o", tmp_path / "out", "--config", config)
    assert "num_attention_heads" in err and str(config) in err and "does not divide" in err


def test_malformed_config_json_names_line(bert_ckpt, tmp_path, capsys):
    _, _, prefix = bert_ckpt
    config = tmp_path / "bert_config.json"
    config.write_text('{\n  "vocab_size": 40,\n  "hidden_size": 8,,\n}')
    err = run_failing(capsys, prefix, "-o", tmp_path / "out", "--config", config)
    assert "line 3" in err and str(config) in err


def test_wrong_family(bert_ckpt, tmp_path, capsys):
    _, _, prefix = bert_ckpt
    err = run_failing(capsys, prefix, "-o", tmp_path / "out", "--family", "electra")
    assert "--family electra" in err and "BERT" in err


def test_not_a_bert_checkpoint(tmp_path, capsys):
    prefix = fx.save_tf1_checkpoint(
        {"encoder/block_0/weight": np.zeros((2, 2), np.float32)}, tmp_path / "t5" / "model.ckpt"
    )
    err = run_failing(capsys, prefix, "-o", tmp_path / "out")
    assert "neither bert/ nor electra/" in err and "encoder" in err


def test_fine_tuned_head_of_another_size_is_refused(bert_ckpt, tmp_path, capsys):
    """A head is converted (tests/test_conversion_task_heads.py) only when it fits the encoder."""
    hf, variables, _ = bert_ckpt
    extra = dict(variables)
    extra["output_weights"] = np.zeros((9, hf.config.hidden_size + 1), np.float32)
    extra["output_bias"] = np.zeros((9,), np.float32)
    prefix = fx.save_tf1_checkpoint(extra, tmp_path / "ft" / "model.ckpt-500")
    fx.google_bert_config(hf.config, tmp_path / "ft" / "bert_config.json")
    err = run_failing(capsys, prefix, "-o", tmp_path / "out")
    assert "output_weights [9, " in err and f"hidden_size {hf.config.hidden_size}" in err


def test_missing_variable_is_reported(bert_ckpt, tmp_path, capsys):
    hf, variables, _ = bert_ckpt
    partial = {k: v for k, v in variables.items() if k != "bert/pooler/dense/bias"}
    prefix = fx.save_tf1_checkpoint(partial, tmp_path / "p" / "model.ckpt-1")
    fx.google_bert_config(hf.config, tmp_path / "p" / "bert_config.json")
    err = run_failing(capsys, prefix, "-o", tmp_path / "out")
    assert "missing" in err and "bert/pooler/dense/bias" in err


def test_existing_output_is_never_overwritten(bert_ckpt, tmp_path, capsys):
    _, _, prefix = bert_ckpt
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("user data")
    err = run_failing(capsys, prefix, "-o", out)
    assert "--overwrite" in err
    assert (out / "mine.txt").read_text() == "user data"
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no partial directories left


def test_overwrite_replaces_output(bert_ckpt, tmp_path, capsys):
    _, _, prefix = bert_ckpt
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    assert convert_main([str(prefix), "-o", str(out), "--overwrite"]) == 0
    assert not (out / "old.txt").exists() and (out / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_conversion_leaves_previous_output_intact(bert_ckpt, tmp_path, capsys):
    hf, _, prefix = bert_ckpt
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("keep")
    config = fx.google_bert_config(hf.config, tmp_path / "bad.json")
    config.write_text(config.read_text().replace('"vocab_size": 40', '"vocab_size": 41'))
    run_failing(capsys, prefix, "-o", out, "--overwrite", "--config", config)
    assert (out / "keep.txt").read_text() == "keep"


def test_report_lists_mapped_and_skipped(bert_ckpt, tmp_path, capsys):
    _, variables, prefix = bert_ckpt
    assert convert_main([str(prefix), "-o", str(tmp_path / "out")]) == 0
    report = capsys.readouterr().out
    assert f"mapped: {len(variables)} variables" in report
    assert (
        f"skipped: {2 * len(variables) + 1} optimizer variables (adam_m, adam_v, global_step)"
        in report
    )


def test_pickled_hf_weights_are_refused(tmp_path, capsys):
    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    (hf_dir / "config.json").write_text(json.dumps({"model_type": "bert", "vocab_size": 10}))
    (hf_dir / "pytorch_model.bin").write_bytes(b"not read")
    err = run_failing(capsys, hf_dir, "-o", tmp_path / "out")
    assert "pytorch_model.bin" in err and "safetensors" in err


def test_brackets_in_checkpoint_path_are_fine(bert_ckpt, tmp_path, capsys):
    _, _, prefix = bert_ckpt
    odd = tmp_path / "run[1]"
    odd.mkdir()
    for source in prefix.parent.glob("model.ckpt-10.*"):
        (odd / source.name).write_bytes(source.read_bytes())
    # TensorFlow's reader globs the prefix and fails here; the direct reader does not.
    assert convert_main([str(odd / "model.ckpt-10"), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "model.safetensors").is_file()
