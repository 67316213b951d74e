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


def shape_config(weights: dict[str, np.ndarray], scope: str, embeddings_scope: str) -> dict:
    """Every size that the checkpoint's shapes determine (all but the head count)."""
    sizes: dict = {}

    def shape(name):
        return weights[name].shape if name in weights else None

    if (s := shape(f"{embeddings_scope}/word_embeddings")) is not None:
        sizes["vocab_size"], sizes["embedding_size"] = int(s[0]), int(s[1])
    if (s := shape(f"{embeddings_scope}/position_embeddings")) is not None:
        sizes["max_position_embeddings"] = int(s[0])
    if (s := shape(f"{embeddings_scope}/token_type_embeddings")) is not None:
        sizes["type_vocab_size"] = int(s[0])
    if (s := shape(f"{scope}/encoder/layer_0/attention/self/query/kernel")) is not None:
        sizes["hidden_size"] = int(s[1])
    if (s := shape(f"{scope}/encoder/layer_0/intermediate/dense/kernel")) is not None:
        sizes["intermediate_size"] = int(s[1])
    sizes["num_hidden_layers"] = _layer_count(weights, scope)
    return sizes


_SIZE_VARIABLE = {
    "vocab_size": "{e}/word_embeddings",
    "embedding_size": "{e}/word_embeddings",
    "max_position_embeddings": "{e}/position_embeddings",
    "type_vocab_size": "{e}/token_type_embeddings",
    "hidden_size": "{s}/encoder/layer_0/attention/self/query/kernel",
    "intermediate_size": "{s}/encoder/layer_0/intermediate/dense/kernel",
    "num_hidden_layers": "{s}/encoder/layer_N",
}


def check_config_against_shapes(
    config: BertConfig,
    weights: dict,
    scope: str,
    embeddings_scope: str,
    source: str,
    flag: str = "--config",
) -> None:
    """Name each config field the checkpoint contradicts, with the variable and its shape."""
    sizes = shape_config(weights, scope, embeddings_scope)
    problems = []
    for key, value in sizes.items():
        if key == "num_hidden_layers" and value == 0:
            continue
        if getattr(config, key) != value:
            variable = _SIZE_VARIABLE[key].format(e=embeddings_scope, s=scope)
            shown = (
                f"{value} layers ({scope}/encoder/layer_0..{value - 1})"
                if key == "num_hidden_layers"
                else f"{value} ({variable} has shape {list(weights[variable].shape)})"
            )
            problems.append(f"  {key}: config says {getattr(config, key)}, checkpoint has {shown}")
    if problems:
        raise CheckpointError(
            f"{config.source or 'config'} does not describe {source}:\n"
            + "\n".join(problems)
            + "\nlikely cause: the config belongs to another model size; pass the config that "
            f"came with this checkpoint ({flag})"
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


def expected_weights(
    config: BertConfig,
    components: list[str],
    generator_config: BertConfig | None = None,
    generator_untied: bool = False,
) -> dict[str, tuple[int, ...]]:
    """``{canonical name: shape}`` of every variable the given components hold."""
    from jbert_tf2.models import (
        BertModel,
        BertPretrainingModel,
        ElectraDiscriminator,
        ElectraGenerator,
        ElectraModel,
    )

    names: dict[str, tuple[int, ...]] = {}

    def take(model):
        # one model per part, built once: its variables are allocated only for their shapes
        names.update({n: tuple(v.shape) for n, v in model.canonical_weights().items()})

    if config.model_type == "bert":
        heads = tuple(c for c in ("mlm", "nsp") if c in components)
        take(BertPretrainingModel(config, heads=heads) if heads else BertModel(config))
    else:
        take(
            ElectraDiscriminator(config) if "discriminator" in components else ElectraModel(config)
        )
        if "generator" in components and generator_config is not None:
            take(ElectraGenerator(generator_config, untied_embeddings=generator_untied))
    return names


def match_weights(
    weights: dict[str, np.ndarray], expected: dict[str, tuple[int, ...]], source: str
) -> dict[str, np.ndarray]:
    """Strict name-and-shape match; raise listing unmapped, missing and mis-shaped variables."""
    unmapped = sorted(n for n in weights if n not in expected)
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
        if unmapped and any(
            re.search(r"output_(weights|bias)$", n) and "/" not in n for n in unmapped
        ):
            lines.append(
                "likely cause: a fine-tuned checkpoint with a task head (output_weights); "
                "convert the pretrained checkpoint"
            )
        elif wrong:
            lines.append("likely cause: the config does not describe this checkpoint (--config)")
        raise CheckpointError("\n".join(lines))
    return {n: weights[n] for n in expected}


def generator_weight_names(generator_config: BertConfig, untied: bool) -> list[str]:
    """Canonical names of the ELECTRA generator alone (its embeddings: shared or its own)."""
    from jbert_tf2.models import ElectraGenerator

    return list(ElectraGenerator(generator_config, untied_embeddings=untied).canonical_weights())
