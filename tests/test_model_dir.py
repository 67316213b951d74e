"""The model directory's files: each writer's output is what its reader (and the documented
format) expects, ``task.json`` is written the same way by ``save_pretrained`` and the SavedModel
export, the encoder class follows ``model_type``, and a bad ``tokenizer.json`` is named with its
key."""

import json

import numpy as np
import pytest
import task_fixtures as tf_
from safetensors import safe_open
from safetensors.numpy import save_file

import jbert_tf2
from jbert_tf2.config import BertConfig
from jbert_tf2.errors import CheckpointError, JbertError
from jbert_tf2.model_dir import (
    ModelDirectory,
    TaskSettings,
    TokenizerAssets,
    encoder_class,
    is_model_dir,
    load_tokenizer,
    read_model_dir,
    read_task_settings,
    read_tokenizer_settings,
    save_model_dir,
    write_task_settings,
    write_tokenizer_files,
)
from jbert_tf2.model_dir.config_file import (
    read_config_file,
    read_generator_config,
    write_config_file,
    write_generator_config,
)
from jbert_tf2.model_dir.weights_file import read_weights, write_weights
from jbert_tf2.tokenization.settings import TokenizerSettings

TINY = dict(
    vocab_size=len(tf_.vocabulary()),
    hidden_size=32,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=64,
)
# The example of docs/model_directory.md, as a user would find it on disk.
DOCUMENTED_TOKENIZER = {
    "do_lower_case": False,
    "mecab_dic": "unidic_lite",
    "tokenizer": "mecab-wordpiece",
    "vocab_file": "vocab.txt",
}


def _vocab(directory, name="vocab.txt"):
    path = directory / name
    path.write_text("".join(t + "\n" for t in tf_.vocabulary()), encoding="utf-8")
    return path


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


# config.json, generator_config.json ---------------------------------------------------------


def test_config_json_round_trips_with_components_and_generator(tmp_path):
    config = BertConfig(**TINY, model_type="electra", embedding_size=16, hidden_act="gelu")
    generator = config.replace(hidden_size=16, intermediate_size=32, num_attention_heads=1)
    write_config_file(tmp_path, config, ["encoder", "discriminator", "generator"], True)
    write_generator_config(tmp_path, generator)

    raw = _json(tmp_path / "config.json")
    assert raw["format"] == "jbert_tf2" and raw["model_type"] == "electra"
    assert raw["components"] == ["encoder", "discriminator", "generator"]
    assert raw["generator_untied"] is True and raw["embedding_size"] == 16
    assert "source" not in raw
    assert _json(tmp_path / "generator_config.json")["hidden_size"] == 16

    assert read_config_file(tmp_path) == (
        config,
        ["encoder", "discriminator", "generator"],
        True,
    )
    assert read_generator_config(tmp_path) == generator


def test_config_json_without_generator(tmp_path):
    config = BertConfig(**TINY)
    write_config_file(tmp_path, config, ["encoder"])
    assert "generator_untied" not in _json(tmp_path / "config.json")
    assert read_config_file(tmp_path) == (config, ["encoder"], False)
    assert read_generator_config(tmp_path) is None


# model.safetensors --------------------------------------------------------------------------


def test_weights_file_is_plain_safetensors_both_ways(tmp_path):
    weights = {
        "bert/pooler/dense/kernel": np.arange(6, dtype=np.float32).reshape(2, 3),
        "cls/seq_relationship/output_bias": np.array([0.5, -1.5], np.float32),
    }
    write_weights(tmp_path, weights)
    with safe_open(str(tmp_path / "model.safetensors"), "np") as f:  # the library's reader
        assert f.metadata() == {"format": "jbert_tf2"}
        for name, value in weights.items():
            np.testing.assert_array_equal(f.get_tensor(name), value)

    other = tmp_path / "other"
    other.mkdir()
    save_file(weights, str(other / "model.safetensors"))  # the library's writer
    read = read_weights(other)
    assert sorted(read) == sorted(weights)
    for name, value in weights.items():
        np.testing.assert_array_equal(np.asarray(read[name]), value)


def test_a_truncated_weights_file_is_named(tmp_path):
    write_weights(tmp_path, {"a": np.ones((64, 64), np.float32)})
    path = tmp_path / "model.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: cannot be read"):
        read_weights(tmp_path)


# tokenizer.json -----------------------------------------------------------------------------


