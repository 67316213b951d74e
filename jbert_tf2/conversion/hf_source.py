"""`jbert-convert`'s reader of an HF transformers directory: ``config.json`` with
``model.safetensors`` or TF's ``tf_model.h5``, a ``generator/`` directory beside it (what
``--to hf`` writes for ELECTRA), ``vocab.txt`` and ``tokenizer_config.json``.

What transformers saves: ``BertModel`` / ``BertForPreTraining`` / ``ElectraModel`` /
``ElectraForPreTraining`` map onto our encoders and pretraining heads. ``BertForMaskedLM`` has
no pooler (transformers builds it with ``add_pooling_layer=False``), which Google's BERT and ours
always have: it is newly initialised, as transformers and Google's ``run_classifier`` do when a
classifier starts from such a model, and the report says so. A standalone
``ElectraForMaskedLM`` (a generator published on its own) becomes a generator model directory:
its encoder is both the directory's encoder (``load``) and the generator's body
(``load_generator``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from jbert_tf2.checkpoint import hf as hf_format
from jbert_tf2.checkpoint.inspection import (
    Report,
    detect_components,
    expected_weights,
    find_beside,
    generator_weights,
    match_weights,
)
from jbert_tf2.config import BertConfig
from jbert_tf2.conversion.hf_task_head import has_classifier, hf_config_json, read_hf_task_head
from jbert_tf2.conversion.hf_tokenizer_config import read_hf_tokenizer_config
from jbert_tf2.conversion.tokenizer_files import TokenizerWarning, tokenizer_settings
from jbert_tf2.errors import CheckpointError, JbertError
from jbert_tf2.model_dir import ModelDirectory
from jbert_tf2.tokenization.settings import TokenizerSettings

_HEAD_PREFIXES = (
    "cls.",
    "discriminator_predictions.",
    "generator_predictions.",
    "generator_lm_head.",
)


def _same_embeddings(disc_hf: dict, gen_hf: dict) -> bool:
    """Whether the HF generator's embeddings are the discriminator's (ELECTRA's tied setting)."""
    for name, value in disc_hf.items():
        if name.startswith("electra.embeddings."):
            other = gen_hf.get(name)
            if other is None or other.shape != value.shape or not np.array_equal(other, value):
                return False
    return True


def _with_model_prefix(hf_weights: dict, model_type: str) -> dict:
    """HF base models (``BertModel``) save their names without the ``bert.`` prefix the models
    with heads use; give every encoder name the prefix."""
    prefix = f"{model_type}."
    return {
        (n if n.startswith((prefix, *_HEAD_PREFIXES)) else prefix + n): v
        for n, v in hf_weights.items()
    }


def _new_pooler(config: BertConfig, hf_weights: dict, report: Report) -> dict:
    """transformers saves BertForMaskedLM without the pooler, which our BERT always has: a new
    one as transformers initialises it (normal, std ``initializer_range``, zero bias; seed 0,
    so a conversion is repeatable). Its encoder and MLM outputs are the saved model's."""
    if config.model_type != "bert" or "bert.pooler.dense.weight" in hf_weights:
        return hf_weights
    hidden = config.hidden_size
    report.add(
        "pooler: none in the file (transformers saves BertForMaskedLM without it); newly "
        f"initialised (normal, std {config.initializer_range}), as transformers and Google's "
        "run_classifier do when fine-tuning from this model: fine-tune before using pooled_output"
    )
    rng = np.random.default_rng(0)
    return {
        **hf_weights,
        "bert.pooler.dense.weight": rng.normal(
            0.0, config.initializer_range, (hidden, hidden)
        ).astype(np.float32),
        "bert.pooler.dense.bias": np.zeros(hidden, np.float32),
    }


def _generator_only(config: BertConfig, hf_weights: dict, report: Report):
    """An ``ElectraForMaskedLM`` on its own: the encoder under ``electra/`` (what ``load``
    gives) and again as the generator's body under ``generator/`` (``load_generator``)."""
    encoder = expected_weights(config, ["encoder"])
    generator = generator_weights(config, untied=False)
    weights, _ = hf_format.from_hf_weights(hf_weights, list(encoder))
    gen_weights, unused = hf_format.from_hf_weights(hf_weights, list(generator), True)
    weights.update(gen_weights)
    report.add(
        "generator only (ElectraForMaskedLM): config.json is the generator's; jbert_tf2.load "
        "gives its encoder and load_generator the masked-LM model (the encoder is stored "
        "under electra/ and generator/)"
    )
    return weights, {**encoder, **generator}, unused


# Options of TF1 checkpoints only, and why an HF directory has no use for them.
_TF1_ONLY = {
    "config_file": ("--config", "its config.json is the model's config"),
    "generator_config_file": (
        "--generator-config",
        "a generator is read from generator/config.json beside it",
    ),
    "spm_model": (
        "--spm-model",
        "the tokenizer is read from vocab.txt and tokenizer_config.json (--vocab replaces "
        "vocab.txt)",
    ),
}


def _refuse_tf1_options(directory: Path, config: BertConfig, options: dict) -> None:
    """Refuse, naming the flag and why, every option that applies to TF1 checkpoints only;
    ``--family`` and ``--hidden-act`` are accepted when they agree with ``config.json``."""
    for key, (flag, why) in _TF1_ONLY.items():
        if options.get(key) is not None:
            raise JbertError(
                f"{flag}: applies to TF1 checkpoints; {directory} is an HF directory, and {why}: "
                f"drop {flag}"
            )
    family = options.get("family")
    if family is not None and family != config.model_type:
        raise JbertError(
            f"--family {family}: {directory}/config.json says model_type {config.model_type}; "
            "drop --family"
        )
    act = options.get("hidden_act")
    if act is not None and act != config.hidden_act:
        raise JbertError(
            f"--hidden-act {act}: {directory}/config.json says hidden_act "
            f"{config.hidden_act!r}, which is what transformers computes with these weights; "
            "drop --hidden-act (or edit config.json if it is wrong)"
        )


def _zero_pooler(config: BertConfig, hf_weights: dict, report: Report) -> dict:
    """transformers saves BertForTokenClassification without the pooler, which our BERT always
    has and a tagger never reads: zeros, said in the report."""
    if config.model_type != "bert" or "bert.pooler.dense.weight" in hf_weights:
        return hf_weights
    hidden = config.hidden_size
    report.add("pooler: none in the file (a tagger does not use it); stored as zeros")
    return {
        **hf_weights,
        "bert.pooler.dense.weight": np.zeros((hidden, hidden), np.float32),
        "bert.pooler.dense.bias": np.zeros(hidden, np.float32),
    }


def from_hf(
    path: str,
    vocab: str | None = None,
    tokenizer: str | None = None,
    do_lower_case: bool | None = None,
    mecab_dic: str | None = None,
    no_tokenizer: bool = False,
    task: str | None = None,
    task_name: str | None = None,
    labels=None,
    labels_from: str | None = None,
    head_optional: bool = False,
    **tf1_options,
) -> tuple[ModelDirectory, Report]:
    """Read an HF BERT / ELECTRA directory (and a ``generator/`` one beside it) into canonical
    names, with the tokenizer its files name (the tokenizer options override them). A
    classification model (`hf_task_head`) becomes a task model directory; ``task``,
    ``labels`` and ``task_name`` apply to its head. Options of TF1 checkpoints only are
    refused, each named with the reason."""
    directory = Path(path)
    config, hf_weights, weights_file = hf_format.read_hf_model(directory)
    _refuse_tf1_options(directory, config, tf1_options)
    report = Report(source=f"{directory} (HF transformers directory, {weights_file})")
    report.family = config.model_type
    raw_config = hf_config_json(directory)
    head = None
    if has_classifier(hf_weights, raw_config):
        hf_weights, head = read_hf_task_head(
            hf_weights, raw_config, config, directory, report, task, labels, task_name
        )
    elif (task, task_name, labels) != (None, None, None) and not head_optional:
        asked = "--task" if task else "--task_name" if task_name else labels_from or "--labels"
        raise JbertError(
            f"{asked}: {directory} has no classification head (no classifier weights); these "
            f"options pick and label a fine-tuned head: drop {asked}"
        )
    hf_weights = _with_model_prefix(hf_weights, config.model_type)
    if head is not None and head.settings.task == "token_classification":
        hf_weights = _zero_pooler(config, hf_weights, report)
    # HF names are the canonical ones with "." for "/"; the generator is its own directory
    found = detect_components([n.replace(".", "/") for n in hf_weights], config.model_type)
    generator_config, untied = None, False
    if "generator" in found and "discriminator" not in found:
        components = ["encoder", "generator"]
        generator_config = config
        weights, expected, unused = _generator_only(config, hf_weights, report)
    else:
        hf_weights = _new_pooler(config, hf_weights, report)
        components = [c for c in found if c != "generator"]
        expected = expected_weights(config, components)
        weights, unused = hf_format.from_hf_weights(hf_weights, list(expected))
    if (directory / "generator" / "config.json").is_file() and generator_config is None:
        generator_config, gen_hf, _ = hf_format.read_hf_model(directory / "generator")
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
    if head is not None:
        matched.update(head.weights)
        components.append("task")
    report.mapped = len(matched)
    report.add(f"components: {', '.join(components)}")
    settings, files = _tokenizer(
        directory, config, report, vocab, tokenizer, do_lower_case, mecab_dic, no_tokenizer
    )
    md = ModelDirectory(
        config,
        matched,
        components,
        generator_config,
        untied,
        settings,
        files,
        task=head.settings if head is not None else None,
    )
    return md, report


def _tokenizer(
    directory: Path,
    config: BertConfig,
    report: Report,
    vocab: str | None,
    tokenizer: str | None,
    do_lower_case: bool | None,
    mecab_dic: str | None,
    no_tokenizer: bool,
) -> tuple[TokenizerSettings | None, dict[str, Path]]:
    """The tokenizer ``tokenizer_config.json`` names, on ``vocab.txt`` (or ``--vocab``); the
    command line's options win over the file's."""
    vocab_path = Path(vocab) if vocab else find_beside(directory, ("vocab.txt",))
    if vocab_path is not None and not vocab_path.is_file():
        raise JbertError(f"{vocab_path}: file not found (--vocab)")
    if no_tokenizer or vocab_path is None:  # a --tokenizer without a vocabulary is refused there
        return tokenizer_settings(
            None, None, tokenizer, None, None, report, no_tokenizer=no_tokenizer
        )
    reason = "as given"
    choice = None if tokenizer else read_hf_tokenizer_config(directory)
    if choice is not None and choice.tokenizer is None:
        message = (
            f"{choice.reason}; the weights are converted but no tokenizer is recorded: pass "
            "--tokenizer (with --mecab-dic, --do-lower-case) to record the nearest one, or "
            "--no-tokenizer to silence this"
        )
        report.add("tokenizer: none (tokenizer_config.json names one jbert cannot build)")
        report.add(f"warning: {message}")
        warnings.warn(message, TokenizerWarning, stacklevel=2)
        return None, {}
    if choice is not None:
        tokenizer = choice.tokenizer
        do_lower_case = choice.do_lower_case if do_lower_case is None else do_lower_case
        mecab_dic = mecab_dic or choice.mecab_dic
        reason = choice.reason
    return tokenizer_settings(
        vocab_path,
        None,
        tokenizer,
        do_lower_case,
        mecab_dic,
        report,
        config.vocab_size,
        reason=reason,
    )
