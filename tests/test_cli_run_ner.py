"""jbert-run-ner: BIO files in, a BIOES tagger trained, span scores and entity predictions out."""

import json

import pytest
import task_fixtures as tf_

import jbert_tf2
from jbert_tf2.cli.run_ner import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checkpoint(tiny_model_root):
    return tiny_model_root


def test_train_evaluate_predict(checkpoint, tmp_path, capsys):
    tok = jbert_tf2.load_tokenizer(checkpoint / "model")
    data = tmp_path / "data"
    data.mkdir()
    tf_.write_bio(data / "train.bio", tf_.tagged_sentences(tok, 300, seed=7))
    tf_.write_bio(data / "dev.bio", tf_.tagged_sentences(tok, 40, seed=8))
    test = tf_.tagged_sentences(tok, 20, seed=9)
    tf_.write_bio(data / "test.bio", test)
    ckpt = checkpoint / "ckpt"
    out = tmp_path / "out"
    argv = [
        f"--data_dir={data}",
        f"--output_dir={out}",
        f"--init_checkpoint={ckpt / 'model.ckpt-10'}",
        f"--vocab_file={ckpt / 'vocab.txt'}",
        "--tokenizer=mecab-character",
        "--do_lower_case=false",
        "--do_train",
        "--do_eval",
        "--do_predict",
        "--max_seq_length=64",
        "--train_batch_size=16",
        "--learning_rate=3e-4",
        "--num_train_epochs=8",
        "--tagging_scheme=bioes",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    results = dict(
        line.split(" = ") for line in (out / "eval_results.txt").read_text().splitlines()
    )
    assert float(results["eval_f1"]) >= 0.9
    assert {"eval_f1_ORG", "eval_f1_PSN", "eval_f1_LOC", "eval_loss", "global_step"} <= set(results)
    assert json.loads((out / "model" / "task.json").read_text())["options"]["scheme"] == "BIOES"
    predictions = [
        json.loads(line) for line in (out / "test_predictions.jsonl").read_text().splitlines()
    ]
    assert len(predictions) == len(test)
    for record, sentence in zip(predictions, test, strict=True):
        assert record["text"] == sentence.text
        for entity in record["entities"]:
            assert sentence.text[entity["start"] : entity["end"]] == entity["text"]
    assert any(
        e["text"] == "三代目 J SOUL BROTHERS" for r in predictions for e in r["entities"]
    ) or not any("三代目" in s.text for s in test)
    assert (out / "test_results.txt").is_file()


def test_malformed_bio_names_file_and_line(checkpoint, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.bio").write_text("東京\tB-LOC\n駅\tX-LOC\n\n", encoding="utf-8")
    argv = [
        f"--data_dir={data}",
        f"--output_dir={tmp_path / 'out'}",
        "--do_train",
        f"--init_checkpoint={checkpoint / 'model'}",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "train.bio" in err and "line 2" in err and "Traceback" not in err


def test_predict_streams_chunks_with_the_results_of_one_pass(
    checkpoint, tmp_path, capsys, monkeypatch
):
    from jbert_tf2.cli import run_ner
    from jbert_tf2.tasks import TokenClassifier, tagging

    monkeypatch.setattr(run_ner, "CHUNK_SENTENCES", 3)  # 10 sentences: chunks 3, 3, 3, 1
    tok = jbert_tf2.load_tokenizer(checkpoint / "model")
    test = tf_.tagged_sentences(tok, 10, seed=11)
    data = tmp_path / "data"
    data.mkdir()
    tf_.write_bio(data / "test.bio", test)  # BIO tags; the model predicts BIOES
    labels = tagging.labels_for(["LOC", "ORG", "PSN"], "BIOES")
    tagger = TokenClassifier.from_pretrained(
        checkpoint / "model", labels=labels, max_seq_length=24, scheme="BIOES"
    )
    init = tagger.save_pretrained(tmp_path / "tagger")  # random head: no training needed
    out = tmp_path / "out"
    argv = [
        f"--data_dir={data}",
        f"--output_dir={out}",
        f"--init_checkpoint={init}",
        "--do_predict",
        "--max_seq_length=24",  # long sentences are tagged in windows
        "--predict_batch_size=4",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "\r" not in err and "10/10 test sentences (100%" in err
    tagger = TokenClassifier.from_pretrained(init, max_seq_length=24)
    expected = run_ner.prediction_lines(tagger, test, tagger.predict_tags(test, 4))
    assert (out / "test_predictions.jsonl").read_text(encoding="utf-8") == "".join(expected)
    assert any(json.loads(line)["entities"] for line in expected)
    scores = tagger.evaluate_entities(test, 4)
    assert scores["support"] > 0
    results = dict(
        line.split(" = ") for line in (out / "test_results.txt").read_text().splitlines()
    )
    assert results == {f"test_{k}": str(v) for k, v in scores.items() if k != "per_type"}
    written = sorted(p.name for p in out.iterdir())
    assert written == [".jbert-outputs.json", "test_predictions.jsonl", "test_results.txt"]


def test_tagging_scheme_flag_takes_the_other_spellings_of_a_scheme():
    from jbert_tf2.cli.run_ner import build_parser

    parser = build_parser()
    for given, scheme in (("biluo", "BILOU"), ("IOB2", "BIO"), ("iobes", "BIOES"), ("io", "IO")):
        assert parser.parse_known_args([f"--tagging_scheme={given}"])[0].tagging_scheme == scheme
