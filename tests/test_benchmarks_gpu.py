"""benchmarks/gpu.py, the GPU benchmark of issue 21, checked on CPU: its FLOP count (against a
count of every matrix product written out here), a dry run in which every contender measures
every case with TensorFlow impossible to import (as on the GPU machine), the TensorFlow row
where TensorFlow is installed, and what happens to a worker that dies or a spent budget."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu.py"
EVERY_ROW = {
    ("jbert-jax", "train"),
    ("jbert-jax", "train-fill"),
    ("jbert-jax", "train-long"),
    ("jbert-jax", "forward"),
    ("hf-compile", "train"),
    ("hf-compile", "train-fill"),
    ("hf-compile", "train-long"),
    ("hf-compile", "forward"),
    ("jbert-tf", "train"),
    ("jbert-tf", "train-long"),
    ("jbert-tf", "forward"),
    ("hf-sdpa", "train"),
    ("hf-sdpa", "train-long"),
    ("hf-sdpa", "forward"),
    ("jbert-jax-fit", "train"),
}


def load_benchmark():
    spec = importlib.util.spec_from_file_location("gpu_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def run_benchmark(out: Path, *arguments: str, timeout: int = 600) -> dict:
    """Run the script (dry run on CPU) into `out`; its report.json."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--dry-run", "--out", str(out)]
        + ["--jax-cache", str(out / "jax-cache"), *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "report.json").read_text())


def rows_by_key(report: dict) -> dict:
    keys = [(r["contender"], r["case"]) for r in report["rows"]]
    assert len(keys) == len(set(keys)), f"a row twice: {keys}"
    return {(r["contender"], r["case"]): r for r in report["rows"]}


def matmul_flops(hidden: int, layers: int, intermediate: int, labels: int, b: int, s: int):
    """Every matrix product of a BERT classifier's forward pass, written out: 2 m n k each."""
    tokens = b * s
    per_layer = (
        3 * 2 * tokens * hidden * hidden  # query, key, value projections
        + 2 * b * s * s * hidden  # scores: per head s x s x head_size, heads x head_size = hidden
        + 2 * b * s * s * hidden  # context: probabilities x values
        + 2 * tokens * hidden * hidden  # attention output projection
        + 2 * tokens * hidden * intermediate  # feed-forward in
        + 2 * tokens * intermediate * hidden  # feed-forward out
    )
    pooler = 2 * b * hidden * hidden  # the [CLS] vector only
    classifier = 2 * b * hidden * labels
    return layers * per_layer + pooler + classifier


@pytest.mark.parametrize(("case", "batch", "seq"), [("train", 32, 128), ("forward", 16, 512)])
def test_flops_count_every_matrix_product(case, batch, seq):
    bench = load_benchmark()
    size = bench.SIZES["full"]
    forward = matmul_flops(size["hidden"], size["layers"], size["intermediate"], 2, batch, seq)
    expected = forward * (3 if case.startswith("train") else 1)  # backward: twice the forward
    assert bench.step_flops(size, case, batch, seq) == pytest.approx(expected, rel=1e-12)


def check_measured(row: dict, baseline: dict, peak: float) -> None:
    """A measured row's numbers: finite, positive, and consistent with each other."""
    assert row["status"] == "ok", row
    for key in ("first_step_s", "step_s", "min_step_s", "max_step_s", "tflops", "seq_per_s"):
        assert math.isfinite(row[key]) and row[key] > 0, (key, row)
    assert row["min_step_s"] <= row["step_s"] <= row["max_step_s"]
    assert row["seq_per_s"] == pytest.approx(row["batch"] / row["step_s"])
    assert row["fraction_of_peak"] == pytest.approx(row["tflops"] / peak)
    assert row["ratio_vs_hf_compile"] == pytest.approx(baseline["step_s"] / row["step_s"])


