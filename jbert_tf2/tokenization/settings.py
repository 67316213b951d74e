"""`TokenizerSettings`: which tokenizer a model uses and with which options and files, as recorded
in a model directory's ``tokenizer.json``; the lists of tokenizer names and MeCab dictionaries
that every command line and reader checks against.

The settings name their files (``vocab_file``, ``spm_model_file``) by file name only, relative to
the directory that holds ``tokenizer.json``: a name that leads outside it is refused, so reading a
model directory never reaches other files.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.base import Tokenizer
from jbert_tf2.tokenization.bert_tokenizer import NAMED_CONFIGURATIONS, BertTokenizer
from jbert_tf2.tokenization.mecab import DEFAULT_MECAB_DICTIONARY, MECAB_DICTIONARIES
from jbert_tf2.tokenization.sentencepiece_tokenizer import SentencePieceTokenizer

TOKENIZER_NAMES: tuple[str, ...] = (*NAMED_CONFIGURATIONS, "sentencepiece")
FILE_KEYS = ("vocab_file", "spm_model_file")


@dataclass(frozen=True)
class TokenizerSettings:
    """The contents of ``tokenizer.json``; validated when made.

    Args:
        tokenizer: one of `TOKENIZER_NAMES`.
        do_lower_case: true / false, or None for the tokenizer's own default.
        mecab_dic: one of `MECAB_DICTIONARIES` (the ``mecab-*`` tokenizers; default unidic_lite).
        vocab_file: the vocabulary's file name (WordPiece ``vocab.txt`` or SentencePiece
            ``*.vocab``), in the settings' directory.
        spm_model_file: the SentencePiece ``*.model`` file name, in the settings' directory.
        extra: other keys of ``tokenizer.json``, not used here but kept when it is written again.
        source: where the settings came from, for error messages (not saved).
    """

    tokenizer: str
    do_lower_case: bool | None = None
    mecab_dic: str | None = None
    vocab_file: str | None = None
    spm_model_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    source: str = field(default="tokenizer settings", compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.tokenizer not in TOKENIZER_NAMES:
            known = ", ".join(TOKENIZER_NAMES)
            raise JbertError(f"{self.source}: tokenizer {self.tokenizer!r} is not one of {known}")
        if self.do_lower_case is not None and not isinstance(self.do_lower_case, bool):
            raise JbertError(
                f"{self.source}: do_lower_case {self.do_lower_case!r} is not true or false; "
                'write "do_lower_case": true or false'
            )
        if self.mecab_dic is not None and self.mecab_dic not in MECAB_DICTIONARIES:
            raise JbertError(
                f"{self.source}: mecab_dic {self.mecab_dic!r} is not one of "
                f"{', '.join(MECAB_DICTIONARIES)}; name the dictionary the model was trained with"
            )
        for key in FILE_KEYS:
            name = getattr(self, key)
            if name is not None and (
                not isinstance(name, str) or Path(name).name != name or name in (".", "..")
            ):
                directory = Path(self.source).parent
                raise JbertError(
                    f"{self.source}: {key} {name!r} is not a file name in the model "
                    "directory (paths that lead outside it are refused); copy the file into "
                    f'{directory} and name it there, e.g. "{key}": "vocab.txt"'
                )

    @classmethod
    def from_dict(cls, data: Any, source: str | os.PathLike) -> TokenizerSettings:
        """The settings of a ``tokenizer.json`` object read from ``source`` (which errors name);
        keys other than the fields are kept in ``extra`` and written back unchanged (a user's
        own notes survive a re-save), and an empty value counts as absent."""
        source = str(source)
        if not isinstance(data, dict):
            raise JbertError(f"{source}: expected a JSON object of tokenizer settings")
        optional = ("mecab_dic", *FILE_KEYS)
        known = {"tokenizer", "do_lower_case", *optional}
        return cls(
            tokenizer=data.get("tokenizer"),
            do_lower_case=data.get("do_lower_case"),
            **{key: data.get(key) or None for key in optional},
            extra={key: value for key, value in data.items() if key not in known},
            source=source,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``tokenizer.json`` object: ``tokenizer`` and ``do_lower_case`` always, the other
        keys when set, and the ``extra`` keys read with them."""
        data = {**self.extra, "tokenizer": self.tokenizer, "do_lower_case": self.do_lower_case}
        for key in ("mecab_dic", *FILE_KEYS):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    def replace(self, **changes: Any) -> TokenizerSettings:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def file_paths(self, directory: str | os.PathLike) -> dict[str, Path]:
        """``{key: path}`` of the files these settings name, in ``directory``; they must exist."""
        directory = Path(directory)
        files = {}
        for key in FILE_KEYS:
            name = getattr(self, key)
            if name is None:
                continue
            files[key] = directory / name
            if not files[key].is_file():
                raise JbertError(
                    f"{self.source}: names {key} {name!r}, which is missing from {directory}; "
                    "copy it back or convert the checkpoint again"
                )
        return files

    def build(self, directory: str | os.PathLike) -> Tokenizer:
        """The tokenizer these settings describe, on the files they name in ``directory``."""
        files = self.file_paths(directory)
        lower = self.do_lower_case
        if self.tokenizer == "sentencepiece":
            if "spm_model_file" not in files:
                raise JbertError(
                    f"{self.source}: sentencepiece needs spm_model_file (the *.model file)"
                )
            return SentencePieceTokenizer(
                files["spm_model_file"], files.get("vocab_file"), True if lower is None else lower
            )
        if "vocab_file" not in files:
            raise JbertError(f"{self.source}: {self.tokenizer} needs vocab_file (the vocab.txt)")
        word, subword = NAMED_CONFIGURATIONS[self.tokenizer]
        return BertTokenizer(
            files["vocab_file"],
            do_lower_case=lower,
            word_tokenizer=word,
            subword_tokenizer=subword,
            mecab_dic=self.mecab_dic or DEFAULT_MECAB_DICTIONARY,
        )
