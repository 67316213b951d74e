"""`load_tokenizer`: the tokenizer a model directory's ``tokenizer.json`` describes."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.bert_tokenizer import BertTokenizer
from jbert_tf2.tokenization.encoding import Tokenizer
from jbert_tf2.tokenization.sentencepiece_tokenizer import SentencePieceTokenizer

TOKENIZER_FILE = "tokenizer.json"
# tokenizer.json / `jbert-convert --tokenizer` name -> (word_tokenizer, subword_tokenizer)
BERT_TOKENIZERS = {
    "wordpiece": ("basic", "wordpiece"),
    "mecab-wordpiece": ("mecab", "wordpiece"),
    "mecab-character": ("mecab", "character"),
    "character": ("basic", "character"),
}


def tokenizer_from_settings(settings: dict, directory: Path, source: str) -> Tokenizer:
    """Build the tokenizer ``settings`` (a ``tokenizer.json`` object) name, files in ``directory``."""
    name = settings.get("tokenizer")

    def file(key: str) -> Path | None:
        value = settings.get(key)
        if not value:
            return None
        path = directory / value
        if not path.is_file():
            raise JbertError(
                f"{source}: names {key} {value!r}, which is missing from {directory}; copy it "
                "back or convert the checkpoint again"
            )
        return path

    lower = settings.get("do_lower_case")
    if name == "sentencepiece":
        model = file("spm_model_file")
        if model is None:
            raise JbertError(f"{source}: sentencepiece needs spm_model_file (the *.model file)")
        return SentencePieceTokenizer(model, file("vocab_file"), True if lower is None else lower)
    if name not in BERT_TOKENIZERS:
        known = ", ".join([*BERT_TOKENIZERS, "sentencepiece"])
        raise JbertError(f"{source}: tokenizer {name!r} is not one of {known}")
    vocab = file("vocab_file")
    if vocab is None:
        raise JbertError(f"{source}: {name} needs vocab_file (the vocab.txt)")
    word, subword = BERT_TOKENIZERS[name]
    return BertTokenizer(
        vocab,
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
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise JbertError(f"{path}: not valid JSON ({exc}); convert the checkpoint again") from None
    if not isinstance(settings, dict):
        raise JbertError(f"{path}: expected a JSON object of tokenizer settings")
    return tokenizer_from_settings(settings, directory, str(path))
