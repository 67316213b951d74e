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
from jbert_tf2.checkpoint import task_heads
from jbert_tf2.checkpoint.inspection import Report, expected_weights, generator_weights
from jbert_tf2.checkpoint.tf1 import write_tf1_checkpoint
from jbert_tf2.config import EXACT_ACT_KEY
from jbert_tf2.conversion.hf_task_head import TASK_OPTIONS_KEY, TF1_TASK_NAME_KEY
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


def _hf_task_architecture(md: ModelDirectory, report: Report) -> str:
    """The transformers class whose head computes what the task model's head does."""
    task, family = md.task.task, md.config.model_type
    if family == "bert":
        return (
            "BertForTokenClassification"
            if task == "token_classification"
            else "BertForSequenceClassification"
        )
    if task == "token_classification":
        if md.task.options.get("segment_id"):
            report.add(
                "note: this tagger feeds token type 1 at every position (ELECTRA's tagging); "
                "pass token_type_ids of ones to ElectraForTokenClassification"
            )
        return "ElectraForTokenClassification"
    raise JbertError(
        "--to hf: transformers' ElectraForSequenceClassification puts a dense layer and a GELU "
        "before its output layer, while ELECTRA's fine-tuned head is one dense layer on [CLS]; "
        "no HF class computes this model's logits. Keep it as a jbert model directory or write "
        "it back with --to tf1"
    )


def _add_hf_labels(out: Path, md: ModelDirectory) -> None:
    """Labels and problem type in HF's config.json, as transformers' pipelines read them."""
    path = out / "config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    labels = md.task.labels
    data["id2label"] = {str(i): label for i, label in enumerate(labels)}
    data["label2id"] = {label: i for i, label in enumerate(labels)}
    if md.task.task == "multi_label_classification":
        data["problem_type"] = "multi_label_classification"
    elif md.task.task == "sequence_classification":
        data["problem_type"] = "single_label_classification"
    data[TASK_OPTIONS_KEY] = md.task.options  # read back by `hf_task_head`
    if md.task.tf1_task_name is not None:
        data[TF1_TASK_NAME_KEY] = md.task.tf1_task_name
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_hf(md: ModelDirectory, out: Path, report: Report) -> None:
    config = md.config
    main = [c for c in md.components if c != "generator"]
    names = list(expected_weights(config, main))
    if md.task is not None:
        architecture = _hf_task_architecture(md, report)
        names += [task_heads.HEAD_KERNEL, task_heads.HEAD_BIAS]
        hf_format.write_hf_model(
            out,
            config,
            architecture,
            _subset(md.weights, names),
            tokenizer_files=md.tokenizer_files,
        )
        _add_hf_labels(out, md)
        report.add(f"wrote: HF {architecture} ({md.task.task}, {len(md.task.labels)} labels)")
        if md.task.task == "multi_label_classification":
            report.add("note: apply a sigmoid per label to HF's logits (problem_type multi_label)")
        return
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


def _tf1_weights(md: ModelDirectory, report: Report) -> dict:
    """The weights under TF1 names: a task head as Google's ``output_weights`` (BERT) or
    ELECTRA's ``task_specific/<task>/dense`` (ELECTRA), the rest as they are."""
    weights = dict(md.weights)
    if md.task is None:
        return weights
    head = {n: weights.pop(n) for n in (task_heads.HEAD_KERNEL, task_heads.HEAD_BIAS)}
    if md.config.model_type == "bert":
        weights.update(task_heads.to_google(head))
        script = {
            "sequence_classification": "run_classifier.py (softmax)",
            "multi_label_classification": "a multi-label run_classifier (a sigmoid per label)",
            "token_classification": "a BERT NER script (output_weights on every token)",
        }[md.task.task]
        report.add(f"head: output_weights, output_bias, as {script} names them")
        return weights
    name = md.task.tf1_task_name
    if name is None:
        raise JbertError(
            "--to tf1: ELECTRA's run_finetuning reads a head under task_specific/<task name>/; "
            "this model records no task name: pass --task_name (e.g. --task_name mnli)"
        )
    weights.update(task_heads.to_electra(head, name))
    report.add(f"head: task_specific/{name}/dense (ELECTRA's run_finetuning, task {name})")
    return weights


def write_tf1(md: ModelDirectory, out: Path, report: Report) -> None:
    write_tf1_checkpoint(_tf1_weights(md, report), out / "model.ckpt")
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
    """Read ``ckpt`` (TF1 / jbert / HF), check it, and write ``out_dir`` in format ``to``.

    ``options`` are `jbert-convert`'s flags: ``config_file``, ``vocab``, ``spm_model``,
    ``tokenizer``, ``do_lower_case``, ``mecab_dic``, ``family``, ``hidden_act``,
    ``generator_config_file``; for a fine-tuned TF1 checkpoint ``task``
    (``"sequence_classification"`` (default for Google's ``output_weights``),
    ``"multi_label"`` or ``"token_classification"``), ``task_name`` (the ELECTRA head to take
    from a multi-task checkpoint; with ``to="tf1"``, the ELECTRA task name to write a task
    model's head under) and ``labels`` (a file with one label a line, or a list of names).
    """
    writers = {"jbert": write_jbert, "hf": write_hf, "tf1": write_tf1}
    if to not in writers:
        raise JbertError(f"--to {to}: unknown format; use jbert, hf or tf1")
    out = check_output_dir(out_dir, overwrite)  # before the (slow) reading
    if out.resolve() == Path(ckpt).resolve() or Path(ckpt).resolve().is_relative_to(out.resolve()):
        raise JbertError(f"{out}: is the input itself; write to another directory")
    md, report = read_source(ckpt, **options)
    electra_task = md.task is not None and md.config.model_type == "electra"
    if options.get("task_name") and electra_task and md.task.tf1_task_name is None:
        md.task.tf1_task_name = options["task_name"]
    write_directory(out, lambda tmp: writers[to](md, tmp, report), overwrite)
    report.add(f"output: {out}")
    return report
