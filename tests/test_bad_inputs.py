"""The bad-input sweep: every command and loader, fed the mistakes users make, answers with one
message naming the file / line / variable and the fix, exit status 2, no traceback, and leaves
every file the user had exactly as it was.

Each case is a function that breaks a copy of a small, valid workspace (a tiny TF1 checkpoint,
its converted model directory, a fine-tuned classifier, livedoor-style TSVs, BIO files) and
returns the command line. The table of cases is kept in docs/errors.md; a test checks that the
two agree.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import task_fixtures as tf_

pytestmark = pytest.mark.slow

DOCS = Path(__file__).parent.parent / "docs" / "errors.md"
TF_LOG = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl)")


@dataclass(frozen=True)
class Case:
    name: str
    command: str
    needles: tuple[str, ...]
    build: Callable[[Path], list[str]]


CASES: list[Case] = []


def case(name: str, command: str, *needles: str):
    def register(build):
        CASES.append(Case(name, command, needles, build))
        return build

    return register


# --- the workspace ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    import jbert_tf2
    from jbert_tf2.tasks import SequenceClassifier

    root = tmp_path_factory.mktemp("workspace")
    tf_.make_model_dir(root)
    splits = (("train", 12, 1), ("dev", 6, 2), ("test", 4, 3))
    tf_.write_topic_splits(root / "livedoor", splits, tf_.LIVEDOOR_NAMES)
    ner = root / "ner"
    ner.mkdir()
    tok = jbert_tf2.load_tokenizer(root / "model")
    for split, n, seed in (("train", 8, 1), ("dev", 4, 2), ("test", 4, 3)):
        tf_.write_bio(ner / f"{split}.bio", tf_.tagged_sentences(tok, n, seed))
    (root / "input.txt").write_text("今日は野球の試合。\n東京で寿司を食べた。\n", encoding="utf-8")
    classifier = SequenceClassifier.from_pretrained(root / "model", labels=["a", "b"])
    classifier.save_pretrained(root / "classifier")
    return root


@pytest.fixture
def workspace(template, tmp_path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(template, ws)
    return ws


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _ckpt(ws: Path) -> list[str]:
    c = ws / "ckpt"
    return [
        f"--init_checkpoint={c / 'model.ckpt-10'}",
        f"--vocab_file={c / 'vocab.txt'}",
        f"--bert_config_file={c / 'bert_config.json'}",
        "--tokenizer=mecab-character",
        "--do_lower_case=false",
    ]


def _classifier(ws: Path, *extra: str, data: str = "livedoor") -> list[str]:
    return [
        "--task_name=livedoor",
        f"--data_dir={ws / data}",
        f"--output_dir={ws / 'out'}",
        *_ckpt(ws),
        "--max_seq_length=32",
        "--num_train_epochs=0.1",
        "--do_train",
        *extra,
    ]


def _extract(ws: Path, *extra: str, input_file: Path | None = None) -> list[str]:
    return [
        f"--input_file={input_file or ws / 'input.txt'}",
        f"--output_file={ws / 'features.jsonl'}",
        *_ckpt(ws),
        "--max_seq_length=32",
        "--layers=-1,-2",
        *extra,
    ]


def _ner(ws: Path, *extra: str) -> list[str]:
    return [
        f"--data_dir={ws / 'ner'}",
        f"--output_dir={ws / 'ner_out'}",
        *_ckpt(ws),
        "--max_seq_length=32",
        "--num_train_epochs=0.1",
        "--do_train",
        *extra,
    ]


def _convert(ws: Path, *extra: str) -> list[str]:
    return [str(ws / "ckpt" / "model.ckpt-10"), "-o", str(ws / "converted"), *extra]


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


def _data_file(ws: Path) -> Path:
    return next((ws / "ckpt").glob("model.ckpt-10.data-*"))


# --- jbert-convert ---------------------------------------------------------------------------


@case("convert-truncated-index", "convert", "model.ckpt-10.index", "copy it again")
def _(ws):
    _truncate(ws / "ckpt" / "model.ckpt-10.index")
    return _convert(ws)


@case("convert-truncated-data", "convert", "model.ckpt-10", "copy the checkpoint again")
def _(ws):
    _truncate(_data_file(ws), 0.3)
    return _convert(ws)


@case("convert-empty-checkpoint", "convert", "model.ckpt-10.index")
def _(ws):
    (ws / "ckpt" / "model.ckpt-10.index").write_bytes(b"")
    _data_file(ws).write_bytes(b"")
    return _convert(ws)


@case("convert-missing-data-file", "convert", "no model.ckpt-10.data-", "copy the data file")
def _(ws):
    _data_file(ws).unlink()
    return _convert(ws)


@case("convert-no-such-prefix", "convert", "model.ckpt-99", "model.ckpt-10")
def _(ws):
    return [str(ws / "ckpt" / "model.ckpt-99"), "-o", str(ws / "converted")]


@case("convert-wrong-family", "convert", "--family electra", "bert/")
def _(ws):
    return _convert(ws, "--family", "electra")


@case("convert-not-bert", "convert", "neither bert/ nor electra/", "resnet")
def _(ws):
    import numpy as np

    from jbert_tf2.checkpoint.tf1 import write_tf1_checkpoint

    other = ws / "resnet"
    other.mkdir()
    write_tf1_checkpoint({"resnet/conv1/kernel": np.zeros((3, 3), np.float32)}, other / "m.ckpt")
    return [str(other / "m.ckpt"), "-o", str(ws / "converted")]


@case("convert-config-mismatch", "convert", "bert_config.json", "hidden_size")
def _(ws):
    _edit_json(ws / "ckpt" / "bert_config.json", hidden_size=32, intermediate_size=64)
    return _convert(ws)


@case("convert-config-too-many-layers", "convert", "num_hidden_layers", "layer_0..1")
def _(ws):
    _edit_json(ws / "ckpt" / "bert_config.json", num_hidden_layers=3)
    return _convert(ws)


@case("convert-config-bad-value", "convert", "bert_config.json", "num_attention_heads")
def _(ws):
    _edit_json(ws / "ckpt" / "bert_config.json", num_attention_heads="two")
    return _convert(ws)


@case("convert-config-malformed-json", "convert", "bert_config.json", "line")
def _(ws):
    path = ws / "ckpt" / "bert_config.json"
    path.write_text(path.read_text().replace(",", ",\n").replace('"hidden_size"', "hidden_size"))
    return _convert(ws)


@case("convert-config-ini-bad", "convert", "config.ini", "hidden_size", "lots")
def _(ws):
    config = json.loads((ws / "ckpt" / "bert_config.json").read_text(encoding="utf-8"))
    config["hidden_size"] = "lots"
    body = "".join(f"{k} = {v}\n" for k, v in config.items())
    (ws / "config.ini").write_text(f"[BERT-CONFIG]\n{body}", encoding="utf-8")
    return _convert(ws, "--config", str(ws / "config.ini"))


@case("convert-missing-vocab", "convert", "nope.txt")
def _(ws):
    return _convert(ws, "--vocab", str(ws / "nope.txt"))


@case("convert-vocab-size-mismatch", "convert", "vocab.txt", "vocab_size")
def _(ws):
    vocab = ws / "ckpt" / "vocab.txt"
    extra = "".join(f"追加{i}\n" for i in range(10))
    vocab.write_text(vocab.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return _convert(ws)


@case(
    "convert-spm-vocab-mismatch", "convert", "wiki-ja.vocab", "wiki-ja.model", "different trainings"
)
def _(ws):
    from tf1_fixtures import write_sentencepiece

    model, _ = write_sentencepiece(ws / "spm", 100)
    other = ("ramen", "sushi", "udon", "soba", "tempura", "wasabi", "miso", "natto")
    _, other_vocab = write_sentencepiece(ws / "spm2", 100, words=other)
    return _convert(ws, "--spm-model", str(model), "--vocab", str(other_vocab))


@case("convert-output-exists", "convert", "converted", "--overwrite")
def _(ws):
    (ws / "converted").mkdir()
    (ws / "converted" / "notes.txt").write_text("mine")
    return _convert(ws)


@case("convert-output-unwritable", "convert", "a_file")
def _(ws):
    (ws / "a_file").write_text("mine")
    return [str(ws / "ckpt" / "model.ckpt-10"), "-o", str(ws / "a_file" / "out")]


@case("convert-bad-flag-value", "convert", "--to")
def _(ws):
    return _convert(ws, "--to", "onnx")


@case("convert-pickled-hf-weights", "convert", "pytorch_model.bin", "unsafe")
def _(ws):
    hf = ws / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    (hf / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    return [str(hf), "-o", str(ws / "converted")]


# --- loaders (Python API) --------------------------------------------------------------------


@case("load-truncated-weights", "load", "model.safetensors")
def _(ws):
    _truncate(ws / "model" / "model.safetensors", 0.6)
    return ["load", str(ws / "model")]


@case("load-safetensors-header-lies", "load", "model.safetensors")
def _(ws):
    path = ws / "model" / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(struct.pack("<Q", 10**12) + data[8:])
    return ["load", str(ws / "model")]


@case("load-not-a-model-dir", "load", "config.json")
def _(ws):
    return ["load", str(ws / "livedoor")]


@case("load-config-mismatch", "load", "config.json", "hidden_size")
def _(ws):
    _edit_json(ws / "model" / "config.json", hidden_size=32, intermediate_size=64)
    return ["load", str(ws / "model")]


@case("load-tokenizer-path-escapes", "load_tokenizer", "tokenizer.json", "vocab_file")
def _(ws):
    (ws / "secret.txt").write_text("[PAD]\n[UNK]\n", encoding="utf-8")
    _edit_json(ws / "model" / "tokenizer.json", vocab_file="../secret.txt")
    return ["load_tokenizer", str(ws / "model")]


@case("load-tokenizer-absolute-path", "load_tokenizer", "tokenizer.json", "vocab_file")
def _(ws):
    _edit_json(ws / "model" / "tokenizer.json", vocab_file=str(ws / "ckpt" / "vocab.txt"))
    return ["load_tokenizer", str(ws / "model")]


@case("load-tokenizer-unknown", "load_tokenizer", "tokenizer.json", "bpe")
def _(ws):
    _edit_json(ws / "model" / "tokenizer.json", tokenizer="bpe")
    return ["load_tokenizer", str(ws / "model")]


@case("load-task-bad-task-json", "load_task", "task.json")
def _(ws):
    (ws / "classifier" / "task.json").write_text("{not json", encoding="utf-8")
    return ["load_task", str(ws / "classifier")]


@case("load-task-unknown-task", "load_task", "task.json", "unknown task")
def _(ws):
    _edit_json(ws / "classifier" / "task.json", task="Summarizer")
    return ["load_task", str(ws / "classifier")]


# --- jbert-run-classifier --------------------------------------------------------------------


@case("classifier-unknown-task", "run_classifier", "--task_name", "nope")
def _(ws):
    return [*_classifier(ws), "--task_name=nope"]


@case("classifier-bad-bool", "run_classifier", "--do_train=maybe", "true or false")
def _(ws):
    return [*_classifier(ws), "--do_train=maybe"]


@case("classifier-bad-number", "run_classifier", "--learning_rate=fast", "number")
def _(ws):
    return [*_classifier(ws), "--learning_rate=fast"]


@case("classifier-max-seq-too-long", "run_classifier", "max_seq_length=512", "64")
def _(ws):
    return [*_classifier(ws), "--max_seq_length=512"]


@case("classifier-unknown-label", "run_classifier", "train.tsv", "line 4", "not-a-category")
def _(ws):
    path = ws / "livedoor" / "train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = "なにかの記事\tnot-a-category"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return _classifier(ws)


@case("classifier-missing-label", "run_classifier", "train.tsv", "line 3")
def _(ws):
    path = ws / "livedoor" / "train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].split("\t")[0]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return _classifier(ws)


@case("classifier-missing-file", "run_classifier", "train.tsv")
def _(ws):
    (ws / "livedoor" / "train.tsv").unlink()
    return _classifier(ws)


@case("classifier-non-utf8", "run_classifier", "train.tsv", "line 2", "UTF-8")
def _(ws):
    path = ws / "livedoor" / "train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    data = "\n".join(lines).encode("utf-8").split(b"\n")
    data[1] = lines[1].encode("shift_jis", errors="replace")
    path.write_bytes(b"\n".join(data) + b"\n")
    return _classifier(ws)


@case("classifier-empty-file", "run_classifier", "train.tsv", "empty")
def _(ws):
    (ws / "livedoor" / "train.tsv").write_bytes(b"")
    return _classifier(ws)


@case("classifier-ragged-row", "run_classifier", "train.tsv", "line 5")
def _(ws):
    path = ws / "livedoor" / "train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4] + "\textra\tcolumns"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return _classifier(ws)


@case("classifier-enormous-field", "run_classifier", "train.tsv", "line 3", "16,777,216")
def _(ws):
    path = ws / "livedoor" / "train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = "長" * (17 * 1024 * 1024) + "\tsports-watch"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return _classifier(ws)


def test_long_articles_are_read_whole(tmp_path):
    from jbert_tf2.data import read_table

    text = "長い記事。" * 60_000  # 300,000 characters, over csv's default field limit
    tf_.write_tsv(tmp_path / "train.tsv", ["text", "label"], [[text, "a"], ["短い", "b"]])
    examples = read_table(tmp_path / "train.tsv")
    assert [e.text for e in examples] == [text, "短い"]


@case("classifier-missing-checkpoint", "run_classifier", "model.ckpt-99")
def _(ws):
    return [*_classifier(ws), f"--init_checkpoint={ws / 'ckpt' / 'model.ckpt-99'}"]


@case("classifier-missing-vocab", "run_classifier", "vocab-missing.txt")
def _(ws):
    return [*_classifier(ws), f"--vocab_file={ws / 'vocab-missing.txt'}"]


@case("classifier-config-mismatch", "run_classifier", "bert_config.json", "hidden_size")
def _(ws):
    _edit_json(ws / "ckpt" / "bert_config.json", hidden_size=32, intermediate_size=64)
    return _classifier(ws)


@case("classifier-output-is-a-file", "run_classifier", "--output_dir", "out")
def _(ws):
    (ws / "out").write_text("my notes")
    return _classifier(ws)


@case("classifier-no-action", "run_classifier", "at least one of")
def _(ws):
    return [*_classifier(ws), "--nodo_train"]


# --- jbert-extract-features ------------------------------------------------------------------


@case("extract-missing-input", "extract_features", "missing.txt")
def _(ws):
    return _extract(ws, input_file=ws / "missing.txt")


@case("extract-non-utf8", "extract_features", "input.txt", "line 2")
def _(ws):
    (ws / "input.txt").write_bytes("一行目\n".encode() + "二行目\n".encode("cp932"))
    return _extract(ws)


@case("extract-binary-input", "extract_features", "model.ckpt-10.data")
def _(ws):
    return _extract(ws, input_file=_data_file(ws))


@case("extract-bad-layers", "extract_features", "--layers", "-5")
def _(ws):
    return _extract(ws, "--layers=-1,-5")


@case("extract-output-dir-missing", "extract_features", "--output_file", "does not exist")
def _(ws):
    return [*_extract(ws), f"--output_file={ws / 'nowhere' / 'f.jsonl'}"]


@case("extract-output-is-user-dir", "extract_features", "features.jsonl")
def _(ws):
    (ws / "features.jsonl").mkdir()
    (ws / "features.jsonl" / "mine.txt").write_text("keep me")
    return _extract(ws)


# --- jbert-run-ner ---------------------------------------------------------------------------


@case("ner-malformed-bio", "run_ner", "train.bio", "line")
def _(ws):
    path = ws / "ner" / "train.bio"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = "単語だけでタグがない行\tB-PSN\textra\tcolumns"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return _ner(ws)


@case("ner-invalid-tag", "run_ner", "train.bio", "X-PSN")
def _(ws):
    path = ws / "ner" / "train.bio"
    text = path.read_text(encoding="utf-8").replace("B-PSN", "X-PSN", 1)
    path.write_text(text, encoding="utf-8")
    return _ner(ws)


@case("ner-unknown-dev-type", "run_ner", "dev.bio", "EVENT", "LOC, ORG, PSN")
def _(ws):
    path = ws / "ner" / "dev.bio"
    lines = path.read_text(encoding="utf-8").splitlines()
    i = next(i for i, line in enumerate(lines) if line.endswith("\tO"))
    lines[i] = lines[i][:-1] + "B-EVENT"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [*_ner(ws), "--do_eval", "--train_batch_size=4", "--num_train_epochs=1"]


@case("ner-jsonl-malformed", "run_ner", "train.jsonl", "line 2")
def _(ws):
    for bio in (ws / "ner").glob("*.bio"):
        bio.unlink()
    good = {"text": "東京へ行った。", "entities": [{"start": 0, "end": 2, "label": "LOC"}]}
    rows = [json.dumps(good, ensure_ascii=False), '{"text": "壊れた']
    (ws / "ner" / "train.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return _ner(ws)


@case("ner-jsonl-span-outside-text", "run_ner", "train.jsonl", "line 1", "40")
def _(ws):
    for bio in (ws / "ner").glob("*.bio"):
        bio.unlink()
    row = {"text": "東京へ行った。", "entities": [{"start": 0, "end": 40, "label": "LOC"}]}
    (ws / "ner" / "train.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return _ner(ws)


@case("ner-no-data", "run_ner", "ner_empty")
def _(ws):
    (ws / "ner_empty").mkdir()
    return [*_ner(ws), f"--data_dir={ws / 'ner_empty'}"]


@case("ner-bad-scheme", "run_ner", "--tagging_scheme")
def _(ws):
    return [*_ner(ws), "--tagging_scheme=BILUO"]


# --- the other commands ----------------------------------------------------------------------


@case("finetuning-bad-hparams", "run_finetuning", "--hparams")
def _(ws):
    return ["--data-dir", str(ws), "--model-name", "model", "--hparams", "{task_names: mrpc"]


@case("finetuning-unknown-task", "run_finetuning", "squad9")
def _(ws):
    hparams = {"task_names": ["squad9"], "init_checkpoint": str(ws / "model")}
    return ["--data-dir", str(ws), "--model-name", "model", "--hparams", json.dumps(hparams)]


@case("export-not-a-task", "export", "task.json")
def _(ws):
    return [str(ws / "model"), "-o", str(ws / "serving")]


@case("export-version-exists", "export", "serving", "1")
def _(ws):
    (ws / "serving" / "classifier" / "1").mkdir(parents=True)
    (ws / "serving" / "classifier" / "1" / "saved_model.pb").write_bytes(b"mine")
    return [str(ws / "classifier"), "-o", str(ws / "serving"), "--name=classifier", "--version=1"]


@case("tune-bad-space", "tune", "learning_rat", "tunable")
def _(ws):
    return [
        f"--data_dir={ws / 'livedoor'}",
        "--task_name=livedoor",
        f"--output_dir={ws / 'tune'}",
        f"--init_checkpoint={ws / 'model'}",
        "--space",
        '{"learning_rat": [1e-5]}',
    ]


@case("pretraining-data-missing-input", "create_pretraining_data", "corpus.txt")
def _(ws):
    return [
        f"--input_file={ws / 'corpus.txt'}",
        f"--output_file={ws / 'records.tfrecord'}",
        f"--vocab_file={ws / 'ckpt' / 'vocab.txt'}",
        "--tokenizer=character",
    ]


@case("pretrain-no-records", "pretrain", "--input_file", "nothing*.tfrecord")
def _(ws):
    return [
        f"--input_file={ws / 'nothing*.tfrecord'}",
        f"--output_dir={ws / 'pretrain'}",
        f"--bert_config_file={ws / 'ckpt' / 'bert_config.json'}",
        "--do_train",
        "--num_train_steps=1",
    ]


@case("pretrain-not-tfrecords", "pretrain", "input.txt", "TFRecord")
def _(ws):
    return [
        f"--input_file={ws / 'input.txt'}",
        f"--output_dir={ws / 'pretrain'}",
        f"--bert_config_file={ws / 'ckpt' / 'bert_config.json'}",
        f"--vocab_file={ws / 'ckpt' / 'vocab.txt'}",
        "--do_train",
        "--num_train_steps=1",
        "--max_seq_length=32",
        "--train_batch_size=2",
    ]


@case("pretrain-records-other-length", "pretrain", "records.tfrecord", "--max_seq_length=64")
def _(ws):
    from jbert_tf2.cli.create_pretraining_data import main as create_data

    records = ws / "records.tfrecord"
    corpus = ws / "corpus.txt"
    corpus.write_text("今日は野球の試合。\n東京で寿司を食べた。\n\n昨日は雨。\n京都へ行った。\n")
    flags = [f"--input_file={corpus}", f"--output_file={records}", "--max_seq_length=32"]
    flags += [f"--vocab_file={ws / 'ckpt' / 'vocab.txt'}", "--tokenizer=character"]
    assert create_data([*flags, "--noprogress", "--max_predictions_per_seq=5"]) == 0
    return [
        f"--input_file={records}",
        f"--output_dir={ws / 'pretrain'}",
        f"--bert_config_file={ws / 'ckpt' / 'bert_config.json'}",
        "--do_train",
        "--num_train_steps=1",
        "--max_seq_length=64",
        "--max_predictions_per_seq=5",
    ]


# --- the runner ------------------------------------------------------------------------------


PROGS = {
    "convert": ("jbert_tf2.cli.convert", "jbert-convert"),
    "run_classifier": ("jbert_tf2.cli.run_classifier", "jbert-run-classifier"),
    "extract_features": ("jbert_tf2.cli.extract_features", "jbert-extract-features"),
    "run_ner": ("jbert_tf2.cli.run_ner", "jbert-run-ner"),
    "run_finetuning": ("jbert_tf2.cli.run_finetuning", "jbert-run-finetuning"),
    "export": ("jbert_tf2.cli.export", "jbert-export"),
    "tune": ("jbert_tf2.cli.tune", "jbert-tune"),
    "pretrain": ("jbert_tf2.cli.run_pretraining", "jbert-pretrain"),
    "create_pretraining_data": (
        "jbert_tf2.cli.create_pretraining_data",
        "jbert-create-pretraining-data",
    ),
}


def _run_loader(argv: list[str]) -> str:
    import jbert_tf2
    from jbert_tf2.errors import JbertError

    what, path = argv
    with pytest.raises(JbertError) as error:
        getattr(jbert_tf2, what)(path)
    return f"{what}: error: {error.value}"


def _run_command(command: str, argv: list[str], capsys) -> str:
    import importlib

    module, prog = PROGS[command]
    main = importlib.import_module(module).main
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2, err
    errors = [line for line in err.splitlines() if line.startswith(f"{prog}: error: ")]
    assert len(errors) == 1, err
    return err


@pytest.mark.parametrize("bad", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_one_clear_message(bad: Case, workspace, capsys):
    argv = bad.build(workspace)
    before = _snapshot(workspace)
    if bad.command.startswith("load"):
        message = _run_loader(argv)
    else:
        message = _run_command(bad.command, argv, capsys)
    assert "Traceback" not in message
    for needle in bad.needles:
        assert needle in message, message
    after = _snapshot(workspace)
    changed = sorted(k for k in before if after.get(k) != before[k])
    assert not changed, f"user files modified or removed: {changed}"


@pytest.mark.parametrize(
    "name", ["convert-truncated-data", "classifier-non-utf8", "pretrain-not-tfrecords"]
)
def test_as_a_process_the_message_is_all_there_is(name, workspace):
    """Run as users do (a fresh process): stderr holds the one message, no traceback."""
    import subprocess
    import sys

    bad = next(c for c in CASES if c.name == name)
    argv = bad.build(workspace)
    before = _snapshot(workspace)
    module, prog = PROGS[bad.command]
    code = f"import sys; from {module} import main; sys.exit(main())"
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    # TensorFlow's own C++ log lines (I0000 ..., E0000 ... cuInit) are not ours to count
    ours = [line for line in done.stderr.splitlines() if not TF_LOG.match(line)]
    errors = [line for line in ours if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith(f"{prog}: error: "), done.stderr
    assert all(needle in done.stderr for needle in bad.needles)
    assert _snapshot(workspace) == before


def test_every_case_is_in_the_table_in_docs():
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", DOCS.read_text(encoding="utf-8"), re.M))
    names = {c.name for c in CASES}
    assert len(names) == len(CASES) >= 40
    assert names - documented == set(), "cases missing from docs/errors.md"
    assert documented - names == set(), "docs/errors.md lists cases that are not tested"
