"""Windows: texts longer than ``max_seq_length`` cut into overlapping windows, and back.

Google's run_squad.py reads a long document through windows of ``max_seq_length`` tokens
(``[CLS]`` and ``[SEP]`` included) that start ``doc_stride`` tokens apart; the last window ends
at the text's last token, so nothing is cut. The same rule serves classification (each window is
classified and the windows' logits are aggregated, `jbert_tf2.tasks.long_text`) and token vectors
(each token's vector comes from the window where it has the most context, `best_windows`).

A text pair windows its longer text (the second on a tie, as Google's truncation cuts the second
text first); the other text is kept whole in every window when it leaves half the room, else cut
to half of it. A text that fits makes exactly one window, equal to the unwindowed encoding.

Positions: a window is a list of positions into the example's full layout
``[CLS] a [SEP] (b [SEP])``; ids, segment ids, tokens and offsets of a window are the full
layout's values at its positions, so one cut serves ids (`encode_windows`) and encodings with
their character offsets (`window_encodings`).

Taggers window differently on purpose (`jbert_tf2.tasks.tagging_pipeline`): runs of whole words
without overlap, since Viterbi stitches their tags; here windows overlap so every token (and every
part of a document's evidence) is read with context on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jbert_tf2.data.examples import TextExample
from jbert_tf2.data.features import Features, encode_classification
from jbert_tf2.errors import JbertError

LONG_TEXT_MODES = ("truncate", "windows")


def default_doc_stride(max_seq_length: int) -> int:
    """Half the room of a single text's window: every token is read by two windows."""
    return max(1, (int(max_seq_length) - 2) // 2)


def saved_doc_stride(doc_stride: int | None, max_seq_length: int) -> int | None:
    """``doc_stride`` as task.json keeps it: None for the default, so a model loaded with
    another ``max_seq_length`` takes that length's default instead of an impossible stride."""
    return None if doc_stride == default_doc_stride(max_seq_length) else doc_stride


def check_long_text(long_text: str, doc_stride: int | None, max_seq_length: int) -> int | None:
    """``doc_stride`` checked for ``long_text`` (None: `default_doc_stride` with windows)."""
    if long_text not in LONG_TEXT_MODES:
        raise JbertError(f"long_text={long_text!r}: use one of {', '.join(LONG_TEXT_MODES)}")
    if long_text == "truncate":
        return None if doc_stride is None else _check_stride(doc_stride, max_seq_length)
    if max_seq_length < 4:
        raise JbertError(
            f"max_seq_length={max_seq_length}: windows need at least 4 tokens ([CLS], two text "
            "tokens, [SEP]); raise max_seq_length"
        )
    if doc_stride is None:
        return default_doc_stride(max_seq_length)
    return _check_stride(doc_stride, max_seq_length)


def _check_stride(doc_stride, max_seq_length: int) -> int:
    if isinstance(doc_stride, bool) or not isinstance(doc_stride, (int, np.integer)):
        raise JbertError(f"doc_stride={doc_stride!r}: expected a whole number of tokens")
    doc_stride = int(doc_stride)
    if not 0 < doc_stride < max_seq_length - 2:
        raise JbertError(
            f"doc_stride={doc_stride}: must be in 1..{max_seq_length - 3} (below max_seq_length="
            f"{max_seq_length} minus [CLS] and [SEP]), so consecutive windows overlap; e.g. "
            f"doc_stride={default_doc_stride(max_seq_length)}"
        )
    return doc_stride


def window_spans(num_tokens: int, room: int, doc_stride: int) -> list[tuple[int, int]]:
    """``(start, length)`` of each window over ``num_tokens`` tokens, ``room`` tokens a window:
    run_squad.py's rule (the next window starts ``doc_stride`` later, never past the end of the
    previous one; the last window ends at the last token). No tokens: one empty window."""
    spans, start = [], 0
    while True:
        length = min(num_tokens - start, room)
        spans.append((start, length))
        if start + length >= num_tokens:
            return spans
        start += min(length, doc_stride)


@dataclass
class WindowPlan:
    """How one example is cut: ``positions[w]`` are window w's positions in the full layout
    ``[CLS] a [SEP] (b [SEP])``; ``spans[w]`` its ``(start, length)`` in the windowed text, which
    begins at full position ``offset``; ``full_length`` is the length of the full layout."""

    positions: list[np.ndarray]
    spans: list[tuple[int, int]]
    offset: int
    full_length: int

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def covered(self) -> np.ndarray:
        """Full positions some window holds (a pair's other text may lose its tail)."""
        return np.unique(np.concatenate(self.positions))


def plan_windows(len_a: int, len_b: int | None, max_seq_length: int, doc_stride: int) -> WindowPlan:
    """The windows of an example of ``len_a`` (and ``len_b``) tokens, specials excluded."""
    len_b = len_b or None  # an empty second text is a single-text example, as Google's code
    full_length = len_a + 2 + (len_b + 1 if len_b else 0)
    if len_b is None:
        spans = window_spans(len_a, max_seq_length - 2, doc_stride)
        positions = [
            np.concatenate([[0], np.arange(1 + s, 1 + s + n), [len_a + 1]]) for s, n in spans
        ]
        return WindowPlan([p.astype(np.int64) for p in positions], spans, 1, full_length)
    room = max_seq_length - 3
    b_start = len_a + 2
    if len_a + len_b <= room:
        every = np.arange(full_length, dtype=np.int64)
        return WindowPlan([every], [(0, len_a)], 1, full_length)
    second = len_b >= len_a
    other = len_a if second else len_b
    kept = min(other, room // 2)
    spans = window_spans(len_b if second else len_a, room - kept, doc_stride)
    positions = []
    for s, n in spans:
        if second:
            parts = [
                [0],
                np.arange(1, 1 + kept),
                [len_a + 1],
                np.arange(b_start + s, b_start + s + n),
            ]
        else:
            parts = [
                [0],
                np.arange(1 + s, 1 + s + n),
                [len_a + 1],
                np.arange(b_start, b_start + kept),
            ]
        positions.append(np.concatenate([*parts, [full_length - 1]]).astype(np.int64))
    return WindowPlan(positions, spans, b_start if second else 1, full_length)


def best_windows(plan: WindowPlan) -> np.ndarray:
    """For each full position, the window its vector is taken from (-1: in no window).

    A token of the windowed text takes the window where it has the most context: run_squad.py's
    ``_check_is_max_context`` score ``min(tokens left, tokens right) + 0.01 * window length``,
    the earlier window on a tie. Everything else ([CLS], [SEP]s, a pair's other text, the same in
    every window) comes from the first window."""
    choice = np.full(plan.full_length, -1, np.int64)
    best = np.full(plan.full_length, -np.inf)
    for w, (positions, (start, length)) in enumerate(zip(plan.positions, plan.spans, strict=True)):
        fresh = choice[positions] < 0
        choice[positions[fresh]] = w
        index = np.arange(start, start + length)
        score = np.minimum(index - start, start + length - 1 - index) + 0.01 * length
        full = plan.offset + index
        better = score > best[full]
        choice[full[better]] = w
        best[full[better]] = score[better]
    return choice


def stitch(plan: WindowPlan, window_values: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, values)``: one row of values per covered full position (in order), taken
    from its `best_windows` window; ``window_values[w]`` has one row per position of window w."""
    choice = best_windows(plan)
    covered = np.flatnonzero(choice >= 0)
    rows = []
    for position in covered:
        w = choice[position]
        rows.append(window_values[w][int(np.searchsorted(plan.positions[w], position))])
    return covered, np.stack(rows)


@dataclass
class WindowedFeatures(Features):
    """`Features` with one row per window; ``labels`` stay one per document.

    ``document_ids[row]`` is the document (example) of window ``row``; windows of a document are
    consecutive. ``num_documents`` counts the documents (``labels`` has one row each).
    """

    document_ids: np.ndarray | None = None
    num_documents: int = 0

    @property
    def window_counts(self) -> np.ndarray:
        """The number of windows of each document."""
        return np.bincount(self.document_ids, minlength=self.num_documents)


def encode_windows(
    tokenizer,
    examples: Sequence[TextExample],
    labels: Sequence[str] | None,
    max_seq_length: int,
    doc_stride: int,
    multi_label: bool = False,
) -> WindowedFeatures:
    """`encode_classification`'s features, each example cut into `plan_windows` windows."""
    whole = encode_classification(tokenizer, examples, labels, None, multi_label, warn=False)
    input_ids, segment_ids, owners = [], [], []
    for document, (ids, segments) in enumerate(
        zip(whole.input_ids, whole.segment_ids, strict=True)
    ):
        len_b = int(segments.sum()) - 1 if segments[-1] else None
        len_a = len(ids) - 2 - (len_b + 1 if len_b else 0)
        for positions in plan_windows(len_a, len_b, max_seq_length, doc_stride).positions:
            input_ids.append(ids[positions])
            segment_ids.append(segments[positions])
            owners.append(document)
    return WindowedFeatures(
        input_ids,
        segment_ids,
        whole.labels,
        document_ids=np.asarray(owners, np.int64),
        num_documents=len(examples),
    )


def encoding_at(encoding, positions: Sequence[int], truncated: bool = False):
    """The unpadded `Encoding` of ``encoding``'s values at full-layout ``positions`` (a window's,
    or the covered positions of a stitched text), character offsets included."""
    from jbert_tf2.tokenization.base import Encoding

    chosen = [int(p) for p in positions]
    return Encoding(
        [encoding.input_ids[p] for p in chosen],
        [1] * len(chosen),
        [encoding.segment_ids[p] for p in chosen],
        [encoding.tokens[p] for p in chosen],
        [encoding.offsets[p] for p in chosen],
        len(chosen),
        truncated,
    )


def window_encodings(encoding, plan: WindowPlan) -> list:
    """The `Encoding` of each window of an unpadded, untruncated ``encoding`` (tokens and
    character offsets included)."""
    return [encoding_at(encoding, positions) for positions in plan.positions]


def windows_of_encodings(
    encodings: Sequence, max_seq_length: int, doc_stride: int
) -> tuple[list[WindowPlan], list]:
    """``(plans, windows)``: the `plan_encoding` of each unpadded, untruncated encoding, and
    the `window_encodings` of all of them, document after document."""
    plans = [plan_encoding(e, max_seq_length, doc_stride) for e in encodings]
    windows = [w for e, p in zip(encodings, plans, strict=True) for w in window_encodings(e, p)]
    return plans, windows


def split_by_document(plans: Sequence[WindowPlan], window_values: Sequence) -> list[list]:
    """``window_values`` (one per window, in `windows_of_encodings`' order) grouped per
    document: ``result[d]`` holds the ``len(plans[d])`` values of document d's windows."""
    groups, row = [], 0
    for plan in plans:
        groups.append(list(window_values[row : row + len(plan)]))
        row += len(plan)
    return groups


def plan_encoding(encoding, max_seq_length: int, doc_stride: int) -> WindowPlan:
    """`plan_windows` of an unpadded, untruncated `Encoding`."""
    len_b = sum(encoding.segment_ids[: encoding.length]) - 1
    len_b = len_b if len_b > 0 else None
    len_a = encoding.length - 2 - (len_b + 1 if len_b else 0)
    return plan_windows(len_a, len_b, max_seq_length, doc_stride)
