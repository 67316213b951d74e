"""Conversion between TF1 checkpoints, jbert model directories and HF format.

`convert` reads any source (`sources`), checks it strictly (`inspection`) and writes the
requested format atomically; `jbert-convert` is its command line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from jbert_tf2.atomic_files import check_output_dir, write_directory
from jbert_tf2.checkpoint import hf as hf_format
from jbert_tf2.checkpoint.inspection import Report, expected_weights, generator_weights
from jbert_tf2.checkpoint.tf1 import write_tf1_checkpoint
from jbert_tf2.config import EXACT_ACT_KEY
from jbert_tf2.conversion.sources import read_source
from jbert_tf2.errors import JbertError
from jbert_tf2.model_dir import ModelDirectory, save_model_dir


def _subset(weights: dict, names) -> dict:
    return {n: weights[n] for n in names}


_HF_BERT_ARCHITECTURES = {
    ("mlm", "nsp"): "BertForPreTraining",
    ("mlm",): "BertForMaskedLM",
    ("nsp",): "BertForNextSentencePrediction",
    (): "BertModel",
}


def write_hf(md: ModelDirectory, out: Path, report: Report) -> None:
    config = md.config
    main = [c for c in md.components if c != "generator"]
    names = list(expected_weights(config, main))
    if config.model_type == "bert":
        heads = tuple(c for c in ("mlm", "nsp") if c in md.components)
        architecture = _HF_BERT_ARCHITECTURES[heads]
        if architecture == "BertForMaskedLM":
            report.add(
                "note: bert/pooler is kept although BertForMaskedLM does not use it "
                "(transformers lists it as unused when loading), so the export converts back whole"
            )
    else:
        architecture = (
            "ElectraForPreTraining" if "discriminator" in md.components else "ElectraModel"
        )
    hf_format.write_hf_model(
        out, config, architecture, _subset(md.weights, names), tokenizer_files=md.tokenizer_files
    )
    report.add(f"wrote: HF {architecture}")
    if md.generator_config is not None:
        gen_names = generator_weights(md.generator_config, md.generator_untied)
        hf_format.write_hf_model(
            out / "generator",
            md.generator_config,
            "ElectraForMaskedLM",
            _subset(md.weights, gen_names),
            generator=True,
            tokenizer_files=md.tokenizer_files,
        )
        report.add("wrote: generator/ (HF ElectraForMaskedLM)")
        if md.generator_config.hidden_act != "gelu":
            report.add(
                "note: transformers' ElectraForMaskedLM head always uses the erf GELU; this "
                f"generator's head uses {md.generator_config.hidden_act}, so its HF logits differ"
            )
    if config.hidden_act == "gelu_approx":
        report.add("note: tanh GELU is written as HF's hidden_act 'gelu_new'")


def write_jbert(md: ModelDirectory, out: Path, report: Report) -> None:
    save_model_dir(md, out)
    report.add("wrote: jbert model directory")


def write_tf1(md: ModelDirectory, out: Path, report: Report) -> None:
    write_tf1_checkpoint(md.weights, out / "model.ckpt")
    google = {
        k: v
        for k, v in md.config.to_dict().items()
        if k not in ("format", "model_type", "layer_norm_eps")
    }
    google["hidden_act"] = (
        "gelu" if md.config.hidden_act.startswith("gelu") else md.config.hidden_act
    )
    # Google's BertConfig.from_dict keeps unknown keys as attributes, so this extra key is
    # harmless there and lets the exact flavour survive a round trip through TF1.
    google[EXACT_ACT_KEY] = md.config.hidden_act
    config_name = "bert_config.json" if md.config.model_type == "bert" else "config.json"
    if md.config.model_type == "bert":
        google.pop("embedding_size", None)
    (out / config_name).write_text(json.dumps(google, indent=2, sort_keys=True) + "\n")
    if md.generator_config is not None:
        gen = {k: v for k, v in md.generator_config.to_dict().items() if k != "format"}
        (out / "generator_config.json").write_text(json.dumps(gen, indent=2, sort_keys=True) + "\n")
    for source in md.tokenizer_files.values():
        shutil.copyfile(source, out / Path(source).name)
    report.add(f"wrote: model.ckpt (TF1 checkpoint), checkpoint, {config_name}")
    expected_act = "gelu_approx" if md.config.model_type == "bert" else "gelu"
    if md.config.hidden_act != expected_act:
        code = "google-research/bert" if md.config.model_type == "bert" else "ELECTRA's code"
        report.add(
            f"note: this model uses hidden_act {md.config.hidden_act}, while {code} computes "
            "'gelu' differently; use a modeling.py with the matching GELU"
        )


def convert(
    ckpt: str, out_dir: str, to: str = "jbert", overwrite: bool = False, **options
) -> Report:
    """Read ``ckpt`` (TF1 / jbert / HF), check it, and write ``out_dir`` in format ``to``."""
    writers = {"jbert": write_jbert, "hf": write_hf, "tf1": write_tf1}
    if to not in writers:
        raise JbertError(f"--to {to}: unknown format; use jbert, hf or tf1")
    out = check_output_dir(out_dir, overwrite)  # before the (slow) reading
    if out.resolve() == Path(ckpt).resolve() or Path(ckpt).resolve().is_relative_to(out.resolve()):
        raise JbertError(f"{out}: is the input itself; write to another directory")
    md, report = read_source(ckpt, **options)
    write_directory(out, lambda tmp: writers[to](md, tmp, report), overwrite)
    report.add(f"output: {out}")
    return report
