"""`load_tokenizer`: the tokenizer a model directory's ``tokenizer.json`` describes."""

from __future__ import annotations

import os
from pathlib import Path

from jbert_tf2.errors import JbertError
from jbert_tf2.model_dir.directory import (
    TOKENIZER_FILE,
    read_tokenizer_json,
    tokenizer_file_paths,
)
from jbert_tf2.tokenization.base import Tokenizer
from jbert_tf2.tokenization.bert_tokenizer import NAMED_CONFIGURATIONS, BertTokenizer
from jbert_tf2.tokenization.sentencepiece_tokenizer import SentencePieceTokenizer


def tokenizer_from_settings(settings: dict, directory: Path) -> Tokenizer:
    """Build the tokenizer ``settings`` (a ``tokenizer.json`` object) name, files in ``directory``."""
    source = directory / TOKENIZER_FILE
    name = settings.get("tokenizer")
    if name != "sentencepiece" and name not in NAMED_CONFIGURATIONS:
        known = ", ".join([*NAMED_CONFIGURATIONS, "sentencepiece"])
        raise JbertError(f"{source}: tokenizer {name!r} is not one of {known}")
    files = tokenizer_file_paths(directory, settings)
    lower = settings.get("do_lower_case")
    if name == "sentencepiece":
        if "spm_model_file" not in files:
            raise JbertError(f"{source}: sentencepiece needs spm_model_file (the *.model file)")
        return SentencePieceTokenizer(
            files["spm_model_file"], files.get("vocab_file"), True if lower is None else lower
        )
    if "vocab_file" not in files:
        raise JbertError(f"{source}: {name} needs vocab_file (the vocab.txt)")
    word, subword = NAMED_CONFIGURATIONS[name]
    return BertTokenizer(
        files["vocab_file"],
        do_lower_case=None if lower is None else bool(lower),
        word_tokenizer=word,
        subword_tokenizer=subword,
        mecab_dic=settings.get("mecab_dic") or "unidic_lite",
    )


def load_tokenizer(model_dir: str | os.PathLike) -> Tokenizer:
    """The tokenizer recorded in ``model_dir/tokenizer.json`` by `jbert-convert`.

    Examples:
        >>> tok = jbert_tf2.load_tokenizer("ja-bert")
        >>> batch = tok(["今日は晴れ。"], max_seq_length=32)
    """
    directory = Path(model_dir)
    path = directory / TOKENIZER_FILE
    if not path.is_file():
        hint = (
            "convert the checkpoint again with --vocab (or --spm-model)"
            if directory.is_dir()
            else "pass the model directory that jbert-convert wrote"
        )
        raise JbertError(f"{path}: not found; {hint}")
    return tokenizer_from_settings(read_tokenizer_json(directory), directory)
