"""Shared by the task examples: their common command-line options, a guarded output folder, and
a tiny randomly initialised BERT model directory to run on when no real model is given.

The tiny model is made the way ``quickstart.py`` makes one, the way users get theirs: random
weights written as a Google TF1 checkpoint with a ``bert_config.json`` and a ``vocab.txt`` (every
character of the example's texts, plus kana and ASCII), then converted with ``jbert-convert
--tokenizer mecab-character`` (MeCab words split into characters, as cl-tohoku's character
models do). It knows no Japanese: trained on the small samples, the scores it reaches only show
that the pipeline works. Pass ``--model_dir`` with a real converted model (for example
cl-tohoku/bert-base-japanese-char-v3 after ``jbert-convert``) for meaningful numbers.

Not an example to run by itself; imported by the scripts beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

EXAMPLES_DIR = Path(__file__).resolve().parent
DATA_DIR = EXAMPLES_DIR / "data"
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MARKER = ".jbert-example"  # marks a workdir an example created; only such folders are reused
TINY_LEARNING_RATE = 3e-4  # a random model learns from scratch; 1e-3 diverges on some tasks
PRETRAINED_LEARNING_RATE = 5e-5  # BERT fine-tuning (Devlin et al.: 2e-5 to 5e-5)


def add_arguments(
    parser: argparse.ArgumentParser,
    example: str,
    epochs: int | None = 3,
    batch_size: int = 16,
    max_seq_length: int = 64,
    tiny_learning_rate: float = TINY_LEARNING_RATE,
) -> None:
    """``--model_dir``, ``--workdir``, ``--batch_size``, ``--max_seq_length`` and, for the
    examples that train (``epochs`` not None), ``--epochs`` and ``--learning_rate``, whose
    default depends on the model (`resolve_model` fills it in)."""
    parser.add_argument(
        "--model_dir",
        type=Path,
        help="a model directory written by jbert-convert (default: a tiny random model built "
        "in --workdir)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=EXAMPLES_DIR / "output" / example,
        help="folder for the tiny model and everything the example writes (default: %(default)s)",
    )
    if epochs is not None:
        parser.add_argument("--epochs", type=int, default=epochs, help="default: %(default)s")
        parser.add_argument(
            "--learning_rate",
            type=float,
            help=f"peak learning rate (default: {PRETRAINED_LEARNING_RATE:g} with --model_dir, "
            f"{tiny_learning_rate:g} for the tiny random model)",
        )
        parser.set_defaults(tiny_learning_rate=tiny_learning_rate)
    parser.add_argument("--batch_size", type=int, default=batch_size, help="default: %(default)s")
    parser.add_argument(
        "--max_seq_length", type=int, default=max_seq_length, help="default: %(default)s"
    )


def prepare_workdir(workdir: Path) -> Path:
    """Create ``workdir``, or reuse one an example created; a non-empty folder that no example
    created is refused, so its files are never overwritten."""
    workdir = workdir.resolve()
    if workdir.exists() and not workdir.is_dir():
        sys.exit(f"{workdir} exists and is not a directory; pick another --workdir")
    if workdir.is_dir() and any(workdir.iterdir()) and not (workdir / MARKER).is_file():
        sys.exit(
            f"{workdir} is not empty and was not created by an example; pick another --workdir"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("written by the jbert_tf2 examples; safe to delete\n")
    return workdir


def resolve_model(args: argparse.Namespace, texts: Iterable[str]) -> tuple[Path, bool]:
    """The model directory to use and whether it is the tiny random one; also fills in the
    default learning rate."""
    tiny = args.model_dir is None
    model_dir = ensure_model(args.workdir, texts) if tiny else args.model_dir
    if getattr(args, "learning_rate", 0.0) is None:
        args.learning_rate = args.tiny_learning_rate if tiny else PRETRAINED_LEARNING_RATE
    print(f"model: {model_dir}" + (" (tiny, random weights)" if tiny else ""))
    return model_dir, tiny


def build_vocab(texts: Iterable[str]) -> list[str]:
    """Special tokens, then every distinct character of ``texts``, then kana and ASCII."""
    candidates = [ch for text in texts for ch in text]
    candidates += [chr(c) for c in range(ord("ぁ"), ord("ん") + 1)]
    candidates += [chr(c) for c in range(ord("ァ"), ord("ン") + 1)]
    candidates += list("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return SPECIAL_TOKENS + [ch for ch in dict.fromkeys(candidates) if ch.strip()]


def google_bert_config(vocab_size: int) -> dict:
    """A small ``bert_config.json`` in google-research/bert's format; four layers, so that
    the last four can be pooled as in BERT's paper."""
    return {
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 256,
        "max_position_embeddings": 128,
        "num_attention_heads": 2,
        "num_hidden_layers": 4,
        "type_vocab_size": 2,
        "vocab_size": vocab_size,
    }


def ensure_model(workdir: Path, texts: Iterable[str]) -> Path:
    """``workdir/tiny-bert``: a converted tiny random BERT whose vocabulary covers ``texts``;
    reused when it exists with the same vocabulary."""
    import jbert_tf2
    from jbert_tf2.checkpoint.tf1 import write_tf1_checkpoint
    from jbert_tf2.cli.convert import main as jbert_convert

    model_dir = workdir / "tiny-bert"
    tokens = build_vocab(texts)
    vocab = "".join(t + "\n" for t in tokens)
    google_config = google_bert_config(len(tokens))
    if _is_current(model_dir, vocab, google_config):
        return model_dir

    ckpt_dir = workdir / "tiny-bert-tf1"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    (ckpt_dir / "vocab.txt").write_text(vocab, encoding="utf-8")
    (ckpt_dir / "bert_config.json").write_text(json.dumps(google_config, indent=2) + "\n")
    config = jbert_tf2.BertConfig.from_dict(google_config)
    shapes = {
        name: tuple(variable.shape)
        for name, variable in jbert_tf2.BertModel(config).canonical_weights().items()
    }
    rng = np.random.default_rng(0)
    weights = {
        name: np.ones(shape, np.float32)
        if name.endswith("LayerNorm/gamma")
        else (rng.standard_normal(shape) * 0.02).astype(np.float32)
        for name, shape in sorted(shapes.items())
    }
    prefix = write_tf1_checkpoint(weights, ckpt_dir / "model.ckpt-0")
    argv = [prefix, "-o", str(model_dir), "--tokenizer", "mecab-character", "--no-do-lower-case"]
    print("building the tiny model: jbert-convert " + " ".join(argv))
    if jbert_convert([*argv, "--overwrite"]) != 0:
        sys.exit("jbert-convert failed; see the error above")
    return model_dir


def _is_current(model_dir: Path, vocab: str, google_config: dict) -> bool:
    """Whether ``model_dir`` was converted from this vocabulary and configuration."""
    try:
        saved = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        same_vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8") == vocab
    except (OSError, ValueError):
        return False
    sizes = {k: v for k, v in google_config.items() if k != "hidden_act"}  # renamed on conversion
    return same_vocab and all(saved.get(k) == v for k, v in sizes.items())
