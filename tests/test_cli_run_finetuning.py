"""ELECTRA's run_finetuning.py command line: data-dir layout, hparams, classification and NER."""

import json

import pytest
import task_fixtures as tf_

from jbert_tf2.cli.run_finetuning import main

pytestmark = pytest.mark.slow


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    tokens = tf_.write_electra_checkpoint(data / "models" / "electra_tiny")
    (data / "vocab.txt").write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    mrpc = data / "finetuning_data" / "mrpc"
    mrpc.mkdir(parents=True)
    for split, n, seed in (("train", 64, 1), ("dev", 16, 2), ("test", 8, 3)):
        examples = tf_.topic_examples(n, seed)
        rows = [
            ["1" if e.label == "sports" else "0", i, i, e.text, examples[(i + 1) % n].text]
            for i, e in enumerate(examples)
        ]
        header = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]
        tf_.write_tsv(mrpc / f"{split}.tsv", header, rows)
    return data


def test_classification_task_writes_results_where_electra_does(data_dir, capsys):
    hparams = {
        "model_size": "small",
        "task_names": ["mrpc"],
        "num_train_epochs": 1,
        "train_batch_size": 16,
        "max_seq_length": 64,
        "do_lower_case": False,
        "tokenizer": "mecab-character",
        "write_test_outputs": True,
    }
    argv = [
        "--data-dir",
        str(data_dir),
        "--model-name",
        "electra_tiny",
        "--hparams",
        json.dumps(hparams),
    ]
    assert main(argv) == 0, capsys.readouterr().err
    results = data_dir / "models" / "electra_tiny" / "results" / "mrpc_results.txt"
    values = dict(line.split(" = ") for line in results.read_text().splitlines())
    assert {"eval_accuracy", "eval_loss", "global_step"} <= set(values)
    out = data_dir / "models" / "electra_tiny" / "finetuning_models" / "mrpc_model"
    assert (out / "model" / "task.json").is_file()
    assert len((out / "test_results.tsv").read_text().splitlines()) == 8
    config = json.loads((out / "init_model" / "config.json").read_text())
    assert config["model_type"] == "electra" and config["embedding_size"] == 32


def test_layerwise_decay_reaches_the_optimizer(data_dir, monkeypatch):
    seen = {}
    import jbert_tf2.training as training

    real = training.create_optimizer

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "create_optimizer", spy)
    hparams = {
        "task_names": ["mrpc"],
        "num_train_epochs": 1,
        "layerwise_lr_decay": 0.7,
        "weight_decay_rate": 0.0,
        "do_eval": False,
        "do_lower_case": False,
        "tokenizer": "mecab-character",
        "max_seq_length": 32,
    }
    assert (
        main(
            [
                "--data-dir",
                str(data_dir),
                "--model-name",
                "electra_tiny",
                "--hparams",
                json.dumps(hparams),
            ]
        )
        == 0
    )
    assert seen["layerwise_lr_decay"] == 0.7 and seen["weight_decay"] == 0.0


@pytest.mark.parametrize(
    "hparams, message",
    [
        ("{not json", "not valid JSON"),
        ('{"learning_rat": 1e-4}', "unknown hyperparameters"),
        ('{"task_names": ["nope"]}', "unknown task"),
    ],
)
def test_bad_hparams(data_dir, capsys, hparams, message):
    assert (
        main(["--data-dir", str(data_dir), "--model-name", "electra_tiny", "--hparams", hparams])
        == 2
    )
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# ELECTRA's chunking files (CoNLL-2000: word, POS, tag). The test file ends without a blank
# line, so ELECTRA's reader never closes its last sentence and B-LST is not counted.
CHUNK_FILES = {
    "train": "-DOCSTART- -X- O\n\nHe PRP B-NP\nreckons VBZ B-VP\nthe DT B-NP\n"
    "current JJ I-NP\naccount NN I-NP\n. . O\n\nRockwell NNP B-NP\nsaid VBD B-VP\n\n",
    "dev": "Confidence NN B-NP\nin IN B-PP\nthe DT B-NP\npound NN I-NP\n\n"
    "so RB O\nvery RB I-ADVP\nmuch RB I-ADVP\n\n",
    "test": "Nigel NNP B-LST\n",
}
# By hand from ELECTRA's rule: spans in BIOES (train: S-NP S-VP B-NP I-NP E-NP O, S-NP S-VP;
# dev: S-NP S-PP B-NP E-NP, O B-ADVP E-ADVP: an I- after O starts a span), distinct, sorted.
ELECTRA_CHUNK_TAGS = [
    "B-ADVP", "B-NP", "E-ADVP", "E-NP", "I-NP", "O", "S-NP", "S-PP", "S-VP",
]  # fmt: skip


