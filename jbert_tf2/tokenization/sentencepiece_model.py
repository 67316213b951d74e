"""What `SentencePieceGraph` needs from a SentencePiece model, read with numpy at build time.

The model's proto (``sentencepiece_model_pb2``) gives the pieces, their scores and types, the
trainer's options and the normalizer's spec; the normalizer's rules are enumerated from its
precompiled charsmap (a Darts double-array trie, ``normalizer.cc``). Facts from SentencePiece's
sources (``normalizer.cc``, ``unigram_model.cc``, ``model_interface.cc``) are named where used.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from jbert_tf2.errors import JbertError

_UNK_PENALTY = np.float32(10.0)  # unigram_model.cc: kUnkPenalty
_FLT_MIN = np.finfo(np.float32).tiny  # unigram_model.cc starts max_score_ at FLT_MIN
_TYPES = {"NORMAL": 1, "UNKNOWN": 2, "CONTROL": 3, "USER_DEFINED": 4, "UNUSED": 5, "BYTE": 6}


class _Rules(NamedTuple):
    """The normalizer's rules, read from the charsmap trie: source -> output (code points)."""

    sources: list[str]
    outputs: list[str]


def _darts_rules(blob: bytes) -> _Rules:
    """Every (source, output) pair of a precompiled charsmap: ``<uint32 trie size><Darts
    double-array units><NUL-terminated outputs>`` (``Normalizer::DecodePrecompiledCharsMap``).
    A unit holds ``offset`` (bits 10-31, shifted by 8 when bit 9 is set), ``has_leaf`` (bit 8)
    and ``label`` (bits 0-7; bit 31 marks value units); a child with byte ``c`` sits at
    ``pos ^ offset ^ c``, a key's value in the unit at ``pos ^ offset``. Units are shared
    between keys (the trie is built from a DAWG), so the keys are walked level by level along
    each unit's children, found once for all units."""
    if not blob:
        return _Rules([], [])
    size = int(np.frombuffer(blob[:4], "<u4")[0])
    units = np.frombuffer(blob[4 : 4 + size], "<u4").astype(np.int64)
    texts = blob[4 + size :]
    count = len(units)
    offset = (units >> 10) << ((units & (1 << 9)) >> 6)
    label = units & ((1 << 31) | 0xFF)
    has_leaf = ((units >> 8) & 1).astype(bool)
    value = units & ((1 << 31) - 1)
    base = np.arange(count, dtype=np.int64) ^ offset
    # the edges parent -> child: label[child] == child ^ base[parent], a join on base
    child = np.nonzero((label >= 1) & (label <= 0xFF))[0]
    target = child ^ label[child]
    order = np.argsort(base, kind="stable")
    low = np.searchsorted(base[order], target, side="left")
    high = np.searchsorted(base[order], target, side="right")
    child = np.repeat(child, high - low)
    parent = order[np.repeat(low, high - low) + np.arange(len(child)) - np.repeat(
        np.cumsum(high - low) - (high - low), high - low
    )]  # fmt: skip
    by_parent = np.argsort(parent, kind="stable")
    parent_of, child_of = parent[by_parent], child[by_parent]
    label_of = label[child_of] - 1
    first_child = np.searchsorted(parent_of, np.arange(count + 1))
    positions = np.zeros(1, dtype=np.int64)
    keys = np.zeros((1, 0), dtype=np.uint8)
    sources: list[str] = []
    outputs: list[str] = []
    decoded: dict[int, str] = {}
    while len(positions):
        fanout = first_child[positions + 1] - first_child[positions]
        path = np.repeat(np.arange(len(positions)), fanout)
        edge = np.arange(len(path)) - np.repeat(np.cumsum(fanout) - fanout, fanout)
        edge = edge + first_child[positions][path]
        positions = child_of[edge]
        keys = np.concatenate([keys[path], (label_of[edge] + 1).astype(np.uint8)[:, None]], axis=1)
        leaves = np.nonzero(has_leaf[positions])[0]
        if len(leaves):
            raw = np.ascontiguousarray(keys[leaves]).view(f"S{keys.shape[1]}")[:, 0]
            sources.extend(np.char.decode(raw, "utf-8").tolist())
            starts, where = np.unique(value[base[positions[leaves]]], return_inverse=True)
            for start in starts.tolist():
                if start not in decoded:
                    decoded[start] = texts[start : texts.index(b"\0", start)].decode("utf-8")
            outputs.extend(decoded[start] for start in starts[where].tolist())
    return _Rules(sources, outputs)


def parse_model(model_proto: bytes, source: str):
    """The ``ModelProto``, or a `JbertError` naming ``source`` when it has no core-ops twin."""
    from google.protobuf.message import DecodeError
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    try:
        proto.ParseFromString(bytes(model_proto))
    except DecodeError:
        raise JbertError(f"{source}: not a SentencePiece model; pass the *.model file") from None
    if not proto.pieces:
        raise JbertError(f"{source}: not a SentencePiece model (no pieces); pass the *.model file")
    spec = proto.trainer_spec
    kind = sentencepiece_model_pb2.TrainerSpec.ModelType.Name(spec.model_type)
    if kind != "UNIGRAM":
        raise JbertError(
            f"{source}: a {kind} SentencePiece model; only unigram models have a core-ops "
            "in-graph twin; export with --ops text (tensorflow-text) instead"
        )
    if spec.treat_whitespace_as_suffix or not proto.normalizer_spec.escape_whitespaces:
        raise JbertError(
            f"{source}: a SentencePiece model trained with treat_whitespace_as_suffix or "
            "without escape_whitespaces has no core-ops in-graph twin; export with --ops text "
            "(tensorflow-text) instead"
        )
    return proto