def test_tokenizer_json_reads_and_writes_the_documented_form(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    vocab = _vocab(source)
    (source / "tokenizer.json").write_text(json.dumps(DOCUMENTED_TOKENIZER), encoding="utf-8")

    settings = read_tokenizer_settings(source)
    assert (settings.tokenizer, settings.do_lower_case) == ("mecab-wordpiece", False)
    assert (settings.mecab_dic, settings.vocab_file, settings.spm_model_file) == (
        "unidic_lite",
        "vocab.txt",
        None,
    )
    assert settings.file_paths(source) == {"vocab_file": vocab}

    out = tmp_path / "out"
    out.mkdir()
    write_tokenizer_files(out, TokenizerAssets.read(settings, settings.file_paths(source)))
    assert _json(out / "tokenizer.json") == DOCUMENTED_TOKENIZER
    assert (out / "vocab.txt").read_bytes() == vocab.read_bytes()
    assert read_tokenizer_settings(out) == settings


def test_tokenizer_json_keeps_keys_it_does_not_use(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    vocab = _vocab(source)
    mine = {**DOCUMENTED_TOKENIZER, "note": "from cl-tohoku v2", "trained": {"steps": 1000000}}
    (source / "tokenizer.json").write_text(json.dumps(mine), encoding="utf-8")
    settings = read_tokenizer_settings(source)
    assert settings.extra == {"note": "from cl-tohoku v2", "trained": {"steps": 1000000}}
    out = tmp_path / "out"
    out.mkdir()
    write_tokenizer_files(out, TokenizerAssets.read(settings, {"vocab_file": vocab}))
    assert _json(out / "tokenizer.json") == mine


def test_tokenizer_assets_name_the_files_they_carry(tmp_path):
    model = tmp_path / "wiki-ja.model"
    model.write_bytes(b"\x00spm model bytes")
    settings = TokenizerSettings("sentencepiece", True, vocab_file="stale.vocab")
    assets = TokenizerAssets.read(settings, {"spm_model_file": model})
    (tmp_path / "out").mkdir()
    write_tokenizer_files(tmp_path / "out", assets)
    written = _json(tmp_path / "out" / "tokenizer.json")
    assert written == {
        "do_lower_case": True,
        "spm_model_file": "wiki-ja.model",
        "tokenizer": "sentencepiece",
    }
    assert (tmp_path / "out" / "wiki-ja.model").read_bytes() == b"\x00spm model bytes"


def test_no_tokenizer_json(tmp_path):
    assert read_tokenizer_settings(tmp_path) is None
    with pytest.raises(JbertError, match=r"tokenizer\.json: not found; convert the checkpoint"):
        load_tokenizer(tmp_path)


@pytest.mark.parametrize(
    "content, key, message",
    [
        ("{not json", None, "not valid JSON"),
        ('["wordpiece"]', None, "expected a JSON object of tokenizer settings"),
        (
            {"tokenizer": "bpe", "vocab_file": "vocab.txt"},
            "tokenizer",
            "tokenizer 'bpe' is not one of wordpiece, mecab-wordpiece, mecab-character, "
            "character, sentencepiece",
        ),
        (
            {"tokenizer": "wordpiece", "vocab_file": "../secret.txt"},
            "vocab_file",
            "vocab_file '../secret.txt' is not a file name in the model directory",
        ),
        (
            {"tokenizer": "sentencepiece", "spm_model_file": "/etc/passwd"},
            "spm_model_file",
            "spm_model_file '/etc/passwd' is not a file name in the model directory",
        ),
        (
            {"tokenizer": "mecab-wordpiece", "vocab_file": "vocab.txt", "mecab_dic": "os"},
            "mecab_dic",
            "mecab_dic 'os' is not one of unidic_lite, ipadic",
        ),
        (
            {"tokenizer": "wordpiece", "vocab_file": "vocab.txt", "do_lower_case": "false"},
            "do_lower_case",
            "do_lower_case 'false' is not true or false",
        ),
        (
            {"tokenizer": "wordpiece", "vocab_file": "v.txt"},
            "vocab_file",
            "names vocab_file 'v.txt', which is missing from",
        ),
        (
            {"tokenizer": "sentencepiece", "vocab_file": "vocab.txt"},
            "spm_model_file",
            "sentencepiece needs spm_model_file",
        ),
        ({"tokenizer": "character"}, "vocab_file", "character needs vocab_file"),
    ],
)
def test_a_bad_tokenizer_json_is_named_with_its_key(tmp_path, content, key, message):
    _vocab(tmp_path)
    text = content if isinstance(content, str) else json.dumps(content)
    (tmp_path / "tokenizer.json").write_text(text, encoding="utf-8")
    with pytest.raises(JbertError) as error:
        jbert_tf2.load_tokenizer(tmp_path)
    shown = str(error.value)
    assert shown.startswith(f"{tmp_path / 'tokenizer.json'}: ") and message in shown
    assert key is None or key in shown


# task.json ----------------------------------------------------------------------------------


def test_task_json_round_trips(tmp_path):
    settings = TaskSettings(
        "token_classification", ["O", "B-人名", "I-人名"], {"scheme": "BIO", "max_seq_length": 64}
    )
    write_task_settings(tmp_path, settings)
    text = (tmp_path / "task.json").read_text(encoding="utf-8")
    assert "人名" in text  # readable, not \\u escapes
    assert json.loads(text) == {
        "task": "token_classification",
        "labels": ["O", "B-人名", "I-人名"],
        "options": {"scheme": "BIO", "max_seq_length": 64},
    }
    assert read_task_settings(tmp_path) == settings
    assert read_task_settings(tmp_path / "nothing-here") is None


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('{"labels": ["a"]}', "expected an object with 'task'"),
        ('{"task": "sequence_classification", "labels": "ab"}', "'labels' is not a list"),
        ('{"task": "embedding", "options": [1]}', "'options' is not an object"),
    ],
)
def test_a_bad_task_json_is_named(tmp_path, content, message):
    (tmp_path / "task.json").write_text(content, encoding="utf-8")
    with pytest.raises(JbertError, match=f"task.json: {message}"):
        read_task_settings(tmp_path)


