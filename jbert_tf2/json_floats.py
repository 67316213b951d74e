"""Format float32 arrays exactly as ``json.dumps([round(float(x), 6) for x in values])`` would,
but vectorised: Google's extract_features.py writes every hidden-state value that way, and doing
it value by value in Python costs more than the model itself.

Why it is exact: a float32 times 10^6 is exact in float64 (24 + 14 significant bits), so
``q = rint(|x| · 10^6)`` is the correctly rounded (half-even) integer Python's ``round`` picks,
and ``repr(q / 10^6)`` is the shortest decimal of that double: ``q · 10^-6`` without trailing
zeros, in fixed notation from 10^-4 up, and like ``5e-05`` or ``1.5e-05`` below.

How: each value becomes a row of fixed-width slots (sign, integer digits, '.', fraction digits,
scientific form, ", ") filled from lookup tables and padded with zero bytes; dropping the zero
bytes leaves the text.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_INT_WIDTH = 13  # up to 10^13 - 1


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits of 0..999 as uint32 words of 4 bytes (zero-padded), looked up instead of computed:
    all three digits; without trailing zeros but at least one; without trailing zeros, empty for
    0. And q 1..99 in scientific form (1e-06 .. 9.9e-05) as 8 zero-padded bytes."""
    full = np.zeros((1000, 4), np.uint8)
    stripped = np.zeros((1000, 4), np.uint8)
    optional = np.zeros((1000, 4), np.uint8)
    for k in range(1000):
        text = f"{k:03d}"
        full[k, :3] = np.frombuffer(text.encode(), np.uint8)
        short = text.rstrip("0")
        optional[k, : len(short)] = np.frombuffer(short.encode(), np.uint8)
        short = short or "0"
        stripped[k, : len(short)] = np.frombuffer(short.encode(), np.uint8)
    scientific = np.zeros((100, 8), np.uint8)
    for q in range(1, 100):
        text = f"{q}e-06" if q < 10 else (f"{q // 10}e-05" if q % 10 == 0 else f"{q / 10}e-05")
        scientific[q, : len(text)] = np.frombuffer(text.encode(), np.uint8)
    words = [t.view(np.uint32).ravel() for t in (full, stripped, optional)]
    return (*words, scientific)


@lru_cache(maxsize=1)
def _lengths() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte counts of `_tables`' entries (stripped, optional, scientific)."""
    _, stripped, optional, scientific = _tables()
    count = [
        np.count_nonzero(t.view(np.uint8).reshape(len(t), -1), axis=1) for t in (stripped, optional)
    ]
    return count[0], count[1], np.count_nonzero(scientific, axis=1)


def _integer_digits(integer: np.ndarray) -> np.ndarray:
    """Left-aligned decimal digits of non-negative integers, zero-padded."""
    width = int(np.max(integer, initial=0)).bit_length() // 3 + 1  # >= number of digits
    count = np.ones(len(integer), np.int64)
    for k in range(1, width):
        count += integer >= 10**k
    columns = []
    for k in range(width):
        place = count - 1 - k
        digit = (integer // 10 ** np.maximum(place, 0)) % 10
        columns.append(np.where(place >= 0, digit + ord("0"), 0))
    return np.stack(columns, axis=1).astype(np.uint8)


def format_rounded(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """``(text, ends)``: the values of a flat float array written one after another, each
    followed by ``", "``; ``ends[i]`` is the byte offset just after value i's separator, so
    ``text[start:end - 2]`` of a run of values is the inside of its JSON list."""
    x = np.asarray(values, np.float32).ravel()
    if not np.all(np.isfinite(x)):
        raise ValueError("cannot write NaN or infinity as JSON values")
    q = np.rint(np.abs(x.astype(np.float64)) * 1e6).astype(np.int64)
    integer, fraction = np.divmod(q, 1_000_000)
    if q.size and integer.max() >= 10**_INT_WIDTH:
        raise ValueError("value too large to format (|x| >= 1e13)")
    full, stripped, optional, scientific = _tables()
    n = x.size
    if integer.max(initial=0) < 10:
        int_part = (integer + ord("0")).astype(np.uint8)[:, None]
        int_length = 1
    else:
        int_part = _integer_digits(integer)
        int_length = np.count_nonzero(int_part, axis=1)
    w = int_part.shape[1]
    chars = np.zeros((n, 1 + w + 1 + 8 + 2), np.uint8)
    chars[:, 0] = np.where(np.signbit(x), ord("-"), 0)
    chars[:, 1 : 1 + w] = int_part
    chars[:, 1 + w] = ord(".")
    high, low = np.divmod(fraction.astype(np.int32), 1000)
    words = chars[:, 2 + w : 10 + w].view(np.uint32)
    words[:, 0] = np.where(low == 0, stripped[high], full[high])
    words[:, 1] = optional[low]
    chars[:, -2:] = np.frombuffer(b", ", np.uint8)
    stripped_length, optional_length, scientific_length = _lengths()
    lengths = (
        np.signbit(x)
        + int_length
        + 1
        + np.where(low == 0, stripped_length[high], 3)
        + optional_length[low]
        + 2
    )
    small = np.flatnonzero((q > 0) & (q < 100))
    if small.size:
        chars[small, 1 : 2 + w + 8] = 0
        chars[small, 1:9] = scientific[q[small]]
        lengths[small] = np.signbit(x[small]) + scientific_length[q[small]] + 2
    return chars[chars != 0].tobytes(), np.cumsum(lengths)
