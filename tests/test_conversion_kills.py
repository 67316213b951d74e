"""Faults: a conversion killed with SIGKILL at any moment leaves either no output or a complete
one (the user's earlier output intact under --overwrite), and the next run cleans up after it.
(Training: SIGKILL then resume, and a corrupt newest checkpoint, are in test_training_trainer.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import task_fixtures as tf_

pytestmark = pytest.mark.slow

CONVERT = "import sys; from jbert_tf2.cli.convert import main; sys.exit(main())"


@pytest.fixture(scope="module")
def big_checkpoint(tmp_path_factory) -> Path:
    """A BERT checkpoint of ~60 MB, so that writing its model directory takes a while."""
    from jbert_tf2.checkpoint.tf1 import write_tf1_checkpoint

    root = tmp_path_factory.mktemp("big")
    config = {
        "hidden_size": 256,
        "intermediate_size": 1024,
        "num_attention_heads": 4,
        "num_hidden_layers": 4,
        "max_position_embeddings": 128,
        "type_vocab_size": 2,
        "vocab_size": 30000,
        "hidden_act": "gelu",
    }
    (root / "bert_config.json").write_text(json.dumps(config))
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += [f"w{i}" for i in range(config["vocab_size"] - len(tokens))]
    (root / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return write_tf1_checkpoint(tf_.random_weights(config, scale=1.0), root / "model.ckpt-1")


def _start(prefix: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    return subprocess.Popen(
        [sys.executable, "-c", CONVERT, str(prefix), "-o", str(out), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def _kill_after_writing_starts(proc: subprocess.Popen, parent: Path, delay: float) -> None:
    """SIGKILL ``delay`` seconds after the partial output directory appears (or at exit)."""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith(".out.partial-") for p in parent.iterdir()):
            time.sleep(delay)
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _assert_complete(out: Path, prefix: Path) -> None:
    from jbert_tf2.checkpoint.tf1 import read_tf1_checkpoint
    from jbert_tf2.model_dir.directory import read_model_dir

    md = read_model_dir(out)
    original, _ = read_tf1_checkpoint(str(prefix))
    for name, value in md.weights.items():
        np.testing.assert_array_equal(value, original[name])


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2, 0.6])
def test_sigkill_during_conversion_leaves_no_half_written_output(big_checkpoint, tmp_path, delay):
    out = tmp_path / "out"
    proc = _start(big_checkpoint, out)
    _kill_after_writing_starts(proc, tmp_path, delay)
    if out.exists():  # the kill came after the rename: then the output is whole
        assert delay > 0, "writing 60 MB takes longer than 5 ms: the first kill lands mid-write"
        _assert_complete(out, big_checkpoint)
        return
    assert not any(p.name == "out" for p in tmp_path.iterdir())
    rerun = _start(big_checkpoint, out)
    assert rerun.wait() == 0, rerun.stderr.read().decode()
    _assert_complete(out, big_checkpoint)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert leftovers == [], "the rerun removes what the killed run left"


@pytest.mark.parametrize("delay", [0.0, 0.3])
def test_sigkill_during_overwrite_keeps_the_earlier_output(big_checkpoint, tmp_path, delay):
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_text('{"earlier": true}')
    proc = _start(big_checkpoint, out, "--overwrite")
    _kill_after_writing_starts(proc, tmp_path, delay)
    if (out / "model.safetensors").exists():
        _assert_complete(out, big_checkpoint)
    else:
        assert (out / "config.json").read_text() == '{"earlier": true}'
        assert sorted(p.name for p in out.iterdir()) == ["config.json"]


def test_sigkill_during_fine_tuning_then_rerun_gives_the_same_model(tmp_path):
    """jbert-run-classifier killed mid-training, then run again with the same command line,
    ends with the weights of a run that was never interrupted, bit for bit."""
    from jbert_tf2.checkpoint.safetensors_file import stored_tensors
    from jbert_tf2.cli.run_classifier import main as run_classifier

    tf_.make_model_dir(tmp_path)
    splits = (("train", 160, 1), ("dev", 16, 2))
    tf_.write_topic_splits(tmp_path / "livedoor", splits, tf_.LIVEDOOR_NAMES)
    ckpt = tmp_path / "ckpt"

    def flags(out: Path) -> list[str]:
        return [
            "--task_name=livedoor",
            f"--data_dir={tmp_path / 'livedoor'}",
            f"--init_checkpoint={ckpt / 'model.ckpt-10'}",
            f"--vocab_file={ckpt / 'vocab.txt'}",
            "--tokenizer=mecab-character",
            "--do_lower_case=false",
            "--do_train",
            "--max_seq_length=32",
            "--train_batch_size=4",
            "--num_train_epochs=2",
            "--save_checkpoints_steps=5",
            f"--output_dir={out}",
        ]

    code = "import sys; from jbert_tf2.cli.run_classifier import main; sys.exit(main())"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    env["TF_DETERMINISTIC_OPS"] = "1"  # the reference runs in this process, under op determinism
    resumed_dir = tmp_path / "resumed"
    pointer = resumed_dir / "checkpoints" / "checkpoint"
    with open(tmp_path / "killed.log", "w") as log:
        killed = subprocess.Popen(
            [sys.executable, "-c", code, *flags(resumed_dir)], stdout=log, stderr=log, env=env
        )
        seen = None
        deadline = time.monotonic() + 300
        while killed.poll() is None and time.monotonic() < deadline:
            try:
                seen = json.loads(pointer.read_text())
            except (OSError, ValueError):
                seen = None
            if seen and seen["step_in_epoch"]:
                killed.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        killed.wait(timeout=60)
    assert killed.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()[-3000:]
    assert not (resumed_dir / "model").exists()

    resumed = subprocess.Popen(
        [sys.executable, "-c", code, *flags(resumed_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    assert run_classifier(flags(tmp_path / "reference")) == 0  # meanwhile, uninterrupted
    output = resumed.communicate(timeout=600)[0].decode()
    assert resumed.returncode == 0, output[-3000:]
    assert "resum" in output.lower(), output[-3000:]
    expected = stored_tensors(tmp_path / "reference" / "model" / "model.safetensors")
    got = stored_tensors(resumed_dir / "model" / "model.safetensors")
    assert sorted(expected) == sorted(got)
    for name in expected:
        np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(expected[name]), name)