def write_chunk_files(directory):
    directory.mkdir(parents=True, exist_ok=True)
    for split, text in CHUNK_FILES.items():
        (directory / f"{split}.txt").write_text(text, encoding="utf-8")
    return directory


def test_electra_tag_order_is_rebuilt_from_the_data(tmp_path):
    from jbert_tf2.cli.electra_tags import rebuild_tag_list

    assert rebuild_tag_list(write_chunk_files(tmp_path / "chunk")) == ELECTRA_CHUNK_TAGS


def test_electra_label_mapping_pickle_holds_data_only(tmp_path):
    import os
    import pickle

    from jbert_tf2.cli.electra_tags import read_label_mapping
    from jbert_tf2.errors import JbertError

    mapping = {tag: i for i, tag in enumerate(ELECTRA_CHUNK_TAGS)}
    shuffled = dict(reversed(list(mapping.items())))
    (tmp_path / "chunk_label_mapping.pkl").write_bytes(pickle.dumps(shuffled, protocol=2))
    assert read_label_mapping(tmp_path / "chunk_label_mapping.pkl") == ELECTRA_CHUNK_TAGS

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(tmp_path / "ran"),))

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"O": Payload()}))
    with pytest.raises(JbertError, match="refused to load"):
        read_label_mapping(tmp_path / "evil.pkl")
    assert not (tmp_path / "ran").exists()


def test_tagging_predicts_from_a_fine_tuned_electra_prefix(tmp_path, capsys):
    """ELECTRA's checkpoint holds no tags: run_finetuning rebuilds them as ELECTRA did and
    predicts with the task_specific/chunk head."""
    import numpy as np

    from jbert_tf2.checkpoint.tf1 import read_tf1_checkpoint, write_tf1_checkpoint

    data = tmp_path / "data"
    model = data / "models" / "electra_tiny"
    tokens = tf_.write_electra_checkpoint(model)
    (data / "vocab.txt").write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    weights, _ = read_tf1_checkpoint(str(model / "model.ckpt-1000"))
    rng = np.random.default_rng(0)
    weights["task_specific/chunk/dense/kernel"] = rng.normal(size=(64, 9)).astype(np.float32)
    weights["task_specific/chunk/dense/bias"] = rng.normal(size=9).astype(np.float32)
    write_tf1_checkpoint(weights, model / "model.ckpt-1000")
    write_chunk_files(data / "finetuning_data" / "chunk")
    hparams = {
        "task_names": ["chunk"],
        "do_train": False,
        "do_eval": False,
        "write_test_outputs": True,
        "max_seq_length": 32,
        "tokenizer": "mecab-character",
        "do_lower_case": False,
    }
    argv = ["--data-dir", str(data), "--model-name", "electra_tiny", "--hparams"]
    assert main([*argv, json.dumps(hparams)]) == 0, capsys.readouterr().err
    out = model / "finetuning_models" / "chunk_model"
    task = json.loads((out / "init_model" / "task.json").read_text())
    assert task["labels"] == ELECTRA_CHUNK_TAGS and task["tf1_task_name"] == "chunk"
    assert (out / "test_predictions.jsonl").read_text().strip()

    (tmp_path / "tags.txt").write_text("\n".join(reversed(ELECTRA_CHUNK_TAGS)) + "\n")
    hparams["labels_file"] = str(tmp_path / "tags.txt")  # given: wins over the rebuilt list
    assert main([*argv, json.dumps(hparams)]) == 0, capsys.readouterr().err
    task = json.loads((out / "init_model" / "task.json").read_text())
    assert task["labels"] == ELECTRA_CHUNK_TAGS[::-1]


def test_long_text_hparams_reach_classification_tasks_only(tmp_path):
    from jbert_tf2.cli.run_finetuning import read_hparams, task_argv

    hparams = read_hparams(
        json.dumps({"task_names": ["mrpc", "ner"], "long_text": "windows", "doc_stride": 64})
    )
    mrpc = task_argv(hparams, tmp_path, "electra_tiny", "mrpc")
    assert "--long_text=windows" in mrpc and "--doc_stride=64" in mrpc
    assert not any(a.startswith("--window_aggregation") for a in mrpc)
    ner = task_argv(hparams, tmp_path, "electra_tiny", "ner")
    assert not any(a.startswith(("--long_text", "--doc_stride")) for a in ner)
