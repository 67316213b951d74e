"""Tag schemes for token classification (NER): parse, convert, repair, decode and score.

Tags are ``O`` or ``PREFIX-TYPE`` (``B-ORG``, ``I-ORG``, ``E-ORG``, ``S-ORG``, ``L-ORG``,
``U-ORG``). Schemes:

- ``BIO`` (IOB2): ``B`` begins an entity, ``I`` continues it.
- ``BIOES`` (IOBES): ``B`` begin, ``I`` inside, ``E`` end, ``S`` a single-word entity.
- ``BILOU`` (BILUO, spaCy's name): BIOES with other letters, ``L`` (last) for ``E`` and ``U``
  (unit) for ``S``; read, decoded and scored exactly as the BIOES sequence it spells.
- ``IO``: every entity word is ``I``; adjacent entities of one type cannot be told apart.

Entities are ``(type, start, end)`` over word indices with ``end`` exclusive.

Reading is seqeval's (the reference for NER scores): by default ("non-strict", conlleval's
reading) any sequence is accepted and a word continues the open entity only when it is ``I-X``
or ``E-X`` after ``B-X`` or ``I-X``; every other non-``O`` word begins a new entity, so invalid
sequences (``I-X`` after ``O``, a ``B-X`` never closed by ``E-X``) still yield entities
(``L`` / ``U`` read as ``E`` / ``S``). Strict reading keeps only well-formed entities of the
scheme (``B I*`` in BIO, ``B I* E`` or ``S`` in BIOES, ``B I* L`` or ``U`` in BILOU) and rejects
prefixes the scheme lacks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Sized
from collections.abc import Set as AbstractSet
from functools import lru_cache

import numpy as np

from jbert_tf2.errors import JbertError

SCHEMES = ("BIO", "BIOES", "BILOU", "IO")

# Prefixes per scheme, and each type's labels in `labels_for` order.
_PREFIXES = {
    "BIO": ("B", "I"),
    "BIOES": ("B", "I", "E", "S"),
    "BILOU": ("B", "I", "L", "U"),
    "IO": ("I",),
}
SCHEME_ALIASES = {"IOB2": "BIO", "IOBES": "BIOES", "BILUO": "BILOU"}
# BILOU's last and unit prefixes are BIOES' end and single: entities are read from the BIOES
# letters, so both schemes share one reading, one decoder and one scorer.
_AS_BIOES = {"L": "E", "U": "S"}
_PREFIX_LETTERS = "B, I, E, S, L, U"
# Log-probabilities below this (``-inf`` for probability 0) are raised to it so that a valid
# path through an impossible label still outranks an invalid path.
LOG_PROB_FLOOR = -1e30
# The non-strict (conlleval) reading: a word continues the open entity of its type when its
# prefix is one of CONTINUES and the previous word's one of OPENS; any other tag begins one.
OPENS = ("B", "I")
CONTINUES = ("I", "E")

Span = tuple[str, int, int]


def check_scheme(scheme: str) -> str:
    """The canonical scheme name (``BIO``, ``BIOES``, ``BILOU`` or ``IO``); accepts IOB2,
    IOBES and BILUO too."""
    name = str(scheme).upper()
    name = SCHEME_ALIASES.get(name, name)
    if name not in SCHEMES:
        raise JbertError(
            f"unknown tag scheme {scheme!r}; use one of {', '.join(SCHEMES)} "
            "(IOB2, IOBES and BILUO are accepted as BIO, BIOES and BILOU)"
        )
    return name


def _reading_scheme(scheme: str | None) -> str | None:
    """The scheme whose rules read ``scheme``'s sequences once `_parse` has turned L / U into
    E / S: BIOES for BILOU, else the scheme itself."""
    return "BIOES" if scheme == "BILOU" else scheme


@lru_cache(maxsize=4096)
def _split(tag: str) -> tuple[str, str] | None:
    """``(prefix, type)`` of a well-formed tag (``("O", "")`` for ``O``), else None."""
    if tag == "O":
        return "O", ""
    if (
        len(tag) < 3
        or tag[0] not in "BIESLU"
        or tag[1] != "-"
        or tag[2] == "-"
        or tag.endswith("-")
    ):
        return None
    return tag[0], tag[2:]


_SENTENCE_TAGS = "one sentence's tags as a list of strings, e.g. ['B-ORG', 'I-ORG', 'O']"


def _tag_list(tags, name: str = "tags", what: str = _SENTENCE_TAGS) -> list:
    """``tags`` as a list; a string, a dict or set (keys, no order) or something that is not a
    sequence is a clear error."""
    if isinstance(tags, (str, bytes, Mapping, AbstractSet)) or not isinstance(tags, Iterable):
        shown = repr(tags) if len(repr(tags)) <= 80 else f"a {type(tags).__name__}"
        raise JbertError(f"{name} is {shown}, not a list; pass {what}")
    return list(tags)


def _parse(tags: Sequence[str], scheme: str | None = None, sentence: int | None = None):
    """``[(prefix, type)]`` for a sentence, BILOU's L / U as E / S; raises naming the first bad
    tag and its position."""
    allowed = None if scheme is None else ("O", *_PREFIXES[scheme])
    where = "" if sentence is None else f" of sentence {sentence}"
    tags = _tag_list(tags, "tags" if sentence is None else f"sentence {sentence}")
    parsed = []
    for position, tag in enumerate(tags):
        pair = _split(tag) if isinstance(tag, str) else None
        if pair is None:
            raise JbertError(
                f"tag {tag!r} at position {position}{where} is not 'O' or PREFIX-TYPE with "
                f"PREFIX one of {_PREFIX_LETTERS} and a non-empty TYPE (e.g. 'B-ORG'); fix the tag"
            )
        if allowed is not None and pair[0] not in allowed:
            raise JbertError(
                f"tag {tag!r} at position {position}{where} has prefix {pair[0]!r}, which the "
                f"{scheme} scheme does not use (it uses {', '.join(allowed)}); pass the "
                "sequence's real scheme or convert it with convert_tags"
            )
        prefix = pair[0]
        parsed.append((_AS_BIOES[prefix], pair[1]) if prefix in _AS_BIOES else pair)
    return parsed


def _is_sentence(items: Sequence) -> bool:
    return all(isinstance(item, str) for item in items)


def _sentences(tags_or_sequences: Iterable) -> list[Sequence[str]]:
    """One sentence (a list of tags) or many (a list of lists) as a list of sentences."""
    items = _tag_list(tags_or_sequences)
    return [items] if _is_sentence(items) else items


def entity_types(tags_or_sequences: Iterable) -> list[str]:
    """Sorted entity types used in one sentence's tags or in a list of sentences."""
    types = set()
    for index, sentence in enumerate(_sentences(tags_or_sequences)):
        types.update(kind for prefix, kind in _parse(sentence, sentence=index) if prefix != "O")
    return sorted(types)


