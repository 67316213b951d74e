"""Pretraining data: Google BERT's and ELECTRA's records from a small Japanese corpus, read back
and checked for layout, masking statistics and reproducibility; ELECTRA's training-time masking;
the command's errors."""

import json
import random
import unicodedata

import numpy as np
import pytest
import tensorflow as tf
from tokenizer_fixtures import corpus

from jbert_tf2.cli.create_pretraining_data import main
from jbert_tf2.errors import DataError
from jbert_tf2.model_dir import load_tokenizer
from jbert_tf2.pretraining import (
    bert_dataset,
    create_bert_examples,
    electra_dataset,
    iter_documents,
    mask_for_mlm,
    parse_bert_tfrecord,
    read_documents,
    write_bert_tfrecords,
)
from jbert_tf2.pretraining.bert_data import create_masked_lm_predictions, word_pieces
from jbert_tf2.tokenization import BertTokenizer
from jbert_tf2.tokenization.mecab import MecabWordSplitter

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_LEN, MAX_PRED = 64, 20
BERT_FEATURES = {
    "input_ids": (tf.int32, MAX_LEN),
    "input_mask": (tf.int32, MAX_LEN),
    "segment_ids": (tf.int32, MAX_LEN),
    "masked_lm_positions": (tf.int32, MAX_PRED),
    "masked_lm_ids": (tf.int32, MAX_PRED),
    "masked_lm_weights": (tf.float32, MAX_PRED),
    "next_sentence_labels": (tf.int32, 1),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A corpus of documents of 3-8 natural Japanese sentences; a model directory's tokenizer
    (MeCab + characters over the corpus's characters) and a WordPiece vocabulary of the same
    characters with ``##`` pieces (MeCab + WordPiece: a word is a character and ``##`` pieces)."""
    root = tmp_path_factory.mktemp("pretraining")
    texts = list(corpus()[:156])
    rng, lines, i = random.Random(0), [], 0
    while i < len(texts):
        size = rng.randint(3, 8)
        lines += texts[i : i + size] + [""]
        i += size
    (root / "corpus.txt").write_text("\n".join(lines), encoding="utf-8")
    chars = sorted({c for t in texts for c in unicodedata.normalize("NFKC", t) if not c.isspace()})
    model = root / "model"
    model.mkdir()
    (model / "vocab.txt").write_text("\n".join(SPECIALS + chars) + "\n", encoding="utf-8")
    settings = {"tokenizer": "mecab-character", "do_lower_case": False, "vocab_file": "vocab.txt"}
    (model / "tokenizer.json").write_text(json.dumps({**settings, "mecab_dic": "unidic_lite"}))
    pieces = SPECIALS + chars + ["##" + c for c in chars]
    (root / "wordpiece.txt").write_text("\n".join(pieces) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def tokenizer(files):
    return load_tokenizer(files / "model")


@pytest.fixture(scope="module")
def documents(files):
    return read_documents([files / "corpus.txt"])


def as_numpy(batches) -> dict:
    batches = list(batches)
    return {k: np.concatenate([b[k].numpy() for b in batches]) for k in batches[0]}


@pytest.fixture(scope="module")
def bert(files, tokenizer, documents):
    """BERT records in two shards, parsed back as numpy arrays."""
    instances = create_bert_examples(documents, tokenizer, MAX_LEN, dupe_factor=10, rng=1)
    shards = [str(files / "bert-0.tfrecord"), str(files / "bert-1.tfrecord")]
    written = write_bert_tfrecords(instances, shards, tokenizer, MAX_LEN, MAX_PRED)
    counts = [sum(1 for _ in tf.data.TFRecordDataset(s)) for s in shards]
    assert written == len(instances) == sum(counts) > 500
    assert counts[0] - counts[1] in (0, 1)  # round-robin
    batches = list(bert_dataset(shards, MAX_LEN, MAX_PRED, batch_size=256))
    for name, (dtype, width) in BERT_FEATURES.items():
        assert all(b[name].dtype == dtype and b[name].shape[1] == width for b in batches), name
    return {"shards": shards, **as_numpy(batches)}


def restored(parsed) -> np.ndarray:
    """input_ids with the original ids put back at the masked positions."""
    ids = parsed["input_ids"].copy()
    for row in range(len(ids)):
        real = parsed["masked_lm_weights"][row] > 0
        ids[row, parsed["masked_lm_positions"][row][real]] = parsed["masked_lm_ids"][row][real]
    return ids


def test_records_have_googles_features_and_lengths(bert):
    assert set(bert) - {"shards"} == set(BERT_FEATURES)
    record = next(iter(tf.data.TFRecordDataset(bert["shards"][0])))
    single = parse_bert_tfrecord(record, MAX_LEN, MAX_PRED)
    assert {k: (v.dtype, v.shape[0]) for k, v in single.items()} == BERT_FEATURES


def test_cls_a_sep_b_sep_layout_from_the_corpus(bert, tokenizer, documents):
    """[CLS] A [SEP] B [SEP] then zero padding; segments 0 then 1; A and B (with the masked
    tokens put back) are runs of one document's tokens, the same document for IsNext."""
    cls, sep = tokenizer.vocab["[CLS]"], tokenizer.vocab["[SEP]"]
    streams = [
        "\x1f" + "\x1f".join(t for s in d for t in tokenizer.tokenize(s)) + "\x1f"
        for d in documents
    ]

    def found_in(ids) -> set[int]:
        run = "\x1f" + "\x1f".join(tokenizer.convert_ids_to_tokens(ids)) + "\x1f"
        return {k for k, stream in enumerate(streams) if run in stream}

    for row, mask, segments, label in zip(
        restored(bert),
        bert["input_mask"],
        bert["segment_ids"],
        bert["next_sentence_labels"][:, 0],
        strict=True,
    ):
        n = int(mask.sum())
        assert (mask[:n] == 1).all() and not mask[n:].any()
        assert not row[n:].any() and not segments[n:].any()
        seps = np.flatnonzero(row[:n] == sep)
        assert row[0] == cls and len(seps) == 2 and seps[1] == n - 1 and 1 < seps[0] < n - 2
        assert not segments[: seps[0] + 1].any() and segments[seps[0] + 1 : n].all()
        in_a, in_b = found_in(row[1 : seps[0]]), found_in(row[seps[0] + 1 : n - 1])
        assert in_a and in_b
        if label == 0:
            assert in_a & in_b


def test_masking_is_googles_80_10_10_at_15_percent(bert, tokenizer):
    weights = bert["masked_lm_weights"]
    real = weights > 0
    lengths = bert["input_mask"].sum(1)
    expected = np.minimum(MAX_PRED, np.maximum(1, np.round(lengths * 0.15)))
    assert (real.sum(1) == expected).all()
    assert abs(real.sum() / lengths.sum() - 0.15) < 0.01
    assert (real == (np.arange(MAX_PRED) < real.sum(1)[:, None])).all()  # real ones first
    positions, ids = bert["masked_lm_positions"], bert["masked_lm_ids"]
    assert not positions[~real].any() and not ids[~real].any() and not weights[~real].any()
    assert ((positions > 0) & (positions < lengths[:, None] - 1))[real].all()
    assert all((np.diff(p[r]) > 0).all() for p, r in zip(positions, real, strict=True))
    originals = ids[real]
    assert not np.isin(originals, [tokenizer.vocab[t] for t in SPECIALS]).any()
    now = np.take_along_axis(bert["input_ids"], positions, 1)[real]
    masked = np.mean(now == tokenizer.vocab["[MASK]"])
    kept = np.mean(now == originals)
    assert len(originals) > 5000
    assert abs(masked - 0.8) < 0.03 and abs(kept - 0.1) < 0.025
    assert abs(1 - masked - kept - 0.1) < 0.025  # random vocabulary tokens


def test_next_sentence_labels_are_about_half_random(bert):
    random_next = bert["next_sentence_labels"][:, 0]
    assert set(np.unique(random_next)) == {0, 1}
    assert 0.4 < random_next.mean() < 0.65  # one-sentence chunks always take a random B


def pieces_of_words(tokens):
    """Index lists of the words in ``tokens``: a token and its ``##`` pieces (words that lost
    their first piece to truncation are left out)."""
    words = []
    for i, token in enumerate(tokens):
        if token.startswith("##"):
            if words and words[-1][-1] == i - 1:
                words[-1].append(i)
        elif token not in ("[CLS]", "[SEP]"):
            words.append([i])
    return [w for w in words if not tokens[w[0]].startswith("##")]


@pytest.mark.parametrize("whole_word", [True, False])
def test_whole_word_masking_masks_all_pieces_of_a_word(files, documents, whole_word):
    tok = BertTokenizer(files / "wordpiece.txt", word_tokenizer="mecab")
    instances = create_bert_examples(
        documents, tok, MAX_LEN, dupe_factor=2, do_whole_word_mask=whole_word, rng=2
    )
    partial = whole = 0
    for instance in instances:
        original = list(instance.tokens)
        for position, label in zip(
            instance.masked_lm_positions, instance.masked_lm_labels, strict=True
        ):
            original[position] = label
        masked = set(instance.masked_lm_positions)
        for word in pieces_of_words(original):
            hits = len(masked.intersection(word))
            partial += 0 < hits < len(word)
            whole += len(word) > 1 and hits == len(word)
    if whole_word:
        assert partial == 0 and whole > 100
    else:
        assert partial > 100


def test_character_tokens_group_into_mecab_words(tokenizer):
    text = "気象庁によると、関東地方では午後から雷を伴った激しい雨が降るおそれがある。"
    words: list[str] = []
    for token, begins in word_pieces(tokenizer, text):
        if begins:
            words.append("")
        words[-1] += token
    assert words == MecabWordSplitter(False, "unidic_lite").words(text)
    assert len(words) < len(text)


def test_a_word_is_masked_whole_or_not_at_all():
    rng = random.Random(3)
    vocab_words = SPECIALS + [f"v{i}" for i in range(50)]
    for _ in range(300):
        n = rng.randint(3, 60)
        tokens = ["[CLS]", *(f"t{i}" for i in range(n)), "[SEP]"]
        begins = [True, True, *(rng.random() < 0.4 for _ in range(n - 1)), True]
        word_of = np.cumsum(begins)
        _, positions, labels = create_masked_lm_predictions(
            tokens, 0.15, 20, vocab_words, rng, begins
        )
        assert labels == [tokens[p] for p in positions]
        assert len(positions) <= max(1, round(len(tokens) * 0.15))  # may skip long words
        for word in set(word_of[positions]):
            assert set(np.flatnonzero(word_of == word)) <= set(positions)


def test_same_seed_gives_the_same_bytes(tokenizer, documents, tmp_path):
    def written(seed: int, name: str) -> bytes:
        instances = create_bert_examples(documents, tokenizer, MAX_LEN, dupe_factor=2, rng=seed)
        write_bert_tfrecords(instances, [tmp_path / name], tokenizer, MAX_LEN, MAX_PRED)
        return (tmp_path / name).read_bytes()

    first = written(5, "a")
    assert written(5, "b") == first
    assert written(6, "c") != first


def test_documents_end_at_blank_lines_and_file_ends(tmp_path):
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_bytes("\ufeff一文目。\r\n二文目。\r\n  \r\n三文目。\n".encode())
    two.write_bytes("四文目。\n\n\n五文目。\n".encode())
    assert read_documents([one, two]) == [
        ["一文目。", "二文目。"],
        ["三文目。"],
        ["四文目。"],
        ["五文目。"],
    ]
    bad = tmp_path / "sjis.txt"
    bad.write_bytes("一行目\n".encode() + "二行目\n".encode("shift_jis"))
    with pytest.raises(DataError, match=r"sjis.txt, line 2: not UTF-8"):
        list(iter_documents([bad]))


def run_cli(argv) -> int:
    """The command's exit status, argparse's exits included."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code


def test_command_writes_bert_shards_reproducibly(files, tmp_path, capsys):
    def run(name: str) -> list[bytes]:
        outputs = [tmp_path / name / "a.tfrecord", tmp_path / name / "b.tfrecord"]
        argv = [
            "--input_file",
            files / "corpus*.txt",
            "--output_file",
            ",".join(map(str, outputs)),
            "--model_dir",
            files / "model",
            "--max_seq_length",
            MAX_LEN,
            "--dupe_factor",
            2,
            "--do_whole_word_mask",
        ]
        assert main([str(a) for a in argv]) == 0, capsys.readouterr().err
        return [p.read_bytes() for p in outputs]

    first = run("one")
    assert "instances to 2 file(s) from 29 documents" in capsys.readouterr().err
    assert run("two") == first
    parsed = as_numpy(bert_dataset(str(tmp_path / "one" / "*.tfrecord"), MAX_LEN, 20, 64))
    assert parsed["input_ids"].shape[1] == MAX_LEN and len(parsed["input_ids"]) > 100

    def shuffled(seed: int) -> np.ndarray:
        data = bert_dataset(str(tmp_path / "one" / "*"), MAX_LEN, 20, 64, True, True, seed, True)
        return np.concatenate([b["input_ids"].numpy() for b in data.take(5)])

    first = shuffled(3)
    assert first.shape == (320, MAX_LEN) and (shuffled(3) == first).all()
    assert (shuffled(4) != first).any()


def test_command_writes_electra_records_packed_near_max_seq_length(files, tokenizer, tmp_path):
    out = tmp_path / "electra.tfrecord"
    argv = [
        "--input_file",
        files / "corpus.txt",
        "--output_file",
        out,
        "--model_dir",
        files / "model",
        "--format",
        "electra",
        "--max_seq_length",
        MAX_LEN,
        "--noprogress",
    ]
    assert main([str(a) for a in argv]) == 0
    parsed = as_numpy(electra_dataset(str(out), MAX_LEN, batch_size=512))
    assert set(parsed) == {"input_ids", "input_mask", "segment_ids"}
    cls, sep = tokenizer.vocab["[CLS]"], tokenizer.vocab["[SEP]"]
    lengths = parsed["input_mask"].sum(1)
    for row, segments, n in zip(parsed["input_ids"], parsed["segment_ids"], lengths, strict=True):
        seps = np.flatnonzero(row[:n] == sep)
        assert row[0] == cls and row[n - 1] == sep and len(seps) in (1, 2)
        assert not segments[: seps[0] + 1].any() and segments[seps[0] + 1 : n].all()
        assert not row[n:].any() and not segments[n:].any()
    assert lengths.mean() > 0.8 * MAX_LEN and np.mean(lengths == MAX_LEN) > 0.6
    total = sum(
        len(tokenizer.tokenize(s)) for d in read_documents([files / "corpus.txt"]) for s in d
    )
    assert 0.75 * total < (lengths - 2).sum() <= total  # ELECTRA drops what overflows an example

    masked = as_numpy(electra_dataset(str(out), MAX_LEN, 512, vocab=tokenizer, seed=3))
    weights = masked["masked_lm_weights"]
    assert masked["masked_lm_positions"].shape == (len(lengths), 20)
    assert abs(weights.sum() / lengths.sum() - 0.15) < 0.01
    vocab_file = files / "model" / "vocab.txt"
    again = as_numpy(electra_dataset(str(out), MAX_LEN, 512, vocab=vocab_file, seed=3))
    assert all((again[k] == masked[k]).all() for k in masked)


def mlm_batch(rows: int = 400, length: int = 64):
    vocab = {token: i for i, token in enumerate(SPECIALS + [f"t{i}" for i in range(95)])}
    rng = np.random.default_rng(0)
    lengths = rng.integers(4, length + 1, rows)
    mask = (np.arange(length) < lengths[:, None]).astype(np.int32)
    ids = rng.integers(5, 100, (rows, length)).astype(np.int32)
    ids[:, 0] = vocab["[CLS]"]
    ids[np.arange(rows), lengths - 1] = vocab["[SEP]"]
    ids[np.arange(rows), lengths // 2] = vocab["[SEP]"]
    return ids * mask, mask, vocab


def test_mask_for_mlm_follows_electras_proportions():
    ids, mask, vocab = mlm_batch()
    out = {k: v.numpy() for k, v in mask_for_mlm(ids, mask, vocab, seed=7).items()}
    real = out["masked_lm_weights"] > 0
    positions = out["masked_lm_positions"]
    wanted = np.minimum(20, np.maximum(1, np.round(mask.sum(1) * 0.15)))
    assert (real.sum(1) == wanted).all()
    assert not positions[~real].any() and not out["masked_lm_ids"][~real].any()
    assert all(
        len(set(p[r])) == r.sum() for p, r in zip(positions, real, strict=True)
    )  # no repeats
    originals = np.take_along_axis(ids, positions, 1)
    assert (out["masked_lm_ids"] == np.where(real, originals, 0)).all()
    assert not np.isin(originals[real], [vocab["[CLS]"], vocab["[SEP]"], 0]).any()
    assert (positions[real] < np.broadcast_to(mask.sum(1)[:, None], real.shape)[real]).all()
    now = np.take_along_axis(out["input_ids"], positions, 1)[real]
    assert abs(np.mean(now == vocab["[MASK]"]) - 0.85) < 0.02
    assert np.mean((now == vocab["[MASK]"]) | (now == originals[real])) == 1.0
    untouched = np.ones_like(ids, bool)
    np.put_along_axis(untouched, positions, ~real, 1)
    assert (out["input_ids"][untouched] == ids[untouched]).all()
    same = mask_for_mlm(ids, mask, vocab, seed=7)["input_ids"].numpy()
    other = mask_for_mlm(ids, mask, vocab, seed=8)["input_ids"].numpy()
    assert (same == out["input_ids"]).all() and (other != out["input_ids"]).any()


def test_mask_for_mlm_with_berts_random_tokens_and_a_single_row():
    ids, mask, vocab = mlm_batch()
    out = mask_for_mlm(ids, mask, vocab, seed=1, mask_token_prob=0.8, random_token_prob=0.1)
    real = out["masked_lm_weights"].numpy() > 0
    now = np.take_along_axis(out["input_ids"].numpy(), out["masked_lm_positions"].numpy(), 1)
    originals = out["masked_lm_ids"].numpy()[real]
    now = now[real]
    kept = np.mean(now == originals)
    assert abs(np.mean(now == vocab["[MASK]"]) - 0.8) < 0.02 and 0.07 < kept < 0.14
    row = mask_for_mlm(ids[0], mask[0], vocab, seed=1)
    assert row["input_ids"].shape == (64,) and row["masked_lm_positions"].shape == (20,)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--input_file", "missing.txt"], "missing.txt: file not found"),
        (["--input_file", "nothing*.txt"], "nothing*.txt matches no file"),
        (["--masked_lm_prob", "1.5"], "--masked_lm_prob=1.5: must be between 0 and 1"),
        (["--max_seq_length", "3"], "--max_seq_length=3: must be at least 5"),
        (["--dupe_factor", "x"], "--dupe_factor=x: expected an integer"),
        (["--format", "electra", "--dupe_factor", "5"], "--dupe_factor: not used by --format"),
        (["--num_processes", "2"], "--num_processes=2: --format bert runs as one job"),
        (["--vocab_file", "vocab.txt"], "--vocab_file: --model_dir takes its tokenizer"),
    ],
)
def test_command_errors_name_the_problem_with_status_2(files, tmp_path, capsys, extra, message):
    argv = [
        "--input_file",
        files / "corpus.txt",
        "--output_file",
        tmp_path / "out.tfrecord",
        "--model_dir",
        files / "model",
        *extra,
    ]
    status = run_cli(argv)
    err = capsys.readouterr().err
    assert status == 2 and message in err, err
    assert "Traceback" not in err and not (tmp_path / "out.tfrecord").exists()


def test_command_needs_a_tokenizer_and_utf8_text(files, tmp_path, capsys):
    out = tmp_path / "out.tfrecord"
    status = run_cli(["--input_file", files / "corpus.txt", "--output_file", out])
    assert status == 2 and "no tokenizer: pass --vocab_file" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_bytes("一行目\n\n".encode() + "二行目\n".encode("shift_jis"))
    argv = [
        "--input_file",
        bad,
        "--output_file",
        out,
        "--vocab_file",
        files / "wordpiece.txt",
        "--tokenizer",
        "mecab-wordpiece",
    ]
    status = run_cli(argv)
    assert status == 2 and "bad.txt, line 3: not UTF-8" in capsys.readouterr().err


@pytest.mark.slow
def test_parallel_electra_jobs_split_inputs_and_outputs(files, tmp_path):
    """Job j of N reads inputs j, j+N, ... and writes outputs j, j+N, ...: job 0 writes what
    one process writes from its inputs (job 0 keeps --random_seed)."""
    blocks = (files / "corpus.txt").read_text(encoding="utf-8").split("\n\n")
    parts = []
    for k in range(4):
        parts.append(tmp_path / f"part{k}.txt")
        parts[-1].write_text("\n\n".join(blocks[k::4]), encoding="utf-8")
    flags = ["--model_dir", files / "model", "--format", "electra", "--noprogress"]
    outputs = [tmp_path / "parallel" / f"shard{k}" for k in range(4)]
    argv = ["--input_file", tmp_path / "part*.txt", "--output_file", ",".join(map(str, outputs))]
    assert run_cli([*argv, "--num_processes", 2, *flags]) == 0
    alone = [tmp_path / "alone0", tmp_path / "alone2"]
    argv = ["--input_file", f"{parts[0]},{parts[2]}", "--output_file", f"{alone[0]},{alone[1]}"]
    assert run_cli([*argv, *flags]) == 0
    assert [p.read_bytes() for p in alone] == [outputs[0].read_bytes(), outputs[2].read_bytes()]
    assert outputs[1].stat().st_size > 0 and outputs[3].stat().st_size > 0
