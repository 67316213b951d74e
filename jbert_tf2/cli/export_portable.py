"""`jbert-export --format onnx|litert`: a task model or bare encoder directory to ``model.onnx``
or ``model.tflite``, with the accuracy report beside it (see `jbert_tf2.export.portable`)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from jbert_tf2.errors import JbertError

DEFAULT_MAX_ACCURACY_DROP = 1.0  # points of accuracy / F1 a quantized export may lose


def load_exportable(source: Path, max_seq_length: int | None):
    """``(model, tokenizer, tokenizer_assets)``: the task model of a fine-tuned directory, or
    the bare encoder (and its tokenizer) of a pretrained one."""
    from jbert_tf2.config import check_max_seq_length
    from jbert_tf2.model_dir import TokenizerAssets, load, read_model_dir, read_task_settings
    from jbert_tf2.tasks import load_task

    if read_task_settings(source) is not None:
        model = load_task(source)
        if max_seq_length:
            check_max_seq_length(max_seq_length, model.config, "--max_seq_length", str(source))
            model.max_seq_length = max_seq_length
        return model, None, None
    md = read_model_dir(source)
    if md.tokenizer is None:
        raise JbertError(
            f"{source}: has no tokenizer.json; the export's accuracy report tokenizes its "
            "sample with it (convert the model with jbert-convert --tokenizer ...)"
        )
    encoder = load(source)
    tokenizer = md.tokenizer.build(source)
    return encoder, tokenizer, TokenizerAssets.read(md.tokenizer, md.tokenizer_files)


def run_portable(prog: str, args: argparse.Namespace, source: Path) -> int:
    """Export as ``args.format`` and print where it went and what the report says."""
    from jbert_tf2.export.portable import export_portable

    if args.max_accuracy_drop is None:
        args.max_accuracy_drop = DEFAULT_MAX_ACCURACY_DROP
    if not math.isfinite(args.max_accuracy_drop) or args.max_accuracy_drop < 0:
        raise JbertError(
            f"--max_accuracy_drop={args.max_accuracy_drop}: give the points of accuracy an "
            "int8 export may lose, a number >= 0 such as 1.0"
        )
    if args.dev_file and not Path(args.dev_file).is_file():
        raise JbertError(f"--dev_file={args.dev_file}: no such file")
    model, tokenizer, assets = load_exportable(source, args.max_seq_length)
    target = export_portable(
        model,
        args.output,
        args.name,
        args.version,
        fmt=args.format,
        quantize=args.quantize,
        overwrite=args.overwrite,
        dev_file=args.dev_file,
        max_accuracy_drop=args.max_accuracy_drop,
        tokenizer=tokenizer,
        tokenizer_assets=assets,
    )
    report = json.loads((target / "accuracy_report.json").read_text(encoding="utf-8"))
    print(f"{prog}: wrote {target}")
    print(
        f"  accuracy report: max abs difference {report['max_abs_diff']:.3g}, agreement "
        f"{report['agreement']:.4f}, {report['metric']} {report['keras_metric']:.4f} (Keras) "
        f"-> {report['export_metric']:.4f} (export) on {report['examples']} examples"
    )
    return 0
