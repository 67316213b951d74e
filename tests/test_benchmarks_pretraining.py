"""benchmarks/pretraining.py: its shared batch is a valid masked-LM batch, and a tiny run of
its contenders (jbert_tf2's Trainer and fit, the plain HF loops) trains both objectives with
finite speeds and first-step losses where random weights put them (ln(vocabulary), ln 2)."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "pretraining.py"
# One of each way to train; the XLA and torch.compile rows differ from these by one flag and
# take 10-30 s each to compile, so `--quick` (run by hand) covers them.
CONTENDERS = ("jbert-trainer", "jbert-fit", "hf-eager", "hf-gather")
TINY_VOCAB = 1000


def load_benchmark():
    spec = importlib.util.spec_from_file_location("pretraining_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("objective", ["bert", "electra"])
def test_batch_masks_real_word_tokens_only(objective):
    bench = load_benchmark()
    size, shape = bench.SIZES["full"][objective], bench.SHAPES["full"][objective]
    batch = bench.make_batch(objective, size, shape)
    rows, seq, max_predictions = shape
    assert batch["input_ids"].shape == (rows, seq)
    assert batch["masked_lm_positions"].shape == (rows, max_predictions)
    special = set(bench.SPECIAL.values())
    for row in range(rows):
        length = int(batch["input_mask"][row].sum())
        assert seq // 2 <= length <= seq
        assert (
            batch["input_mask"][row, :length].all() and not batch["input_mask"][row, length:].any()
        )
        assert not batch["input_ids"][row, length:].any()
        real = batch["masked_lm_weights"][row] > 0
        count = int(real.sum())
        assert count == min(max_predictions, max(1, round(0.15 * length)))
        assert real[:count].all()  # real predictions first, then padding
        positions = batch["masked_lm_positions"][row, :count]
        assert len(set(positions.tolist())) == count
        assert positions.min() >= 1 and positions.max() <= length - 2
        originals = batch["masked_lm_ids"][row, :count]
        assert not special & set(originals.tolist())  # [CLS] / [SEP] are never masked
        assert not batch["masked_lm_positions"][row, count:].any()
        assert not batch["masked_lm_ids"][row, count:].any()
        at_positions = batch["input_ids"][row, positions]
        assert (at_positions == bench.SPECIAL["mask"]).mean() >= 0.5
    again = bench.make_batch(objective, size, shape)
    assert all(np.array_equal(batch[key], again[key]) for key in batch)  # the same for everyone


LOSSES = {  # the MLM loss, the two-way loss, and the two-way loss's weight in the total
    "bert": ("mlm", "nsp", 1.0),
    "electra": ("generator", "discriminator", 50.0),
}


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["bert", "electra"])
def test_tiny_run_reports_finite_speeds_and_random_weight_losses(tmp_path, objective):
    report = tmp_path / "report.json"
    markdown = tmp_path / "report.md"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--tiny",
            "--threads=1",
            f"--objectives={objective}",
            f"--only={','.join(CONTENDERS)}",
            f"--json={report}",
            f"--output={markdown}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(report.read_text(encoding="utf-8"))
    assert set(results) == {objective, "header", "matmul_gflops"}
    assert results["matmul_gflops"] == {}  # --tiny skips the matmul calibration
    rows = results[objective]["results"]
    assert list(rows) == list(CONTENDERS)
    failed = {name: row for name, row in rows.items() if isinstance(row, str)}
    assert not failed, failed
    mlm, two_way, weight = LOSSES[objective]
    for name, row in rows.items():
        assert math.isfinite(row["steps_per_s"]) and row["steps_per_s"] > 0, name
        assert len(row["seconds"]) == 3, name
        losses = row["first_losses"]
        # Random weights predict nearly uniformly: MLM near ln(vocab), two-way near ln 2.
        assert abs(losses[mlm] - math.log(TINY_VOCAB)) < 0.3, (name, losses)
        assert abs(losses[two_way] - math.log(2)) < 0.1, (name, losses)
        expected = losses[mlm] + weight * losses[two_way]
        assert losses["total"] == pytest.approx(expected, rel=1e-4), (name, losses)
    jbert = rows["jbert-fit"]["first_losses"][mlm]
    assert abs(jbert - rows["hf-eager"]["first_losses"][mlm]) < 0.2
    # The two HF variants start from the same seeded weights: the same loss, two ways.
    assert rows["hf-gather"]["first_losses"][mlm] == pytest.approx(
        rows["hf-eager"]["first_losses"][mlm], rel=1e-5
    )
    text = markdown.read_text(encoding="utf-8")
    assert "## Pretraining steps/s" in text and "ratio vs best HF" in text
    assert "command: `python benchmarks/pretraining.py --tiny" in text


@pytest.mark.parametrize("library", ["tf", "torch"])
def test_matmul_calibration_reports_a_speed(library):
    bench = load_benchmark()
    measured = bench.matmul_gflops(library)
    assert math.isfinite(measured["gflops"]) and measured["gflops"] > 0
    line = bench.matmul_line({"matmul-tf": {"gflops": 150.0}, "matmul-torch": {"gflops": 60.0}})
    assert "TensorFlow 150 GFLOP/s, PyTorch 60 GFLOP/s (TensorFlow/PyTorch 2.50" in line
