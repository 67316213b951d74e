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
    add_overwrite_flag(parser)
    return parser


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
    task = load_task(source)
    if args.max_seq_length:
        check_max_seq_length(args.max_seq_length, task.config, "--max_seq_length", args.model_dir)
        task.max_seq_length = args.max_seq_length
    target = export_saved_model(task, args.output, args.name, args.version, args.overwrite)
    loaded = load_saved_model(target)
    print(f"{PROG}: wrote {target}")
    for key, function in sorted(loaded.signatures.items()):
        inputs = function.structured_input_signature[1]
        outputs = function.structured_outputs
        shown_in = ", ".join(f"{k}: {v.dtype.name}{v.shape}" for k, v in sorted(inputs.items()))
        shown_out = ", ".join(f"{k}: {v.dtype.name}{v.shape}" for k, v in sorted(outputs.items()))
        print(f"  signature {key}:\n    inputs  {shown_in}\n    outputs {shown_out}")
    if task.serves_text and "predict_text" not in loaded.signatures:
        print(
            "  (no text signature: this tokenizer has no in-graph twin; make the inputs with "
            "jbert_tf2.export.Preprocessor)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