def labels_for(types: Iterable[str], scheme: str) -> list[str]:
    """The label list for a classifier: ``O`` first, then per type (in the order given)
    ``B-X, I-X`` (BIO), ``B-X, I-X, E-X, S-X`` (BIOES), ``B-X, I-X, L-X, U-X`` (BILOU) or
    ``I-X`` (IO)."""
    scheme = check_scheme(scheme)
    labels = ["O"]
    seen = set()
    for kind in _tag_list(types, "types", "a list of entity types, e.g. ['ORG', 'PERSON']"):
        if not isinstance(kind, str) or _split(f"B-{kind}") is None or kind in seen:
            raise JbertError(
                f"entity type {kind!r} is empty, starts or ends with '-', or is repeated; "
                "pass each type once, e.g. labels_for(entity_types(tags), scheme)"
            )
        seen.add(kind)
        labels.extend(f"{prefix}-{kind}" for prefix in _PREFIXES[scheme])
    return labels


def detect_scheme(tags_or_sequences: Iterable) -> str:
    """The scheme of one sentence or a list of sentences, from the prefixes used.

    ``E`` or ``S`` anywhere: BIOES; ``L`` or ``U`` anywhere: BILOU (both is an error); else
    ``B`` anywhere: BIO; else ``I``: IO; only ``O``: BIO (every scheme reads an all-``O``
    sequence the same way).
    """
    prefixes = set()
    for index, sentence in enumerate(_sentences(tags_or_sequences)):
        tags = _tag_list(sentence, f"sentence {index}")
        _parse(tags, sentence=index)  # checks every tag
        prefixes.update(tag[0] for tag in tags if tag != "O")
    if prefixes & {"E", "S"} and prefixes & {"L", "U"}:
        raise JbertError(
            "the tags mix BIOES prefixes (E, S) with BILOU prefixes (L, U); write all of "
            "them in one scheme (convert_tags(tags, to='BIOES') reads either)"
        )
    if prefixes & {"L", "U"}:
        return "BILOU"
    if prefixes & {"E", "S"}:
        return "BIOES"
    if "B" in prefixes or "I" not in prefixes:
        return "BIO"
    return "IO"


