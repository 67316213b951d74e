"""The task examples run end to end on their bundled sample data, each in a fresh process (as a
user runs them), for one epoch on one tiny random model built once for all of them."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny model whose vocabulary covers every character of the examples and their data."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        import tiny_model
    finally:
        sys.path.remove(str(EXAMPLES))
    files = [*EXAMPLES.glob("*.py"), *(p for p in (EXAMPLES / "data").rglob("*") if p.is_file())]
    texts = [p.read_text(encoding="utf-8") for p in files]
    return tiny_model.ensure_model(tmp_path_factory.mktemp("examples"), texts)


def run_example(name: str, *args: str, timeout: int = 180) -> str:
    """Run ``examples/<name>.py`` with this checkout on the path; its stdout and stderr."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return result.stdout


def test_livedoor_classification(model_dir, tmp_path):
    out = run_example(
        "livedoor_classification",
        "--model_dir",
        str(model_dir),
        "--workdir",
        str(tmp_path),
        "--epochs",
        "1",
    )
    assert "63 articles in 9 categories" in out
    assert re.search(r"test accuracy: \d\.\d{3} \(9 articles\)", out)
    assert "load_task gives the same predictions: True" in out
    assert (tmp_path / "train" / "best" / "task.json").is_file()
    assert (tmp_path / "livedoor-classifier" / "task.json").is_file()


def test_sentence_pairs(model_dir, tmp_path):
    out = run_example(
        "sentence_pairs", "--model_dir", str(model_dir), "--workdir", str(tmp_path), "--epochs", "1"
    )
    assert "150 train / 40 dev pairs, labels: 含意, 非含意" in out
    assert re.search(r"dev accuracy: \d\.\d{3} \(40 pairs\)", out)
    assert len(re.findall(r"^  (含意|非含意) +\d\.\d{3}  ", out, re.M)) == 2


def test_multi_label(model_dir, tmp_path):
    out = run_example(
        "multi_label", "--model_dir", str(model_dir), "--workdir", str(tmp_path), "--epochs", "1"
    )
    assert "labels: 価格, 品質, 接客, 配送" in out
    assert re.search(r"threshold 0\.5  \d\.\d{3}  \d\.\d{3}", out)
    assert re.search(r"tuned on dev   \d\.\d{3}  \d\.\d{3}", out)
    assert re.search(r"thresholds: 価格 0\.\d\d, 品質 0\.\d\d, 接客 0\.\d\d, 配送 0\.\d\d", out)


def test_ner(model_dir, tmp_path):
    out = run_example(
        "ner", "--model_dir", str(model_dir), "--workdir", str(tmp_path), "--epochs", "1"
    )
    assert "entity types: DATE, FAC, GPE, ORG, PERSON, PRODUCT -> 25 BIOES labels" in out
    assert re.search(r"test entities: precision \d\.\d{3}  recall \d\.\d{3}  F1 \d\.\d{3}", out)
    assert "entities in 三代目 J SOUL BROTHERSが東京ドームで公演した。" in out


def test_sentence_vectors_builds_its_own_tiny_model(tmp_path):
    out = run_example("sentence_vectors", "--workdir", str(tmp_path))
    assert "building the tiny model: jbert-convert" in out
    for pooling in ("cls", "mean", "max"):
        assert re.search(rf"{pooling} +\(-1,\) +64 ", out)
        assert re.search(rf"{pooling} +\(-1, -2, -3, -4\) +256 ", out)
    assert "tiny random model" in out
    again = run_example("sentence_vectors", "--workdir", str(tmp_path))
    assert "building the tiny model" not in again  # reused
