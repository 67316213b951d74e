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
