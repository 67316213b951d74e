"""A model directory as a whole: `ModelDirectory` (what it holds, in memory), `read_model_dir`,
`save_model_dir`, and `save_model`, which every ``save_pretrained`` calls. Each file is read and
written by its own module (`layout` lists them)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jbert_tf2.atomic_files import remove_stale_partials, write_directory
from jbert_tf2.config import BertConfig
from jbert_tf2.errors import JbertError
from jbert_tf2.model_dir.config_file import (
    has_jbert_config,
    read_config_file,
    read_generator_config,
    write_config_file,
    write_generator_config,
)
from jbert_tf2.model_dir.layout import CONFIG_FILE, WEIGHTS_FILE
from jbert_tf2.model_dir.task_file import TaskSettings, read_task_settings, write_task_settings
from jbert_tf2.model_dir.tokenizer_file import (
    TokenizerAssets,
    read_tokenizer_settings,
    write_tokenizer_files,
)
from jbert_tf2.model_dir.weights_file import read_weights, write_weights
from jbert_tf2.tokenization.settings import TokenizerSettings


@dataclass
class ModelDirectory:
    """What a model directory holds, in memory.

    Args:
        config: the encoder's config (``config.json``).
        weights: every weight by canonical TF1 name (``model.safetensors``).
        components: what the weights hold: ``encoder``, ``mlm``, ``nsp``, ``discriminator``,
            ``generator``, ``task``.
        generator_config: the ELECTRA generator's config (``generator_config.json``), if any.
        generator_untied: whether the generator has its own embeddings.
        tokenizer: the ``tokenizer.json`` settings, if any.
        tokenizer_files: ``{"vocab_file" / "spm_model_file": path}``: where the files the
            tokenizer settings name are now (copied into a directory written from this).
        task: the ``task.json`` settings of a fine-tuned model, if any.
    """

    config: BertConfig
    weights: dict[str, np.ndarray]
    components: list[str]
    generator_config: BertConfig | None = None
    generator_untied: bool = False
    tokenizer: TokenizerSettings | None = None
    tokenizer_files: dict[str, Path] = field(default_factory=dict)
    task: TaskSettings | None = None


def is_model_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a model directory: ``model.safetensors`` and a ``config.json`` of
    ours."""
    path = Path(path)
    return (
        path.is_dir()
        and (path / CONFIG_FILE).is_file()
        and (path / WEIGHTS_FILE).is_file()
        and has_jbert_config(path)
    )


def read_model_dir(
    path: str | os.PathLike, with_tokenizer: bool = True, with_task: bool = False
) -> ModelDirectory:
    """Read a model directory written by `jbert-convert` (or `save_model_dir`), checking that
    its config describes its weights. The model loaders skip the tokenizer settings
    (``with_tokenizer=False``), which they do not need; ``task.json`` is read with
    ``with_task=True`` (the task models)."""
    path = Path(path)
    if not path.exists():
        remove_stale_partials(path)  # a writer killed mid-replace had moved it aside: back
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
    config, components, generator_untied = read_config_file(path)
    generator_config = read_generator_config(path)
    weights = read_weights(path)
    _check_config_describes_weights(config, weights, path)
    tokenizer = read_tokenizer_settings(path) if with_tokenizer else None
    return ModelDirectory(
        config=config,
        weights=weights,
        components=components,
        generator_config=generator_config,
        generator_untied=generator_untied,
        tokenizer=tokenizer,
        tokenizer_files=tokenizer.file_paths(path) if tokenizer is not None else {},
        task=read_task_settings(path) if with_task else None,
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


def save_model_dir(model_dir: ModelDirectory, out_dir: str | os.PathLike) -> None:
    """Write every file of ``model_dir`` into an (empty) directory ``out_dir``."""
    out_dir = Path(out_dir)
    generator_untied = None
    if model_dir.generator_config is not None:
        generator_untied = model_dir.generator_untied
        write_generator_config(out_dir, model_dir.generator_config)
    write_config_file(out_dir, model_dir.config, model_dir.components, generator_untied)
    write_weights(out_dir, model_dir.weights)
    if model_dir.tokenizer is not None:
        assets = TokenizerAssets.read(model_dir.tokenizer, model_dir.tokenizer_files)
        write_tokenizer_files(out_dir, assets)
    if model_dir.task is not None:
        write_task_settings(out_dir, model_dir.task)


def save_model(
    model: Any,
    out_dir: str | os.PathLike,
    components: list[str],
    generator_config: BertConfig | None = None,
    tokenizer: TokenizerAssets | None = None,
    task: TaskSettings | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a model directory for ``model`` (a Keras model with ``config`` and
    ``canonical_weights()``) holding ``components``: atomically, and an existing directory is
    replaced only with ``overwrite``. Every ``save_pretrained`` is this."""
    from jbert_tf2.backend import keras

    weights = {n: keras.ops.convert_to_numpy(v) for n, v in model.canonical_weights().items()}
    md = ModelDirectory(
        config=model.config,
        weights=weights,
        components=list(components),
        generator_config=generator_config,
        task=task,
    )

    def fill(tmp: Path) -> None:
        save_model_dir(md, tmp)
        if tokenizer is not None:
            write_tokenizer_files(tmp, tokenizer)

    return write_directory(out_dir, fill, overwrite)
