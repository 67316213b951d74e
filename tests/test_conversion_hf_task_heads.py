"""HF classification directories as input: ``BertForSequenceClassification`` (single- and
multi-label), ``BertForTokenClassification`` and ``ElectraForTokenClassification`` saved by
transformers convert into task model directories whose logits equal transformers' PyTorch
models on the same inputs; ``--to hf`` and back round-trips a task model (labels, options,
logits); ``ElectraForSequenceClassification`` (a head our classifier cannot compute) is refused.
Options that cannot apply to an HF or jbert directory are refused, each named with the reason.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tf1_fixtures as fx
import torch
import transformers
from conversion_fixtures import close, convert, refused

from jbert_tf2.tasks import MultiLabelClassifier, SequenceClassifier, TokenClassifier, load_task

pytestmark = pytest.mark.slow

SIZES = dict(
    vocab_size=40,
    hidden_size=32,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=37,
    max_position_embeddings=12,
)
TOPICS = ["sports", "it", "food"]
TAGS = ["O", "B-PSN", "I-PSN", "B-ORG"]
BATCH = fx.random_batch(40, 12, seed=4)
VALID = BATCH["input_mask"].astype(bool)


def saved(model, directory, **config):
    """``model`` saved by transformers itself (safetensors), with a vocabulary beside it."""
    for key, value in config.items():
        setattr(model.config, key, value)
    model.save_pretrained(directory, safe_serialization=True)
    fx.write_vocab(directory / "vocab.txt", SIZES["vocab_size"])
    return directory


def hf_logits(model, batch=BATCH) -> np.ndarray:
    with torch.no_grad():
        return model(**fx.torch_inputs(batch)).logits.numpy()


def ours(directory, batch=BATCH) -> np.ndarray:
    return np.asarray(load_task(directory)(batch, training=False))


def labelled(labels) -> dict:
    return {
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }


@pytest.mark.parametrize("problem", ["single_label_classification", "multi_label_classification"])
def test_bert_sequence_classification_and_back(problem, tmp_path, capsys):
    hf = fx.hf_random_model(
        transformers.BertForSequenceClassification, seed=2, num_labels=3, **SIZES
    )
    source = saved(hf, tmp_path / "hf", problem_type=problem, **labelled(TOPICS))
    report, _ = convert(source, "-o", tmp_path / "jbert", capsys=capsys)
    assert "HF BertForSequenceClassification" in report
    model = load_task(tmp_path / "jbert")
    multi = problem == "multi_label_classification"
    assert type(model) is (MultiLabelClassifier if multi else SequenceClassifier)
    assert model.labels == TOPICS
    close(ours(tmp_path / "jbert"), hf_logits(hf))

    convert(tmp_path / "jbert", "-o", tmp_path / "hf2", "--to", "hf", capsys=capsys)
    convert(tmp_path / "hf2", "-o", tmp_path / "back", capsys=capsys)
    assert json.loads((tmp_path / "back" / "task.json").read_text()) == json.loads(
        (tmp_path / "jbert" / "task.json").read_text()
    )
    close(ours(tmp_path / "back"), hf_logits(hf))


def test_bert_token_classification_without_pooler(tmp_path, capsys):
    """transformers saves BertForTokenClassification without the pooler: read, the tagger's
    logits equal HF's on every real token."""
    hf = fx.hf_random_model(transformers.BertForTokenClassification, seed=3, num_labels=4, **SIZES)
    source = saved(hf, tmp_path / "hf", **labelled(TAGS))
    assert not any("pooler" in n for n in hf.state_dict())
    report, _ = convert(source, "-o", tmp_path / "jbert", capsys=capsys)
    assert "pooler: none in the file" in report
    model = load_task(tmp_path / "jbert")
    assert type(model) is TokenClassifier and model.labels == TAGS
    close(ours(tmp_path / "jbert")[VALID], hf_logits(hf)[VALID])


def test_electra_tagger_round_trip_keeps_its_options(tmp_path, capsys):
    """An ELECTRA tagger converted from ELECTRA's run_finetuning (token type 1 everywhere,
    head task_specific/chunk/) goes to HF and comes back the same task model."""
    hf = fx.hf_random_model(
        transformers.ElectraForTokenClassification,
        seed=6,
        num_labels=4,
        embedding_size=16,
        **SIZES,
    )
    source = saved(hf, tmp_path / "hf", **labelled(TAGS))
    convert(source, "-o", tmp_path / "jbert", capsys=capsys)
    task_file = tmp_path / "jbert" / "task.json"
    task = json.loads(task_file.read_text())
    close(ours(tmp_path / "jbert")[VALID], hf_logits(hf)[VALID])
    task["options"]["segment_id"] = 1  # as a converted ELECTRA tagging head records
    task["tf1_task_name"] = "chunk"
    task_file.write_text(json.dumps(task))
    expected = ours(tmp_path / "jbert")

    convert(tmp_path / "jbert", "-o", tmp_path / "hf2", "--to", "hf", capsys=capsys)
    convert(tmp_path / "hf2", "-o", tmp_path / "back", capsys=capsys)
    assert json.loads((tmp_path / "back" / "task.json").read_text()) == task
    close(ours(tmp_path / "back")[VALID], expected[VALID])
    ones = {**BATCH, "segment_ids": np.ones_like(BATCH["segment_ids"])}
    close(expected[VALID], hf_logits(hf, ones)[VALID])  # token type 1 as ELECTRA's tagging


