"""`jbert-convert`: TF1 checkpoint (+ config, vocab / SentencePiece) to a model directory, and back.

Exit status 0 on success, 2 on any input problem (one clear message, nothing written).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from jbert_tf2.cli.common import CommandParser, run_command
from jbert_tf2.tokenization.settings import MECAB_DICTIONARIES, TOKENIZER_NAMES


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
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
        "an HF transformers directory (model.safetensors or tf_model.h5), "
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
    parser.add_argument(
        "--vocab",
        help="vocab.txt or SentencePiece *.vocab (default: found beside the checkpoint); "
        "replaces the one found there",
    )
    parser.add_argument(
        "--no-tokenizer",
        dest="no_tokenizer",
        action="store_true",
        help="record no tokenizer (convert the weights alone, e.g. when the vocabulary beside "
        "them lacks BERT's special tokens)",
    )
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
    parser.add_argument(
        "--task",
        choices=("sequence_classification", "multi_label", "token_classification"),
        help="what a fine-tuned Google head (output_weights) was trained as: softmax over the "
        "pooled output (default), a sigmoid per label, or a tag per token",
    )
    parser.add_argument(
        "--task_name",
        "--task-name",
        dest="task_name",
        help="the ELECTRA head to take (task_specific/<name>/) and, for the task names "
        "jbert-run-classifier knows (mnli, livedoor, ...), its labels",
    )
    parser.add_argument(
        "--labels",
        metavar="FILE",
        help="the fine-tuned head's labels, one a line, in the model's order",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it exists")
    return parser


def task_labels(task_name: str | None, labels: str | None) -> tuple[object, str | None]:
    """``(labels, where from)`` for a fine-tuned head: ``--labels FILE`` as given, else the
    fixed labels of the processor ``--task_name`` names (none: the conversion numbers them)."""
    if labels is not None or task_name is None:
        return labels, None
    from jbert_tf2.data.processors import PROCESSORS

    processor = PROCESSORS.get(task_name.lower())
    fixed = getattr(processor, "fixed_labels", None) if processor is not None else None
    return (list(fixed), f"--task_name {task_name}") if fixed else (None, None)


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
        labels, labels_from = task_labels(args.task_name, args.labels)
        head = {"task": args.task, "task_name": args.task_name, "labels": labels}
        if labels_from:
            head["labels_from"] = labels_from
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
            no_tokenizer=args.no_tokenizer,
            **{k: v for k, v in head.items() if v is not None},
        )
        print(report.format())
        return 0

    return run_command("jbert-convert", body)


if __name__ == "__main__":
    sys.exit(main())
