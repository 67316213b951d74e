"""What a checkpoint holds and what the model built from its config needs.

Family and components from the variable names, sizes from the shapes, the config checked
against them, and the strict name-and-shape match: every checkpoint variable mapped or skipped,
every model variable filled, anything else an error naming the variable, both shapes and the
likely cause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jbert_tf2.checkpoint.names import scopes
from jbert_tf2.config import BertConfig
from jbert_tf2.errors import CheckpointError, ConfigError, JbertError

COMPONENT_PREFIXES = {
    "mlm": ("cls/predictions/",),
    "nsp": ("cls/seq_relationship/",),
    "discriminator": ("discriminator_predictions/",),
    "generator": ("generator/", "generator_predictions/"),
}


@dataclass
class Report:
    """What a conversion did: printed by `jbert-convert`."""

    source: str
    family: str = ""
    lines: list[str] = field(default_factory=list)
    mapped: int = 0
    skipped: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)

    def format(self) -> str:
        out = [f"source: {self.source}"]
        if self.family:
            out.append(f"family: {self.family}")
        out.append(f"mapped: {self.mapped} variables")
        if self.skipped:
            kinds = sorted({n.split("/")[-1] for n in self.skipped})
            out.append(f"skipped: {len(self.skipped)} optimizer variables ({', '.join(kinds)})")
        out += self.lines
        return "\n".join(out)


def detect_family(names: list[str], requested: str | None, source: str) -> str:
    """``bert`` or ``electra`` from the variable scopes; the user's --family must agree."""
    has_bert = any(n.startswith("bert/") for n in names)
    has_electra = any(n.startswith("electra/") for n in names)
    found = "electra" if has_electra else "bert" if has_bert else None
    if found is None:
        raise CheckpointError(
            f"{source}: holds neither bert/ nor electra/ variables (scopes: "
            f"{', '.join(scopes(names)) or 'none'}); this is not a Google BERT or ELECTRA checkpoint"
        )
    if requested and requested != found:
        raise CheckpointError(
            f"{source}: --family {requested} given, but the checkpoint's variables are under "
            f"{found}/ (a {found.upper()} checkpoint); drop --family or pass --family {found}"
        )
    return found


def detect_components(names: list[str], family: str) -> list[str]:
    found = ["encoder"]
    candidates = ("mlm", "nsp") if family == "bert" else ("discriminator", "generator")
    for component in candidates:
        if any(n.startswith(COMPONENT_PREFIXES[component]) for n in names):
            found.append(component)
    return found


def _layer_count(weights: dict, scope: str) -> int:
    indices = {
        int(m.group(1)) for n in weights if (m := re.match(rf"^{scope}/encoder/layer_(\d+)/", n))
    }
    return max(indices) + 1 if indices else 0


# Each size a checkpoint's shapes determine: (variable, axis). "{e}" is the embeddings scope,
# "{s}" the encoder scope. Only the head count cannot be read from shapes.
_SIZE_VARIABLES = {
    "vocab_size": ("{e}/word_embeddings", 0),
    "embedding_size": ("{e}/word_embeddings", 1),
    "max_position_embeddings": ("{e}/position_embeddings", 0),
    "type_vocab_size": ("{e}/token_type_embeddings", 0),
    "hidden_size": ("{s}/encoder/layer_0/attention/self/query/kernel", 1),
    "intermediate_size": ("{s}/encoder/layer_0/intermediate/dense/kernel", 1),
}


def shape_config(weights: dict[str, np.ndarray], scope: str, embeddings_scope: str) -> dict:
    """Every size that the checkpoint's shapes determine (all but the head count)."""
    sizes: dict = {}
    for key, (template, axis) in _SIZE_VARIABLES.items():
        variable = template.format(e=embeddings_scope, s=scope)
        if variable in weights:
            sizes[key] = int(weights[variable].shape[axis])
    sizes["num_hidden_layers"] = _layer_count(weights, scope)
    return sizes


def check_config_against_shapes(
    config: BertConfig,
    weights: dict,
    sizes: dict,
    scope: str,
    embeddings_scope: str,
    source: str,
    flag: str = "--config",
    fix: str | None = None,
) -> None:
    """Name each config field the checkpoint contradicts (``sizes`` from `shape_config`), with
    the variable and its shape."""
    problems = []
    for key, value in sizes.items():
        if key == "num_hidden_layers" and value == 0:
            continue
        if getattr(config, key) != value:
            if key == "num_hidden_layers":
                shown = f"{value} layers ({scope}/encoder/layer_0..{value - 1})"
            else:
                variable = _SIZE_VARIABLES[key][0].format(e=embeddings_scope, s=scope)
                shown = f"{value} ({variable} has shape {list(weights[variable].shape)})"
            problems.append(f"  {key}: config says {getattr(config, key)}, checkpoint has {shown}")
    if problems:
        raise CheckpointError(
            f"{config.source or 'config'} does not describe {source}:\n"
            + "\n".join(problems)
            + "\n"
            + (
                fix
                or "likely cause: the config belongs to another model size; pass the config "
                f"that came with this checkpoint ({flag})"
            )
        )


