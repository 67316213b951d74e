"""The model directory that `jbert-convert` writes and `jbert_tf2.load` reads.

Layout::

    config.json             encoder sizes, explicit hidden_act, model_type, components present
    generator_config.json   ELECTRA generator sizes (when the checkpoint has a generator)
    model.safetensors       every weight, keyed by canonical TF1 names (no pickle)
    tokenizer.json          which tokenizer and options; vocab.txt / *.vocab / *.model beside it
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jbert_tf2.checkpoint.safetensors_file import stored_tensors, write_safetensors
from jbert_tf2.config import BertConfig, read_config
from jbert_tf2.errors import CheckpointError, JbertError

CONFIG_FILE = "config.json"
GENERATOR_CONFIG_FILE = "generator_config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"


@dataclass
class ModelDirectory:
    """What a model directory holds, in memory."""

    config: BertConfig
    weights: dict[str, np.ndarray]
    components: list[str]
    generator_config: BertConfig | None = None
    generator_untied: bool = False
    tokenizer: dict | None = None
    tokenizer_files: dict[str, Path] = field(default_factory=dict)


def is_model_dir(path: str | os.PathLike) -> bool:
    path = Path(path)
    config = path / CONFIG_FILE
    if not (path.is_dir() and config.is_file() and (path / WEIGHTS_FILE).is_file()):
        return False
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return False
    return isinstance(data, dict) and data.get("format") == "jbert_tf2"


def read_model_dir(path: str | os.PathLike, with_tokenizer: bool = True) -> ModelDirectory:
    """Read a model directory written by `jbert-convert` (or `save_model_dir`); the model
    loaders skip the tokenizer settings (``with_tokenizer=False``), which they do not need."""
    path = Path(path)
    if not path.is_dir():
        raise JbertError(
            f"{path}: no such model directory; create one with `jbert-convert CKPT -o {path}`"
        )
    if not is_model_dir(path):
        hint = ""
        if list(path.glob("*.index")) or (path / "checkpoint").is_file():
            hint = f"; it holds a TF1 checkpoint: convert it with `jbert-convert {path} -o OUT_DIR`"
        raise JbertError(
            f"{path}: not a jbert model directory (needs {CONFIG_FILE} and {WEIGHTS_FILE}){hint}"
        )
    try:
        config_data = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise JbertError(f"{path / CONFIG_FILE}: cannot be read ({exc})") from None
    config = BertConfig.from_dict(config_data, source=str(path / CONFIG_FILE))
    generator_config = None
    if (path / GENERATOR_CONFIG_FILE).is_file():
        generator_config = read_config(path / GENERATOR_CONFIG_FILE)[0]
    try:
        weights = stored_tensors(path / WEIGHTS_FILE)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(
            f"{path / WEIGHTS_FILE}: cannot be read ({exc}); the file is truncated or corrupt: "
            "convert the checkpoint again"
        ) from None
    _check_config_describes_weights(config, weights, path)
    tokenizer, files = None, {}
    if with_tokenizer and (path / TOKENIZER_FILE).is_file():
        tokenizer = read_tokenizer_json(path)
        files = tokenizer_file_paths(path, tokenizer)
    return ModelDirectory(
        config=config,
        weights=weights,
        components=list(config_data.get("components", ["encoder"])),
        generator_config=generator_config,
        generator_untied=bool(config_data.get("generator_untied", False)),
        tokenizer=tokenizer,
        tokenizer_files=files,
    )


def _check_config_describes_weights(config: BertConfig, weights: dict, path: Path) -> None:
    """An edited or swapped config.json is named field by field, before any model is built."""
    from jbert_tf2.checkpoint.inspection import check_config_against_shapes, shape_config

    scope = "electra" if config.model_type == "electra" else "bert"
    sizes = shape_config(weights, scope, f"{scope}/embeddings")
    check_config_against_shapes(
        config,
        weights,
        sizes,
        scope,
        f"{scope}/embeddings",
        str(path / WEIGHTS_FILE),
        fix=f"likely cause: {path / CONFIG_FILE} was edited or comes from another model; "
        "restore it or convert the checkpoint again",
    )


def read_tokenizer_json(path: Path) -> dict:
    """The settings object in the model directory's ``tokenizer.json``."""
    tokenizer_file = path / TOKENIZER_FILE
    try:
        tokenizer = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise JbertError(
            f"{tokenizer_file}: not valid JSON ({exc}); restore it or convert the checkpoint again"
        ) from None
    if not isinstance(tokenizer, dict):
        raise JbertError(f"{tokenizer_file}: expected a JSON object of tokenizer settings")
    return tokenizer


