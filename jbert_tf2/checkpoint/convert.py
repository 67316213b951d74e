"""Conversion between TF1 checkpoints, jbert model directories and HF format, with a report.

Strict by design: every checkpoint variable is mapped to a model variable or skipped as an
optimizer variable, and every model variable is filled; anything else is an error naming the
variable, both shapes and the likely cause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jbert_tf2.checkpoint import hf as hf_format
from jbert_tf2.checkpoint.model_dir import (
    ModelDirectory,
    is_model_dir,
    read_model_dir,
    save_model_dir,
    write_atomically,
)
from jbert_tf2.checkpoint.names import is_optimizer_variable, scopes
from jbert_tf2.checkpoint.tf1 import read_tf1_checkpoint, resolve_checkpoint, write_tf1_checkpoint
from jbert_tf2.config import EXACT_ACT_KEY, BertConfig, read_config
from jbert_tf2.errors import CheckpointError, ConfigError, JbertError

TOKENIZERS = ("wordpiece", "mecab-wordpiece", "mecab-character", "character", "sentencepiece")
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


# ---------------------------------------------------------------- family, config, components


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


def _embedding_size_from_weights(
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


def _single(directory: Path, pattern: str, what: str, flag: str) -> Path | None:
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

    def take(model, prefixes=None):
        for name, var in model.canonical_weights().items():
            if prefixes is None or name.startswith(prefixes):
                names[name] = tuple(var.shape)

    if config.model_type == "bert":
        take(BertModel(config))
        heads = tuple(p for c in ("mlm", "nsp") if c in components for p in COMPONENT_PREFIXES[c])
        if heads:
            take(BertPretrainingModel(config), heads)
    else:
        take(ElectraModel(config))
        if "discriminator" in components:
            take(ElectraDiscriminator(config), COMPONENT_PREFIXES["discriminator"])
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


# ---------------------------------------------------------------- tokenizer


def _vocab_is_cased(vocab_file: Path) -> bool:
    with open(vocab_file, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            token = line.split("\t")[0].strip()
            if token.startswith("[") and token.endswith("]"):
                continue
            if any("A" <= ch <= "Z" for ch in token):
                return True
    return False


def tokenizer_settings(
    vocab: Path | None,
    spm_model: Path | None,
    tokenizer: str | None,
    do_lower_case: bool | None,
    mecab_dic: str | None,
    report: Report,
) -> tuple[dict | None, dict[str, Path]]:
    """What ``tokenizer.json`` records, and the files to copy beside it."""
    if tokenizer is None:
        tokenizer = "sentencepiece" if spm_model else "wordpiece" if vocab else None
    if tokenizer is None:
        report.add("tokenizer: none (no vocab.txt / *.vocab / *.model found; pass --vocab)")
        return None, {}
    if tokenizer == "sentencepiece" and spm_model is None:
        raise JbertError(
            "--tokenizer sentencepiece needs the SentencePiece model: pass --spm-model"
        )
    if tokenizer != "sentencepiece" and vocab is None:
        raise JbertError(f"--tokenizer {tokenizer} needs a WordPiece vocabulary: pass --vocab")
    reason = "as given"
    if do_lower_case is None:
        if tokenizer == "sentencepiece":
            do_lower_case, reason = True, "yoheikikuta's default"
        elif tokenizer.startswith("mecab") or tokenizer == "character":
            do_lower_case, reason = False, "cl-tohoku's default"
        else:
            cased = _vocab_is_cased(vocab)
            do_lower_case = not cased
            reason = (
                "the vocabulary has upper-case tokens" if cased else "the vocabulary is lower-case"
            )
    settings = {"tokenizer": tokenizer, "do_lower_case": do_lower_case}
    if tokenizer.startswith("mecab"):
        settings["mecab_dic"] = mecab_dic or "unidic_lite"
    files = {}
    if vocab is not None:
        files["vocab_file"] = vocab
    if spm_model is not None:
        files["spm_model_file"] = spm_model
    shown = ", ".join(p.name for p in files.values())
    report.add(f"tokenizer: {tokenizer} ({shown}), do_lower_case={do_lower_case} ({reason})")
    return settings, files


# ---------------------------------------------------------------- readers


def _tokenizer_files(
    directory: Path, vocab: str | None, spm_model: str | None
) -> tuple[Path | None, Path | None]:
    """The vocabulary and SentencePiece model: as given, else found beside the checkpoint."""
    vocab_path = (
        Path(vocab)
        if vocab
        else (
            find_beside(directory, ("vocab.txt",))
            or _single(directory, "*.vocab", "vocab", "--vocab")
        )
    )
    spm_path = (
        Path(spm_model)
        if spm_model
        else _single(directory, "*.model", "SentencePiece model", "--spm-model")
    )
    for given, flag in ((vocab_path, "--vocab"), (spm_path, "--spm-model")):
        if given is not None and not given.is_file():
            raise JbertError(f"{given}: file not found ({flag})")
    return vocab_path, spm_path


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
    vocab_path, spm_path = _tokenizer_files(directory, vocab, spm_model)
    sizes = shape_config(weights, family, f"{family}/embeddings")
    if path is not None:
        config, note = read_config(path, model_type=family, tf1_checkpoint=True)
        report.add(f"config: {path}" + (f" ({note})" if note else ""))
        config = _embedding_size_from_weights(config, path, sizes, report)
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
    check_config_against_shapes(config, weights, family, f"{family}/embeddings", prefix)

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
            generator_config = _embedding_size_from_weights(generator_config, gpath, gsizes, report)
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
            generator_config, weights, "generator", emb_scope, prefix, "--generator-config"
        )
    report.add(f"components: {', '.join(components)}")

    expected = expected_weights(config, components, generator_config, untied)
    matched = match_weights(weights, expected, prefix)
    report.mapped, report.skipped = len(matched), skipped

    settings, files = tokenizer_settings(
        vocab_path, spm_path, tokenizer, do_lower_case, mecab_dic, report
    )
    if vocab_path is not None:
        with open(vocab_path, encoding="utf-8", errors="replace") as handle:
            count = sum(1 for line in handle if line.strip())
        if count != config.vocab_size:
            report.add(
                f"warning: {vocab_path.name} has {count} entries but vocab_size is "
                f"{config.vocab_size}; check that this vocabulary belongs to the checkpoint"
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


def _hf_architecture_components(names: list[str], model_type: str) -> list[str]:
    found = ["encoder"]
    if model_type == "bert":
        if any(n.startswith("cls.predictions.") for n in names):
            found.append("mlm")
        if any(n.startswith("cls.seq_relationship.") for n in names):
            found.append("nsp")
    elif any(n.startswith("discriminator_predictions.") for n in names):
        found.append("discriminator")
    return found


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
    components = _hf_architecture_components(list(hf_weights), config.model_type)
    prefix = f"{config.model_type}."
    hf_weights = {
        (n if n.startswith((prefix, "cls.", "discriminator_predictions.")) else prefix + n): v
        for n, v in hf_weights.items()
    }
    expected = expected_weights(config, components)
    weights, unused = hf_format.from_hf_weights(hf_weights, list(expected), str(directory))
    generator_config, untied = None, False
    if (directory / "generator" / "config.json").is_file():
        generator_config, gen_hf = hf_format.read_hf_model(directory / "generator")
        generator_config = generator_config.replace(model_type="electra")
        components.append("generator")
        untied = not _same_embeddings(hf_weights, gen_hf)
        gen_weights, gen_unused = hf_format.from_hf_weights(
            gen_hf,
            generator_weight_names(generator_config, untied),
            str(directory / "generator"),
            generator=True,
        )
        unused += [f"generator/{n}" for n in gen_unused]
        weights.update(gen_weights)
        expected = expected_weights(config, components, generator_config, untied)
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


# ---------------------------------------------------------------- writers


def _subset(weights: dict, names) -> dict:
    return {n: weights[n] for n in names}


_HF_BERT_ARCHITECTURES = {
    ("mlm", "nsp"): "BertForPreTraining",
    ("mlm",): "BertForMaskedLM",
    ("nsp",): "BertForNextSentencePrediction",
    (): "BertModel",
}


def generator_weight_names(generator_config: BertConfig, untied: bool) -> list[str]:
    """Canonical names of the ELECTRA generator alone (its embeddings: shared or its own)."""
    from jbert_tf2.models import ElectraGenerator

    return list(ElectraGenerator(generator_config, untied_embeddings=untied).canonical_weights())


def write_hf(md: ModelDirectory, out: Path, report: Report) -> None:
    config = md.config
    main = [c for c in md.components if c != "generator"]
    names = list(expected_weights(config, main))
    if config.model_type == "bert":
        heads = tuple(c for c in ("mlm", "nsp") if c in md.components)
        architecture = _HF_BERT_ARCHITECTURES[heads]
        if architecture == "BertForMaskedLM":  # HF's masked-LM model has no pooler
            names = [n for n in names if not n.startswith("bert/pooler/")]
            report.add("note: BertForMaskedLM has no pooler; bert/pooler is not written")
    else:
        architecture = (
            "ElectraForPreTraining" if "discriminator" in md.components else "ElectraModel"
        )
    hf_format.write_hf_model(
        out, config, architecture, _subset(md.weights, names), tokenizer_files=md.tokenizer_files
    )
    report.add(f"wrote: HF {architecture}")
    if md.generator_config is not None:
        gen_names = generator_weight_names(md.generator_config, md.generator_untied)
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


def write_tf1(md: ModelDirectory, out: Path, report: Report) -> None:
    import json
    import shutil

    write_tf1_checkpoint(md.weights, out / "model.ckpt")
    google = {
        k: v
        for k, v in md.config.to_dict().items()
        if k not in ("format", "model_type", "layer_norm_eps", "source")
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
        gen = {
            k: v for k, v in md.generator_config.to_dict().items() if k not in ("format", "source")
        }
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
    if to not in ("jbert", "hf", "tf1"):
        raise JbertError(f"--to {to}: unknown format; use jbert, hf or tf1")
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise JbertError(
            f"{out}: already exists; choose another output directory or pass --overwrite to replace it"
        )
    if out.resolve() == Path(ckpt).resolve() or Path(ckpt).resolve().is_relative_to(out.resolve()):
        raise JbertError(f"{out}: is the input itself; write to another directory")
    md, report = read_source(ckpt, **options)
    writer = {"jbert": None, "hf": write_hf, "tf1": write_tf1}[to]

    def fill(tmp: Path) -> None:
        if writer is None:
            save_model_dir(md, tmp)
            report.add("wrote: jbert model directory")
        else:
            writer(md, tmp, report)

    write_atomically(out, overwrite, fill)
    report.add(f"output: {out}")
    return report
