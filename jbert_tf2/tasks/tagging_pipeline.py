"""`TaggingPipeline`: a tagger's way from raw text to model inputs and from scores back to
entities, one object shared by `TokenClassifier` and the export's `Preprocessor`, so a served
tagger answers exactly as the Python model does.

Forward: texts -> words (MeCab + unidic-lite short units, or the tokenizer's own splitter) ->
windows, runs of words that fit ``max_seq_length`` (a long sentence is tagged whole, window by
window, never truncated) -> encoded rows whose labeled positions are each word's first sub-token.
Back: each window's word scores -> Viterbi over the sequences the tag scheme allows -> written
into their sentence -> repaired across window borders -> entities as character spans of the text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

import jbert_tf2.tasks.tagging as tagging
from jbert_tf2.data.examples import TaggedSentence
from jbert_tf2.data.features import Features, WordTokenizer, encode_tagging
from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.base import Tokenizer
from jbert_tf2.tokenization.text import check_batch, check_text

WORD_SPLITTERS = ("unidic", "tokenizer")
TAGGING_TASK = "token_classification"  # the task.json name of TokenClassifier


def check_word_splitter(word_splitter: str) -> str:
    """``word_splitter`` if it is one of `WORD_SPLITTERS`, else a clear error."""
    if word_splitter not in WORD_SPLITTERS:
        raise JbertError(f"word_splitter={word_splitter!r}: use one of {', '.join(WORD_SPLITTERS)}")
    return word_splitter


def split_words(text: str, word_splitter: str, tokenizer: Tokenizer) -> list[tuple[int, int]]:
    """Character spans of the words a tagger labels in raw text: MeCab + unidic-lite short
    units for ``"unidic"`` (the segmentation of UD Japanese corpora, so the words match the
    training data's), the tokenizer's own word splitter for ``"tokenizer"`` (for data segmented
    that way, e.g. English CoNLL with WordPiece)."""
    from jbert_tf2.tokenization.mecab import unidic_word_spans

    if word_splitter == "unidic":
        return unidic_word_spans(text)
    return [(s, e) for s, e in tokenizer.word_spans(text) if e > s]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (the per-word scores Viterbi sums)."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@dataclass
class Windows:
    """Sentences cut into runs of words that fit ``max_seq_length``, encoded one row each.

    ``origins[row]`` is ``(sentence index, index of the window's first word)``;
    ``word_counts[i]`` the number of words of sentence i.
    """

    features: Features
    origins: list[tuple[int, int]]
    word_counts: list[int]

    def __len__(self) -> int:
        return len(self.origins)

    def labeled_positions(self, row: int) -> np.ndarray:
        """Token positions of row ``row`` that carry a word's label (first sub-tokens)."""
        return np.flatnonzero(self.features.label_weights[row] > 0)


class TaggingPipeline:
    """Raw text -> windows of words -> model inputs; word scores -> tags -> entities.

    Args:
        tokenizer: the model's tokenizer (sub-tokens, and words for ``"tokenizer"``).
        labels: the tagger's labels in output order, e.g. ``["O", "B-ORG", "I-ORG"]``.
        scheme: ``BIO``, ``BIOES``, ``BILOU`` or ``IO``.
        max_seq_length: tokens per window, ``[CLS]`` and ``[SEP]`` included.
        word_splitter: ``"unidic"`` or ``"tokenizer"`` (see `split_words`).

    Examples:
        >>> pipeline = TaggingPipeline(tokenizer, labels, "BIO", 128)  # doctest: +SKIP
        >>> sentences = pipeline.sentences(["ソニーが発表した。"])  # doctest: +SKIP
        >>> windows = pipeline.windows([s.words for s in sentences])  # doctest: +SKIP
        >>> inputs = pipeline.model_inputs(windows)  # with labeled_positions  # doctest: +SKIP
    """

    def __init__(
        self,
        tokenizer,
        labels: Sequence[str],
        scheme: str,
        max_seq_length: int,
        word_splitter: str = "unidic",
    ):
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.scheme = tagging.check_scheme(scheme)
        self.max_seq_length = int(max_seq_length)
        self.word_splitter = check_word_splitter(word_splitter)

    @classmethod
    def from_task_settings(
        cls, tokenizer: Tokenizer, labels: Sequence[str], options: Mapping
    ) -> TaggingPipeline:
        """The pipeline of a saved tagger from its ``task.json`` labels and options."""
        scheme = options.get("scheme") or tagging.detect_scheme(list(labels))
        return cls(
            tokenizer,
            labels,
            scheme,
            int(options.get("max_seq_length", 128)),
            options.get("word_splitter", "unidic"),
        )

    # Text -> model inputs ---------------------------------------------------------------

    def word_spans(self, text: str) -> list[tuple[int, int]]:
        """The character spans of the words tagged in ``text``."""
        return split_words(text, self.word_splitter, self.tokenizer)

    def sentences(self, texts: Sequence[str] | str) -> list[TaggedSentence]:
        """Each raw text as its words, with their spans in the text (one text may be a str)."""
        found = []
        for i, text in enumerate(check_batch(texts, "texts")):
            text = check_text(text, f"texts[{i}]")
            spans = self.word_spans(text)
            found.append(TaggedSentence([text[s:e] for s, e in spans], None, text, spans))
        return found

    def encode(self, sentences: Sequence[TaggedSentence]) -> Features:
        """`Features` of whole sentences, each word's tag (when given) on its first sub-token."""
        return encode_tagging(self.tokenizer, sentences, self.labels, self.max_seq_length)

    def windows(self, word_lists: Sequence[Sequence[str]]) -> Windows:
        """Each sentence split into runs of words that fit ``max_seq_length``, encoded; a word
        too long for a window by itself gets one alone (and is tagged "O")."""
        pieces = WordTokenizer(self.tokenizer)
        room = self.max_seq_length - 2
        runs, origins = [], []
        for index, words in enumerate(word_lists):
            if isinstance(words, (str, bytes)) or not isinstance(words, Sequence):
                raise JbertError(
                    f"word_lists[{index}] is a {type(words).__name__}, not a list of words; pass "
                    "each sentence's words, e.g. [s.words for s in pipeline.sentences(texts)]"
                )
            start, used = 0, 0
            for k, word in enumerate(words):
                size = len(pieces(word)[0])
                if used + size > room and k > start:
                    runs.append(list(words[start:k]))
                    origins.append((index, start))
                    start, used = k, 0
                used += size
            runs.append(list(words[start:]))
            origins.append((index, start))
        items = [TaggedSentence(words, None, "", []) for words in runs]
        return Windows(self.encode(items), origins, [len(words) for words in word_lists])

    def model_inputs(self, windows: Windows) -> dict[str, np.ndarray]:
        """One padded int32 row per window: ``input_ids``, ``input_mask``, ``segment_ids`` and
        ``labeled_positions`` (each word's first sub-token, padded with 0), the inputs of a
        tagger's ``serving_default`` signature."""
        rows = range(len(windows))
        width = max((len(ids) for ids in windows.features.input_ids), default=2)
        batch = windows.features.padded(rows, width)
        labeled = [windows.labeled_positions(row) for row in rows]
        count = max((len(first) for first in labeled), default=0)
        positions = np.zeros((len(rows), max(count, 1)), np.int32)
        for row, first in enumerate(labeled):
            positions[row, : len(first)] = first
        batch["labeled_positions"] = positions
        return batch

    # Scores -> tags -> entities ---------------------------------------------------------

    def word_scores(self, windows: Windows, token_logits: Sequence[np.ndarray]) -> list:
        """Each window's logits [tokens, labels] gathered at its labeled positions."""
        return [
            np.asarray(token_logits[row])[windows.labeled_positions(row)]
            for row in range(len(windows))
        ]

    def decode(self, windows: Windows, word_scores: Sequence[np.ndarray]) -> list[list[str]]:
        """Each sentence's tags from its windows' word scores ([rows, words, labels]; rows
        may be padded past a window's words): Viterbi per window, then repaired."""
        self._check_rows(windows, word_scores, "word scores")

        def decode_row(row: int, count: int) -> list[str]:
            scores = np.asarray(word_scores[row])[:count]
            if scores.ndim != 2 or len(scores) != count or scores.shape[1] != len(self.labels):
                raise JbertError(
                    f"word scores of row {row} have shape {np.shape(word_scores[row])}; expected "
                    f"[at least {count} words, {len(self.labels)} labels]"
                )
            return tagging.viterbi_decode(log_softmax(scores), self.labels, self.scheme)

        return self._assemble(windows, decode_row)

    def decode_ids(self, windows: Windows, predicted_ids: Sequence[np.ndarray]) -> list[list[str]]:
        """Each sentence's tags from its windows' per-word label ids ([rows, words], argmax
        decoding as a served ``predicted_ids``), repaired into a valid sequence."""
        self._check_rows(windows, predicted_ids, "predicted ids")

        def decode_row(row: int, count: int) -> list[str]:
            ids = np.asarray(predicted_ids[row])[:count]
            if len(ids) != count or not np.all((ids >= 0) & (ids < len(self.labels))):
                raise JbertError(
                    f"predicted ids of row {row} are {ids.tolist()}; expected {count} label "
                    f"indexes in 0..{len(self.labels) - 1}"
                )
            return [self.labels[int(i)] for i in ids]

        return self._assemble(windows, decode_row)

    def _check_rows(self, windows: Windows, rows, what: str) -> None:
        if len(rows) != len(windows):
            raise JbertError(
                f"{what} have {len(rows)} rows but the texts make {len(windows)} windows; pass "
                "the outputs for the inputs made from these same texts (one row per window)"
            )

    def _assemble(self, windows: Windows, decode_row) -> list[list[str]]:
        """Window tags written into their sentences (a word no window labels stays "O"),
        each sentence repaired to be valid in the scheme."""
        results = [["O"] * count for count in windows.word_counts]
        for row, (index, offset) in enumerate(windows.origins):
            first = windows.labeled_positions(row)
            if not len(first):
                continue
            words = windows.features.word_ids[row][first]
            for word, tag in zip(words, decode_row(row, len(first)), strict=True):
                results[index][offset + int(word)] = tag
        return [tagging.repair(tags, self.scheme) for tags in results]

    def entities(
        self, sentences: Sequence[TaggedSentence], all_tags: Sequence[Sequence[str]]
    ) -> list[list[dict]]:
        """Each sentence's entities ``{"text", "label", "start", "end"}`` with character
        offsets into its text."""
        return [
            tagging.entities_in_text(sentence.text, sentence.spans, tags, self.scheme)
            for sentence, tags in zip(sentences, all_tags, strict=True)
        ]
