"""Fine-tuned TF1 checkpoints keep their heads: Google's run_classifier ``output_weights`` (softmax,
multi-label, per token) and ELECTRA's ``task_specific/<task>/dense`` heads (one or several
tasks) convert into task model directories whose predictions equal the TF1 models'.

References: HF transformers' BertForSequenceClassification / BertForTokenClassification on the
same weights (their head is Google's math: ``pooled @ W^T + b``), and for ELECTRA a numpy
re-implementation of ELECTRA's head (``tf.layers.dense`` on the [CLS] hidden state, or on every
token with token type 1 for tagging) on HF ElectraModel's hidden states.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
import tf1_fixtures as fx
import torch
import transformers
from conversion_fixtures import close, convert, refused

import jbert_tf2
from jbert_tf2.errors import JbertError
from jbert_tf2.tasks import MultiLabelClassifier, SequenceClassifier, TokenClassifier, load_task

SIZES = dict(
    vocab_size=61,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=40,
    max_position_embeddings=16,
)
NLI = ["contradiction", "entailment", "neutral"]
NER_ROWS = ["[PAD]", "O", "B-PSN", "I-PSN", "B-ORG", "I-ORG", "X", "[CLS]", "[SEP]"]


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


BATCH = fx.random_batch(61, 16, seed=3)


def logits_of(model, batch=BATCH) -> np.ndarray:
    return np.asarray(model(batch, training=False))


# ---------------------------------------------------------------- Google's run_classifier


@pytest.fixture(scope="module")
def google_classifier(tmp_path_factory):
    """A checkpoint as run_classifier.py saves it: bert/*, output_weights [3, hidden],
    output_bias, Adam slots and global_step; plus HF's BertForSequenceClassification."""
    root = tmp_path_factory.mktemp("google")
    hf = fx.hf_random_model(
        transformers.BertForSequenceClassification,
        seed=5,
        hidden_act="gelu_new",
        num_labels=3,
        **SIZES,
    )
    state = hf.state_dict()
    variables = fx.encoder_variables(state, "bert", "bert", "bert/embeddings", 2)
    variables["bert/pooler/dense/kernel"] = fx._np(state["bert.pooler.dense.weight"]).T
    variables["bert/pooler/dense/bias"] = fx._np(state["bert.pooler.dense.bias"])
    variables["output_weights"] = fx._np(state["classifier.weight"])  # [num_labels, hidden]
    variables["output_bias"] = fx._np(state["classifier.bias"])
    ckpt = fx.save_tf1_checkpoint(fx.with_optimizer_slots(variables), root / "out" / "model.ckpt-9")
    fx.google_bert_config(hf.config, root / "out" / "bert_config.json")
    fx.write_vocab(root / "out" / "vocab.txt", 61)
    with torch.no_grad():
        reference = fx._np(hf(**fx.torch_inputs(BATCH)).logits)
    return root, ckpt, hf, reference


def test_google_softmax_head_by_default(google_classifier, tmp_path, capsys):
    _, ckpt, _, reference = google_classifier
    out, _ = convert(ckpt, "-o", tmp_path / "clf", "--task_name", "mnli", capsys=capsys)
    assert "task: sequence_classification (the default" in out
    assert "labels: 3 from --task_name mnli" in out
    model = load_task(tmp_path / "clf")
    assert type(model) is SequenceClassifier and model.labels == NLI
    logits = logits_of(model)
    close(logits, reference)
    close(model.proba_from_logits(list(logits)), softmax(reference.astype(np.float64)))


def test_google_multi_label_and_labels_file(google_classifier, tmp_path, capsys):
    _, ckpt, _, reference = google_classifier
    (tmp_path / "labels.txt").write_text("sports\nit\nmovie\n", encoding="utf-8")
    out, _ = convert(
        ckpt,
        "-o",
        tmp_path / "ml",
        "--task",
        "multi_label",
        "--labels",
        tmp_path / "labels.txt",
        capsys=capsys,
    )
    assert "task: multi_label_classification (--task)" in out
    model = load_task(tmp_path / "ml")
    assert type(model) is MultiLabelClassifier and model.labels == ["sports", "it", "movie"]
    logits = logits_of(model)
    close(model.proba_from_logits(list(logits)), 1 / (1 + np.exp(-reference.astype(np.float64))))


def test_google_without_labels_numbers_them(google_classifier, tmp_path, capsys):
    _, ckpt, _, _ = google_classifier
    out, _ = convert(ckpt, "-o", tmp_path / "clf", capsys=capsys)
    assert "labels: label_0 ... label_2 (none given" in out
    assert load_task(tmp_path / "clf").labels == ["label_0", "label_1", "label_2"]


def test_google_round_trip_to_tf1_and_hf(google_classifier, tmp_path, capsys):
    _, ckpt, hf, reference = google_classifier
    convert(ckpt, "-o", tmp_path / "clf", "--task_name", "mnli")
    out, _ = convert(tmp_path / "clf", "-o", tmp_path / "tf1", "--to", "tf1", capsys=capsys)
    assert "head: output_weights, output_bias" in out
    # Google's code restores these names: the same head values as the original checkpoint
    reader = tf.train.load_checkpoint(str(tmp_path / "tf1" / "model.ckpt"))
    original = tf.train.load_checkpoint(str(ckpt))
    for name in ("output_weights", "output_bias", "bert/pooler/dense/kernel"):
        np.testing.assert_array_equal(reader.get_tensor(name), original.get_tensor(name))
    convert(tmp_path / "tf1" / "model.ckpt", "-o", tmp_path / "back", "--task_name", "mnli")
    close(logits_of(load_task(tmp_path / "back")), reference)
    convert(tmp_path / "clf", "-o", tmp_path / "hf", "--to", "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["architectures"] == ["BertForSequenceClassification"]
    assert config["id2label"] == {"0": "contradiction", "1": "entailment", "2": "neutral"}
    theirs = transformers.BertForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    with torch.no_grad():
        close(fx._np(theirs(**fx.torch_inputs(BATCH)).logits), reference)


def test_run_classifier_predicts_from_the_tf1_prefix(google_classifier, tmp_path):
    from jbert_tf2.cli.run_classifier import main as run_classifier

    _, ckpt, hf, _ = google_classifier
    data = tmp_path / "data"
    data.mkdir()
    header = "\t".join(f"c{i}" for i in range(10))
    rows = ["t5 t6 t7", "t8 t9", "t10 t11 t12 t13 t14"]
    lines = [header] + ["\t".join(["x"] * 8 + [text, "t20 t21"]) for text in rows]
    (data / "test_matched.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = run_classifier(
        [
            "--task_name=mnli",
            "--do_predict=true",
            f"--data_dir={data}",
            f"--init_checkpoint={ckpt}",
            f"--vocab_file={ckpt.parent / 'vocab.txt'}",
            "--max_seq_length=16",
            f"--output_dir={tmp_path / 'run'}",
        ]
    )
    assert code == 0
    written = (tmp_path / "run" / "test_results.tsv").read_text().splitlines()
    vocab = {t: i for i, t in enumerate((ckpt.parent / "vocab.txt").read_text().split())}
    expected = []
    for text in rows:  # Google's features: [CLS] a [SEP] b [SEP], segments 0 then 1
        a, b = [vocab[t] for t in text.split()], [vocab["t20"], vocab["t21"]]
        ids = [vocab["[CLS]"], *a, vocab["[SEP]"], *b, vocab["[SEP]"]]
        segments = [0] * (len(a) + 2) + [1] * (len(b) + 1)
        inputs = {
            "input_ids": torch.tensor([ids]),
            "attention_mask": torch.ones(1, len(ids), dtype=torch.long),
            "token_type_ids": torch.tensor([segments]),
        }
        with torch.no_grad():
            expected.append(softmax(fx._np(hf(**inputs).logits)[0].astype(np.float64)))
    assert len(written) == len(rows)
    for line, probs in zip(written, expected, strict=True):
        close([float(v) for v in line.split("\t")], probs)


@pytest.fixture(scope="module")
def google_tagger(tmp_path_factory):
    """A BERT NER checkpoint (kyzhouhzau/BERT-NER's layout: output_weights on every token, a
    padding row 0, X / [CLS] / [SEP] rows) and HF's BertForTokenClassification."""
    root = tmp_path_factory.mktemp("ner")
    hf = fx.hf_random_model(
        transformers.BertForTokenClassification,
        seed=7,
        hidden_act="gelu_new",
        num_labels=len(NER_ROWS),
        **SIZES,
    )
    state = hf.state_dict()
    variables = fx.encoder_variables(state, "bert", "bert", "bert/embeddings", 2)
    rng = np.random.default_rng(1)  # TF1's BertModel always has a pooler; the tagger ignores it
    variables["bert/pooler/dense/kernel"] = rng.normal(size=(32, 32)).astype(np.float32)
    variables["bert/pooler/dense/bias"] = rng.normal(size=32).astype(np.float32)
    variables["output_weights"] = fx._np(state["classifier.weight"])
    variables["output_bias"] = fx._np(state["classifier.bias"])
    ckpt = fx.save_tf1_checkpoint(variables, root / "out" / "model.ckpt-3")
    fx.google_bert_config(hf.config, root / "out" / "bert_config.json")
    fx.write_vocab(root / "out" / "vocab.txt", 61)
    (root / "labels.txt").write_text("\n".join(NER_ROWS) + "\n", encoding="utf-8")
    with torch.no_grad():
        reference = fx._np(hf(**fx.torch_inputs(BATCH)).logits)
    return root, ckpt, reference


def test_google_tagger_keeps_the_tags(google_tagger, tmp_path, capsys):
    root, ckpt, reference = google_tagger
    out, _ = convert(
        ckpt,
        "-o",
        tmp_path / "ner",
        "--task",
        "token_classification",
        "--labels",
        root / "labels.txt",
        capsys=capsys,
    )
    assert "labels left out of the tagger: [PAD], X, [CLS], [SEP]" in out
    model = load_task(tmp_path / "ner")
    assert type(model) is TokenClassifier
    assert model.labels == ["O", "B-PSN", "I-PSN", "B-ORG", "I-ORG"]
    valid = BATCH["input_mask"].astype(bool)
    close(logits_of(model)[valid], reference[..., 1:6][valid])
    convert(tmp_path / "ner", "-o", tmp_path / "hf", "--to", "hf")
    theirs = transformers.BertForTokenClassification.from_pretrained(tmp_path / "hf").eval()
    with torch.no_grad():
        close(fx._np(theirs(**fx.torch_inputs(BATCH)).logits)[valid], reference[..., 1:6][valid])


def test_tagger_needs_labels(google_tagger, tmp_path, capsys):
    _, ckpt, _ = google_tagger
    err = refused(capsys, ckpt, "-o", tmp_path / "x", "--task", "token_classification")
    assert "needs its tags: pass --labels FILE" in err
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- ELECTRA's run_finetuning


@pytest.fixture(scope="module")
def electra_multitask(tmp_path_factory):
    """An ELECTRA run_finetuning checkpoint fine-tuned on mnli (3 labels) and chunk (tagging,
    4 tags) at once, and the reference logits of ELECTRA's heads computed in numpy."""
    root = tmp_path_factory.mktemp("electra")
    hf = fx.hf_random_model(transformers.ElectraModel, seed=9, embedding_size=24, **SIZES)
    state = hf.state_dict()
    variables = fx.encoder_variables(
        {f"electra.{k}": v for k, v in state.items()},
        "electra",
        "electra",
        "electra/embeddings",
        2,
    )
    rng = np.random.default_rng(0)
    heads = {
        "mnli": rng.normal(0, 0.5, (32, 3)).astype(np.float32),
        "chunk": rng.normal(0, 0.5, (32, 4)).astype(np.float32),
    }
    biases = {t: rng.normal(0, 0.5, k.shape[1]).astype(np.float32) for t, k in heads.items()}
    for task, kernel in heads.items():
        variables[f"task_specific/{task}/dense/kernel"] = kernel
        variables[f"task_specific/{task}/dense/bias"] = biases[task]
    ckpt = fx.save_tf1_checkpoint(fx.with_optimizer_slots(variables), root / "out" / "model.ckpt-5")
    fx.google_bert_config(hf.config, root / "out" / "bert_config.json")  # ELECTRA: erf GELU
    fx.write_vocab(root / "out" / "vocab.txt", 61)
    (root / "chunk_tags.txt").write_text("O\nB-NP\nI-NP\nB-VP\n", encoding="utf-8")
    inputs = fx.torch_inputs(BATCH)
    with torch.no_grad():
        cls_hidden = fx._np(hf(**inputs).last_hidden_state)[:, 0]
        tagging_inputs = {**inputs, "token_type_ids": torch.ones_like(inputs["token_type_ids"])}
        tokens = fx._np(hf(**tagging_inputs).last_hidden_state)
    reference = {
        "mnli": cls_hidden @ heads["mnli"] + biases["mnli"],
        "chunk": tokens @ heads["chunk"] + biases["chunk"],
    }
    return root, ckpt, reference


def test_electra_multitask_needs_task_name(electra_multitask, tmp_path, capsys):
    _, ckpt, _ = electra_multitask
    err = refused(capsys, ckpt, "-o", tmp_path / "x")
    assert "2 ELECTRA tasks (chunk, mnli); pick one with --task_name" in err
    err = refused(capsys, ckpt, "-o", tmp_path / "x", "--task_name", "qnli")
    assert "no head task_specific/qnli/; its tasks: chunk, mnli" in err
    assert not (tmp_path / "x").exists()


def test_electra_classifier_head(electra_multitask, tmp_path, capsys):
    _, ckpt, reference = electra_multitask
    out, _ = convert(ckpt, "-o", tmp_path / "mnli", "--task_name", "mnli", capsys=capsys)
    assert "other heads (not converted; --task_name picks one): chunk" in out
    assert "task: sequence_classification (ELECTRA's 'mnli' head)" in out
    model = load_task(tmp_path / "mnli")
    assert type(model) is SequenceClassifier and model.labels == NLI
    close(logits_of(model), reference["mnli"])
    model.save_pretrained(tmp_path / "resaved")  # fine-tuned further, saved: still ELECTRA's mnli
    assert json.loads((tmp_path / "resaved" / "task.json").read_text())["tf1_task_name"] == "mnli"
    out, _ = convert(tmp_path / "resaved", "-o", tmp_path / "tf1", "--to", "tf1", capsys=capsys)
    assert "head: task_specific/mnli/dense" in out
    reader = tf.train.load_checkpoint(str(tmp_path / "tf1" / "model.ckpt"))
    original = tf.train.load_checkpoint(str(ckpt))
    for name in ("task_specific/mnli/dense/kernel", "task_specific/mnli/dense/bias"):
        np.testing.assert_array_equal(reader.get_tensor(name), original.get_tensor(name))
    err = refused(capsys, tmp_path / "mnli", "-o", tmp_path / "hf", "--to", "hf")
    assert "ElectraForSequenceClassification" in err and "--to tf1" in err


def test_electra_tagging_head(electra_multitask, tmp_path, capsys):
    root, ckpt, reference = electra_multitask
    out, _ = convert(
        ckpt,
        "-o",
        tmp_path / "chunk",
        "--task_name",
        "chunk",
        "--labels",
        root / "chunk_tags.txt",
        capsys=capsys,
    )
    assert "task: token_classification (ELECTRA's 'chunk' head)" in out
    model = load_task(tmp_path / "chunk")
    assert type(model) is TokenClassifier and model.segment_id == 1
    valid = BATCH["input_mask"].astype(bool)
    close(logits_of(model)[valid], reference["chunk"][valid])


def test_wrong_label_count_names_file_and_numbers(google_classifier, tmp_path, capsys):
    _, ckpt, _, _ = google_classifier
    (tmp_path / "labels.txt").write_text("a\nb\n", encoding="utf-8")
    err = refused(capsys, ckpt, "-o", tmp_path / "x", "--labels", tmp_path / "labels.txt")
    assert f"--labels {tmp_path / 'labels.txt'}: 2 labels, but the head" in err
    assert "has 3 outputs" in err


def test_task_on_a_pretrained_checkpoint_is_refused(tmp_path, capsys):
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=1, hidden_act="gelu_new", **SIZES)
    ckpt = fx.save_tf1_checkpoint(fx.bert_variables(hf), tmp_path / "p" / "model.ckpt-1")
    err = refused(capsys, ckpt, "-o", tmp_path / "x", "--task", "multi_label")
    assert "has no fine-tuned head" in err and "drop --task" in err


def test_unknown_extra_variable_is_still_an_error(google_classifier, tmp_path, capsys):
    _, ckpt, _, _ = google_classifier
    reader = tf.train.load_checkpoint(str(ckpt))
    variables = {
        n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map() if n != "global_step"
    }
    variables["loss/extra_scale"] = np.ones(3, np.float32)
    extra = fx.save_tf1_checkpoint(variables, tmp_path / "e" / "model.ckpt-1")
    err = refused(capsys, extra, "-o", tmp_path / "x")
    assert "unmapped (in checkpoint, not in model): loss/extra_scale" in err


def test_python_api(google_classifier, tmp_path):
    _, ckpt, _, reference = google_classifier
    report = jbert_tf2.convert(
        str(ckpt), str(tmp_path / "api"), task="multi_label", labels=["a", "b", "c"]
    )
    assert "task: multi_label_classification (--task)" in report.format()
    assert load_task(tmp_path / "api").labels == ["a", "b", "c"]
    with pytest.raises(JbertError, match="unknown task"):
        jbert_tf2.convert(str(ckpt), str(tmp_path / "bad"), task="regression")


def test_run_ner_predicts_from_the_tf1_prefix(google_tagger, tmp_path, capsys):
    from jbert_tf2.cli.run_ner import main as run_ner
    from jbert_tf2.data import read_conll

    root, ckpt, _ = google_tagger
    data = tmp_path / "data"
    data.mkdir()
    words = [["t5", "t6", "t7", "t8"], ["t9", "t10", "t11"], ["t12", "t13", "t14", "t15", "t16"]]
    (data / "test.bio").write_text(
        "\n".join("".join(f"{w} O\n" for w in sentence) for sentence in words), encoding="utf-8"
    )
    argv = [
        f"--data_dir={data}",
        f"--output_dir={tmp_path / 'run'}",
        f"--init_checkpoint={ckpt}",
        f"--vocab_file={ckpt.parent / 'vocab.txt'}",
        f"--labels={root / 'labels.txt'}",
        "--do_predict",
        "--max_seq_length=16",
    ]
    assert run_ner(argv) == 0, capsys.readouterr().err
    written = [
        json.loads(line)
        for line in (tmp_path / "run" / "test_predictions.jsonl").read_text().splitlines()
    ]
    convert(
        ckpt,
        "-o",
        tmp_path / "ner",
        "--task",
        "token_classification",
        "--labels",
        root / "labels.txt",
    )
    tagger = load_task(tmp_path / "ner")
    sentences = read_conll(data / "test.bio")
    expected = tagger.entities(sentences, tagger.predict_tags(sentences))
    assert [record["entities"] for record in written] == expected
    assert any(expected), "the random head should tag some entity"


def test_jbert_export_serves_converted_heads(
    google_classifier, electra_multitask, tmp_path, capsys
):
    from jbert_tf2.cli.export import main as export_main
    from jbert_tf2.export import load_saved_model

    _, ckpt, _, reference = google_classifier
    convert(ckpt, "-o", tmp_path / "clf", "--task_name", "mnli")
    assert export_main([str(tmp_path / "clf"), "-o", str(tmp_path / "serve"), "--name", "nli"]) == 0
    loaded = load_saved_model(tmp_path / "serve" / "nli" / "1")
    out = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in BATCH.items()})
    close(out["probabilities"].numpy(), softmax(reference.astype(np.float64)))
    assert [s.decode() for s in out["label"].numpy()] == [NLI[i] for i in reference.argmax(-1)]

    root, eckpt, ereference = electra_multitask
    convert(
        eckpt,
        "-o",
        tmp_path / "chunk",
        "--task_name",
        "chunk",
        "--labels",
        root / "chunk_tags.txt",
    )
    assert export_main([str(tmp_path / "chunk"), "-o", str(tmp_path / "serve"), "--name", "c"]) == 0
    tagger = load_saved_model(tmp_path / "serve" / "c" / "1").signatures["serving_default"]
    positions = np.array([[1, 2, 3]] * len(BATCH["input_ids"]), np.int32)
    served = tagger(
        **{k: tf.constant(v) for k, v in BATCH.items()},
        labeled_positions=tf.constant(positions),
    )
    expected = np.take_along_axis(ereference["chunk"], positions[..., None], axis=1)
    close(served["logits"].numpy(), expected)


# ------------------------------------------- a TF1 --init_checkpoint converted by a command


def _command_args(parser_module, *argv):
    """The command's flags; --max_seq_length within the tiny model's 16 positions, as
    resolve_model_dir checks it."""
    flags = ["--output_dir=unused", "--max_seq_length=16", *map(str, argv)]
    return parser_module.build_parser().parse_args(flags)


def _converted_task(work_dir) -> dict:
    return json.loads((work_dir / "task.json").read_text(encoding="utf-8"))


def test_command_conversion_follows_the_head_options(electra_multitask, tmp_path, capsys):
    """Each option that changes the converted head (--task_name picking one of a multi-task
    ELECTRA's heads, --multi_label, the labels file and its content) is recorded: a run with
    other values converts again instead of reusing the head an earlier run converted."""
    from jbert_tf2.cli import run_classifier, run_ner
    from jbert_tf2.cli.common import resolve_model_dir
    from jbert_tf2.data.processors import get_processor

    root, ckpt, reference = electra_multitask
    work = tmp_path / "out" / "init_model"
    vocab = f"--vocab_file={ckpt.parent / 'vocab.txt'}"
    mnli = _command_args(run_classifier, "--task_name=mnli", f"--init_checkpoint={ckpt}", vocab)
    processor = get_processor("mnli", False)
    resolve_model_dir(mnli, work, head=run_classifier.tf1_head(mnli, processor))
    assert _converted_task(work)["tf1_task_name"] == "mnli"

    chunk = _command_args(
        run_ner,
        "--task_name=chunk",
        f"--init_checkpoint={ckpt}",
        vocab,
        f"--labels={root / 'chunk_tags.txt'}",
    )
    head = {"task": "token_classification", "task_name": "chunk", "labels": chunk.labels}
    capsys.readouterr()
    resolve_model_dir(chunk, work, head=head)
    again = capsys.readouterr().out.splitlines()[0]
    assert "again (" in again and "task_name" in again, again
    task = _converted_task(work)
    assert task["tf1_task_name"] == "chunk" and task["labels"] == ["O", "B-NP", "I-NP", "B-VP"]
    valid = BATCH["input_mask"].astype(bool)
    close(logits_of(load_task(work))[valid], reference["chunk"][valid])

    resolve_model_dir(chunk, work, head=head)  # the same options: the conversion is reused
    assert "by an earlier run" in capsys.readouterr().out

    (root / "chunk_tags2.txt").write_text("O\nB-VP\nI-VP\nB-NP\n", encoding="utf-8")
    renamed = dict(head, labels=str(root / "chunk_tags2.txt"))
    resolve_model_dir(chunk, work, head=renamed)
    assert _converted_task(work)["labels"] == ["O", "B-VP", "I-VP", "B-NP"]
    (root / "chunk_tags2.txt").write_text("O\nB-X\nI-X\nB-Y\n", encoding="utf-8")  # edited
    resolve_model_dir(chunk, work, head=renamed)
    assert _converted_task(work)["labels"] == ["O", "B-X", "I-X", "B-Y"]


def test_command_conversion_follows_multi_label(google_classifier, tmp_path):
    from jbert_tf2.cli import run_classifier
    from jbert_tf2.cli.common import resolve_model_dir
    from jbert_tf2.data.processors import get_processor

    _, ckpt, _, _ = google_classifier
    work = tmp_path / "out" / "init_model"
    for multi_label, expected in (
        (False, "sequence_classification"),
        (True, "multi_label_classification"),
    ):
        args = _command_args(
            run_classifier,
            "--task_name=mnli",
            f"--init_checkpoint={ckpt}",
            f"--multi_label={str(multi_label).lower()}",
        )
        processor = get_processor("mnli", False)
        resolve_model_dir(args, work, quiet=True, head=run_classifier.tf1_head(args, processor))
        assert _converted_task(work)["task"] == expected


def _mnli_test_data(directory):
    directory.mkdir(exist_ok=True)
    header = "\t".join(f"c{i}" for i in range(10))
    rows = ["\t".join(["x"] * 8 + ["t5 t6 t7", "t20 t21"])]
    (directory / "test_matched.tsv").write_text("\n".join([header, *rows]) + "\n", "utf-8")
    return directory


def _predict_from(ckpt, tmp_path, capsys, *extra) -> tuple[int, str]:
    from jbert_tf2.cli.run_classifier import main as run_classifier

    capsys.readouterr()
    code = run_classifier(
        [
            "--task_name=mnli",
            "--do_predict=true",
            f"--data_dir={_mnli_test_data(tmp_path / 'data')}",
            f"--init_checkpoint={ckpt}",
            "--max_seq_length=16",
            f"--output_dir={tmp_path / 'run'}",
            *map(str, extra),
        ]
    )
    return code, capsys.readouterr().err


def test_command_vocabulary_without_specials_names_vocab_file(google_classifier, tmp_path, capsys):
    """A --vocab_file without [CLS] / [SEP]: the command's error says so and names its own
    flag (not jbert-convert's --vocab, nor a tokenizer.json to convert again)."""
    _, ckpt, _, _ = google_classifier
    characters = tmp_path / "characters.txt"
    characters.write_text("\n".join(["[PAD]", "[UNK]", "[BOS]", "[EOS]"] + list("日本語")) + "\n")
    code, err = _predict_from(ckpt, tmp_path, capsys, f"--vocab_file={characters}")
    assert code == 2
    assert err.count("error:") == 1 and "warning:" not in err, err
    assert "characters.txt has no [CLS], [SEP]" in err and "pass --vocab_file" in err
    assert "tokenizer.json: not found" not in err and "--vocab " not in err
    good = ckpt.parent / "vocab.txt"
    code, err = _predict_from(ckpt, tmp_path, capsys, f"--vocab_file={good}")  # fixed, rerun
    assert code == 0, err
    assert (tmp_path / "run" / "test_results.tsv").is_file()


def test_command_short_vocabulary_warns_once(google_classifier, tmp_path, capsys):
    _, ckpt, _, _ = google_classifier
    short = fx.write_vocab(tmp_path / "short_vocab.txt", 50)  # the table has 61 rows
    code, err = _predict_from(ckpt, tmp_path, capsys, f"--vocab_file={short}")
    assert code == 0, err
    warned = [line for line in err.splitlines() if "warning:" in line]
    assert len(warned) == 1 and "50 rows" in warned[0] and "vocab_size=61" in warned[0], err
    code, err = _predict_from(ckpt, tmp_path, capsys, f"--vocab_file={short}")  # reused
    assert code == 0, err
    assert [line for line in err.splitlines() if "warning:" in line] == warned

    from jbert_tf2.cli.extract_features import main as extract_features

    (tmp_path / "input.txt").write_text("t5 t6 t7\n", encoding="utf-8")
    code = extract_features(  # converts, then loads the tokenizer itself
        [
            f"--input_file={tmp_path / 'input.txt'}",
            f"--output_file={tmp_path / 'features.jsonl'}",
            f"--init_checkpoint={ckpt}",
            f"--vocab_file={short}",
            "--max_seq_length=16",
            "--layers=-1",
            "--noprogress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert len([line for line in err.splitlines() if "warning:" in line]) == 1, err
