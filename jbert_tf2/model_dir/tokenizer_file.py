"""``tokenizer.json`` and the files it names (``vocab.txt``, ``*.vocab``, ``*.model``): their one
reader and writer. The schema, and building the tokenizer, belong to
`jbert_tf2.tokenization.settings.TokenizerSettings`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from jbert_tf2.atomic_files import write_bytes, write_text
from jbert_tf2.errors import JbertError
from jbert_tf2.model_dir.json_file import read_json
from jbert_tf2.model_dir.layout import TOKENIZER_FILE
from jbert_tf2.tokenization.base import Tokenizer
from jbert_tf2.tokenization.settings import FILE_KEYS, TokenizerSettings


def read_tokenizer_settings(directory: str | os.PathLike) -> TokenizerSettings | None:
    """The settings in ``directory/tokenizer.json``, checked; None when there is no such file."""
    path = Path(directory) / TOKENIZER_FILE
    if not path.is_file():
        return None
    data = read_json(path, "restore it or convert the checkpoint again")
    return TokenizerSettings.from_dict(data, source=path)


@dataclass
class TokenizerAssets:
    """Tokenizer settings and the bytes of the files they name, kept in memory so a model can
    be saved after the directory it came from is gone.

    Args:
        settings: the settings, naming each file by the name it is written under.
        files: ``{"vocab_file" / "spm_model_file": contents}``.
    """

    settings: TokenizerSettings
    files: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def read(cls, settings: TokenizerSettings, paths: dict[str, Path]) -> TokenizerAssets:
        """``settings`` with the files at ``paths`` ({key: path}); each is named by its file
        name, and the settings name no file that ``paths`` lacks."""
        paths = {key: Path(path) for key, path in paths.items()}
        names = {key: paths[key].name if key in paths else None for key in FILE_KEYS}
        return cls(settings.replace(**names), {k: p.read_bytes() for k, p in paths.items()})


def write_tokenizer_files(directory: str | os.PathLike, assets: TokenizerAssets) -> None:
    """Write ``tokenizer.json`` and the files it names into ``directory``."""
    directory = Path(directory)
    for key, data in assets.files.items():
        write_bytes(directory / getattr(assets.settings, key), data)
    text = json.dumps(assets.settings.to_dict(), indent=2, ensure_ascii=False, sort_keys=True)
    write_text(directory / TOKENIZER_FILE, text + "\n")


def load_tokenizer(directory: str | os.PathLike) -> Tokenizer:
    """The tokenizer recorded in ``directory/tokenizer.json`` (by `jbert-convert`,
    ``save_pretrained`` or an export), on the files beside it.

    Examples:
        >>> tok = jbert_tf2.load_tokenizer("ja-bert")
        >>> batch = tok(["今日は晴れ。"], max_seq_length=32)
    """
    directory = Path(directory)
    settings = read_tokenizer_settings(directory)
    if settings is None:
        hint = (
            "convert the checkpoint again with --vocab (or --spm-model)"
            if directory.is_dir()
            else "pass the model directory that jbert-convert wrote"
        )
        raise JbertError(f"{directory / TOKENIZER_FILE}: not found; {hint}")
    tokenizer = settings.build(directory)
    _warn_if_shorter_than_model(tokenizer, directory, settings)
    return tokenizer


def _warn_if_shorter_than_model(
    tokenizer: Tokenizer, directory: Path, settings: TokenizerSettings
) -> None:
    """`warn_short_vocabulary` against the model beside the tokenizer (its ``config.json``)."""
    from jbert_tf2.model_dir.config_file import has_jbert_config, read_config_file
    from jbert_tf2.model_dir.layout import CONFIG_FILE
    from jbert_tf2.model_dir.vocabulary_check import vocabulary_rows, warn_short_vocabulary

    if not has_jbert_config(directory):
        return
    config = read_config_file(directory)[0]
    name = settings.vocab_file or settings.spm_model_file or TOKENIZER_FILE
    warn_short_vocabulary(
        vocabulary_rows(tokenizer.vocab),
        config.vocab_size,
        str(directory / name),
        str(directory / CONFIG_FILE),
        stacklevel=3,
    )