def _loose_spans(parsed: list[tuple[str, str]]) -> list[Span]:
    """seqeval's default (conlleval) reading of any sequence."""
    found: list[Span] = []
    open_prefix, open_type, start = "O", "", 0
    for position, (prefix, kind) in enumerate(parsed):
        if open_prefix in OPENS and prefix in CONTINUES and kind == open_type:
            open_prefix = prefix
            continue
        if open_prefix != "O":
            found.append((open_type, start, position))
        open_prefix, open_type, start = prefix, kind, position
    if open_prefix != "O":
        found.append((open_type, start, len(parsed)))
    return found


def _strict_spans(parsed: list[tuple[str, str]], scheme: str) -> list[Span]:
    """Well-formed entities only: ``B I*`` (BIO), ``B I* E`` or ``S`` (BIOES and BILOU, whose
    L / U `_parse` made E / S), ``I+`` (IO)."""
    scheme = _reading_scheme(scheme)
    if scheme == "IO":
        return _loose_spans(parsed)
    found: list[Span] = []
    length = len(parsed)
    for start, (prefix, kind) in enumerate(parsed):
        if prefix == "S":
            found.append((kind, start, start + 1))
        if prefix != "B":
            continue
        end = start + 1
        while end < length and parsed[end] == ("I", kind):
            end += 1
        if scheme == "BIO":
            found.append((kind, start, end))
        elif end < length and parsed[end] == ("E", kind):
            found.append((kind, start, end + 1))
    return found


def spans(tags: Sequence[str], scheme: str | None = None, strict: bool = False) -> list[Span]:
    """Entities ``(type, start, end_exclusive)`` of one sentence, in order.

    Non-strict equals seqeval's default ``get_entities`` for any sequence; ``scheme``, when
    given, only checks that the prefixes belong to it. Strict equals seqeval's
    ``mode="strict"`` with IOB2 / IOBES (the scheme is detected from ``tags`` when None).
    """
    scheme = None if scheme is None else check_scheme(scheme)
    tags = _tag_list(tags)
    if strict and scheme is None:
        scheme = detect_scheme(tags)
    parsed = _parse(tags, scheme)
    return _strict_spans(parsed, scheme) if strict else _loose_spans(parsed)


def tags_from_spans(entities: Iterable[Span], length: int, scheme: str) -> list[str]:
    """The tag sequence of ``length`` words holding these non-overlapping entities.

    IO cannot mark where one entity ends and an adjacent one of the same type begins, so such
    neighbours come out as one entity.
    """
    scheme = check_scheme(scheme)
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise JbertError(f"length={length!r}: pass the number of words (an integer >= 0)")
    entities = _tag_list(entities, "entities", "a list of (type, start, end_exclusive)")
    for entity in entities:
        if (
            not isinstance(entity, (tuple, list))
            or len(entity) != 3
            or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in entity[1:]
            )
        ):
            raise JbertError(
                f"entity {entity!r} is not (type, start, end_exclusive) with integer word indices"
            )
    tags = ["O"] * length
    covered_until = 0
    for kind, start, end in sorted(entities, key=lambda span: (span[1], span[2])):
        if not (0 <= start < end <= length) or start < covered_until:
            raise JbertError(
                f"entity {(kind, start, end)!r} is empty, outside 0..{length} or overlaps the "
                "previous one; entities are (type, start, end_exclusive) over word indices "
                "and must not overlap"
            )
        if not isinstance(kind, str) or _split(f"B-{kind}") is None:
            raise JbertError(
                f"entity type {kind!r} of entity {(kind, start, end)!r} is empty or starts or "
                "ends with '-'; use a type such as 'ORG'"
            )
        covered_until = end
        width = end - start
        if scheme == "IO":
            inner = ["I"] * width
        elif scheme == "BIO":
            inner = ["B"] + ["I"] * (width - 1)
        else:
            single, last = ("U", "L") if scheme == "BILOU" else ("S", "E")
            inner = [single] if width == 1 else ["B"] + ["I"] * (width - 2) + [last]
        tags[start:end] = [f"{prefix}-{kind}" for prefix in inner]
    return tags


