"""Readers for every source `jbert-convert` takes: a TF1 checkpoint (and the files beside it),
an HF transformers directory, or a jbert model directory; each gives a checked
`ModelDirectory` and the `Report` of what was found."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jbert_tf2.checkpoint import hf as hf_format
from jbert_tf2.checkpoint.inspection import (
    Report,
    check_config_against_shapes,
    detect_components,
    detect_family,
    embedding_size_from_weights,
    expected_weights,
    find_beside,
    generator_weights,
    heads_by_rule,
    inferred_config,
    match_weights,
    shape_config,
)
from jbert_tf2.checkpoint.names import is_optimizer_variable
from jbert_tf2.checkpoint.tf1 import read_tf1_checkpoint, resolve_checkpoint
from jbert_tf2.config import read_config
from jbert_tf2.conversion.tokenizer_files import find_tokenizer_files, tokenizer_settings
from jbert_tf2.errors import CheckpointError
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
) -> tuple[ModelDirectory, Report]:
    """Read a TF1 checkpoint (and the files beside it) into a checked `ModelDirectory`."""
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

    expected = expected_weights(config, components, generator_config, untied)
    matched = match_weights(weights, expected, prefix)
    report.mapped, report.skipped = len(matched), skipped

    settings, files = tokenizer_settings(
        vocab_path, spm_path, tokenizer, do_lower_case, mecab_dic, report, config.vocab_size
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
        ),
        report,
    )


def _same_embeddings(disc_hf: dict, gen_hf: dict) -> bool:
    """Whether the HF generator's embeddings are the discriminator's (ELECTRA's tied setting)."""
    for name, value in disc_hf.items():
        if name.startswith("electra.embeddings."):
            other = gen_hf.get(name)
            if other is None or other.shape != value.shape or not np.array_equal(other, value):
                return False
    return True


def from_hf(path: str) -> tuple[ModelDirectory, Report]:
    """Read an HF BERT / ELECTRA directory (and a ``generator/`` one beside it) into canonical names."""
    directory = Path(path)
    report = Report(source=f"{directory} (HF transformers directory)")
    config, hf_weights = hf_format.read_hf_model(directory)
    report.family = config.model_type
    # HF names are the canonical ones with "." for "/"; the generator is its own directory
    slashed = [n.replace(".", "/") for n in hf_weights]
    components = [c for c in detect_components(slashed, config.model_type) if c != "generator"]
    prefix = f"{config.model_type}."
    hf_weights = {
        (n if n.startswith((prefix, "cls.", "discriminator_predictions.")) else prefix + n): v
        for n, v in hf_weights.items()
    }
    expected = expected_weights(config, components)
    weights, unused = hf_format.from_hf_weights(hf_weights, list(expected))
    generator_config, untied = None, False
    if (directory / "generator" / "config.json").is_file():
        generator_config, gen_hf = hf_format.read_hf_model(directory / "generator")
        generator_config = generator_config.replace(model_type="electra")
        components.append("generator")
        untied = not _same_embeddings(hf_weights, gen_hf)
        gen_expected = generator_weights(generator_config, untied)
        gen_weights, gen_unused = hf_format.from_hf_weights(gen_hf, list(gen_expected), True)
        unused += [f"generator/{n}" for n in gen_unused]
        weights.update(gen_weights)
        expected.update(gen_expected)
        if untied:
            report.add("generator: its own embeddings (untied from the discriminator's)")
    if unused:
        raise CheckpointError(
            f"{directory}: weights with no place in the model: {', '.join(unused[:20])}"
        )
    matched = match_weights(weights, expected, str(directory))
    report.mapped = len(matched)
    files = {}
    if (directory / "vocab.txt").is_file():
        files["vocab_file"] = directory / "vocab.txt"
    settings = None
    if files:
        settings, files = tokenizer_settings(files["vocab_file"], None, None, None, None, report)
    md = ModelDirectory(config, matched, components, generator_config, untied, settings, files)
    return md, report


def from_model_dir(path: str) -> tuple[ModelDirectory, Report]:
    md = read_model_dir(path)
    report = Report(source=f"{path} (jbert model directory)", family=md.config.model_type)
    report.mapped = len(md.weights)
    return md, report


def read_source(ckpt: str, **options) -> tuple[ModelDirectory, Report]:
    """Any supported source: TF1 checkpoint, jbert model directory or HF directory."""
    path = Path(ckpt)
    if is_model_dir(path):
        return from_model_dir(ckpt)
    if (
        path.is_dir()
        and (path / "config.json").is_file()
        and ((path / "model.safetensors").is_file() or (path / "pytorch_model.bin").is_file())
        and not (path / "checkpoint").is_file()
    ):
        return from_hf(ckpt)
    return from_tf1(ckpt, **options)
