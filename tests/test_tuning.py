"""keras-tuner search over a task: every trial completes and the best model reloads."""

import keras_tuner
import numpy as np
import pytest
import task_fixtures as tf_

from jbert_tf2.errors import JbertError
from jbert_tf2.tasks import SequenceClassifier
from jbert_tf2.tuning import TaskHyperModel, check_trials

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_dir(tiny_model_root):
    return tiny_model_root / "model"


def test_random_search_completes_every_trial_and_reloads_the_best(model_dir, tmp_path):
    labels = sorted(tf_.TOPICS)
    hypermodel = TaskHyperModel(
        SequenceClassifier,
        model_dir,
        labels,
        max_seq_length=48,
        space={
            "learning_rate": [1e-4, 3e-4],
            "batch_size": 16,
            "epochs": 2,
            "warmup_proportion": 0.1,
        },
    )
    tuner = keras_tuner.RandomSearch(
        hypermodel,
        objective="val_accuracy",
        max_trials=2,
        directory=tmp_path,
        project_name="topics",
        seed=0,
    )
    train, dev = tf_.topic_examples(96, seed=1), tf_.topic_examples(32, seed=2)
    tuner.search(train, validation_data=dev)
    check_trials(tuner)
    trials = tuner.oracle.get_best_trials(2)
    assert len(trials) == 2 and {t.status for t in trials} == {"COMPLETED"}
    learning_rates = {t.hyperparameters.get("learning_rate") for t in trials}
    assert learning_rates == {1e-4, 3e-4}
    best = tuner.get_best_models(1)[0]
    assert isinstance(best, SequenceClassifier) and best.labels == labels
    data = best.dataset(dev, 32)
    accuracy = best.evaluate(data, verbose=0, return_dict=True)["accuracy"]
    assert accuracy == pytest.approx(trials[0].score, abs=1e-6)
    assert np.isfinite(best.predict_proba([dev[0].text])).all()


def test_unknown_hyperparameter_is_refused(model_dir):
    with pytest.raises(JbertError, match="unknown hyperparameters"):
        TaskHyperModel(SequenceClassifier, model_dir, ["a"], space={"lr": 1e-4})


def test_failed_trials_raise(model_dir, tmp_path):
    hypermodel = TaskHyperModel(
        SequenceClassifier,
        model_dir,
        ["sports", "it", "food"],
        max_seq_length=32,
        space={"epochs": 1, "batch_size": 8},
    )
    tuner = keras_tuner.RandomSearch(
        hypermodel,
        objective="val_loss",
        max_trials=1,
        directory=tmp_path,
        project_name="bad",
        max_consecutive_failed_trials=1,
    )
    with pytest.raises(Exception):  # noqa: B017  keras-tuner re-raises after the last failure
        bad_dev = [tf_.TextExample("料理の話", None, "not-a-label")]
        tuner.search(tf_.topic_examples(8, 1), validation_data=bad_dev)
    with pytest.raises(JbertError, match="did not complete"):
        check_trials(tuner)


def test_jbert_tune_command(model_dir, tmp_path, capsys):
    import json

    from jbert_tf2.cli.tune import main
    from jbert_tf2.tasks import load_task

    data = tf_.write_topic_splits(tmp_path / "data", (("train", 96, 1), ("dev", 32, 2)))
    out = tmp_path / "out"
    argv = [
        "--task_name=tsv",
        f"--data_dir={data}",
        f"--init_checkpoint={model_dir}",
        f"--output_dir={out}",
        "--max_seq_length=48",
        "--tuner=random",
        "--max_trials=2",
        '--space={"learning_rate": [1e-4, 3e-4], "batch_size": 16, "epochs": 1}',
    ]
    assert main(argv) == 0, capsys.readouterr().err
    trials = json.loads((out / "trials.json").read_text())
    assert len(trials) == 2 and all(t["status"] == "COMPLETED" for t in trials)
    best = load_task(out / "best_model")
    assert best.labels == sorted(tf_.TOPICS) and best.tokenizer is not None
    assert set(json.loads((out / "best_hyperparameters.json").read_text())) >= {"learning_rate"}
    assert main([*argv[:-1], "--space={not json"]) == 2


def test_the_score_jbert_tune_records_is_the_one_best_model_reproduces(model_dir, tmp_path):
    """keras-tuner keeps the weights of a trial's best epoch: the score it records must be that
    epoch's too, not the last epoch's. 37 dev texts: batches of 32 leave a partial one."""
    import json
    import warnings

    from jbert_tf2.cli.tune import main
    from jbert_tf2.data.processors import get_processor
    from jbert_tf2.tasks import load_task

    data = tf_.write_topic_splits(tmp_path / "data", (("train", 48, 1), ("dev", 37, 2)))
    out = tmp_path / "out"
    argv = [
        "--task_name=tsv",
        f"--data_dir={data}",
        f"--init_checkpoint={model_dir}",
        f"--output_dir={out}",
        "--max_seq_length=48",
        "--max_trials=1",
        '--space={"learning_rate": 1e-3, "batch_size": 16, "epochs": 4}',
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(argv) == 0
    skipped = [w for w in caught if "Skipping variable loading" in str(w.message)]
    assert not skipped, "reloading the best epoch's weights warns about the optimizer"
    (trial,) = json.loads((out / "trials.json").read_text())
    best = load_task(out / "best_model")
    dev = get_processor("tsv").examples(data, "dev")
    predicted = best.predict_proba([e.text for e in dev]).argmax(axis=-1)
    correct = sum(best.labels[k] == e.label for k, e in zip(predicted, dev, strict=True))
    # Keras' accuracy: correct / count in float32
    assert trial["score"] == float(np.float32(correct) / np.float32(len(dev)))


def test_jbert_tune_searches_a_windowed_classifier(model_dir, tmp_path, capsys):
    """--long_text=windows reaches every trial: texts longer than the window are read in
    windows while tuning, and the best model keeps the choice."""
    import json

    from jbert_tf2.cli.tune import main
    from jbert_tf2.tasks import load_task

    data = tf_.write_topic_splits(tmp_path / "data", (("train", 48, 1), ("dev", 16, 2)))
    out = tmp_path / "out"
    argv = [
        "--task_name=tsv",
        f"--data_dir={data}",
        f"--init_checkpoint={model_dir}",
        f"--output_dir={out}",
        "--max_seq_length=12",
        "--long_text=windows",
        "--doc_stride=5",
        "--window_aggregation=max",
        "--tuner=random",
        "--max_trials=1",
        '--space={"learning_rate": 1e-4, "batch_size": 8, "epochs": 1}',
    ]
    assert main(argv) == 0, capsys.readouterr().err
    trials = json.loads((out / "trials.json").read_text())
    assert [t["status"] for t in trials] == ["COMPLETED"]
    best = load_task(out / "best_model")
    assert (best.long_text, best.doc_stride, best.window_aggregation) == ("windows", 5, "max")
    text = tf_.topic_examples(1, seed=3)[0].text
    assert len(best.tokenizer.tokenize(text)) > 10  # longer than one window of 12
    windowed = best.predict_proba([text])
    best.long_text = "truncate"
    with pytest.warns(UserWarning, match="truncated"):
        truncated = best.predict_proba([text])
    assert not np.allclose(windowed, truncated)
