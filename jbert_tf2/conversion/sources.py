"""Readers for every source `jbert-convert` takes: a TF1 checkpoint (and the files beside it),
an HF transformers directory, or a jbert model directory; each gives a checked
`ModelDirectory` and the `Report` of what was found."""

from __future__ import annotations

from pathlib import Path

from jbert_tf2.checkpoint import hf as hf_format
from jbert_tf2.checkpoint.inspection import (
    Report,
    check_config_against_shapes,
    detect_components,
    detect_family,
    embedding_size_from_weights,
    expected_weights,
    find_beside,
    heads_by_rule,
    inferred_config,
    match_weights,
    shape_config,
)
from jbert_tf2.checkpoint.names import is_optimizer_variable
from jbert_tf2.checkpoint.tf1 import read_tf1_checkpoint, resolve_checkpoint
from jbert_tf2.config import read_config
from jbert_tf2.conversion.hf_source import from_hf
from jbert_tf2.conversion.task_heads import take_task_head
from jbert_tf2.conversion.tokenizer_files import find_tokenizer_files, tokenizer_settings
from jbert_tf2.errors import JbertError
from jbert_tf2.model_dir import ModelDirectory, is_model_dir, read_model_dir


def from_tf1(
    ckpt: str,
    family: str | None = None,
    config_file: str | None = None,
    generator_config_file: str | None = None,
    hidden_act: str | None = None,
    vocab: str | None = None,
    spm_model: str | None = None,
    tokenizer: str | None = None,
    do_lower_case: bool | None = None,
    mecab_dic: str | None = None,
    no_tokenizer: bool = False,
    task: str | None = None,
    task_name: str | None = None,
    labels=None,
    labels_from: str | None = None,
    head_optional: bool = False,
) -> tuple[ModelDirectory, Report]:
    """Read a TF1 checkpoint (and the files beside it) into a checked `ModelDirectory`; a
    fine-tuned head becomes a task (`task_heads.take_task_head`: ``task``, ``task_name``,
    ``labels``)."""
    prefix = resolve_checkpoint(ckpt)
    report = Report(source=f"{prefix} (TF1 checkpoint)")
    weights, skipped = read_tf1_checkpoint(prefix, skip=is_optimizer_variable)
    family = detect_family(list(weights), family, prefix)
    report.family = family
    components = detect_components(list(weights), family)
    directory = Path(prefix).parent

    names = ("bert_config.json", "config.json", "config.ini")
    if family == "electra":
        names = ("config.json", "electra_config.json", "bert_config.json", "config.ini")
    path = Path(config_file) if config_file else find_beside(directory, names)
    vocab_path, spm_path = find_tokenizer_files(directory, vocab, spm_model)
    sizes = shape_config(weights, family, f"{family}/embeddings")
    if path is not None:
        config, note = read_config(path, model_type=family, tf1_checkpoint=True)
        report.add(f"config: {path}" + (f" ({note})" if note else ""))
        config = embedding_size_from_weights(config, path, sizes, report)
    else:
        act, why = "gelu_approx", "google-research/bert's tanh GELU"
        if family == "electra":
            act, why = "gelu", "ELECTRA's erf GELU"
        elif spm_path is not None:
            act, why = "gelu", "a SentencePiece BERT: yoheikikuta/bert-japanese's erf GELU"
        config = inferred_config(sizes, family, prefix, act)
        report.add(
            f"config: none found beside the checkpoint; sizes read from the weights, "
            f"{config.num_attention_heads} heads (hidden_size // 64), hidden_act {act} ({why}; "
            "--hidden-act overrides)"
        )
    if hidden_act:
        config = config.replace(hidden_act=hidden_act)
        report.add(f"hidden_act: {hidden_act} (--hidden-act)")
    check_config_against_shapes(config, weights, sizes, family, f"{family}/embeddings", prefix)

    generator_config, untied = None, False
    if "generator" in components:
        untied = any(n.startswith("generator/embeddings/") for n in weights)
        emb_scope = "generator/embeddings" if untied else "electra/embeddings"
        gpath = (
            Path(generator_config_file)
            if generator_config_file
            else find_beside(directory, ("generator_config.json",))
        )
        gsizes = shape_config(weights, "generator", emb_scope)
        if gpath is not None:
            generator_config, _ = read_config(gpath, model_type="electra", tf1_checkpoint=True)
            report.add(f"generator config: {gpath}")
            generator_config = embedding_size_from_weights(generator_config, gpath, gsizes, report)
        else:
            hidden = gsizes.get("hidden_size", 0)
            generator_config = config.replace(
                **gsizes,
                num_attention_heads=heads_by_rule(hidden, prefix, "generator-"),
                source=f"{prefix} generator (inferred from shapes)",
            )
            report.add(
                f"generator config: sizes read from the weights (hidden {hidden}, "
                f"{generator_config.num_hidden_layers} layers, "
                f"{generator_config.num_attention_heads} heads by ELECTRA's rule hidden // 64)"
            )
        if hidden_act:
            generator_config = generator_config.replace(hidden_act=hidden_act)
        check_config_against_shapes(
            generator_config, weights, gsizes, "generator", emb_scope, prefix, "--generator-config"
        )
    report.add(f"components: {', '.join(components)}")

    weights, head = take_task_head(
        weights, config, prefix, report, task, task_name, labels, labels_from, head_optional
    )
    expected = expected_weights(config, components, generator_config, untied)
    matched = match_weights(weights, expected, prefix)
    if head is not None:
        matched.update(head.weights)
        components.append("task")
    report.mapped, report.skipped = len(matched), skipped

    settings, files = tokenizer_settings(
        vocab_path,
        spm_path,
        tokenizer,
        do_lower_case,
        mecab_dic,
        report,
        config.vocab_size,
        no_tokenizer,
    )
    return (
        ModelDirectory(
            config=config,
            weights=matched,
            components=components,
            generator_config=generator_config,
            generator_untied=untied,
            tokenizer=settings,
            tokenizer_files=files,
            task=head.settings if head is not None else None,
        ),
        report,
    )


