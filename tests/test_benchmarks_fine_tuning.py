"""benchmarks/fine_tuning.py: the data it builds and its scoring (fine_tuning_job.py), and a
``--quick`` run of every contender (each in its own process, as the real benchmark runs them)."""

import importlib
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "fine_tuning.py"
KATAKANA = re.compile("[\u30a1-\u30fa\u30fc]")


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.fine_tuning_job")


def one_token_per_character(text: str) -> tuple[list[tuple[int, int]], int]:
    """[CLS], one token per non-space character (its offsets), [SEP]."""
    spans = [(i, i + 1) for i, ch in enumerate(text) if not ch.isspace()]
    return [(0, 0), *spans, (0, 0)], len(spans) + 2


def test_bio_tags_mark_katakana_and_digit_runs(bench):
    text = "東京タワーは12月にテスト テスト"
    offsets, length = one_token_per_character(text)
    tags = [
        bench.TAGS[t] if t != bench.IGNORE else None for t in bench.bio_tags(text, offsets, length)
    ]
    assert tags == [
        None,  # [CLS]
        "O", "O",  # 東京
        "B-KATA", "I-KATA", "I-KATA",  # タワー
        "O",  # は
        "B-NUM", "I-NUM",  # 12
        "O", "O",  # 月に
        "B-KATA", "I-KATA", "I-KATA",  # テスト
        "B-KATA", "I-KATA", "I-KATA",  # テスト after a space: a new entity
        None,  # [SEP]
    ]  # fmt: skip


def test_data_is_deterministic_and_the_labels_follow_the_text(bench, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = bench.build_data(tmp_path / "a", 40, 12, seed=3)
    second = bench.build_data(tmp_path / "b", 40, 12, seed=3)
    assert first["jobs"] == second["jobs"]
    vocab = Path(first["vocab_file"]).read_text(encoding="utf-8").splitlines()
    assert len(vocab) == 32000
    families = list(bench.KEYWORD_FAMILIES)
    seq = first["jobs"]["seq"]
    assert seq["labels"] == families
    assert len(seq["train"]["ids"]) == 40 and len(seq["dev"]["ids"]) == 12
    for split in ("train", "dev"):
        for ids, label in zip(seq[split]["ids"], seq[split]["targets"], strict=True):
            assert vocab[ids[0]] == "[CLS]" and vocab[ids[-1]] == "[SEP]" and len(ids) <= 128
            text = "".join(vocab[i] for i in ids[1:-1])
            present = {
                family
                for family, words in bench.KEYWORD_FAMILIES.items()
                if any(word in text for word in words)
            }
            # the keyword can be cut off only by truncation at 128 tokens
            assert present == {families[label]} or (len(ids) == 128 and not present)
    token = first["jobs"]["token"]
    entities = 0
    for ids, tags in zip(token["train"]["ids"], token["train"]["targets"], strict=True):
        assert len(tags) == len(ids) and tags[0] == tags[-1] == bench.IGNORE
        names = [bench.TAGS[t] for t in tags[1:-1]]
        for previous, name, i in zip(["O", *names], names, ids[1:-1], strict=False):
            piece = vocab[i]
            if name == "O":
                continue
            kind = name[2:]
            assert KATAKANA.fullmatch(piece) if kind == "KATA" else piece.isdigit(), piece
            if name.startswith("I-"):
                assert previous[2:] == kind  # BIO: I-X only inside an X
            entities += name.startswith("B-")
    assert entities > 20  # the sentences have katakana words and numbers to find


def test_scores_are_accuracy_f1_and_cross_entropy(bench):
    job = {"dev": {"targets": [0, 2]}}
    logits = [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    scores = bench.score("seq", logits, job)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert scores["dev_metric"] == 0.5
    assert math.isclose(scores["dev_loss"], -np.mean(np.log([probs[0, 0], probs[1, 2]])))

    ignore, tags = bench.IGNORE, bench.TAGS
    b_kata, i_kata, b_num, o = (tags.index(t) for t in ("B-KATA", "I-KATA", "B-NUM", "O"))
    truth = [ignore, b_kata, i_kata, o, b_num, ignore]
    hot = np.full((6, len(tags)), -5.0)
    for row, tag in enumerate([o, b_kata, i_kata, o, o, o]):  # finds the KATA, misses the NUM
        hot[row, tag] = 5.0
    scores = bench.score("token", [hot.tolist()], {"dev": {"targets": [truth]}})
    assert math.isclose(scores["dev_metric"], 2 / 3)  # precision 1, recall 1/2
    assert scores["dev_loss"] > 0


# Peers from the `bench` extra; the README's test install (`.[test]`) has neither.
NEEDS = {"hf-trainer": "accelerate", "hf-trainer-compile": "accelerate", "kerashub": "keras_hub"}
ALL = (
    "jbert-fit",
    "jbert-trainer",
    "hf-trainer",
    "hf-trainer-compile",
    "hf-loop",
    "hf-loop-grouped",
    "hf-loop-compile",
    "kerashub",
)


@pytest.mark.slow
def test_quick_run_gives_every_contender_the_same_steps_and_finite_numbers(tmp_path):
    from importlib.util import find_spec

    installed = [c for c in ALL if c not in NEEDS or find_spec(NEEDS[c]) is not None]
    out, markdown = tmp_path / "r.json", tmp_path / "r.md"
    command = [sys.executable, str(SCRIPT), "--quick", "--only", ",".join(installed)]
    done = subprocess.run(
        [*command, "--out", str(out), "--markdown", str(markdown)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    report = markdown.read_text(encoding="utf-8")
    assert set(results["jobs"]) == {"tiny/seq", "tiny/token"}
    for key, job in results["jobs"].items():
        wanted = set(installed) - ({"kerashub"} if key.endswith("token") else set())
        assert set(job["rows"]) == wanted, key
        for name, row in job["rows"].items():
            assert "error" not in row, (key, name, row.get("error"))
            assert row["steps"] == job["steps"] == 6, (key, name)
            assert len(row["step_ends"]) == row["steps"]
            for field in (
                "train_seconds",
                "first_step_seconds",
                "steps_per_second",
                "median_step_ms",
                "peak_rss_mib",
                "dev_loss",
                "final_train_loss",
            ):
                assert math.isfinite(row[field]) and row[field] > 0, (key, name, field)
            assert 0 <= row["dev_metric"] <= 1, (key, name)
            assert row["first_step_seconds"] <= row["train_seconds"]
            assert row["real_tokens"] <= row["padded_tokens"]
            assert f"`{name}`" in report