@functools.cache
def python_spaces() -> tuple[int, ...]:
    """The code points of Python's ``str.isspace`` (the Python twin trims spans with it)."""
    return tuple(c for c in range(0x110000) if chr(c).isspace())


def _standalone_owned_lengths(proto, rules: _Rules) -> tuple[np.ndarray, np.ndarray]:
    """Per rule: the shortest prefix of its source that the normalizer alone turns into the
    rule's output (0: none), as `SentencePieceTokenizer._owned_end` searches for it (with the
    model's own normalizer, which has no user-defined symbols); and the same for the output
    less its first character, for outputs that start with a space the tokenizer's
    ``removeprefix("▁")`` takes off."""
    import sentencepiece

    normalizer = sentencepiece.SentencePieceNormalizer(model_proto=proto.SerializeToString())
    strip = proto.normalizer_spec.remove_extra_whitespaces
    cache: dict[str, str] = {}

    def alone(text: str) -> str:
        if text not in cache:
            cache[text] = normalizer.Normalize(text).removeprefix("\u2581")
        return cache[text]

    def shortest(src: str, wanted: str, whole: bool) -> int:
        for length in range(1, len(src)):
            if alone(src[:length]) == wanted:
                return length
        # the whole source is this rule alone: its output after the dummy prefix
        return len(src) if whole or alone(src) == wanted else 0

    owned = np.zeros(len(rules.sources), dtype=np.int32)
    owned_after_space = np.zeros(len(rules.sources), dtype=np.int32)
    for index, (src, out) in enumerate(zip(rules.sources, rules.outputs, strict=True)):
        plain = not (" " in out or "\u2581" in out or not out)
        wanted = (out.lstrip(" ") if strip else out).replace(" ", "\u2581")
        owned[index] = shortest(src, wanted, plain)
        if out.startswith(" "):
            owned_after_space[index] = shortest(src, out[1:].replace(" ", "\u2581"), False)
    return owned, owned_after_space


@functools.lru_cache(maxsize=8)
def _normalizer_tables(spec: bytes, source: str):
    """The normalizer's rules and their owned lengths (see `_standalone_owned_lengths`), once
    per normalizer (models trained with the same rules share them)."""
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.normalizer_spec.ParseFromString(spec)
    try:
        rules = _darts_rules(proto.normalizer_spec.precompiled_charsmap)
    except (UnicodeDecodeError, ValueError, IndexError):
        raise JbertError(
            f"{source}: the SentencePiece model's normalization rules (precompiled_charsmap) "
            "cannot be read; pass the *.model file trained with the checkpoint"
        ) from None
    return (rules, *_standalone_owned_lengths(proto, rules))


@functools.lru_cache(maxsize=8)
def build_tables(model_proto: bytes, source: str) -> dict:
    """Everything `SentencePieceGraph` needs from a model, as numpy arrays and lists."""
    proto = parse_model(model_proto, source)
    rules, owned, owned_after_space = _normalizer_tables(
        proto.normalizer_spec.SerializeToString(), source
    )
    types = np.array([p.type for p in proto.pieces])
    scores = np.array([p.score for p in proto.pieces], dtype=np.float32)
    normal = types == _TYPES["NORMAL"]
    user = types == _TYPES["USER_DEFINED"]
    unknown = np.nonzero(types == _TYPES["UNKNOWN"])[0]
    if len(unknown) != 1:
        raise JbertError(f"{source}: a SentencePiece model needs exactly one <unk> piece")
    min_score = scores[normal].min() if normal.any() else np.finfo(np.float32).max
    max_score = max(_FLT_MIN, scores[normal].max()) if normal.any() else _FLT_MIN
    candidates = np.nonzero(normal | user)[0]
    pieces = [proto.pieces[i].piece for i in candidates]
    piece_scores = np.where(
        user[candidates],
        # unigram_model.cc: length (bytes) * max_score_ in float, minus 0.1 in double
        np.array([np.float32(len(p.encode())) * np.float32(max_score) for p in pieces],
                 dtype=np.float64) - 0.1,
        scores[candidates].astype(np.float64),
    )  # fmt: skip
    byte_ids = np.zeros(256, dtype=np.int32)
    if proto.trainer_spec.byte_fallback:
        by_piece = {p.piece: i for i, p in enumerate(proto.pieces) if p.type == _TYPES["BYTE"]}
        byte_ids = np.array(
            [by_piece.get(f"<0x{b:02X}>", int(unknown[0])) for b in range(256)], dtype=np.int32
        )
    symbols = [proto.pieces[i].piece for i in np.nonzero(user)[0]]
    return {
        "rule_sources": rules.sources,
        "rule_outputs": rules.outputs,
        "rule_length": max((len(s) for s in rules.sources), default=0),
        "rule_owned": owned,
        "rule_owned_after_space": owned_after_space,
        "user_symbols": symbols,
        "user_length": max((len(s) for s in symbols), default=0),
        "pieces": pieces,
        "piece_scores": piece_scores,
        "piece_user": user[candidates],
        "piece_ids": candidates.astype(np.int32),
        "piece_length": max(1, max((len(p) for p in pieces), default=1)),
        "unk_id": int(unknown[0]),
        "unk_score": np.float32(min_score) - _UNK_PENALTY,
        "byte_ids": byte_ids,
    }