def convert_tags(tags: Sequence[str], to: str, source: str | None = None) -> list[str]:
    """One sentence's tags in scheme ``to``, keeping its (non-strict) entities.

    ``source``, when given, checks the prefixes; invalid sequences are read as seqeval's
    default mode reads them (``I-X`` after ``O`` begins an entity). From IO every maximal run of
    one type is one entity; to IO adjacent entities of one type merge.
    """
    to = check_scheme(to)
    tags = _tag_list(tags)
    found = spans(tags, scheme=source)
    return tags_from_spans(found, len(tags), to)


def repair(tags: Sequence[str], scheme: str) -> list[str]:
    """The valid sequence of ``scheme`` with the same non-strict entities as ``tags``."""
    return convert_tags(tags, to=scheme)


def is_valid(tags: Sequence[str], scheme: str) -> bool:
    """True when ``tags`` uses only the scheme's prefixes and obeys its transitions."""
    scheme = check_scheme(scheme)
    tags = _tag_list(tags)
    parsed = _parse(tags)
    if any(tag != "O" and tag[0] not in _PREFIXES[scheme] for tag in tags):
        return False
    return list(tags) == tags_from_spans(_loose_spans(parsed), len(parsed), scheme)


def _constraints(labels: Sequence[str], scheme: str):
    """Allowed ``[from, to]`` transitions, allowed first labels and allowed last labels."""
    parsed = []
    for position, label in enumerate(labels):
        pair = _split(label) if isinstance(label, str) else None
        if pair is None or pair[0] not in ("O", *_PREFIXES[scheme]):
            raise JbertError(
                f"label {label!r} at index {position} is not 'O' or a {scheme} label "
                f"(prefixes {', '.join(_PREFIXES[scheme])}); use labels_for(types, {scheme!r})"
            )
        parsed.append((_AS_BIOES.get(pair[0], pair[0]), pair[1]))
    if len(set(labels)) != len(labels):
        raise JbertError(f"labels {list(labels)!r} repeat a label; pass each label once")
    scheme = _reading_scheme(scheme)
    prefix = np.array([p for p, _ in parsed])
    type_ids = np.unique([t for _, t in parsed], return_inverse=True)[1]
    same_type = type_ids[:, None] == type_ids[None, :]
    opens = np.isin(prefix, ("B", "I"))
    count = len(labels)
    if scheme == "IO":
        return np.ones((count, count), bool), np.ones(count, bool), np.ones(count, bool)
    if scheme == "BIO":
        inside = prefix == "I"
        allowed = ~inside[None, :] | (opens[:, None] & same_type)
        return allowed, ~inside, np.ones(count, bool)
    inside = np.isin(prefix, ("I", "E"))
    allowed = np.where(opens[:, None], inside[None, :] & same_type, ~inside[None, :])
    return allowed, ~inside, ~opens


