"""benchmarks/long_documents.py: its long texts hide the label past the first window, its short
texts fit one, and a ``--quick`` run trains and scores every contender it names."""

import importlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.long_documents")


def test_long_texts_hide_the_keyword_past_the_first_window(bench, tmp_path):
    args = bench.parse_args(["--train", "20", "--test", "20"])
    tokenizer, data = bench.build(tmp_path, args)
    msl = args.max_seq_length
    keywords = {w: family for family, words in bench.KEYWORD_FAMILIES.items() for w in words}
    for name in ("long", "short"):
        for example in data[name]:
            found = [w for w in keywords if w in example.text]
            assert [keywords[w] for w in found] == [example.label]  # one keyword, its family
            tokens = tokenizer.tokenize_with_offsets(example.text)
            at = example.text.index(found[0])
            first = next(k for k, (_, s, _) in enumerate(tokens) if s >= at)
            if name == "long":
                assert 2 * msl <= len(tokens) <= 8 * msl + 8
                assert first >= msl - 2  # truncation keeps tokens 0 .. msl - 3 only
            else:
                assert len(tokens) <= msl - 2
    assert sorted({e.label for e in data["long"]}) == sorted(bench.KEYWORD_FAMILIES)


def test_quick_run_scores_each_contender(bench, tmp_path, capsys):
    out = tmp_path / "results.json"
    assert bench.main(["--quick", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert [r["contender"] for r in results] == ["truncate", "windows-mean"]
    for result in results:
        assert 0.0 <= result["long"] <= 1.0 and 0.0 <= result["short"] <= 1.0
    assert "| `windows-mean` |" in capsys.readouterr().out
