"""The tokenizer an HF directory's ``tokenizer_config.json`` names, as `jbert-convert` records it.

cl-tohoku / tohoku-nlp directories name HF's ``BertJapaneseTokenizer`` with
``word_tokenizer_type`` ("mecab" or "basic"), ``subword_tokenizer_type`` ("wordpiece" or
"character"), ``mecab_kwargs`` ({"mecab_dic": ...}) and ``do_lower_case``; other BERT / ELECTRA
directories name ``BertTokenizer`` (Google's basic splitting + WordPiece). Each maps onto one of
our tokenizers (`tokenization.settings.TOKENIZER_NAMES`); a setting we cannot reproduce
(Sudachi, Juman++, a MeCab dictionary we do not ship, custom MeCab options) is named so the
conversion can record no tokenizer rather than a different one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jbert_tf2.errors import JbertError
from jbert_tf2.model_dir.json_file import read_json
from jbert_tf2.tokenization.mecab import MECAB_DICTIONARIES

TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
# transformers 4 (whose save_pretrained wrote these files) built MeCab with ipadic when
# mecab_kwargs named no dictionary: cl-tohoku's v1 models rely on it.
HF_DEFAULT_MECAB_DIC = "ipadic"
_WORD_SPLITTERS = {"basic": "", "mecab": "mecab-"}
_BERT_CLASSES = ("BertTokenizer", "BertTokenizerFast", "ElectraTokenizer", "ElectraTokenizerFast")


@dataclass(frozen=True)
class HfTokenizerChoice:
    """What ``tokenizer_config.json`` asks for.

    Args:
        tokenizer: our tokenizer's name, or None when the config names one we cannot reproduce.
        do_lower_case: the config's value (HF's class default when absent).
        mecab_dic: the MeCab dictionary (the ``mecab-*`` tokenizers).
        reason: where the choice came from, for the report; or, with ``tokenizer`` None, what
            cannot be reproduced.
    """

    tokenizer: str | None
    do_lower_case: bool | None = None
    mecab_dic: str | None = None
    reason: str = ""


def read_hf_tokenizer_config(directory: Path) -> HfTokenizerChoice | None:
    """The choice ``directory/tokenizer_config.json`` makes; None without that file (or when it
    names no tokenizer class we know the rules of)."""
    path = directory / TOKENIZER_CONFIG_FILE
    if not path.is_file():
        return None
    data = read_json(path, "download it again, or pass --tokenizer")
    if not isinstance(data, dict):
        raise JbertError(f"{path}: expected a JSON object; download it again, or pass --tokenizer")
    kind = data.get("tokenizer_class")
    japanese = kind == "BertJapaneseTokenizer" or "word_tokenizer_type" in data
    if japanese:
        return _bert_japanese(data, path.name)
    if kind in _BERT_CLASSES or kind is None:
        return _bert(data, path.name, kind or "BertTokenizer")
    return HfTokenizerChoice(None, reason=f"{path.name} names {kind}, which jbert does not build")


def _bert(data: dict, name: str, kind: str) -> HfTokenizerChoice:
    """Google's basic splitting + WordPiece (HF's BertTokenizer lower-cases by default)."""
    if data.get("tokenize_chinese_chars") is False or data.get("strip_accents") is not None:
        return HfTokenizerChoice(
            None,
            reason=f"{name} sets tokenize_chinese_chars / strip_accents, which Google's "
            "tokenizer (and jbert's) does not vary",
        )
    lower = data.get("do_lower_case", True)
    return HfTokenizerChoice("wordpiece", bool(lower), reason=f"{name}: {kind}")


def _bert_japanese(data: dict, name: str) -> HfTokenizerChoice:
    """HF's BertJapaneseTokenizer: a word splitter, then WordPiece or characters."""
    word = data.get("word_tokenizer_type", "basic")
    subword = data.get("subword_tokenizer_type", "wordpiece")
    if data.get("do_word_tokenize") is False or data.get("do_subword_tokenize") is False:
        return HfTokenizerChoice(
            None, reason=f"{name} turns word or subword splitting off (do_*_tokenize false)"
        )
    if word not in _WORD_SPLITTERS or subword not in ("wordpiece", "character"):
        return HfTokenizerChoice(
            None,
            reason=f"{name} names word_tokenizer_type {word!r} / subword_tokenizer_type "
            f"{subword!r}; jbert has MeCab or basic words, then WordPiece or characters",
        )
    tokenizer = _WORD_SPLITTERS[word] + subword
    lower = bool(data.get("do_lower_case", False))
    shown = f"{name}: BertJapaneseTokenizer, word_tokenizer_type {word}, {subword}"
    if word != "mecab":
        return HfTokenizerChoice(tokenizer, lower, reason=shown)
    kwargs = data.get("mecab_kwargs") or {}
    if kwargs.get("mecab_option"):
        return HfTokenizerChoice(
            None,
            reason=f"{name} passes MeCab the options {kwargs['mecab_option']!r}, which jbert "
            "cannot reproduce",
        )
    dic = kwargs.get("mecab_dic")
    if dic is None:
        dic, shown = HF_DEFAULT_MECAB_DIC, f"{shown}, mecab_dic ipadic (transformers 4's default)"
    elif dic not in MECAB_DICTIONARIES:
        return HfTokenizerChoice(
            None,
            reason=f"{name} names the MeCab dictionary {dic!r}; jbert ships "
            f"{', '.join(MECAB_DICTIONARIES)}",
        )
    else:
        shown = f"{shown}, mecab_dic {dic}"
    return HfTokenizerChoice(tokenizer, lower, dic, reason=shown)
