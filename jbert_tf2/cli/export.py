"""`jbert-export`: a fine-tuned task model directory to a versioned SavedModel for TF Serving.

    jbert-export livedoor-clf -o export --name livedoor        # export/livedoor/1/

Prints the signatures (as ``saved_model_cli show`` lists them). The version is the next free
number unless ``--version`` is given; an existing version is never replaced.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jbert_tf2.cli.common import CommandParser, positive_int, run_command
from jbert_tf2.cli.outputs import add_overwrite_flag
from jbert_tf2.errors import JbertError
from jbert_tf2.export.portable import FORMATS, QUANTIZATIONS

PROG = "jbert-export"


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "model_dir",
        help="a fine-tuned model directory (save_pretrained / "
        "jbert-run-classifier's output_dir/model)",
    )
    parser.add_argument(
        "-o",
        "--output",
        "--export_dir",
        dest="output",
        required=True,
        help="base directory: the model goes to OUTPUT/NAME/VERSION",
    )
    parser.add_argument(
        "--name", help="model name (default: the task, e.g. sequence_classification)"
    )
    parser.add_argument("--version", type=positive_int("version"), help="version number")
    parser.add_argument(
        "--max_seq_length",
        type=positive_int("max_seq_length"),
        help="truncation length of the text signatures (default: the model's)",
    )
    parser.add_argument(
        "--ops",
        choices=("core", "text"),
        default=None,
        help="ops of the in-graph tokenizers: core (core TensorFlow ops; loads in any TensorFlow "
        "runtime, MeCab included) or text (tensorflow-text's; the runtime must register them) "
        "(default: core)",
    )
    add_portable_flags(parser)
    add_overwrite_flag(parser)
    return parser


def add_portable_flags(parser: argparse.ArgumentParser) -> None:
    """--format, --quantize, --dev_file and --max_accuracy_drop (ONNX and LiteRT exports)."""
    parser.add_argument(
        "--format",
        choices=("saved_model", *FORMATS),
        default="saved_model",
        help="saved_model (TF Serving), onnx (model.onnx, ONNX Runtime) or litert "
        "(model.tflite); onnx and litert also take a bare encoder directory (default: "
        "saved_model)",
    )
    parser.add_argument(
        "--quantize",
        choices=QUANTIZATIONS,
        default="none",
        help="onnx: int8 = dynamic int8 matrix multiplies in the Transformer blocks "
        "(embeddings, LayerNorm, softmax, GELU, pooler and head stay float); litert: int8 = "
        "the converter's dynamic-range quantization; float16: float16 weights (default: none, "
        "float32)",
    )
    parser.add_argument(
        "--dev_file",
        help="onnx / litert: labelled data for the accuracy report (classifiers: TSV / CSV "
        "with text and label columns, or JSON lines; taggers: CoNLL / BIO or JSON lines); "
        "default: a built-in sample of Japanese texts",
    )
    parser.add_argument(
        "--max_accuracy_drop",
        type=float,
        default=None,
        help="onnx / litert with --quantize: points of accuracy / F1 the export may lose "
        "against the Keras model before it is rejected (default: 1.0)",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(PROG, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from jbert_tf2.config import check_max_seq_length
    from jbert_tf2.export import export_saved_model, load_saved_model
    from jbert_tf2.tasks import load_task

    source, base = Path(args.model_dir), Path(args.output)
    if not source.is_dir():
        what = "is a file, not a model directory" if source.exists() else "no such directory"
        raise JbertError(
            f"{source}: {what}; pass the fine-tuned model directory (save_pretrained's, or "
            "jbert-run-classifier's output_dir/model)"
        )
    if base.exists() and not base.is_dir():
        raise JbertError(f"--output={base}: is a file; name a directory to export into")
    if args.format != "saved_model":
        from jbert_tf2.cli.export_portable import run_portable

        if args.ops is not None:
            raise JbertError(
                f"--ops applies to --format saved_model (its raw-text signatures); --format "
                f"{args.format} takes token ids: drop --ops"
            )
        return run_portable(PROG, args, source)
    if args.quantize != "none" or args.dev_file or args.max_accuracy_drop is not None:
        raise JbertError(
            "--quantize, --dev_file and --max_accuracy_drop apply to --format onnx or litert; "
            "a SavedModel is exported in float32"
        )
    args.ops = args.ops or "core"
    task = load_task(source)
    if args.max_seq_length:
        check_max_seq_length(args.max_seq_length, task.config, "--max_seq_length", args.model_dir)
        task.max_seq_length = args.max_seq_length
    target = export_saved_model(
        task, args.output, args.name, args.version, args.overwrite, ops=args.ops
    )
    loaded = load_saved_model(target)
    print(f"{PROG}: wrote {target}")
    for key, function in sorted(loaded.signatures.items()):
        inputs = function.structured_input_signature[1]
        outputs = function.structured_outputs
        shown_in = ", ".join(f"{k}: {v.dtype.name}{v.shape}" for k, v in sorted(inputs.items()))
        shown_out = ", ".join(f"{k}: {v.dtype.name}{v.shape}" for k, v in sorted(outputs.items()))
        print(f"  signature {key}:\n    inputs  {shown_in}\n    outputs {shown_out}")
    raw_text = "predict_text" if task.serves_text else "predict_entities"
    if task.tokenizer is not None and raw_text not in loaded.signatures:
        print(
            f"  (no {raw_text} signature: this tokenizer has no in-graph twin with --ops "
            f"{args.ops}; make the inputs with jbert_tf2.export.Preprocessor"
            + (", or export with --ops core)" if args.ops == "text" else ")")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
