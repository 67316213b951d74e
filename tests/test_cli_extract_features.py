"""jbert-extract-features: Google's command line and JSON lines, values equal to the model's
hidden states, and the npy outputs."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import task_fixtures as tf_

import jbert_tf2
from jbert_tf2.cli import extract_features
from jbert_tf2.cli.extract_features import main
from jbert_tf2.cli.progress import Progress
from jbert_tf2.json_floats import format_rounded

LINES = [
    "今日は野球の試合について話した。",
    "三代目 J SOUL BROTHERSが東京でライブを開いた。 ||| 佐藤花子さんも見に行った。",
    "",
    "新しいアプリを更新した。" * 8,  # longer than --max_seq_length: truncated
]


@pytest.fixture(scope="module")
def checkpoint(tiny_model_root):
    return tiny_model_root


def _flags(root, input_file, output_file, *extra):
    ckpt = root / "ckpt"
    return [
        f"--input_file={input_file}",
        f"--output_file={output_file}",
        f"--vocab_file={ckpt / 'vocab.txt'}",
        f"--bert_config_file={ckpt / 'bert_config.json'}",
        f"--init_checkpoint={ckpt / 'model.ckpt-10'}",
        "--tokenizer=mecab-character",
        "--do_lower_case=False",
        "--layers=-1,-2",
        "--max_seq_length=40",
        "--batch_size=2",
        *extra,
    ]


def _reference(root, line):
    """Hidden states from the converted model, run eagerly with padding to 40."""
    tok = jbert_tf2.load_tokenizer(root / "model")
    model = jbert_tf2.load(root / "model", output_hidden_states=True)
    a, _, b = line.partition(" ||| ")
    enc = tok.encode(a, b or None, max_seq_length=40)
    inputs = {k: np.array([getattr(enc, k)]) for k in ("input_ids", "input_mask", "segment_ids")}
    states = model(inputs)["hidden_states"]
    n = enc.length
    return enc.tokens[:n], np.stack(
        [np.asarray(states[-1])[0, :n], np.asarray(states[-2])[0, :n]], 1
    )


def test_json_lines_in_googles_format_with_the_models_values(checkpoint, tmp_path):
    source = tmp_path / "input.txt"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    out = tmp_path / "features.jsonl"
    assert main(_flags(checkpoint, source, out, "--noprogress")) == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == len(LINES)
    for index, (raw, text) in enumerate(zip(lines, LINES, strict=True)):
        record = json.loads(raw)
        # Byte for byte what json.dumps writes for the same object (Google's writer).
        assert json.dumps(record).encode() == raw
        assert list(record) == ["linex_index", "features"] and record["linex_index"] == index
        tokens, expected = _reference(checkpoint, text)
        assert [f["token"] for f in record["features"]] == tokens
        for t, feature in enumerate(record["features"]):
            assert [layer["index"] for layer in feature["layers"]] == [-1, -2]
            got = np.array([layer["values"] for layer in feature["layers"]])
            np.testing.assert_allclose(got, expected[t], atol=2e-6)
    assert json.loads(lines[2])["features"][0]["token"] == "[CLS]"
    assert len(json.loads(lines[3])["features"]) == 40


def test_npy_token_vectors_offsets_and_sentence_vectors(checkpoint, tmp_path):
    source = tmp_path / "input.txt"
    source.write_text("\n".join(LINES[:2]) + "\n", encoding="utf-8")
    out = tmp_path / "features"
    assert main(_flags(checkpoint, source, out, "--format=npy", "--noprogress")) == 0
    vectors = np.load(out / "token_vectors.npy")
    offsets = np.load(out / "token_offsets.npy")
    starts = np.load(out / "line_starts.npy")
    tokens_0, expected_0 = _reference(checkpoint, LINES[0])
    np.testing.assert_allclose(vectors[starts[0] : starts[1]], expected_0, atol=1e-5)
    for (s, e), token in zip(offsets[1 : starts[1] - 1], tokens_0[1:-1], strict=True):
        assert LINES[0][s:e] == token
    # Running again replaces the earlier result; a directory holding anything else is refused.
    assert main(_flags(checkpoint, source, out, "--format=npy", "--noprogress")) == 0
    user_dir = tmp_path / "notes"
    user_dir.mkdir()
    (user_dir / "notes.txt").write_text("mine")
    assert main(_flags(checkpoint, source, user_dir, "--format=npy", "--noprogress")) == 2
    assert (user_dir / "notes.txt").read_text() == "mine"
    pooled = tmp_path / "pooled"
    assert (
        main(_flags(checkpoint, source, pooled, "--format=npy", "--pooling=mean", "--noprogress"))
        == 0
    )
    sentences = np.load(pooled / "sentence_vectors.npy")
    assert sentences.shape == (2, 2 * 64)
    np.testing.assert_allclose(sentences[0], expected_0.mean(0).reshape(-1), atol=1e-5)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--layers=-1,x"], "comma-separated integers"),
        (["--layers=-7"], "from -2 to 1"),
    ],
)
def test_bad_flags(checkpoint, tmp_path, capsys, extra, message):
    source = tmp_path / "input.txt"
    source.write_text("テスト\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text("earlier results\n")
    assert main(_flags(checkpoint, source, out, *extra, "--overwrite")) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert out.read_text() == "earlier results\n"


def test_not_utf8_input_names_the_line(checkpoint, tmp_path, capsys):
    source = tmp_path / "input.txt"
    source.write_bytes("一行目\n".encode() + "二行目\n".encode("cp932"))
    assert main(_flags(checkpoint, source, tmp_path / "o.jsonl")) == 2
    assert "line 2" in capsys.readouterr().err


def test_format_rounded_is_pythons_round_and_repr():
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [rng.standard_normal(20000) * scale for scale in (1e-6, 1e-5, 1e-3, 1, 30, 1e5)]
        + [np.array([0.0, -0.0, -1e-7, 5e-7, 0.0078125, 9.99995e-5, 1e-4, 12.5])]
    ).astype(np.float32)
    text, ends = format_rounded(values)
    assert "[" + text[:-2].decode() + "]" == json.dumps([round(float(v), 6) for v in values])
    assert ends[-1] == len(text)


def test_overlong_lines_one_warning_at_the_end_and_plain_progress(
    checkpoint, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(extract_features, "CHUNK_LINES", 3)  # 12 lines: four chunks
    lines = [LINES[0], LINES[3], "", LINES[3] + " ||| " + LINES[0], LINES[0], LINES[2]] * 2
    source = tmp_path / "input.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "pooled.jsonl"
    assert main(_flags(checkpoint, source, out, "--pooling=cls")) == 0
    err = capsys.readouterr().err
    assert len(out.read_text().splitlines()) == 12  # a row for every line, truncated or not
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert warnings == [
        "jbert-extract-features: warning: 4 of 12 lines were longer than --max_seq_length=40 "
        "tokens and were truncated (first: line 2)"
    ]
    # stderr is no terminal here: plain progress lines, no carriage returns or escape codes.
    assert "\r" not in err and "\x1b[" not in err
    assert "jbert-extract-features: 12/12 lines (100%" in err


def test_progress_in_place_on_a_terminal_plain_lines_elsewhere(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    progress = Progress("prog", 1000, "lines")
    progress.interval = 0
    for done in range(100, 1001, 100):
        progress.update(done)
    progress.finish()
    text = terminal.getvalue()
    assert text.startswith("\rprog: 100/1,000 lines (10%") and text.count("\r") == 10
    assert text.endswith("\n") and text.count("\n") == 1 and "\x1b[" not in text

    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    progress = Progress("prog", 1000, "lines")
    for done in range(1, 1001):
        progress.update(done)
    progress.finish()
    shown = log.getvalue().splitlines()
    assert len(shown) == 10 and "\r" not in log.getvalue()  # one line per tenth
    assert shown[0].startswith("prog: 100/1,000 lines (10%, ")
    assert shown[-1].startswith("prog: 1,000/1,000 lines (100%, ")


def _peak_rss_mib(argv):
    """Peak resident set size of one run of ``argv`` (its own ru_maxrss, via wait4)."""
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, err.decode()[-2000:]
    return usage.ru_maxrss / 1024


@pytest.mark.slow
def test_memory_does_not_grow_with_the_input(checkpoint, tmp_path):
    """Streaming: 12,000 lines peak within 80 MB of 2,000 lines (about 30 s). The growth
    measured is about 35 MB (programs compiled for shapes the short run did not meet); holding
    the hidden states of every line would add about 100 MB more."""
    texts = [e.text for e in tf_.topic_examples(12_000, seed=4)]
    for i in range(0, len(texts), 50):
        texts[i] *= 4  # some lines longer than --max_seq_length
    peaks = []
    for n in (2_000, 12_000):
        source = tmp_path / f"input-{n}.txt"
        source.write_text("\n".join(texts[:n]) + "\n", encoding="utf-8")
        flags = _flags(checkpoint, source, tmp_path / f"out-{n}.jsonl", "--pooling=mean")
        flags = [f.replace("--batch_size=2", "--batch_size=32") for f in flags]
        peaks.append(_peak_rss_mib([sys.executable, "-m", "jbert_tf2.extract_features", *flags]))
    assert peaks[1] - peaks[0] < 80, peaks


def test_windows_give_every_token_one_vector_with_its_offsets(checkpoint, tmp_path):
    from jbert_tf2.tasks import Embedder

    source = tmp_path / "input.txt"
    short, long_line = "野球の試合", "新しいアプリを更新した。" * 8
    source.write_text(f"{short}\n{long_line}\n", encoding="utf-8")
    out = tmp_path / "npy"
    windows = ["--long_text=windows", "--doc_stride=7", "--max_seq_length=16", "--format=npy"]
    assert main(_flags(checkpoint, source, out, *windows)) == 0
    vectors = np.load(out / "token_vectors.npy")
    offsets = np.load(out / "token_offsets.npy")
    starts = np.load(out / "line_starts.npy")
    tok = jbert_tf2.load_tokenizer(checkpoint / "model")
    embedder = Embedder.from_pretrained(
        checkpoint / "model",
        layers=(-1, -2),
        max_seq_length=16,
        long_text="windows",
        doc_stride=7,
    )
    expected = embedder.token_vectors([short, long_line])
    for line, (text, found) in enumerate(zip([short, long_line], expected, strict=True)):
        full = tok.encode(text, None, None, pad=False)
        rows = slice(starts[line], starts[line + 1])
        assert starts[line + 1] - starts[line] == full.length  # every token, none truncated
        assert [tuple(o) for o in offsets[rows]] == full.offsets
        np.testing.assert_allclose(vectors[rows].reshape(full.length, -1), found.vectors, atol=1e-4)
    # A line that fits equals the single pass.
    tokens, reference = _reference(checkpoint, short)
    n = len(tokens)
    np.testing.assert_allclose(vectors[:n], reference, atol=1e-5)


def test_bad_doc_stride_is_explained(checkpoint, tmp_path, capsys):
    source = tmp_path / "input.txt"
    source.write_text("今日は\n", encoding="utf-8")
    argv = _flags(
        checkpoint, source, tmp_path / "f.jsonl", "--long_text=windows", "--doc_stride=38"
    )
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--doc_stride=38: must be in 1..37" in err and "Traceback" not in err
