"""The tokenizer a converted model records: which files, which tokenizer, which options.

`jbert-convert` finds the vocabulary / SentencePiece files beside a checkpoint and writes the
choice to ``tokenizer.json``; the tokenizers themselves read it.
"""

from __future__ import annotations

from pathlib import Path

from jbert_tf2.checkpoint.inspection import Report, find_beside, single_file
from jbert_tf2.errors import JbertError

TOKENIZERS = ("wordpiece", "mecab-wordpiece", "mecab-character", "character", "sentencepiece")


def _vocab_is_cased(vocab_file: Path) -> bool:
    with open(vocab_file, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            token = line.split("\t")[0].strip()
            if token.startswith("[") and token.endswith("]"):
                continue
            if any("A" <= ch <= "Z" for ch in token):
                return True
    return False


def tokenizer_settings(
    vocab: Path | None,
    spm_model: Path | None,
    tokenizer: str | None,
    do_lower_case: bool | None,
    mecab_dic: str | None,
    report: Report,
) -> tuple[dict | None, dict[str, Path]]:
    """What ``tokenizer.json`` records, and the files to copy beside it."""
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
    reason = "as given"
    if do_lower_case is None:
        if tokenizer == "sentencepiece":
            do_lower_case, reason = True, "yoheikikuta's default"
        elif tokenizer.startswith("mecab") or tokenizer == "character":
            do_lower_case, reason = False, "cl-tohoku's default"
        else:
            cased = _vocab_is_cased(vocab)
            do_lower_case = not cased
            reason = (
                "the vocabulary has upper-case tokens" if cased else "the vocabulary is lower-case"
            )
    _check_files(tokenizer, vocab, spm_model)
    settings = {"tokenizer": tokenizer, "do_lower_case": do_lower_case}
    if tokenizer.startswith("mecab"):
        settings["mecab_dic"] = mecab_dic or "unidic_lite"
    files = {}
    if vocab is not None:
        files["vocab_file"] = vocab
    if spm_model is not None:
        files["spm_model_file"] = spm_model
    shown = ", ".join(p.name for p in files.values())
    report.add(f"tokenizer: {tokenizer} ({shown}), do_lower_case={do_lower_case} ({reason})")
    return settings, files


def _check_files(tokenizer: str, vocab: Path | None, spm_model: Path | None) -> None:
    """Refuse now, with file and line, tokenizer files that would fail or mislead later."""
    from jbert_tf2.tokenization.sentencepiece_tokenizer import load_sentencepiece
    from jbert_tf2.tokenization.vocab import load_vocab

    if tokenizer == "sentencepiece":
        load_sentencepiece(spm_model)
        if vocab is not None:
            load_vocab(vocab, ("[CLS]", "[SEP]"), tab_separated=True)
    else:
        load_vocab(vocab)


def vocab_size_of(vocab: Path, tokenizer: str | None) -> int:
    """The number of ids the vocabulary can produce (its highest id + 1)."""
    from jbert_tf2.tokenization.vocab import load_vocab

    sentencepiece = tokenizer == "sentencepiece"
    ids = load_vocab(vocab, (), tab_separated=sentencepiece or vocab.suffix == ".vocab").values()
    return max(ids) + 1


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