def viterbi_rules(labels: Sequence[str], scheme: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`viterbi_decode`'s rules as arrays, for decoders that run elsewhere (the in-graph
    tagger, `tagging_graph`): allowed ``[from, to]`` transitions, allowed first labels and
    allowed last labels."""
    return _constraints(list(labels), check_scheme(scheme))


def label_parts(labels: Sequence[str]) -> list[tuple[str, str]]:
    """``(prefix, type)`` of each label as the non-strict reading sees it (``("O", "")`` for
    ``O``; BILOU's L / U as E / S)."""
    return _parse(_tag_list(labels, "labels", "the classifier's labels"))


def viterbi_decode(log_probs: np.ndarray, labels: Sequence[str], scheme: str) -> list[str]:
    """The highest-scoring valid tag sequence: per-word scores summed, invalid transitions
    forbidden (BIO: ``I-X`` only after ``B-X``/``I-X``; BIOES also ``B``/``I`` must be closed by
    ``E`` of the same type and nothing starts with ``I``/``E``; BILOU as BIOES with ``L`` for
    ``E``). Repairs argmax decoding.

    ``log_probs`` is ``[length, len(labels)]`` (log-softmax or logits; ``-inf`` allowed).
    Ties go to the lower label index.
    """
    scheme = check_scheme(scheme)
    labels = _tag_list(labels, "labels", "the classifier's labels, e.g. labels_for(types, scheme)")
    if not labels:
        raise JbertError(
            f"labels is empty; pass the classifier's labels, labels_for(types, {scheme!r})"
        )
    try:
        scores = np.asarray(log_probs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise JbertError(
            f"log_probs: not an array of numbers ({exc}); pass one sentence's scores, "
            "[length, len(labels)]"
        ) from None
    if scores.ndim != 2 or scores.shape[1] != len(labels):
        raise JbertError(
            f"log_probs has shape {scores.shape}, expected [length, {len(labels)}] "
            "(one score per word and label); pass one sentence's scores, padding removed"
        )
    if np.isnan(scores).any() or np.isposinf(scores).any():
        raise JbertError("log_probs contains NaN or +inf; pass finite scores (or -inf)")
    allowed, first_ok, last_ok = _constraints(labels, scheme)
    length = scores.shape[0]
    if length == 0:
        return []
    scores = np.maximum(scores, LOG_PROB_FLOOR)
    transition = np.where(allowed, 0.0, -np.inf)
    best = np.where(first_ok, scores[0], -np.inf)
    backpointers = np.zeros((length, len(labels)), dtype=np.int64)
    columns = np.arange(len(labels))
    for step in range(1, length):
        candidates = best[:, None] + transition
        backpointers[step] = candidates.argmax(axis=0)
        best = candidates[backpointers[step], columns] + scores[step]
    best = np.where(last_ok, best, -np.inf)
    if not np.isfinite(best.max()):
        raise JbertError(
            f"no valid {scheme} sequence exists with labels {list(labels)!r}; include 'O' "
            f"(labels_for(types, {scheme!r}) does)"
        )
    path = [int(best.argmax())]
    for step in range(length - 1, 0, -1):
        path.append(int(backpointers[step, path[-1]]))
    return [labels[index] for index in reversed(path)]


def _check_lengths(true_sequences: Sequence, pred_sequences: Sequence) -> None:
    for name, sequences in (("true_sequences", true_sequences), ("pred_sequences", pred_sequences)):
        if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Sequence):
            raise JbertError(f"{name} is {sequences!r}; pass a list of sentences' tag lists")
        for index, tags in enumerate(sequences):
            if isinstance(tags, (str, bytes)) or not isinstance(tags, Sized):
                raise JbertError(
                    f"{name}[{index}] is {tags!r}; pass each sentence's tags as a list of strings"
                )
    if len(true_sequences) != len(pred_sequences):
        raise JbertError(
            f"true_sequences has {len(true_sequences)} sentences but pred_sequences has "
            f"{len(pred_sequences)}; pass one prediction per sentence"
        )
    for index, (true, pred) in enumerate(zip(true_sequences, pred_sequences, strict=True)):
        if len(true) != len(pred):
            raise JbertError(
                f"sentence {index} has {len(true)} true tags but {len(pred)} predicted tags; "
                "predict one tag per word (drop sub-word and padding positions first)"
            )


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _prf(correct: int, predicted: int, true: int) -> tuple[float, float, float]:
    precision, recall = _ratio(correct, predicted), _ratio(correct, true)
    total = precision + recall
    return precision, recall, (2 * precision * recall / total if total else 0.0)


def span_scores(
    true_sequences: Sequence[Sequence[str]],
    pred_sequences: Sequence[Sequence[str]],
    strict: bool = False,
    scheme: str | None = None,
) -> dict:
    """Entity-level precision / recall / F1 as seqeval computes them.

    Returns ``precision``, ``recall``, ``f1`` (micro over all entities), ``support`` (true
    entities), ``per_type`` ({type: precision, recall, f1, support}) and ``macro_f1`` (mean of
    the per-type F1). An entity counts when type, start and end match; a zero division gives 0.
    Strict with ``scheme=None`` detects the scheme from all true and predicted tags.
    """
    return scores_from_counts(*span_counts(true_sequences, pred_sequences, strict, scheme))


def span_counts(
    true_sequences: Sequence[Sequence[str]],
    pred_sequences: Sequence[Sequence[str]],
    strict: bool = False,
    scheme: str | None = None,
) -> tuple[Counter, Counter, Counter]:
    """`span_scores`' entity counts per type: (correct, predicted, true). Counts of separate
    batches of sentences add up (with one ``scheme`` for all), so a stream of sentences is
    scored by summing them and calling `scores_from_counts`."""
    _check_lengths(true_sequences, pred_sequences)
    scheme = None if scheme is None else check_scheme(scheme)
    if strict and scheme is None:
        scheme = detect_scheme([*true_sequences, *pred_sequences])
    sides = []
    for sequences in (true_sequences, pred_sequences):
        entities = set()
        for index, tags in enumerate(sequences):
            parsed = _parse(tags, scheme, sentence=index)
            found = _strict_spans(parsed, scheme) if strict else _loose_spans(parsed)
            entities.update((index, *span) for span in found)
        sides.append(entities)
    true_entities, pred_entities = sides
    correct = true_entities & pred_entities
    n_correct, n_pred, n_true = (
        Counter(entity[1] for entity in side) for side in (correct, pred_entities, true_entities)
    )
    return n_correct, n_pred, n_true


def scores_from_counts(n_correct: Counter, n_pred: Counter, n_true: Counter) -> dict:
    """`span_scores`' result from `span_counts`' (summed) counts."""
    per_type = {}
    for kind in sorted(n_pred.keys() | n_true.keys()):
        precision, recall, f1 = _prf(n_correct[kind], n_pred[kind], n_true[kind])
        per_type[kind] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": n_true[kind],
        }
    total_correct, total_pred, total_true = (
        sum(counts.values()) for counts in (n_correct, n_pred, n_true)
    )
    precision, recall, f1 = _prf(total_correct, total_pred, total_true)
    macro = [scores["f1"] for scores in per_type.values()]
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": total_true,
        "per_type": per_type,
        "macro_f1": float(np.mean(macro)) if macro else 0.0,
    }