def test_electra_sequence_classification_is_refused(tmp_path, capsys):
    hf = fx.hf_random_model(
        transformers.ElectraForSequenceClassification,
        seed=1,
        num_labels=3,
        embedding_size=16,
        **SIZES,
    )
    source = saved(hf, tmp_path / "hf", **labelled(TOPICS))
    err = refused(capsys, source, "-o", tmp_path / "x")
    assert "ElectraForSequenceClassification" in err and "GELU" in err
    assert not (tmp_path / "x").exists()


def test_labels_and_task_apply_to_an_hf_head(tmp_path, capsys):
    hf = fx.hf_random_model(
        transformers.BertForSequenceClassification, seed=2, num_labels=3, **SIZES
    )
    source = saved(hf, tmp_path / "hf")  # transformers' default LABEL_0 ...
    (tmp_path / "labels.txt").write_text("a\nb\nc\n", encoding="utf-8")
    convert(
        source,
        "-o",
        tmp_path / "j",
        "--labels",
        tmp_path / "labels.txt",
        "--task",
        "multi_label",
        capsys=capsys,
    )
    model = load_task(tmp_path / "j")
    assert type(model) is MultiLabelClassifier and model.labels == ["a", "b", "c"]
    err = refused(capsys, source, "-o", tmp_path / "x", "--task", "token_classification")
    assert "--task token_classification" in err and "drop --task" in err


@pytest.mark.parametrize(
    "extra, needles",
    [
        (["--config", "CONFIG"], ["--config: applies to TF1 checkpoints", "config.json"]),
        (["--generator-config", "CONFIG"], ["--generator-config: applies to TF1", "generator/"]),
        (["--spm-model", "CONFIG"], ["--spm-model: applies to TF1"]),
        (["--hidden-act", "gelu_approx"], ["--hidden-act gelu_approx", "hidden_act 'gelu'"]),
        (["--family", "electra"], ["--family electra", "model_type bert"]),
        (["--task", "multi_label"], ["--task: ", "no classification head", "drop --task"]),
        (["--task_name", "mnli"], ["--task_name: ", "no classification head"]),
    ],
)
def test_hf_directory_refuses_tf1_options(extra, needles, tmp_path, capsys):
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=1, hidden_act="gelu", **SIZES)
    source = saved(hf, tmp_path / "hf")
    (tmp_path / "config.json").write_text("{}")
    extra = [str(tmp_path / "config.json") if e == "CONFIG" else e for e in extra]
    err = refused(capsys, source, "-o", tmp_path / "x", *extra)
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "x").exists()


def test_hf_directory_accepts_agreeing_family_and_hidden_act(tmp_path, capsys):
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=1, hidden_act="gelu", **SIZES)
    source = saved(hf, tmp_path / "hf")
    convert(source, "-o", tmp_path / "j", "--family", "bert", "--hidden-act", "gelu", capsys=capsys)


@pytest.mark.parametrize(
    "extra, flag",
    [
        (["--vocab", "VOCAB"], "--vocab"),
        (["--no-tokenizer"], "--no-tokenizer"),
        (["--no-do-lower-case"], "--do-lower-case"),
        (["--hidden-act", "gelu"], "--hidden-act"),
        (["--family", "bert"], "--family"),
        (["--task", "multi_label"], "--task"),
        (["--labels", "VOCAB"], "--labels"),
    ],
)
def test_jbert_directory_refuses_options_it_cannot_use(extra, flag, tmp_path, capsys):
    hf = fx.hf_random_model(
        transformers.BertForSequenceClassification, seed=2, num_labels=3, **SIZES
    )
    convert(saved(hf, tmp_path / "hf"), "-o", tmp_path / "jbert", capsys=capsys)
    extra = [str(tmp_path / "hf" / "vocab.txt") if e == "VOCAB" else e for e in extra]
    err = refused(capsys, tmp_path / "jbert", "-o", tmp_path / "x", "--to", "hf", *extra)
    assert f"{flag}: " in err and "jbert model directory" in err and f"drop {flag}" in err
    err = refused(capsys, tmp_path / "jbert", "-o", tmp_path / "x", "--task_name", "mnli")
    assert "not an ELECTRA task model" in err
