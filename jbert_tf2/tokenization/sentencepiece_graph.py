"""SentencePiece unigram tokenization in core TensorFlow ops, with character offsets.

`SentencePieceGraph` runs what ``sentencepiece``'s ``encode`` does, inside a graph, without
tensorflow-text (whose ``SentencepieceOp`` stock TF Serving lacks), and gives each piece the
span of the text it came from exactly as the Python `SentencePieceTokenizer` does. It is built
from the model's serialized proto, every rule read from it with numpy at build time
(`sentencepiece_model.py`):

- **Normalizer** (SentencePiece's ``normalizer.cc``). The precompiled charsmap is a Darts
  double-array trie (source string -> offset of a NUL-terminated output in a blob); its rules
  are enumerated here and looked up in the graph in a hash table, longest match first, from
  left to right: the match lengths are found for every position at once, and the positions the
  left-to-right scan visits are the chain ``0 -> 0 + len -> ...``, found by pointer doubling.
  User-defined symbols pass through unnormalized (the encoder's prefix matcher). Then the
  whitespace rules: leading spaces skipped, a space dropped after a space, spaces escaped to
  ``▁``, the dummy ``▁`` prefix, trailing ``▁`` removed, each normalized character remembering
  the original position its rule started at.
- **Unigram Viterbi** (``unigram_model.cc``, the optimized encoder): candidates are the model's
  normal pieces (their scores) and user-defined symbols (``bytes * max_score - 0.1``) that spell
  the normalized text, and an unknown piece (``min_score - 10``) for a character no
  single-character piece covers; scores add up in float32 as in C++, and on a tie the piece that
  starts earliest wins. The search is `lattice`'s Viterbi engine, MeCab's too: a node per
  position, an edge per candidate piece weighing minus its score, a position's edges longest
  first (so the engine's first-edge tie rule keeps the earliest start).
- **Pieces**: runs of unknown characters merge into one ``<unk>`` piece; with byte fallback an
  unknown character becomes its UTF-8 bytes' ``<0xXX>`` pieces.
- **Offsets**: the Python twin's rules (`SentencePieceTokenizer._tokenize_spans`): a piece spans
  the original characters its normalized characters came from, without the dummy prefix and
  without whitespace the normalizer dropped after it; for texts with byte-fallback pieces (or
  a user-defined symbol the normalizer alone would have changed) the encoder's own spans.

Lower-casing (yoheikikuta's ``do_lower_case``) happens before SentencePiece; the caller passes
the lower-cased text and, for each of its characters, the original span it came from
(``original_starts`` / ``original_ends``), and gets spans in the original text.

Only unigram models with ``escape_whitespaces`` and whitespace as a prefix (every model
``spm_train`` writes by default) have this twin; others raise `JbertError` naming the model.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from jbert_tf2.backend import tensorflow
from jbert_tf2.tokenization.lattice import best_paths, cheapest_edges, lattice_costs
from jbert_tf2.tokenization.sentencepiece_model import build_tables, parse_model, python_spaces

tf = tensorflow()

_SPACE = 0x20
_BAR = 0x2581  # "▁", SentencePiece's escaped whitespace
_OWNED_SEARCH_LIMIT = 64  # as sentencepiece_tokenizer._OWNED_SEARCH_LIMIT


class SentencePieces(NamedTuple):
    """Ragged ``[batch, pieces]`` results of `SentencePieceGraph.pieces`.

    ``pieces``: the piece strings (``EncodeAsPieces``); ``ids``: the model's piece ids (merged
    unknown runs get the ``<unk>`` id); ``starts`` / ``ends``: int32 code point offsets into the
    original text, equal to the Python `SentencePieceTokenizer`'s.
    """

    pieces: object
    ids: object
    starts: object
    ends: object


def _ragged_constant(strings: list[str]):
    """Code points of ``strings`` as (flat values, row starts, row lengths) int32 constants."""
    strings = strings or [""]  # gathers need a row, even for a model without rules
    lengths = np.array([len(s) for s in strings], dtype=np.int32)
    starts = (np.cumsum(lengths) - lengths).astype(np.int32)
    flat = np.frombuffer(("".join(strings) + "\0").encode("utf-32-le"), "<u4").astype(np.int32)
    return tf.constant(flat), tf.constant(starts), tf.constant(lengths)


def _string_table(keys: list[str], default: int = -1):
    """A hash table string -> its index in ``keys`` (``default`` when absent)."""
    if not keys:
        keys = ["\0unused"]  # a table needs one key; no text lookup builds this string
        values = [default]
    else:
        values = list(range(len(keys)))
    init = tf.lookup.KeyValueTensorInitializer(
        tf.constant(keys, tf.string), tf.constant(values, tf.int32)
    )
    return tf.lookup.StaticHashTable(init, default_value=default)


def _utf8_lengths(codepoints):
    """UTF-8 byte length of each code point."""
    return (
        1
        + tf.cast(codepoints >= 0x80, tf.int32)
        + tf.cast(codepoints >= 0x800, tf.int32)
        + tf.cast(codepoints >= 0x10000, tf.int32)
    )


def _exclusive_cumsum_rows(values):
    """[B, n] -> [B, n + 1] running sums starting at 0."""
    return tf.pad(tf.cumsum(values, axis=1), [[0, 0], [1, 0]])


def _chain(pointer, start):
    """Positions ``start, p(start), p(p(start)), ...`` per row, for a pointer array ``p``
    ([B, M]) whose chains end at a fixed point; at least M of them ([B, >= M]), by doubling."""
    width = tf.shape(pointer)[1]

    def grow(positions, jump):
        more = tf.gather(jump, positions, batch_dims=1)
        return tf.concat([positions, more], axis=1), tf.gather(jump, jump, batch_dims=1)

    positions, _ = tf.while_loop(
        lambda positions, jump: tf.shape(positions)[1] < width,
        grow,
        (start[:, None], pointer),
        shape_invariants=(tf.TensorShape([None, None]), pointer.shape),
    )
    return positions


def _substrings(strings, byte_offsets, starts, ends):
    """``strings[b]`` from code point ``starts`` to ``ends`` ([B, ...] each), via UTF-8 offsets
    ([B, n + 1]); empty where ``ends <= starts``. (``substr`` broadcasts the [B, 1] strings
    over two dimensions without copying them.)"""
    shape = tf.shape(starts)
    starts = tf.reshape(starts, [shape[0], -1])
    ends = tf.reshape(tf.maximum(tf.reshape(ends, tf.shape(starts)), starts), tf.shape(starts))
    begin = tf.gather(byte_offsets, starts, batch_dims=1)
    end = tf.gather(byte_offsets, ends, batch_dims=1)
    return tf.reshape(tf.strings.substr(strings[:, None], begin, end - begin), shape)


_UNROLL = 16  # lattice positions per tf.while_loop step
_IDENTITY, _RULE, _USER_SYMBOL = 0, 1, 2  # what the normalizer's scan found at a position


class _Visits(NamedTuple):
    """The positions the normalizer's scan visits (ragged [B, visits]) and, flat: what it
    found there (``_IDENTITY``, ``_RULE``, ``_USER_SYMBOL``), the rule index, its length."""

    positions: object
    kind: object
    rule: object
    length: object


class _Raw(NamedTuple):
    """The visits' outputs before the whitespace rules, flat: each character's value, visit
    (flat index), row and original position (its visit's); and each visit's count."""

    values: object
    visit: object
    row: object
    source: object
    count: object


class _Pieces(NamedTuple):
    """The final pieces, flat: row, start and end in the normalized text, string, model id,
    whether it is a byte piece before its character's last one (no surface of its own); and
    per row whether it holds byte pieces."""

    row: object
    start: object
    end: object
    strings: object
    ids: object
    no_surface: object
    has_bytes: object


class _Normalized(NamedTuple):
    """One normalization of a padded batch: ``chars`` [B, N] code points (0 past ``lengths``),
    ``owners`` [B, N + 1] (the original position each came from, then the end), ``visit``
    [B, N] (which visit of its row made it; -1 for the dummy prefix), and per visit ``kinds``
    and ``rules`` [B, V]."""

    chars: object
    lengths: object
    owners: object
    visit: object
    kinds: object
    rules: object


class SentencePieceGraph(tf.Module):
    """A SentencePiece unigram model's ``encode`` in core TensorFlow ops, with offsets.

    Args:
        model_proto: the model's serialized bytes (``processor.serialized_model_proto()``,
            or the ``.model`` file's contents).
        source: what to call the model in error messages (its file name).

    Examples:
        >>> graph = SentencePieceGraph(open("wiki-ja.model", "rb").read())
        >>> graph.pieces(tf.constant(["本日は晴天なり"])).pieces
    """

    def __init__(self, model_proto: bytes, source: str = "SentencePiece model"):
        super().__init__(name="sentencepiece_graph")
        proto = parse_model(model_proto, source)
        built = build_tables(bytes(model_proto), source)
        spec = proto.normalizer_spec
        self._add_dummy_prefix = bool(spec.add_dummy_prefix)
        self._remove_extra_whitespaces = bool(spec.remove_extra_whitespaces)
        self._byte_fallback = bool(proto.trainer_spec.byte_fallback)
        self._rule_length = built["rule_length"]
        self._user_length = built["user_length"]
        self._piece_length = built["piece_length"]
        self._unk_id = built["unk_id"]
        self._unk_score = built["unk_score"]
        self._rule_table = _string_table(built["rule_sources"])
        self._user_table = _string_table(built["user_symbols"])
        self._piece_table = _string_table(built["pieces"])
        self._rule_out = _ragged_constant(built["rule_outputs"])
        self._rule_owned = tf.constant(np.append(built["rule_owned"], 0).astype(np.int32))
        self._rule_owned_after_space = tf.constant(
            np.append(built["rule_owned_after_space"], 0).astype(np.int32)
        )
        self._piece_scores = tf.constant(np.append(built["piece_scores"], 0.0), tf.float32)
        self._piece_ids = tf.constant(
            np.append(built["piece_ids"], built["unk_id"]).astype(np.int32)
        )
        self._byte_pieces = tf.constant([f"<0x{b:02X}>" for b in range(256)])
        self._byte_ids = tf.constant(built["byte_ids"])
        self._spaces = tf.constant(python_spaces(), tf.int32)

    # ----------------------------------------------------------------------------------------
    # public

    @tf.autograph.experimental.do_not_convert  # plain graph code: AutoGraph only slows tracing
    def pieces(self, texts, original_starts=None, original_ends=None) -> SentencePieces:
        """Pieces, ids and offsets of a batch of texts (tf.string [batch]).

        ``original_starts`` / ``original_ends`` (ragged [batch, chars] int32), when given, map
        each code point of ``texts`` (already lower-cased) to the original characters it came
        from, and the offsets are in the original text; else offsets are in ``texts``."""
        texts = tf.convert_to_tensor(texts, tf.string)
        chars, lengths, byte_offsets = _decode(texts)
        # the encoder's normalization (user-defined symbols pass through) and the one the
        # Python twin's offsets come from (its `_normalizer` has no user-defined symbols)
        encoded = self._normalize(texts, chars, lengths, byte_offsets, pass_user_symbols=True)
        plain = encoded
        if self._user_length:
            plain = self._normalize(texts, chars, lengths, byte_offsets, pass_user_symbols=False)
        found = self._final_pieces(encoded, *self._viterbi(encoded))
        first, last = self._spans(chars, lengths, encoded, plain, found)
        first, last = _in_original(found.row, first, last, lengths, original_starts, original_ends)
        batch = tf.shape(texts)[0]

        def ragged(values):
            return tf.RaggedTensor.from_value_rowids(values, found.row, nrows=batch)

        return SentencePieces(ragged(found.strings), ragged(found.ids), ragged(first), ragged(last))

    def _spans(self, chars, lengths, encoded: _Normalized, plain: _Normalized, found: _Pieces):
        """Each piece's (first, last) in ``chars``, ``first == last`` for a piece without
        original characters: the Python twin's rules where the pieces spell its normalizer's
        text, else the encoder's own spans (texts with byte pieces, or with a user-defined
        symbol the normalizer alone changes)."""
        row, start, end = found.row, found.start, found.end
        begin = tf.gather_nd(encoded.owners, tf.stack([row, start], axis=1))
        stop = tf.gather_nd(encoded.owners, tf.stack([row, end], axis=1))
        stop = tf.where(found.no_surface | (stop < begin), begin, stop)
        same = tf.equal(
            _encode_rows(encoded.chars, encoded.lengths), _encode_rows(plain.chars, plain.lengths)
        )
        twin = tf.gather(same & ~found.has_bytes, row)
        first, last = self._twin_spans(chars, lengths, plain, row, start, end)
        return tf.where(twin, first, begin), tf.where(twin, last, stop)

    # ----------------------------------------------------------------------------------------
    # normalization

    def _longest_match(self, table, max_length, texts, lengths, byte_offsets, width):
        """Per position: the longest source in ``table`` starting there ([B, n]: length, 0
        when none; the matched entry's index)."""
        position = tf.range(width)[None, :, None]
        length = tf.range(1, max_length + 1)[None, None, :]
        ends = position + length
        batch = tf.shape(lengths)[0]
        starts = tf.broadcast_to(position, [batch, width, max_length])
        valid = ends <= lengths[:, None, None]
        keys = _substrings(texts, byte_offsets, starts, tf.where(valid, ends, starts))
        index = tf.where(valid, table.lookup(keys), -1)
        matched = tf.where(index >= 0, length, 0)
        best = tf.reduce_max(matched, axis=2)
        entry = tf.gather(index, tf.maximum(best - 1, 0), batch_dims=2)
        return best, tf.where(best > 0, entry, -1)

    def _normalize(self, texts, chars, lengths, byte_offsets, pass_user_symbols):
        """SentencePiece's ``Normalizer::Normalize`` on a padded batch of code points."""
        visits = self._visits(texts, chars, lengths, byte_offsets, pass_user_symbols)
        raw = self._raw_output(chars, visits)
        keep, skipped = self._dropped_spaces(raw, visits)
        return self._assemble(raw, visits, keep, skipped, lengths)

    def _visits(self, texts, chars, lengths, byte_offsets, pass_user_symbols) -> _Visits:
        """The positions the left-to-right scan stops at (``NormalizePrefix``: the longest rule,
        or user-defined symbol, else one character), and what it finds there. The match lengths
        are known for every position at once; the visited ones are the chain 0 -> 0 + length."""
        batch, width = tf.shape(chars)[0], tf.shape(chars)[1]
        match = tf.zeros_like(chars)
        rule = tf.fill(tf.shape(chars), -1)
        if self._rule_length:
            match, rule = self._longest_match(
                self._rule_table, self._rule_length, texts, lengths, byte_offsets, width
            )
        kind = tf.where(match > 0, _RULE, _IDENTITY)
        step = tf.maximum(match, 1)
        if pass_user_symbols and self._user_length:
            user, _ = self._longest_match(
                self._user_table, self._user_length, texts, lengths, byte_offsets, width
            )
            kind = tf.where(user > 0, _USER_SYMBOL, kind)
            step = tf.where(user > 0, user, step)
        position = tf.range(width + 1)[None, :]
        row_end = lengths[:, None]
        step = tf.pad(step, [[0, 0], [0, 1]], constant_values=1)
        pointer = tf.where(position < row_end, tf.minimum(position + step, row_end), row_end)
        chain = _chain(pointer, tf.zeros([batch], tf.int32))
        visited = tf.ragged.boolean_mask(chain, chain < row_end)
        at = tf.stack([tf.cast(visited.value_rowids(), tf.int32), visited.flat_values], axis=1)
        return _Visits(
            positions=visited,
            kind=tf.gather_nd(tf.pad(kind, [[0, 0], [0, 1]]), at),
            rule=tf.gather_nd(tf.pad(rule, [[0, 0], [0, 1]]), at),
            length=tf.gather_nd(step, at),
        )

    def _raw_output(self, chars, visits: _Visits) -> _Raw:
        """What each visit outputs before the whitespace rules: the rule's output, the
        user-defined symbol itself, or the character; flat over the batch."""
        width = tf.shape(chars)[1]
        flat_out, out_starts, out_lengths = self._rule_out
        kind, rule = visits.kind, visits.rule
        count = tf.where(
            kind == _RULE,
            tf.gather(out_lengths, tf.maximum(rule, 0)),
            tf.where(kind == _USER_SYMBOL, visits.length, 1),
        )
        visit = tf.repeat(tf.range(tf.size(count)), count)
        k = tf.ragged.range(count).flat_values
        row = tf.gather(tf.cast(visits.positions.value_rowids(), tf.int32), visit)
        source = tf.gather(visits.positions.flat_values, visit)
        from_rule = tf.gather(
            flat_out,
            tf.minimum(
                tf.gather(out_starts, tf.maximum(tf.gather(rule, visit), 0)) + k,
                tf.size(flat_out) - 1,
            ),
        )
        from_text = tf.gather_nd(chars, tf.stack([row, tf.minimum(source + k, width - 1)], 1))
        values = tf.where(tf.gather(kind, visit) == _RULE, from_rule, from_text)
        return _Raw(values, visit, row, source, count)

    def _dropped_spaces(self, raw: _Raw, visits: _Visits):
        """``remove_extra_whitespaces``: which raw characters stay, and per row how many
        leading visits whose whole output is " " are skipped (before the dummy prefix). A space
        is dropped when its visit's output before it is all spaces and the raw character before
        it in the row is a space, or there is none (C++'s ``is_prev_space``)."""
        is_space = tf.equal(raw.values, _SPACE)
        visit_count = tf.cast(visits.positions.row_lengths(), tf.int32)
        if not self._remove_extra_whitespaces:
            return tf.ones_like(is_space), tf.zeros_like(visit_count)
        visit_first = tf.cumsum(raw.count, exclusive=True)  # each visit's first raw character
        nonspace_before = tf.cumsum(tf.cast(~is_space, tf.int32), exclusive=True)
        leading = tf.equal(
            nonspace_before, tf.gather(nonspace_before, tf.gather(visit_first, raw.visit))
        )
        index = tf.range(tf.size(raw.values))
        row_first = tf.math.unsorted_segment_min(index, raw.row, tf.size(visit_count))
        first_in_row = tf.equal(index, tf.gather(row_first, raw.row))
        previous_space = tf.concat([[False], is_space[:-1]], axis=0)
        keep = ~(is_space & leading & (first_in_row | previous_space))
        first_value = tf.gather(tf.concat([raw.values, [0]], 0), visit_first)
        single = tf.equal(raw.count, 1) & tf.equal(first_value, _SPACE)
        single = visits.positions.with_flat_values(single).to_tensor(False)
        skipped = tf.reduce_sum(tf.math.cumprod(tf.cast(single, tf.int32), axis=1), axis=1)
        return keep, skipped

    def _assemble(self, raw: _Raw, visits: _Visits, keep, skipped, lengths) -> _Normalized:
        """The normalized text: kept characters with spaces escaped, the dummy ``▁`` prefix
        (owned by the first visit not skipped), trailing ``▁`` removed (the text's end is then
        the first removed one's owner)."""
        batch = tf.size(lengths)
        positions = visits.positions
        visit_count = tf.cast(positions.row_lengths(), tf.int32)
        nonempty = skipped < visit_count
        kept = tf.RaggedTensor.from_value_rowids(
            tf.boolean_mask(tf.where(tf.equal(raw.values, _SPACE), _BAR, raw.values), keep),
            tf.boolean_mask(raw.row, keep),
            nrows=batch,
        )
        owner = kept.with_flat_values(tf.boolean_mask(raw.source, keep))
        visit_in_row = raw.visit - tf.gather(tf.cast(positions.row_starts(), tf.int32), raw.row)
        visit = kept.with_flat_values(tf.boolean_mask(visit_in_row, keep))
        if self._add_dummy_prefix:
            consumed = tf.gather(
                positions.to_tensor(
                    0, shape=[batch, tf.reduce_max(tf.concat([visit_count, [0]], 0)) + 1]
                ),
                skipped,
                batch_dims=1,
            )
            dummy = tf.RaggedTensor.from_row_lengths(
                tf.boolean_mask(consumed, nonempty), tf.cast(nonempty, tf.int32)
            )
            kept = tf.concat([dummy.with_flat_values(tf.fill(tf.shape(dummy.flat_values), _BAR)),
                              kept], axis=1)  # fmt: skip
            owner = tf.concat([dummy, owner], axis=1)
            visit = tf.concat([dummy.with_flat_values(-tf.ones_like(dummy.flat_values)),
                               visit], axis=1)  # fmt: skip
        full = tf.cast(kept.row_lengths(), tf.int32)
        chars = kept.to_tensor(default_value=_BAR)
        owners = owner.to_tensor(default_value=0)
        size = full
        if self._remove_extra_whitespaces:
            index = tf.range(tf.shape(chars)[1])[None, :]
            size = tf.reduce_max(tf.where(tf.not_equal(chars, _BAR), index + 1, 0), axis=1)
        size = tf.where(nonempty, size, 0)
        removed = tf.gather(tf.pad(owners, [[0, 0], [0, 1]]), size, batch_dims=1)
        end = tf.where(nonempty, tf.where(size < full, removed, lengths), 0)
        mask = tf.sequence_mask(size, tf.shape(chars)[1])
        owners = tf.pad(tf.where(mask, owners, 0), [[0, 0], [0, 1]])
        owners = tf.tensor_scatter_nd_update(owners, tf.stack([tf.range(batch), size], 1), end)
        return _Normalized(
            chars=tf.where(mask, chars, 0),
            lengths=size,
            owners=owners,
            visit=tf.where(mask, visit.to_tensor(default_value=-1), -1),
            kinds=positions.with_flat_values(visits.kind).to_tensor(_IDENTITY),
            rules=positions.with_flat_values(visits.rule).to_tensor(-1),
        )

    # ----------------------------------------------------------------------------------------
    # the unigram lattice

    def _viterbi(self, normalized: _Normalized):
        """The best segmentation of the normalized text (``Model::EncodeOptimized``): ragged
        piece starts and lengths (in normalized code points), piece table index (-1: unknown).

        The lattice of `lattice.lattice_costs`: a node per row and position (position-major;
        position 0 holds the roots), an edge per candidate piece from its start to its end,
        weighing minus its score (float32: negating is exact, so the sums are C++'s negated)."""
        lengths, chars = normalized.lengths, normalized.chars
        batch, width = tf.shape(chars)[0], tf.shape(chars)[1]
        longest = self._piece_length
        mask = tf.sequence_mask(lengths, width)
        strings = tf.strings.unicode_encode(tf.RaggedTensor.from_tensor(chars, lengths), "UTF-8")
        byte_offsets = _exclusive_cumsum_rows(tf.where(mask, _utf8_lengths(chars), 0))
        end = tf.range(1, width + 1)[None, :, None]
        size = tf.range(1, longest + 1)[None, None, :]
        start = end - size
        valid = (start >= 0) & (end <= lengths[:, None, None])
        start = tf.broadcast_to(tf.where(valid, start, 0), [batch, width, longest])
        keys = _substrings(strings, byte_offsets, start, tf.where(valid, end, 0))
        index = tf.where(valid, self._piece_table.lookup(keys), -1)
        unknown = valid & tf.equal(size, 1) & (index < 0)
        known = index >= 0
        # float32 sums, as C++ adds float scores (user-defined symbols' double scores too:
        # they differ from C++ only on a tie within float rounding)
        score = tf.where(
            known,
            tf.gather(self._piece_scores, tf.maximum(index, 0)),
            tf.where(unknown, self._unk_score, -np.inf),
        )
        # Edges by end position, then row, then the longest piece first: on equal scores the
        # piece that starts earliest wins, as in C++, and the engine keeps the first edge.
        usable = tf.reverse(tf.transpose(known | unknown, [1, 0, 2]), axis=[2])
        at = tf.cast(tf.where(usable), tf.int32)  # (end - 1, row, longest - size)
        row, end, size = at[:, 1], at[:, 0] + 1, longest - at[:, 2]
        start = end - size
        candidate = tf.stack([row, end - 1, size - 1], axis=1)
        weight = -tf.gather_nd(score, candidate)
        source, target = start * batch + row, end * batch + row
        count = (width + 1) * batch
        costs = lattice_costs(
            width, batch, tf.range(count) // batch - 1, source, target, weight, _UNROLL, padded=True
        )
        winner = cheapest_edges(costs, source, target, weight, count)
        edges = tf.size(source)
        parent = tf.where(
            winner < edges, tf.gather(tf.concat([source, [0]], 0), winner), tf.range(count)
        )
        finals = lengths * batch + tf.range(batch)
        node = tf.cast(tf.where(best_paths(parent, finals, count))[:, 0], tf.int32)
        node = tf.boolean_mask(node, node >= batch)  # not the roots
        node = tf.gather(node, tf.argsort((node % batch) * (width + 1) + node // batch))
        edge = tf.gather(winner, node)
        rows = tf.gather(row, edge)

        def ragged(values):
            return tf.RaggedTensor.from_value_rowids(tf.gather(values, edge), rows, nrows=batch)

        return ragged(start), ragged(size), ragged(tf.gather_nd(index, candidate))

    # ----------------------------------------------------------------------------------------
    # pieces and offsets

    def _final_pieces(self, encoded: _Normalized, starts, sizes, index) -> _Pieces:
        """The lattice's pieces with runs of unknown characters merged, or with byte
        fallback each unknown character's ``<0xXX>`` pieces (``PopulateSentencePieceText``)."""
        batch = tf.shape(encoded.chars)[0]
        row = tf.cast(starts.value_rowids(), tf.int32)
        start, size, index = starts.flat_values, sizes.flat_values, index.flat_values
        unknown = index < 0
        ids = tf.where(unknown, self._unk_id, tf.gather(self._piece_ids, tf.maximum(index, 0)))
        chars, lengths = encoded.chars, encoded.lengths
        mask = tf.sequence_mask(lengths, tf.shape(chars)[1])
        strings = tf.strings.unicode_encode(tf.RaggedTensor.from_tensor(chars, lengths), "UTF-8")
        byte_offsets = _exclusive_cumsum_rows(tf.where(mask, _utf8_lengths(chars), 0))
        first_in_row = tf.equal(
            tf.range(tf.size(start)), tf.gather(tf.cast(starts.row_starts(), tf.int32), row)
        )
        if not self._byte_fallback:
            previous = tf.concat([[False], unknown[:-1]], axis=0) & ~first_in_row
            group = tf.cumsum(tf.cast(~(unknown & previous), tf.int32)) - 1
            first = tf.math.segment_min(tf.range(tf.size(start)), group)
            row = tf.gather(row, first)
            end = tf.math.segment_max(start + size, group)
            start = tf.gather(start, first)
            ids = tf.gather(ids, first)
            begin = tf.gather_nd(byte_offsets, tf.stack([row, start], axis=1))
            stop = tf.gather_nd(byte_offsets, tf.stack([row, end], axis=1))
            texts = tf.strings.substr(tf.gather(strings, row), begin, stop - begin)
            no_surface = tf.zeros_like(first_in_row[: tf.size(start)])
            has_bytes = tf.zeros([batch], tf.bool)
            return _Pieces(row, start, end, texts, ids, no_surface, has_bytes)
        char = tf.gather_nd(chars, tf.stack([row, start], axis=1))
        count = tf.where(unknown, _utf8_lengths(char), 1)
        piece = tf.repeat(tf.range(tf.size(start)), count)
        j = tf.ragged.range(count).flat_values
        count, char, is_byte = (tf.gather(x, piece) for x in (count, char, unknown))
        lead = tf.gather(tf.constant([0, 0, 0xC0, 0xE0, 0xF0]), count)
        byte = tf.where(
            tf.equal(j, 0),
            lead | tf.bitwise.right_shift(char, 6 * (count - 1)),
            0x80 | (tf.bitwise.right_shift(char, tf.maximum(6 * (count - 1 - j), 0)) & 0x3F),
        )
        byte = tf.where(tf.equal(count, 1), char, byte) & 0xFF
        row, start, size, ids = (tf.gather(x, piece) for x in (row, start, size, ids))
        end = start + size
        begin = tf.gather_nd(byte_offsets, tf.stack([row, start], axis=1))
        stop = tf.gather_nd(byte_offsets, tf.stack([row, end], axis=1))
        texts = tf.where(
            is_byte,
            tf.gather(self._byte_pieces, byte),
            tf.strings.substr(tf.gather(strings, row), begin, stop - begin),
        )
        ids = tf.where(is_byte, tf.gather(self._byte_ids, byte), ids)
        no_surface = is_byte & (j < count - 1)
        has_bytes = tf.math.unsorted_segment_max(tf.cast(is_byte, tf.int32), row, batch) > 0
        return _Pieces(row, start, end, texts, ids, no_surface, has_bytes)

    def _is_space(self, chars):
        """Python's ``str.isspace`` per code point."""
        return tf.reduce_any(tf.equal(chars[..., None], self._spaces), axis=-1)

    def _twin_spans(self, chars, lengths, plain: _Normalized, row, a, b):
        """`SentencePieceTokenizer._tokenize_spans` for pieces ``[a, b)`` of the normalized
        text: (first, last) in ``chars``; ``first == last`` for a piece with no original
        characters (the dummy prefix alone)."""
        owners, norm, norm_len = plain.owners, plain.chars, plain.lengths
        width = tf.shape(norm)[1]
        text_width = tf.shape(chars)[1]
        is_space = self._is_space(chars) & tf.sequence_mask(lengths, text_width)
        a = tf.minimum(a, width)
        b = tf.clip_by_value(b, 1, tf.maximum(width, 1))

        def owner(k):
            return tf.gather_nd(owners, tf.stack([row, tf.minimum(k, width)], axis=1))

        def norm_at(k):
            return tf.gather_nd(
                tf.pad(norm, [[0, 0], [0, 1]]), tf.stack([row, tf.minimum(k, width)], axis=1)
            )

        # the dummy prefix at 0 draws on no original character (unless it stands for a space)
        first_owner = owners[:, 0]
        row_skips = (
            tf.equal(tf.pad(norm, [[0, 0], [0, 1]])[:, 0], _BAR)
            & (norm_len > 0)
            & ~(
                (first_owner < lengths)
                & tf.gather(
                    tf.pad(is_space, [[0, 0], [0, 1]]),
                    tf.minimum(first_owner, text_width),
                    batch_dims=1,
                )
            )
        )
        skip_first = tf.equal(a, 0) & tf.gather(row_skips, row)
        empty = skip_first & tf.equal(b, 1)
        first = owner(a + tf.cast(skip_first, tf.int32))
        point = tf.minimum(owner(a), tf.gather(lengths, row))
        last = self._owned_end(chars, lengths, plain, is_space, row, b)
        # whitespace the normalizer dropped after the piece is not part of it
        trimmed = _trim_spaces(is_space, lengths, row, first, last)
        last = tf.where(tf.not_equal(norm_at(b - 1), _BAR), trimmed, last)
        return tf.where(empty, point, first), tf.where(empty, point, last)

    def _owned_end(self, chars, lengths, plain: _Normalized, is_space, row, b):
        """Where the original characters behind normalized ``b - 1`` end: the next one's
        owner, or earlier (`SentencePieceTokenizer._owned_end`: the shortest stretch that the
        normalizer alone turns into what its owner produced, precomputed per rule)."""
        owners, norm = plain.owners, plain.chars
        width, text_width = tf.shape(norm)[1], tf.shape(chars)[1]

        def at(table, k, size):
            return tf.gather_nd(table, tf.stack([row, tf.clip_by_value(k, 0, size - 1)], 1))

        o, f = at(owners, b - 1, width + 1), at(owners, b, width + 1)
        o_is_space = at(is_space, o, text_width) & (o < tf.gather(lengths, row))
        group_start = at(self._group_starts(owners, plain.lengths), b - 1, width)
        removed = ~o_is_space & tf.equal(at(norm, group_start, width), _BAR)  # removeprefix("▁")
        produced = group_start + tf.cast(removed, tf.int32)
        # a space of the rule's own output removed, not the dummy prefix
        removed_own = removed & (at(plain.visit, group_start, width) >= 0)
        bars = _exclusive_cumsum_rows(tf.cast(tf.equal(norm, _BAR), tf.int32))
        bars_in = at(bars, b, width + 1) - at(bars, tf.minimum(produced, b), width + 1)
        visit = at(plain.visit, b - 1, width)
        at_visit = tf.stack([row, tf.maximum(visit, 0)], 1)
        kind = tf.gather_nd(tf.pad(plain.kinds, [[0, 0], [0, 1]]), at_visit)
        rule = tf.maximum(tf.gather_nd(tf.pad(plain.rules, [[0, 0], [0, 1]]), at_visit), 0)
        # a character no rule changes: its own output unless it is a literal "▁"
        dummy, strip = self._add_dummy_prefix, self._remove_extra_whitespaces
        identity_owned = tf.not_equal(at(chars, o, text_width), _BAR) | (strip or not dummy)
        owned = tf.where(
            tf.equal(kind, _RULE),
            tf.where(
                removed_own,
                tf.gather(self._rule_owned_after_space, rule),
                tf.gather(self._rule_owned, rule),
            ),
            tf.cast(identity_owned, tf.int32),
        )
        found = (bars_in == 0) & (f - o <= _OWNED_SEARCH_LIMIT) & (owned > 0) & (visit >= 0)
        return tf.where(f > o + 1, tf.where(found, o + owned, f), o + 1)

    @staticmethod
    def _group_starts(owners, norm_len):
        """[B, N]: the first normalized position with the same owner as each position's."""
        width = tf.shape(owners)[1] - 1
        index = tf.range(width)[None, :]
        inside = index < norm_len[:, None]
        new = inside & tf.not_equal(owners[:, :-1], tf.pad(owners, [[0, 0], [1, 0]])[:, :-2])
        new |= tf.equal(index, 0)
        starts = tf.ragged.boolean_mask(tf.broadcast_to(index, tf.shape(new)), new)
        number = tf.cumsum(tf.cast(new, tf.int32), axis=1) - 1
        return tf.gather(
            starts.to_tensor(0, shape=tf.shape(new)), tf.maximum(number, 0), batch_dims=1
        )


def _trim_spaces(is_space, lengths, row, first, last):
    """``last`` moved back over whitespace, not before ``first + 1`` (the twin's loop)."""
    width = tf.shape(is_space)[1]
    count = _exclusive_cumsum_rows(tf.cast(~is_space, tf.int32))  # non-space before each
    index = tf.broadcast_to(tf.range(width)[None, :] + 1, tf.shape(is_space))
    nonspace_end = tf.ragged.boolean_mask(index, ~is_space & tf.sequence_mask(lengths, width))
    nonspace_end = tf.pad(nonspace_end.to_tensor(0, shape=tf.shape(is_space)), [[0, 0], [1, 1]])
    before = tf.gather_nd(count, tf.stack([row, tf.minimum(last, width)], 1))
    return tf.maximum(first + 1, tf.gather_nd(nonspace_end, tf.stack([row, before], 1)))


def _decode(texts):
    """Code points of a batch of texts, padded ([B, n]), their lengths, and each code
    point's UTF-8 offset followed by the text's byte length ([B, n + 1])."""
    codepoints, byte_starts = tf.strings.unicode_decode_with_offsets(
        texts, "UTF-8", errors="replace"
    )
    chars = codepoints.to_tensor()
    width = tf.shape(chars)[1]
    offsets = byte_starts.to_tensor(default_value=-1, shape=[tf.shape(chars)[0], width + 1])
    total = tf.strings.length(texts)[:, None]
    offsets = tf.where(offsets < 0, tf.cast(total, offsets.dtype), offsets)
    return chars, tf.cast(codepoints.row_lengths(), tf.int32), tf.cast(offsets, tf.int32)


def _encode_rows(chars, lengths):
    """UTF-8 strings of a padded batch of code points."""
    return tf.strings.unicode_encode(tf.RaggedTensor.from_tensor(chars, lengths), "UTF-8")


def _in_original(row, first, last, lengths, original_starts, original_ends):
    """Spans in the (lower-cased) text -> spans in the original text, as `Aligned.span`:
    ``(starts[first], ends[last - 1])``; an empty span at ``p``: ``starts[p]``, or the
    original's end past the last character."""
    if original_starts is None:
        return first, last
    empty = tf.equal(first, last)
    starts = original_starts.to_tensor(default_value=0)
    ends = original_ends.to_tensor(default_value=0)
    width = tf.shape(starts)[1]
    size = tf.gather(lengths, row)

    def at(table, k):
        return tf.gather_nd(table, tf.stack([row, tf.clip_by_value(k, 0, width - 1)], axis=1))

    text_end = tf.where(size > 0, at(ends, size - 1), 0)
    point = tf.where(first < size, at(starts, first), text_end)
    return (
        tf.where(empty, point, at(starts, first)),
        tf.where(empty, point, at(ends, last - 1)),
    )