def tokenizer_file_paths(path: Path, tokenizer: dict) -> dict[str, Path]:
    """The files ``tokenizer.json`` names, in the model directory ``path``; they must exist."""
    files = {}
    for key in ("vocab_file", "spm_model_file"):
        if tokenizer.get(key):
            name = tokenizer[key]
            if not isinstance(name, str) or Path(name).name != name or name in (".", ".."):
                raise JbertError(
                    f"{path / TOKENIZER_FILE}: {key} {name!r} is not a file name in the model "
                    "directory (paths that lead outside it are refused); copy the file into "
                    f'{path} and name it there, e.g. "{key}": "vocab.txt"'
                )
            files[key] = path / name
            if not files[key].is_file():
                raise JbertError(
                    f"{path / TOKENIZER_FILE}: names {key} {tokenizer[key]!r}, which is missing "
                    f"from {path}; copy it back or convert the checkpoint again"
                )
    return files


def save_model_dir(model_dir: ModelDirectory, out_dir: Path) -> None:
    """Write ``model_dir`` into an (empty) directory ``out_dir``."""
    data = model_dir.config.to_dict()
    data["components"] = model_dir.components
    if model_dir.generator_config is not None:
        data["generator_untied"] = model_dir.generator_untied
        model_dir.generator_config.to_json_file(out_dir / GENERATOR_CONFIG_FILE)
    (out_dir / CONFIG_FILE).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    write_safetensors(out_dir / WEIGHTS_FILE, model_dir.weights, metadata={"format": "jbert_tf2"})
    if model_dir.tokenizer is not None:
        tokenizer = dict(model_dir.tokenizer)
        for key, source in model_dir.tokenizer_files.items():
            shutil.copyfile(source, out_dir / Path(source).name)
            tokenizer[key] = Path(source).name
        (out_dir / TOKENIZER_FILE).write_text(
            json.dumps(tokenizer, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        )


def assign_weights(model, weights: dict[str, np.ndarray], source: str) -> None:
    """Fill every variable of ``model`` from ``weights`` by canonical name; report what is
    missing or mis-shaped instead of loading a partial model (other weights may be present)."""
    from jbert_tf2.checkpoint.inspection import match_weights

    targets = model.canonical_weights()
    shapes = {n: tuple(v.shape) for n, v in targets.items()}
    for name, value in match_weights(weights, shapes, source, allow_unmapped=True).items():
        targets[name].assign(np.asarray(value, dtype=targets[name].dtype))


def load(
    path: str | os.PathLike,
    output_hidden_states: bool = False,
    output_attentions: bool = False,
):
    """Load the encoder of a model directory: a `BertModel` or `ElectraModel` (a keras.Model).

    Examples:
        >>> model = jbert_tf2.load("ja-bert", output_hidden_states=True)  # doctest: +SKIP
        >>> model({"input_ids": ids, "input_mask": mask, "segment_ids": seg})  # doctest: +SKIP
    """
    from jbert_tf2.models import BertModel, ElectraModel

    md = read_model_dir(path, with_tokenizer=False)
    cls = ElectraModel if md.config.model_type == "electra" else BertModel
    model = cls(md.config, output_hidden_states, output_attentions)
    assign_weights(model, md.weights, str(Path(path) / WEIGHTS_FILE))
    return model


def load_pretraining(
    path: str | os.PathLike, output_hidden_states: bool = False, output_attentions: bool = False
):
    """Encoder + the checkpoint's pretraining heads: `BertPretrainingModel` (MLM + NSP) for BERT,
    `ElectraDiscriminator` (replaced-token detection) for ELECTRA. A BERT checkpoint without
    next-sentence prediction gives a model with ``mlm_logits`` only."""
    from jbert_tf2.models import BertPretrainingModel, ElectraDiscriminator

    md = read_model_dir(path, with_tokenizer=False)
    if md.config.model_type == "electra":
        if "discriminator" not in md.components:
            raise JbertError(
                f"{path}: the checkpoint it came from had no discriminator head "
                "(discriminator_predictions/); use jbert_tf2.load() for the encoder"
            )
        model = ElectraDiscriminator(md.config, output_hidden_states, output_attentions)
    else:
        heads = tuple(h for h in ("mlm", "nsp") if h in md.components)
        if not heads:
            raise JbertError(
                f"{path}: the checkpoint it came from had no pretraining heads (cls/predictions, "
                "cls/seq_relationship); use jbert_tf2.load() for the encoder"
            )
        model = BertPretrainingModel(
            md.config, output_hidden_states, output_attentions, heads=heads
        )
    assign_weights(model, md.weights, str(Path(path) / WEIGHTS_FILE))
    return model


def load_generator(
    path: str | os.PathLike, output_hidden_states: bool = False, output_attentions: bool = False
):
    """ELECTRA's generator (``generator_logits``), with the embeddings it shares."""
    from jbert_tf2.models import ElectraGenerator

    md = read_model_dir(path, with_tokenizer=False)
    if md.generator_config is None:
        raise JbertError(
            f"{path}: has no ELECTRA generator (the converted checkpoint held no generator/ "
            "variables); convert the pretraining checkpoint that includes it"
        )
    model = ElectraGenerator(
        md.generator_config,
        untied_embeddings=md.generator_untied,
        output_hidden_states=output_hidden_states,
        output_attentions=output_attentions,
    )
    assign_weights(model, md.weights, str(Path(path) / WEIGHTS_FILE))
    return model
