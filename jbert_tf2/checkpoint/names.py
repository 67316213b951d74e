"""The table of canonical weight names: Google's TF1 variable names, and their HF equivalents.

Every model lists ``{canonical TF1 name: variable}`` (e.g.
``bert/encoder/layer_0/attention/self/query/kernel``); converting a TF1 checkpoint is then a
rename-free copy. HF format is this table of rules plus one shape rule: dense kernels are stored
transposed ([out, in]) in PyTorch. `cls/seq_relationship/output_weights` is already [2, hidden]
in TF1, so it is not transposed.
"""

from __future__ import annotations

import re

# Variables TF1 training writes besides the model: optimizer slots and counters.
_OPTIMIZER_SUFFIXES = ("/adam_m", "/adam_v", "/Adam", "/Adam_1", "/Momentum", "/lamb_m", "/lamb_v")
_OPTIMIZER_NAMES = {"global_step", "beta1_power", "beta2_power", "good_steps", "loss_scale"}


def is_optimizer_variable(name: str) -> bool:
    """True for optimizer slots (``adam_m``, ``adam_v``, ...) and ``global_step``."""
    return name.endswith(_OPTIMIZER_SUFFIXES) or name.split("/")[-1] in _OPTIMIZER_NAMES


# (pattern on the canonical name, HF name with "/" for ".", transpose the array)
HF_RULES: list[tuple[str, str, bool]] = [
    (r"^(\w+)/embeddings/(\w+_embeddings)$", r"\1/embeddings/\2/weight", False),
    (r"^(\w+)/embeddings/LayerNorm/gamma$", r"\1/embeddings/LayerNorm/weight", False),
    (r"^(\w+)/embeddings/LayerNorm/beta$", r"\1/embeddings/LayerNorm/bias", False),
    (r"^(\w+)/embeddings_project/kernel$", r"\1/embeddings_project/weight", True),
    (r"^(\w+)/embeddings_project/bias$", r"\1/embeddings_project/bias", False),
    (r"^(\w+)/encoder/layer_(\d+)/(.+)/kernel$", r"\1/encoder/layer/\2/\3/weight", True),
    (r"^(\w+)/encoder/layer_(\d+)/(.+)/bias$", r"\1/encoder/layer/\2/\3/bias", False),
    (r"^(\w+)/encoder/layer_(\d+)/(.+)/gamma$", r"\1/encoder/layer/\2/\3/weight", False),
    (r"^(\w+)/encoder/layer_(\d+)/(.+)/beta$", r"\1/encoder/layer/\2/\3/bias", False),
    (r"^bert/pooler/dense/kernel$", "bert/pooler/dense/weight", True),
    (r"^bert/pooler/dense/bias$", "bert/pooler/dense/bias", False),
    (r"^cls/predictions/transform/dense/kernel$", "cls/predictions/transform/dense/weight", True),
    (r"^cls/predictions/transform/dense/bias$", "cls/predictions/transform/dense/bias", False),
    (
        r"^cls/predictions/transform/LayerNorm/gamma$",
        "cls/predictions/transform/LayerNorm/weight",
        False,
    ),
    (
        r"^cls/predictions/transform/LayerNorm/beta$",
        "cls/predictions/transform/LayerNorm/bias",
        False,
    ),
    (r"^cls/predictions/output_bias$", "cls/predictions/bias", False),
    (r"^cls/seq_relationship/output_weights$", "cls/seq_relationship/weight", False),
    (r"^cls/seq_relationship/output_bias$", "cls/seq_relationship/bias", False),
    (r"^discriminator_predictions/dense/kernel$", "discriminator_predictions/dense/weight", True),
    (r"^discriminator_predictions/dense/bias$", "discriminator_predictions/dense/bias", False),
    (
        r"^discriminator_predictions/dense_1/kernel$",
        "discriminator_predictions/dense_prediction/weight",
        True,
    ),
    (
        r"^discriminator_predictions/dense_1/bias$",
        "discriminator_predictions/dense_prediction/bias",
        False,
    ),
    (r"^generator_predictions/dense/kernel$", "generator_predictions/dense/weight", True),
    (r"^generator_predictions/dense/bias$", "generator_predictions/dense/bias", False),
    (r"^generator_predictions/LayerNorm/gamma$", "generator_predictions/LayerNorm/weight", False),
    (r"^generator_predictions/LayerNorm/beta$", "generator_predictions/LayerNorm/bias", False),
    (r"^generator_predictions/output_bias$", "generator_lm_head/bias", False),
    # a task model's head: HF's BertFor{Sequence,Token}Classification / ElectraForTokenClassification
    (r"^task/dense/kernel$", "classifier/weight", True),
    (r"^task/dense/bias$", "classifier/bias", False),
]

# HF weights tied to others (decoders tied to the word embeddings); read as duplicates.
HF_TIED_NAMES = {
    "cls.predictions.decoder.weight",
    "cls.predictions.decoder.bias",
    "generator_lm_head.weight",
}
# Older HF releases also stored these non-parameter buffers.
HF_BUFFER_SUFFIXES = ("position_ids", "token_type_ids")

_COMPILED = [(re.compile(p), r, t) for p, r, t in HF_RULES]


def to_hf_name(canonical: str, generator: bool = False) -> tuple[str, bool]:
    """HF parameter name for a canonical name and whether the array is transposed.

    In HF, ELECTRA's generator is a model of its own whose encoder is named ``electra``; pass
    ``generator=True`` to map ``generator/...`` there (the shared ``electra/embeddings`` stay).
    """
    name = canonical
    if generator and name.startswith("generator/"):
        name = "electra/" + name[len("generator/") :]
    for pattern, replacement, transpose in _COMPILED:
        if pattern.match(name):
            return pattern.sub(replacement, name).replace("/", "."), transpose
    raise KeyError(f"no HF name for canonical variable {canonical!r}")


def scopes(names) -> list[str]:
    """The distinct top-level scopes of a set of variable names, for messages."""
    return sorted({n.split("/")[0] for n in names})