def heads_by_rule(hidden: int, source: str, what: str = "") -> int:
    """ELECTRA's (and Google's released sizes') rule: one head per 64 hidden units."""
    heads = max(1, hidden // 64)
    if hidden % heads:
        raise ConfigError(
            f"{source}: no {what}config file found, and the head count cannot be read from the "
            f"weights (the hidden // 64 rule gives {heads} heads, which do not divide "
            f"hidden_size {hidden}); pass --{what}config"
        )
    return heads


def inferred_config(sizes: dict, family: str, source: str, act: str) -> BertConfig:
    hidden = sizes.get("hidden_size")
    if not hidden or not sizes.get("vocab_size"):
        raise CheckpointError(f"{source}: cannot infer the model sizes (no embeddings or layer_0)")
    return BertConfig(
        **sizes,
        num_attention_heads=heads_by_rule(hidden, source),
        hidden_act=act,
        model_type=family,
        source=f"{source} (inferred from shapes)",
    )


def embedding_size_from_weights(
    config: BertConfig, path: Path, sizes: dict, report: Report
) -> BertConfig:
    """ELECTRA passes the embedding size outside its BertConfig, so config files written from it
    (bert_config.json) often lack it; take it from the word-embedding table then."""
    found = sizes.get("embedding_size")
    if found and found != config.embedding_size and "embedding_size" not in path.read_text():
        report.add(f"embedding_size: {found} (not in {path.name}; read from the word embeddings)")
        return config.replace(embedding_size=found)
    return config


def find_beside(directory: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        if (directory / name).is_file():
            return directory / name
    return None


def single_file(directory: Path, pattern: str, what: str, flag: str) -> Path | None:
    found = sorted(directory.glob(pattern))
    if len(found) > 1:
        raise JbertError(
            f"{directory}: several {what} files ({', '.join(p.name for p in found)}); "
            f"pass the right one with {flag}"
        )
    return found[0] if found else None


# ---------------------------------------------------------------- the models a checkpoint fills


# Sizes of a structural twin: every model dimension gets a distinct small value (not 1 or 2,
# which heads use as fixed output sizes), so each dimension of a twin's weight maps back to the
# real config's. The model classes stay the one source of names and shapes, and checking a
# BERT-large checkpoint allocates kilobytes, not the model.
_TWIN_SIZES = {
    "vocab_size": 23,
    "hidden_size": 12,
    "intermediate_size": 17,
    "max_position_embeddings": 19,
    "type_vocab_size": 7,
}
_TWIN_EMBEDDING = 5


def _shapes_via_twin(config: BertConfig, build) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` of ``build(config)`` computed on a tiny twin of the same structure."""
    twin_sizes = dict(_TWIN_SIZES)
    separate_embedding = config.embedding_size != config.hidden_size
    twin_sizes["embedding_size"] = _TWIN_EMBEDDING if separate_embedding else 12
    twin = config.replace(**twin_sizes, num_attention_heads=1)
    real = {value: getattr(config, key) for key, value in twin_sizes.items()}
    model = build(twin)
    return {
        name: tuple(real.get(dim, dim) for dim in variable.shape)
        for name, variable in model.canonical_weights().items()
    }


def expected_weights(
    config: BertConfig,
    components: list[str],
    generator_config: BertConfig | None = None,
    generator_untied: bool = False,
) -> dict[str, tuple[int, ...]]:
    """``{canonical name: shape}`` of every variable the given components hold."""
    from jbert_tf2.models import BertModel, BertPretrainingModel, ElectraDiscriminator, ElectraModel

    if config.model_type == "bert":
        heads = tuple(c for c in ("mlm", "nsp") if c in components)

        def build(c):
            return BertPretrainingModel(c, heads=heads) if heads else BertModel(c)
    elif "discriminator" in components:
        build = ElectraDiscriminator
    else:
        build = ElectraModel
    names = _shapes_via_twin(config, build)
    if "generator" in components and generator_config is not None:
        names.update(generator_weights(generator_config, generator_untied))
    return names


def match_weights(
    weights: dict[str, np.ndarray],
    expected: dict[str, tuple[int, ...]],
    source: str,
    allow_unmapped: bool = False,
) -> dict[str, np.ndarray]:
    """Strict name-and-shape match; raise listing unmapped, missing and mis-shaped variables.
    ``allow_unmapped``: extra weights are fine (loading one part of a model directory)."""
    unmapped = [] if allow_unmapped else sorted(n for n in weights if n not in expected)
    missing = sorted(n for n in expected if n not in weights)
    wrong = [
        f"  shape mismatch: {n}: checkpoint {list(weights[n].shape)}, model {list(shape)}"
        for n, shape in expected.items()
        if n in weights and tuple(weights[n].shape) != tuple(shape)
    ]
    if unmapped or missing or wrong:
        lines = [f"{source}: the checkpoint and the model built from its config do not match"]
        lines += [f"  unmapped (in checkpoint, not in model): {n}" for n in unmapped[:25]]
        if len(unmapped) > 25:
            lines.append(f"  ... and {len(unmapped) - 25} more unmapped")
        lines += [f"  missing (in model, not in checkpoint): {n}" for n in missing[:25]]
        if len(missing) > 25:
            lines.append(f"  ... and {len(missing) - 25} more missing")
        lines += wrong[:25]
        if wrong and not allow_unmapped:
            lines.append("likely cause: the config does not describe this checkpoint (--config)")
        elif allow_unmapped:
            lines.append(
                "likely cause: the files were edited or mixed up; convert the checkpoint again"
            )
        raise CheckpointError("\n".join(lines))
    return {n: weights[n] for n in expected}


def generator_weights(generator_config: BertConfig, untied: bool) -> dict[str, tuple[int, ...]]:
    """``{canonical name: shape}`` of the ELECTRA generator alone (shared or its own embeddings)."""
    from jbert_tf2.models import ElectraGenerator

    return _shapes_via_twin(
        generator_config, lambda c: ElectraGenerator(c, untied_embeddings=untied)
    )