# The directory as a whole -------------------------------------------------------------------


def test_model_directory_round_trips_every_file(tmp_path):
    config = BertConfig(**TINY)
    source = tmp_path / "source"
    source.mkdir()
    vocab = _vocab(source, "my-vocab.txt")
    weights = tf_.random_weights({**TINY, "hidden_act": "gelu"}, seed=3)
    md = ModelDirectory(
        config=config,
        weights=weights,
        components=["encoder", "task"],
        tokenizer=TokenizerSettings("wordpiece", True),
        tokenizer_files={"vocab_file": vocab},
        task=TaskSettings("embedding", None, {"pooling": "mean"}),
    )
    out = tmp_path / "out"
    out.mkdir()
    save_model_dir(md, out)
    assert is_model_dir(out) and not is_model_dir(source)

    again = read_model_dir(out, with_task=True)
    assert (again.config, again.components) == (config, ["encoder", "task"])
    assert sorted(again.weights) == sorted(weights)
    name = "bert/encoder/layer_0/output/dense/kernel"
    np.testing.assert_array_equal(np.asarray(again.weights[name]), weights[name])
    assert again.tokenizer == TokenizerSettings("wordpiece", True, vocab_file="my-vocab.txt")
    assert again.tokenizer_files == {"vocab_file": out / "my-vocab.txt"}
    assert again.task == md.task

    bare = read_model_dir(out, with_tokenizer=False)
    assert (bare.tokenizer, bare.tokenizer_files, bare.task) == (None, {}, None)


def test_encoder_class_follows_model_type():
    from jbert_tf2.models import BertModel, ElectraModel

    assert encoder_class(BertConfig(**TINY)) is BertModel
    assert encoder_class(BertConfig(**TINY, model_type="electra")) is ElectraModel


@pytest.mark.slow
def test_task_json_and_tokenizer_are_written_alike_by_save_pretrained_and_export(tmp_path):
    from jbert_tf2.export.saved_model import _write_assets
    from jbert_tf2.tasks import SequenceClassifier, load_task

    model_dir = tf_.make_model_dir(tmp_path, hidden=32, layers=1, tokenizer="wordpiece")
    clf = SequenceClassifier.from_pretrained(
        model_dir, labels=["スポーツ", "it"], max_seq_length=48
    )
    saved = clf.save_pretrained(tmp_path / "clf")
    assets = tmp_path / "export-assets"
    _write_assets(clf, assets)

    for name in ("task.json", "tokenizer.json", "vocab.txt"):
        assert (assets / name).read_bytes() == (saved / name).read_bytes(), name
    task = _json(saved / "task.json")
    assert task["task"] == "sequence_classification" and task["labels"] == ["スポーツ", "it"]
    assert task["options"]["max_seq_length"] == 48
    assert _json(saved / "tokenizer.json")["vocab_file"] == "vocab.txt"

    again = load_task(saved)
    assert isinstance(again, SequenceClassifier) and again.labels == ["スポーツ", "it"]
    assert again.max_seq_length == 48
    assert again.tokenizer.tokenize("it") == clf.tokenizer.tokenize("it")


def test_a_reader_puts_back_a_directory_a_killed_writer_had_moved_aside(tmp_path):
    """A save_pretrained(overwrite=True) killed between its two renames leaves the user's
    directory aside as .NAME.old-HOST-PID-...: loading the directory brings it back."""
    import os
    import socket
    import subprocess
    import sys

    source = tf_.make_model_dir(tmp_path)
    for _ in range(10):  # a pid that has exited and no process has taken since: the writer
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        try:
            os.kill(proc.pid, 0)
        except ProcessLookupError:
            break
    else:
        pytest.skip("no free process id found")
    aside = source.with_name(f".{source.name}.old-{socket.gethostname()}-{proc.pid}-0123abcd")
    os.replace(source, aside)
    assert jbert_tf2.load(source).config.hidden_size > 0
    assert source.is_dir() and not aside.exists()
