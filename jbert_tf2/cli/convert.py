"""`jbert-convert`: TF1 checkpoint (+ config, vocab / SentencePiece) to a model directory, and back.

Exit status 0 on success, 2 on any input problem (one clear message, nothing written).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from jbert_tf2.cli.common import run_command
from jbert_tf2.tokenization.settings import MECAB_DICTIONARIES, TOKENIZER_NAMES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jbert-convert",
        description=(
            "Convert a Google TF1 BERT / ELECTRA checkpoint into a jbert_tf2 model directory, "
            "or a model directory into HF transformers format or back to a TF1 checkpoint."
        ),
    )
    parser.add_argument(
        "ckpt",
        metavar="CKPT",
        help="TF1 checkpoint prefix (model.ckpt-1400000), a directory with a 'checkpoint' file, "
        "or (with --to hf|tf1) a jbert model directory",
    )
    parser.add_argument(
        "-o",
        "--output",
        "--output-dir",
        dest="output",
        required=True,
        metavar="OUT_DIR",
        help="directory to write (must not exist)",
    )
    parser.add_argument(
        "--config",
        help="bert_config.json / config.json / config.ini "
        "(default: found next to the checkpoint, else read from the weights)",
    )
    parser.add_argument("--vocab", help="vocab.txt or SentencePiece *.vocab")
    parser.add_argument(
        "--spm-model",
        "--spm_model",
        dest="spm_model",
        help="SentencePiece *.model (yoheikikuta/bert-japanese)",
    )
    parser.add_argument(
        "--family",
        choices=("bert", "electra"),
        help="checked against the variable names (default: read from them)",
    )
    parser.add_argument(
        "--generator-config",
        dest="generator_config",
        help="ELECTRA generator config (default: generator_config.json or shapes)",
    )
    parser.add_argument(
        "--hidden-act",
        dest="hidden_act",
        choices=("gelu", "gelu_approx"),
        help="GELU flavour: gelu = exact erf (Google's first BERT release, "
        "yoheikikuta, ELECTRA), gelu_approx = tanh (google-research/bert since "
        "Feb 2019, cl-tohoku)",
    )
    parser.add_argument(
        "--tokenizer",
        choices=TOKENIZER_NAMES,
    )
    lower = parser.add_mutually_exclusive_group()
    lower.add_argument("--do-lower-case", dest="do_lower_case", action="store_true", default=None)
    lower.add_argument("--no-do-lower-case", dest="do_lower_case", action="store_false")
    parser.add_argument("--mecab-dic", dest="mecab_dic", choices=MECAB_DICTIONARIES)
    parser.add_argument(
        "--to",
        choices=("jbert", "hf", "tf1"),
        default="jbert",
        help="output format (default: jbert model directory)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it exists")
    return parser


def _numpy_backend_available() -> bool:
    """Keras' numpy backend imports jax and scipy, which are not dependencies of jbert-tf2:
    without them the conversion runs on the TensorFlow backend (same result, more memory)."""
    return all(importlib.util.find_spec(name) is not None for name in ("jax", "scipy"))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if argv is None and "keras" not in sys.modules and _numpy_backend_available():
        # Conversion builds models only to list their weights' names and shapes: Keras' numpy
        # backend does that without importing TensorFlow (whose import alone outweighs a
        # BERT-base model's weights; docs/performance.md), so a conversion needs little more
        # memory than one copy of the weights. Writing a TF1 checkpoint (--to tf1) imports
        # TensorFlow itself. Only for the command line: a program calling main(argv)
        # in-process keeps its own backend.
        os.environ["KERAS_BACKEND"] = "numpy"
    from jbert_tf2.conversion.convert import convert

    def body() -> int:
        report = convert(
            args.ckpt,
            args.output,
            to=args.to,
            overwrite=args.overwrite,
            family=args.family,
            config_file=args.config,
            generator_config_file=args.generator_config,
            hidden_act=args.hidden_act,
            vocab=args.vocab,
            spm_model=args.spm_model,
            tokenizer=args.tokenizer,
            do_lower_case=args.do_lower_case,
            mecab_dic=args.mecab_dic,
        )
        print(report.format())
        return 0

    return run_command("jbert-convert", body)


if __name__ == "__main__":
    sys.exit(main())
