"""jbert-run-classifier: Google's command lines, unchanged, on a tiny TF1 checkpoint."""

import numpy as np
import pytest
import task_fixtures as tf_

from jbert_tf2.cli.run_classifier import main
from jbert_tf2.data import read_table
from jbert_tf2.data.pipeline import steps_per_epoch
from jbert_tf2.tasks import SequenceClassifier

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checkpoint(tiny_model_root):
    return tiny_model_root / "ckpt"


def _livedoor_dir(root, label_of=tf_.LIVEDOOR_NAMES):
    """train/dev/test.tsv with a text and label header; livedoor category names by default."""
    splits = (("train", 240, 1), ("dev", 30, 2), ("test", 20, 3))
    return tf_.write_topic_splits(root / "livedoor", splits, label_of)


def clf_features(checkpoint, data):
    model = SequenceClassifier.from_pretrained(checkpoint.parent / "model", labels=["a"])
    return model.features(read_table(data / "train.tsv", label_column=None))


def _flags(checkpoint, data_dir, out, *extra, task="livedoor"):
    return [
        f"--task_name={task}",
        f"--data_dir={data_dir}",
        f"--vocab_file={checkpoint / 'vocab.txt'}",
        "--bert_config_file",
        str(checkpoint / "bert_config.json"),
        f"--init_checkpoint={checkpoint / 'model.ckpt-10'}",
        "--tokenizer=mecab-character",
        "--nodo_lower_case",
        "--max_seq_length=48",
        "--train_batch_size=16",
        "--learning_rate=3e-4",
        "--num_train_epochs=6.0",
        f"--output_dir={out}",
        *extra,
    ]


def test_train_eval_predict_writes_googles_result_files(checkpoint, tmp_path, capsys):
    data = _livedoor_dir(tmp_path, {"sports": "sports", "it": "it", "food": "food"})
    out = tmp_path / "out"
    flags = _flags(
        checkpoint, data, out, "--do_train=true", "--do_eval", "--do_predict=True", task="tsv"
    )
    status = main(flags)
    assert status == 0, capsys.readouterr().err
    results = dict(
        line.split(" = ") for line in (out / "eval_results.txt").read_text().splitlines()
    )
    assert set(results) == {"eval_accuracy", "eval_f1", "eval_loss", "global_step", "loss"}
    # Learned, far above chance (1/3 and a loss of log 3 = 1.10 untrained): over 10 seeds (docs/
    # training.md, "Reproducible runs") the accuracy was 0.63 to 1.0, the loss 0.16 to 0.57.
    assert float(results["eval_accuracy"]) >= 0.5, results
    assert float(results["eval_loss"]) < 0.85, results
    per_epoch = steps_per_epoch(clf_features(checkpoint, data), 16, 48)
    assert int(results["global_step"]) == int(per_epoch * 6.0)
    rows = [line.split("\t") for line in (out / "test_results.tsv").read_text().splitlines()]
    assert len(rows) == 20 and all(len(r) == 3 for r in rows)
    probs = np.array(rows, dtype=np.float64)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (out / "model" / "task.json").is_file()
    assert (out / "init_model" / "config.json").is_file()

    # Evaluate again without training: the fine-tuned model in output_dir is used.
    status = main(_flags(checkpoint, data, out, "--do_eval", task="tsv"))
    assert status == 0
    again = dict(line.split(" = ") for line in (out / "eval_results.txt").read_text().splitlines())
    assert again["eval_accuracy"] == results["eval_accuracy"]


