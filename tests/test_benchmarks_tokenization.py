"""benchmarks/tokenization_in_graph.py --quick: every configuration gets its Python and
core-ops throughput and the core twin's share of a request, in seconds."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "tokenization_in_graph.py"


def test_quick_run_reports_every_configuration(tmp_path):
    output = tmp_path / "report.md"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in output.read_text().splitlines() if line.startswith("| ")][1:]
    names = [row.split(" | ")[0][2:] for row in rows]
    assert names == [
        "basic + WordPiece",
        "MeCab (unidic-lite) + WordPiece",
        "MeCab (unidic-lite) + character",
        "SentencePiece",
    ]
    for row in rows:
        cells = [c.strip() for c in row.strip("| ").split(" | ")]
        python_and_core = cells[1:5]
        assert all(
            re.fullmatch(r"[\d,]+", c) and int(c.replace(",", "")) > 0 for c in python_and_core
        ), row
        core_share, python_share = cells[7:9]
        for share in (core_share, python_share):
            assert re.fullmatch(r"\d+\.\d% \(\d+\.\d\d ms\)", share), row
            assert 0 < float(share.split("%")[0]) < 100
    tf_text = {name: row.split(" | ")[5] for name, row in zip(names, rows, strict=True)}
    assert tf_text["MeCab (unidic-lite) + WordPiece"] == "none"  # no tensorflow-text MeCab
