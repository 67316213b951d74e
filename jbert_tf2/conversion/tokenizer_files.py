"""The tokenizer a converted model records: which files, which tokenizer, which options.

`jbert-convert` finds the vocabulary / SentencePiece files beside a checkpoint and records the
choice as `TokenizerSettings`, which the model directory writes to ``tokenizer.json``.
"""

from __future__ import annotations

from pathlib import Path

from jbert_tf2.checkpoint.inspection import Report, find_beside, single_file
from jbert_tf2.errors import CheckpointError, JbertError
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
) -> tuple[TokenizerSettings | None, dict[str, Path]]:
    """What ``tokenizer.json`` records, and the files to copy beside it. The files are checked
    now, with file and line; with ``model_vocab_size``, a vocabulary whose ids reach past the
    model's embeddings is refused and one of another size gets a warning."""
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
    ids = _load_files(tokenizer, vocab, spm_model)
    reason = "as given"
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
    if ids and model_vocab_size is not None:
        _check_vocab_size(vocab, max(ids.values()) + 1, model_vocab_size, report)
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
    report.add(f"tokenizer: {tokenizer} ({shown}), do_lower_case={do_lower_case} ({reason})")
    return settings, files


def _load_files(tokenizer: str, vocab: Path | None, spm_model: Path | None) -> dict[str, int]:
    """Load the tokenizer files as the tokenizers will, so bad ones fail now; the vocabulary."""
    from jbert_tf2.tokenization.sentencepiece_tokenizer import (
        SentencePieceTokenizer,
        load_sentencepiece,
    )
    from jbert_tf2.tokenization.vocab import load_vocab

    if tokenizer != "sentencepiece":
        return load_vocab(vocab)
    if vocab is None:
        load_sentencepiece(spm_model)
        return {}
    return SentencePieceTokenizer(spm_model, vocab).vocab


def _check_vocab_size(vocab: Path, count: int, model_vocab_size: int, report: Report) -> None:
    if count > model_vocab_size:
        raise CheckpointError(
            f"{vocab}: has ids up to {count - 1} but the model's vocab_size is "
            f"{model_vocab_size}; this vocabulary does not belong to the checkpoint "
            "(pass the right one with --vocab)"
        )
    if count != model_vocab_size:
        report.add(
            f"warning: {vocab.name} has {count} entries but vocab_size is "
            f"{model_vocab_size}; check that this vocabulary belongs to the checkpoint"
        )


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