def test_livedoor_task_has_yoheikikutas_nine_labels(checkpoint, tmp_path, capsys):
    data = _livedoor_dir(tmp_path)
    out = tmp_path / "out"
    flags = _flags(checkpoint, data, out, "--do_train", "--do_predict") + ["--num_train_epochs=1"]
    assert main(flags) == 0, capsys.readouterr().err
    rows = (out / "test_results.tsv").read_text().splitlines()
    assert len(rows) == 20 and all(len(r.split("\t")) == 9 for r in rows)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--task_name=nope"], "unknown task"),
        (["--do_train=maybe"], "expected true or false"),
        (["--max_seq_length=0"], "at least 1"),
        (["--learning_rate=abc"], "expected a number"),
        (["--nodo_train", "--nodo_eval"], "at least one of"),
    ],
)
def test_bad_flags_give_one_message_and_status_2(checkpoint, tmp_path, capsys, flags, message):
    data = _livedoor_dir(tmp_path)
    out = tmp_path / "out"
    argv = _flags(checkpoint, data, out, "--do_train") + flags
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (out / "eval_results.txt").exists()


def test_unknown_label_in_data_names_file_and_line(checkpoint, tmp_path, capsys):
    data = _livedoor_dir(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "eval_results.txt").write_text("eval_accuracy = 0.93\n")  # an earlier run's result
    lines = (data / "train.tsv").read_text(encoding="utf-8").splitlines()
    lines[5] = "なにかの記事\tnot-a-category"
    (data / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    status = main(_flags(checkpoint, data, out, "--do_train", "--do_eval", "--overwrite"))
    err = capsys.readouterr().err
    assert status == 2
    assert "train.tsv" in err and "line 6" in err and "not-a-category" in err
    assert (out / "eval_results.txt").read_text() == "eval_accuracy = 0.93\n"


def test_output_dir_converted_from_another_checkpoint_is_refused(checkpoint, tmp_path, capsys):
    data = _livedoor_dir(tmp_path)
    out = tmp_path / "out"
    flags = _flags(checkpoint, data, out, "--do_train", "--num_train_epochs=0.1")
    assert main(flags) == 0
    other = tmp_path / "other"
    other.mkdir()
    for path in checkpoint.iterdir():
        (other / path.name).write_bytes(path.read_bytes())
    moved = [f.replace(f"{checkpoint}", f"{other}") for f in flags]
    assert main(moved) == 2
    assert "use a new --output_dir" in capsys.readouterr().err


def _saved_classifier(checkpoint, root):
    """A classifier (random head) saved as a fine-tuned model directory: --do_predict runs on
    it without training."""
    model = SequenceClassifier.from_pretrained(
        checkpoint.parent / "model", labels=["food", "it", "sports"], max_seq_length=48
    )
    return model.save_pretrained(root / "classifier")


def _predict_flags(data_dir, out, init, *extra):
    return [
        "--task_name=tsv",
        f"--data_dir={data_dir}",
        f"--output_dir={out}",
        f"--init_checkpoint={init}",
        "--do_predict",
        "--max_seq_length=48",
        "--predict_batch_size=4",
        *extra,
    ]


def test_predict_streams_chunks_same_rows_and_one_truncation_warning(
    checkpoint, tmp_path, capsys, monkeypatch, recwarn
):
    from jbert_tf2.cli import run_classifier

    monkeypatch.setattr(run_classifier, "CHUNK_EXAMPLES", 7)  # 20 examples: chunks 7, 7, 6
    init = _saved_classifier(checkpoint, tmp_path)
    examples = tf_.topic_examples(20, seed=5)
    texts = [e.text for e in examples]
    pairs = [e.text for e in reversed(examples)]
    for i in (4, 11, 12):  # longer than --max_seq_length=48 as a pair: truncated
        texts[i] = texts[i] * 3
    data = tmp_path / "data"
    data.mkdir()
    tf_.write_tsv(data / "test.tsv", ["text", "text_b"], list(zip(texts, pairs, strict=True)))
    out = tmp_path / "out"
    assert main(_predict_flags(data, out, init)) == 0
    err = capsys.readouterr().err
    assert not [w for w in recwarn if "truncated" in str(w.message)]  # no Python warning
    got = (out / "test_results.tsv").read_text().splitlines()
    # The rows of one predict_proba call on all examples (up to float32 rounding: chunks put
    # other examples in a batch, and the matrix kernels may round differently for them).
    model = SequenceClassifier.from_pretrained(init, max_seq_length=48)
    probs = model.predict_proba(texts, pairs, 4)
    assert [len(row.split("\t")) for row in got] == [3] * 20
    np.testing.assert_allclose(
        np.array([row.split("\t") for row in got], np.float32), probs, rtol=0, atol=1e-6
    )
    # One warning for the run, naming the count and the first truncated line (header: line 1).
    cut = [
        i
        for i, (a, b) in enumerate(zip(texts, pairs, strict=True))
        if model.tokenizer.encode(a, b, 48).truncated
    ]
    assert 3 <= len(cut) < 20
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert warnings == [
        f"jbert-run-classifier: warning: {len(cut)} of 20 test examples were longer than "
        f"--max_seq_length=48 tokens and were truncated (first: {data / 'test.tsv'} "
        f"line {cut[0] + 2})"
    ]
    assert "\r" not in err and "\x1b[" not in err  # stderr is no terminal: plain lines
    assert "20/20 test examples (100%" in err
    assert sorted(p.name for p in out.iterdir()) == [".jbert-outputs.json", "test_results.tsv"]


def test_bad_test_row_fails_before_predicting_and_keeps_the_earlier_result(
    checkpoint, tmp_path, capsys
):
    init = _saved_classifier(checkpoint, tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    lines = ["text", *(e.text for e in tf_.topic_examples(30, seed=6))]
    lines[26] += "\tsports"  # line 27: two columns
    (data / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "test_results.tsv").write_text("earlier\n")
    assert main([*_predict_flags(data, out, init), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "test.tsv line 27: 2 columns" in err and "Traceback" not in err
    assert (out / "test_results.tsv").read_text() == "earlier\n"
    assert sorted(p.name for p in out.iterdir()) == ["test_results.tsv"]


def test_long_text_flags_reach_the_model_and_its_task_json(checkpoint, tmp_path, capsys):
    import json

    from jbert_tf2.tasks import load_task

    data = _livedoor_dir(tmp_path, {"sports": "sports", "it": "it", "food": "food"})
    out = tmp_path / "out"
    windows = ["--long_text=windows", "--doc_stride=3", "--window_aggregation=max"]
    flags = _flags(checkpoint, data, out, "--do_train", "--do_predict", *windows, task="tsv")
    flags += ["--max_seq_length=12", "--num_train_epochs=0.2"]
    assert main(flags) == 0, capsys.readouterr().err
    options = json.loads((out / "model" / "task.json").read_text())["options"]
    assert (options["long_text"], options["doc_stride"], options["window_aggregation"]) == (
        "windows",
        3,
        "max",
    )
    assert "truncated" not in capsys.readouterr().err  # windows read every token
    model = load_task(out / "model")
    texts = [r.text for r in read_table(data / "test.tsv", label_column=None)]
    rows = np.loadtxt(out / "test_results.tsv", delimiter="\t")
    np.testing.assert_allclose(rows, model.predict_proba(texts), atol=1e-5)
    # Predicting again with another aggregation overrides the saved one.
    flags = _flags(checkpoint, data, out, "--do_predict", "--window_aggregation=mean", task="tsv")
    assert main([*flags, "--max_seq_length=12", "--overwrite"]) == 0
    model.window_aggregation = "mean"
    rows = np.loadtxt(out / "test_results.tsv", delimiter="\t")
    np.testing.assert_allclose(rows, model.predict_proba(texts), atol=1e-5)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--long_text=windows", "--doc_stride=0"], "--doc_stride=0: must be at least 1"),
        (["--long_text=windows", "--doc_stride=46"], "--doc_stride=46: must be in 1..45"),
        (["--window_aggregation=median"], "invalid choice: 'median'"),
        (["--long_text=slide"], "invalid choice: 'slide'"),
    ],
)
def test_bad_long_text_flags(checkpoint, tmp_path, capsys, flags, message):
    data = _livedoor_dir(tmp_path)
    argv = _flags(checkpoint, data, tmp_path / "out", "--do_train") + flags
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