def entities_in_text(
    text: str, word_spans: Sequence[tuple[int, int]], tags: Sequence[str], scheme: str
) -> list[dict]:
    """The entities of one sentence's word ``tags`` as ``{"text", "label", "start", "end"}``,
    ``start`` / ``end`` character offsets into ``text`` (``word_spans[i]`` is word i's span),
    so ``text[start:end]`` is the entity, spaces inside it included."""
    if not isinstance(text, str):
        raise JbertError(f"text is {type(text).__name__}, expected the sentence's str")
    tags = _tag_list(tags)
    word_spans = _tag_list(word_spans, "word_spans", "each word's (start, end) in the text")
    if len(word_spans) != len(tags):
        raise JbertError(
            f"{len(tags)} tags but {len(word_spans)} word spans; pass one tag per word "
            "(word_spans[i] is word i's (start, end) in the text)"
        )
    for index, span in enumerate(word_spans):
        if not (
            isinstance(span, (tuple, list))
            and len(span) == 2
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in span)
            and 0 <= span[0] <= span[1] <= len(text)
        ):
            raise JbertError(
                f"word_spans[{index}] is {span!r}; pass each word's (start, end) character "
                f"offsets into the text of {len(text)} characters"
            )
    found = []
    for label, first, last in spans(tags, scheme):
        start, end = word_spans[first][0], word_spans[last - 1][1]
        if start > end:
            raise JbertError(
                f"word spans {word_spans[first]} to {word_spans[last - 1]} give the entity "
                f"[{start}, {end}); pass the words' spans in text order"
            )
        found.append({"text": text[start:end], "label": label, "start": start, "end": end})
    return found
