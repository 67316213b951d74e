"""Text transforms that remember where each output character came from.

Lower-casing, accent stripping, NFKC and control-character removal change a string's length
('ｶﾞ' -> 'ガ', '㍻' -> '平成', 'é' -> 'e', 'İ' -> 'i̇'). Tokenizers still need character offsets
into the ORIGINAL string, so every transform here returns an `Aligned` text: the transformed
string plus, for each of its characters, the span of original characters it came from.

The alignment is found without re-implementing Unicode: the transform runs on the whole string
(that result is the one used), and on each character alone; where the two agree (almost always)
each character owns its own output. Where they do not (a base letter composing with a following
combining mark, a final sigma), neighbouring characters are merged into one segment, and the
segment is then cut wherever its two sides transform apart into the same output (`_refine`):
NFKC of ``e`` + U+0301 + U+0301 is ``é`` + U+0301, whose ``é`` comes from the first two code
points and whose U+0301 from the last. Only what the transform truly merges (a ligature's
letters, a letter and a mark reordered past another mark) shares one span.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Aligned:
    """``text`` with ``starts[k]:ends[k]`` the original span of ``text[k]``; None means identity."""

    text: str
    starts: list[int] | None = None
    ends: list[int] | None = None

    def span(self, begin: int, end: int) -> tuple[int, int]:
        """The original span of ``text[begin:end]`` (``end > begin``)."""
        if self.starts is None:
            return begin, end
        return self.starts[begin], self.ends[end - 1]


def _from_segments(text: str, segments: list[tuple[int, int, str]]) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    for start, end, out in segments:
        starts.extend([start] * len(out))
        ends.extend([end] * len(out))
    return starts, ends


def align(text: str, transform: Callable[[str], str], char_cache: dict | None = None) -> Aligned:
    """Apply ``transform`` to ``text`` and align its output with the original characters."""
    whole = transform(text)
    if whole == text:
        return Aligned(text)
    if char_cache is None:
        char_cache = {}
    pieces = []
    for char in text:
        out = char_cache.get(char)
        if out is None:
            out = char_cache[char] = transform(char)
        pieces.append(out)
    if sum(map(len, pieces)) == len(whole) and _agree(pieces, whole):
        starts, ends = _from_segments(text, [(i, i + 1, p) for i, p in enumerate(pieces)])
        return Aligned(whole, starts, ends)
    segments: list[tuple[int, int, str]] = []
    for start, end in _clusters(text):
        out = pieces[start] if end == start + 1 else transform(text[start:end])
        if end > start + 1 and out == "".join(pieces[start:end]):
            segments.extend((i, i + 1, pieces[i]) for i in range(start, end - 1))
            start, out = end - 1, pieces[end - 1]
        segments.append((start, end, out))
        while len(segments) >= 2:
            (start, _, first), (_, end, second) = segments[-2], segments[-1]
            joined = transform(text[start:end])
            if joined == first + second:
                break
            segments[-2:] = [(start, end, joined)]
    if "".join(out for _, _, out in segments) != whole:
        segments = _safe_groups(text, transform, segments)
    segments = [piece for segment in segments for piece in _refine(text, transform, *segment)]
    starts, ends = _from_segments(text, segments)
    return Aligned(whole, starts, ends)


# Longer segments (a letter with dozens of combining marks) keep one span: cutting them costs
# time quadratic in their length.
_REFINE_LIMIT = 64


def _refine(text, transform, start: int, end: int, out: str) -> list[tuple[int, int, str]]:
    """The segment ``text[start:end]`` (whose transform is ``out``) cut at every point, from
    the left, where the part before the cut and the rest transform apart into ``out``: each
    piece's output is its own text transformed, so a token made of whole pieces has the finest
    span that still gives it back."""
    if end - start < 2 or not out or end - start > _REFINE_LIMIT:
        return [(start, end, out)]
    pieces = []
    used = 0
    for cut in range(start + 1, end):
        rest = out[used:]
        left = transform(text[pieces[-1][1] if pieces else start : cut])
        if rest.startswith(left) and transform(text[cut:end]) == rest[len(left) :]:
            pieces.append((pieces[-1][1] if pieces else start, cut, left))
            used += len(left)
    pieces.append((pieces[-1][1] if pieces else start, end, out[used:]))
    return pieces


def _safe_groups(text, transform, segments):
    """Rare fallback: cut only where transforming the two sides apart gives the whole output,
    and let each group between such cuts share its span."""
    groups = []
    start = 0
    for _, end, _ in segments:
        if end == len(text) or transform(text[:end]) + transform(text[end:]) == transform(text):
            groups.append((start, end, transform(text[start:end])))
            start = end
    if "".join(out for _, _, out in groups) != transform(text):
        return [(0, len(text), transform(text))]
    return groups


def _clusters(text: str) -> list[tuple[int, int]]:
    """Spans of a starter and the combining marks after it: canonical reordering and
    composition never reach across a starter, so each cluster normalizes on its own (nearly
    always; the merge loop in `align` catches the rest)."""
    combining = unicodedata.combining
    bounds = [i for i, char in enumerate(text) if i == 0 or not combining(char)]
    return list(zip(bounds, [*bounds[1:], len(text)], strict=True))


def _agree(pieces: list[str], whole: str) -> bool:
    """Per-character outputs equal the whole output, or differ only in same-length context
    forms (Greek final sigma), where the whole output's characters are kept."""
    joined = "".join(pieces)
    if joined == whole:
        return True
    return all(a == b or {a, b} <= {"σ", "ς"} for a, b in zip(joined, whole, strict=True))


def strip_accents(text: str) -> str:
    """Google's `_run_strip_accents`: NFD, then drop nonspacing marks (category Mn)."""
    if text.isascii():
        return text
    category = unicodedata.category
    return "".join(c for c in unicodedata.normalize("NFD", text) if category(c) != "Mn")


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def lower(text: str) -> str:
    return text.lower()


def char_to_byte_offsets(text: str) -> list[int]:
    """``result[i]`` is the UTF-8 byte offset of ``text[i]``; ``result[len(text)]`` the length."""
    offsets = [0]
    total = 0
    for char in text:
        cp = ord(char)
        total += 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
        offsets.append(total)
    return offsets