# jbert-convert's options and their flags, for the messages that refuse them.
_FLAGS = {
    "family": "--family",
    "config_file": "--config",
    "generator_config_file": "--generator-config",
    "hidden_act": "--hidden-act",
    "vocab": "--vocab",
    "spm_model": "--spm-model",
    "tokenizer": "--tokenizer",
    "do_lower_case": "--do-lower-case",
    "mecab_dic": "--mecab-dic",
    "no_tokenizer": "--no-tokenizer",
    "task": "--task",
    "labels": "--labels",
}


def from_model_dir(path: str, **options) -> tuple[ModelDirectory, Report]:
    """A jbert model directory as it is. It already holds its config, tokenizer and task, so
    the options that make them from a TF1 checkpoint are refused, each named; ``task_name``
    is the ELECTRA head name ``--to tf1`` writes a task model's head under."""
    md = read_model_dir(path, with_task=True)
    if options.get("labels_from"):  # the labels of --task_name's processor, not --labels
        options = {k: v for k, v in options.items() if k != "labels"}
    given = [
        k
        for k, v in options.items()
        if k in _FLAGS and v is not None and not (k == "no_tokenizer" and v is False)
    ]
    if given:
        flag = _FLAGS[given[0]]
        raise JbertError(
            f"{flag}: {path} is a jbert model directory, which keeps its own config.json, "
            "tokenizer.json and task.json; this option only applies when reading a TF1 "
            f"checkpoint or HF directory: drop {flag}"
        )
    task_name = options.get("task_name")
    if task_name is not None:
        recorded = md.task.tf1_task_name if md.task is not None else None
        if md.task is None or md.config.model_type != "electra":
            raise JbertError(
                f"--task_name {task_name}: names the ELECTRA head --to tf1 writes a task "
                f"model's head under; {path} is not an ELECTRA task model: drop --task_name"
            )
        if recorded is not None and recorded != task_name:
            raise JbertError(
                f"--task_name {task_name}: {path} records its head as ELECTRA's {recorded!r} "
                f"(task.json tf1_task_name); drop --task_name or pass --task_name {recorded}"
            )
    report = Report(source=f"{path} (jbert model directory)", family=md.config.model_type)
    report.mapped = len(md.weights)
    return md, report


def read_source(ckpt: str, **options) -> tuple[ModelDirectory, Report]:
    """Any supported source: TF1 checkpoint, jbert model directory or HF directory."""
    path = Path(ckpt)
    if is_model_dir(path):
        return from_model_dir(ckpt, **options)
    if (
        path.is_dir()
        and (path / "config.json").is_file()
        and hf_format.has_hf_weights(path)
        and not (path / "checkpoint").is_file()
    ):
        return from_hf(ckpt, **options)
    return from_tf1(ckpt, **options)
