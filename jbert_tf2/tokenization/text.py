"""Checks and span helpers every tokenizer module shares; imports nothing from tokenization.

Kept apart from the base `Tokenizer` so that word splitters (MeCab) and tokenizer classes use the
same checks without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence

from jbert_tf2.errors import JbertError

Span = tuple[int, int]
TokenWithSpan = tuple[str, int, int]


def check_text(text, where: str) -> str:
    """``text`` as str: bytes are decoded as UTF-8; anything else is a clear error."""
    if isinstance(text, str):
        return text
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JbertError(
                f"{where}: bytes that are not UTF-8 ({exc}); decode them first"
            ) from None
    raise JbertError(
        f"{where}: expected a str, got {type(text).__name__}"
        + (" (None: pass an empty string for an empty text)" if text is None else "")
    )


def disjoint_spans(spans: Sequence[Span]) -> list[Span]:
    """Word spans (in text order) with overlapping ones merged into one word: NFKC can turn one
    character into several words ('…' -> '...', '½' -> '1⁄2'), which all have its span."""
    merged: list[Span] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def refuse_surrogates(text: str) -> None:
    """Raise a clear error if ``text`` has lone surrogates, which C tokenizers (MeCab,
    SentencePiece) cannot encode; called when one of them fails."""
    if any("\ud800" <= c <= "\udfff" for c in text):
        raise JbertError("text: not valid Unicode; remove lone surrogates") from None
