"""The tokenizer a converted model records: which files, which tokenizer, which options.

`jbert-convert` finds the vocabulary / SentencePiece files beside a checkpoint and records the
choice as `TokenizerSettings`, which the model directory writes to ``tokenizer.json``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from jbert_tf2.checkpoint.inspection import Report, find_beside, single_file
from jbert_tf2.errors import CheckpointError, JbertError
from jbert_tf2.model_dir.vocabulary_check import short_vocabulary_message, vocabulary_rows
from jbert_tf2.tokenization.settings import DEFAULT_MECAB_DICTIONARY, TokenizerSettings


def _is_cased(vocab: dict[str, int]) -> bool:
    """Whether a token other than the bracketed specials has an upper-case ASCII letter."""
    return any(
        any("A" <= ch <= "Z" for ch in token)
        for token in vocab
        if not (token.startswith("[") and token.endswith("]"))
    )


def tokenizer_settings(
    vocab: Path | None,
    spm_model: Path | None,
    tokenizer: str | None,
    do_lower_case: bool | None,
    mecab_dic: str | None,
    report: Report,
    model_vocab_size: int | None = None,
    no_tokenizer: bool = False,
    reason: str = "as given",
) -> tuple[TokenizerSettings | None, dict[str, Path]]:
    """What ``tokenizer.json`` records, and the files to copy beside it. The files are checked
    now, with file and line. A vocabulary problem never blocks the weights: a vocabulary
    without the special tokens the tokenizer needs records no tokenizer, and one with fewer
    ids than the model's ``model_vocab_size`` is recorded; both say so in the report and in
    one warning. Only a vocabulary whose ids reach past the embedding table is refused."""
    if no_tokenizer:
        report.add("tokenizer: none (--no-tokenizer)")
        return None, {}
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
    problems = []
    ids = _read_vocabulary(tokenizer, vocab, spm_model)
    if ids and model_vocab_size is not None:
        size_problem = _check_vocab_size(vocab, vocabulary_rows(ids), model_vocab_size)
        problems += [size_problem] if size_problem else []
    needed = ("[CLS]", "[SEP]") if tokenizer == "sentencepiece" else _TOKENIZER_SPECIALS
    missing = [token for token in needed if ids and token not in ids]
    if missing:
        problems.insert(
            0,
            f"{vocab.name} has no {', '.join(missing)}, which the {tokenizer} tokenizer needs "
            "(BERT's input is [CLS] a [SEP] b [SEP]); the weights are converted but no "
            "tokenizer is recorded: pass --vocab FILE with BERT's special tokens to record "
            "one, or --no-tokenizer to convert without one and silence this",
        )
        report.add(f"tokenizer: none ({vocab.name} has no {', '.join(missing)})")
        _warn(problems, report)
        return None, {}
    if ids and tokenizer != "sentencepiece" and "[MASK]" not in ids:
        problems.append(
            f"{vocab.name} has no [MASK]: the tokenizer is recorded, but masked-LM "
            "pretraining (jbert-create-pretraining-data) cannot use it"
        )
    _load_files(tokenizer, vocab, spm_model)
    if do_lower_case is None:
        if tokenizer == "sentencepiece":
            do_lower_case, reason = True, "yoheikikuta's default"
        elif tokenizer.startswith("mecab") or tokenizer == "character":
            do_lower_case, reason = False, "cl-tohoku's default"
        else:
            cased = _is_cased(ids)
            do_lower_case = not cased
            reason = (
                "the vocabulary has upper-case tokens" if cased else "the vocabulary is lower-case"
            )
    files = {}
    if vocab is not None:
        files["vocab_file"] = vocab
    if spm_model is not None:
        files["spm_model_file"] = spm_model
    settings = TokenizerSettings(
        tokenizer,
        do_lower_case,
        (mecab_dic or DEFAULT_MECAB_DICTIONARY) if tokenizer.startswith("mecab") else None,
        **{key: path.name for key, path in files.items()},
        source="the tokenizer options (--tokenizer, --do-lower-case, --mecab-dic)",
    )
    shown = ", ".join(p.name for p in files.values())
    dictionary = f", mecab_dic={settings.mecab_dic}" if settings.mecab_dic else ""
    report.add(
        f"tokenizer: {tokenizer} ({shown}), do_lower_case={do_lower_case}{dictionary} ({reason})"
    )
    if problems:
        _warn(problems, report)
    return settings, files


# What `BertTokenizer` cannot work without (unknown pieces, the [CLS] a [SEP] b [SEP] layout).
_TOKENIZER_SPECIALS = ("[UNK]", "[CLS]", "[SEP]")


def _check_vocab_size(vocab: Path, rows: int, model_vocab_size: int) -> str | None:
    """Ids past the embedding table are refused (this vocabulary is another model's); fewer
    rows than the table are a warning naming both numbers (`model_dir.vocabulary_check`)."""
    if rows > model_vocab_size:
        raise CheckpointError(
            f"{vocab}: has ids up to {rows - 1} but the model's vocab_size is "
            f"{model_vocab_size}; this vocabulary does not belong to the checkpoint (pass the "
            "right one with --vocab, or --no-tokenizer to convert the weights alone)"
        )
    return short_vocabulary_message(rows, model_vocab_size, str(vocab), "the checkpoint")


def _warn(problems: list[str], report: Report) -> None:
    """One warning (and one report line) for everything wrong with the vocabulary."""
    message = "; ".join(problems)
    report.add(f"warning: {message}")
    warnings.warn(message, TokenizerWarning, stacklevel=2)


class TokenizerWarning(UserWarning):
    """The tokenizer files do not fit the converted model (or name a tokenizer jbert cannot
    build); the weights were converted anyway, and the warning says what was recorded."""


def _read_vocabulary(tokenizer: str, vocab: Path | None, spm_model: Path | None) -> dict:
    """Token -> id of the vocabulary file (none for a SentencePiece model alone), read without
    requiring special tokens; a malformed file is an error naming the line, with the way out."""
    from jbert_tf2.tokenization.vocab import VocabError, load_vocab

    if vocab is None:
        return {}
    try:
        return load_vocab(vocab, required=(), tab_separated=tokenizer == "sentencepiece")
    except VocabError as exc:
        raise VocabError(f"{exc} (or pass --no-tokenizer to convert the weights alone)") from None


def _load_files(tokenizer: str, vocab: Path | None, spm_model: Path | None) -> None:
    """Load the tokenizer files as the tokenizers will, so bad ones fail now."""
    from jbert_tf2.tokenization.sentencepiece_tokenizer import (
        SentencePieceTokenizer,
        load_sentencepiece,
    )

    if tokenizer != "sentencepiece":
        return
    if vocab is None:
        load_sentencepiece(spm_model)
        return
    SentencePieceTokenizer(spm_model, vocab)


def find_tokenizer_files(
    directory: Path, vocab: str | None, spm_model: str | None
) -> tuple[Path | None, Path | None]:
    """The vocabulary and SentencePiece model: as given, else found beside the checkpoint."""
    vocab_path = (
        Path(vocab)
        if vocab
        else (
            find_beside(directory, ("vocab.txt",))
            or single_file(directory, "*.vocab", "vocab", "--vocab")
        )
    )
    spm_path = (
        Path(spm_model)
        if spm_model
        else single_file(directory, "*.model", "SentencePiece model", "--spm-model")
    )
    for given, flag in ((vocab_path, "--vocab"), (spm_path, "--spm-model")):
        if given is not None and not given.is_file():
            raise JbertError(f"{given}: file not found ({flag})")
    return vocab_path, spm_path
