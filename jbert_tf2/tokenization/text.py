"""Checks and span helpers every tokenizer module shares; imports nothing from tokenization.

Kept apart from the base `Tokenizer` so that word splitters (MeCab) and tokenizer classes use the
same checks without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet

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
    hint = ""
    if text is None:
        hint = " (None: pass an empty string for an empty text)"
    elif isinstance(text, (list, tuple)):
        hint = " (one text per entry; the second texts of pairs go in text_pairs)"
    raise JbertError(f"{where}: expected a str, got {type(text).__name__}{hint}")


BATCH_FORM = "a str, or a list (tuple, 1-D array, iterator) of str"


def check_batch(texts, name: str) -> list:
    """``texts`` as a list of texts: a str or bytes is one text; a list, tuple, 1-D array or
    Series, or an iterator gives its items in order (each checked later by `check_text`).
    A dict (whose iteration gives its keys), a set (no order), a table or a single non-text
    value is a clear error instead of a silently wrong batch."""
    if isinstance(texts, (str, bytes)):
        return [texts]
    kind = type(texts).__name__
    if texts is None:
        raise JbertError(f"{name} is None; pass {BATCH_FORM}")
    if isinstance(texts, Mapping):
        problem = "a dict's iteration gives its keys, not texts; pass list(d.values())"
    elif isinstance(texts, AbstractSet):
        problem = "a set has no order, so results could not be matched to texts; pass a list"
    elif isinstance(texts, (Sequence, Iterator)) or getattr(texts, "ndim", None) == 1:
        return list(texts)
    elif getattr(texts, "ndim", None) is not None:
        problem = f"it has {texts.ndim} dimensions; pass a 1-D array, one text per entry"
    else:
        problem = "it is not a list of texts"
    raise JbertError(f"{name}: expected {BATCH_FORM}, got {kind} ({problem})")


def check_pairs(texts, text_pairs) -> tuple[list, list | None]:
    """``texts`` and ``text_pairs`` (None: single texts) as lists (see `check_batch`), with one
    pair text per text."""
    texts = check_batch(texts, "texts")
    if text_pairs is not None:
        text_pairs = check_batch(text_pairs, "text_pairs")
        if len(text_pairs) != len(texts):
            raise JbertError(
                f"text_pairs has {len(text_pairs)} entries but texts has {len(texts)}; "
                "pass one pair text per text"
            )
    return texts, text_pairs


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
