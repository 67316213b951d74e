"""``--backend keras|onnxruntime``: what the commands' prediction runs on (``--do_predict`` of
jbert-run-classifier and jbert-run-ner, and jbert-extract-features)."""

from __future__ import annotations

import argparse

from jbert_tf2.onnx_inference import BACKENDS


def add_backend_flag(parser: argparse.ArgumentParser, what: str = "--do_predict") -> None:
    """Add ``--backend`` to ``parser``; ``what`` names the work it switches, for the help."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="keras",
        help=f"what {what} runs on: keras, or onnxruntime (the model's ONNX graph, built from "
        "its weights; pip install 'jbert-tf2[onnx]') (default: keras)",
    )


def use_backend(model, backend: str) -> None:
    """Switch a task model's prediction to ``backend`` (after training, so the ONNX graph
    holds the trained weights)."""
    if backend != "keras":
        model.set_backend(backend)