@pytest.mark.slow
def test_dry_run_measures_every_row_with_tensorflow_blocked(tmp_path):
    report = run_benchmark(tmp_path, "--without-tensorflow")
    rows = rows_by_key(report)
    assert set(rows) == EVERY_ROW
    peak = report["peak"]
    assert peak["n"] == 256 and "jax_error" not in peak and "torch_error" not in peak
    assert peak["tflops"] == max(peak["jax"], peak["torch"]) > 0
    for (name, case), row in rows.items():
        if name == "jbert-tf":
            assert row["status"] == "not run"
            assert "TensorFlow blocked" in row["detail"]
        else:
            check_measured(row, rows["hf-compile", case], peak["tflops"])
        if name in ("jbert-jax", "jbert-jax-fit", "hf-compile"):
            assert row["compiled_in_timed_steps"] == 0, row  # no retracing in the timed steps
        if name == "hf-compile":
            assert row["detail"] == "Dynamo graphs: 1"  # no graph breaks, no recompilation
        if name.startswith("jbert-jax"):
            assert row["detail"] == "TensorFlow not importable"
    must = report["must_show"]
    assert must["train_ratio_vs_hf_compile"] == rows["jbert-jax", "train"]["ratio_vs_hf_compile"]
    jax_train = [
        rows["jbert-jax", c]["fraction_of_peak"] for c in ("train", "train-fill", "train-long")
    ]
    assert must["best_train_fraction_of_peak"] == max(jax_train)
    best_case = must["best_train_fraction_case"]
    assert rows["jbert-jax", best_case]["fraction_of_peak"] == max(jax_train)
    markdown = (tmp_path / "report.md").read_text()
    assert markdown.startswith("## BERT bf16 on one GPU (issue 21): dry run")
    for name, case in EVERY_ROW:
        assert f"### {case}:" in markdown and f"| `{name}`:" in markdown
    assert "not run: TensorFlow blocked" in markdown
    log = (tmp_path / "workers.log").read_text()
    assert log.count("=====") == 7  # one process per unit of the plan but the skipped TF one


@pytest.mark.slow
def test_tensorflow_row_runs_where_tensorflow_is_installed(tmp_path):
    pytest.importorskip("tensorflow")
    report = run_benchmark(tmp_path, "--only", "jbert-tf,train")
    (row,) = report["rows"]
    assert (row["contender"], row["case"], row["status"]) == ("jbert-tf", "train", "ok")
    assert math.isfinite(row["step_s"]) and row["step_s"] > 0
    assert row["tflops"] > 0 and row["ratio_vs_hf_compile"] is None  # no baseline in this run


def test_a_worker_that_dies_costs_only_the_case_it_was_in(tmp_path):
    # Killed long before it can import PyTorch: each case is tried in a new process.
    report = run_benchmark(tmp_path, "--only", "hf-sdpa", "--worker-timeout", "0.5")
    rows = rows_by_key(report)
    assert set(rows) == {("hf-sdpa", c) for c in ("train", "train-long", "forward")}
    for row in rows.values():
        assert row["status"] == "failed" and row["detail"] == "stopped after 0.5 s"
    log = (tmp_path / "workers.log").read_text()
    assert "===== hf-sdpa train,train-long,forward: stopped" in log
    assert "===== hf-sdpa train-long,forward: stopped" in log
    assert "===== hf-sdpa forward: stopped" in log


def test_a_spent_budget_starts_no_worker(tmp_path):
    report = run_benchmark(tmp_path, "--only", "jbert-jax", "--budget", "1")
    assert [(r["case"], r["status"], r["detail"]) for r in report["rows"]] == [
        (case, "not run", "time budget spent")
        for case in ("train", "train-fill", "train-long", "forward")
    ]
    assert report["must_show"]["train_ratio_ok"] is None
    assert (tmp_path / "workers.log").read_text() == ""


def test_unknown_names_in_only_are_refused():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--only", "jbert-jax,train-short"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2
    assert "--only: unknown ['train-short']" in done.stderr
