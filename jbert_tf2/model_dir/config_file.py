"""``config.json`` (the encoder's `BertConfig` plus the components the weights hold) and
``generator_config.json`` (the ELECTRA generator's `BertConfig`): their one reader and writer."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jbert_tf2.atomic_files import write_text
from jbert_tf2.config import FORMAT_TAG, BertConfig, read_config
from jbert_tf2.errors import JbertError
from jbert_tf2.model_dir.layout import CONFIG_FILE, GENERATOR_CONFIG_FILE


def has_jbert_config(directory: str | os.PathLike) -> bool:
    """Whether ``directory/config.json`` is ours (``"format": "jbert_tf2"``), so an HF
    directory, whose ``config.json`` looks similar, is never taken for a model directory."""
    try:
        data = json.loads((Path(directory) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT_TAG


def read_config_file(directory: str | os.PathLike) -> tuple[BertConfig, list[str], bool]:
    """``config.json``: the encoder's config, the components the weights hold (default
    ``["encoder"]``) and whether the generator has its own embeddings."""
    path = Path(directory) / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise JbertError(f"{path}: cannot be read ({exc})") from None
    config = BertConfig.from_dict(data, source=str(path))
    components = list(data.get("components", ["encoder"]))
    return config, components, bool(data.get("generator_untied", False))


def write_config_file(
    directory: str | os.PathLike,
    config: BertConfig,
    components: list[str],
    generator_untied: bool | None = None,
) -> None:
    """Write ``config.json``; ``generator_untied`` is recorded when the model has a generator
    (not None)."""
    data = config.to_dict()
    data["components"] = list(components)
    if generator_untied is not None:
        data["generator_untied"] = bool(generator_untied)
    write_text(Path(directory) / CONFIG_FILE, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_generator_config(directory: str | os.PathLike) -> BertConfig | None:
    """``generator_config.json``, or None when the model has no generator."""
    path = Path(directory) / GENERATOR_CONFIG_FILE
    return read_config(path)[0] if path.is_file() else None


def write_generator_config(directory: str | os.PathLike, config: BertConfig) -> None:
    """Write ``generator_config.json`` in the same form as ``config.json``."""
    config.to_json_file(Path(directory) / GENERATOR_CONFIG_FILE)
