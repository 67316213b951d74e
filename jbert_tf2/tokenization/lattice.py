"""Lattices and Viterbi searches in core TensorFlow ops: MeCab's word segmentation in the graph.

Two pieces, both built from ops TensorFlow registers itself (gathers, segment reductions,
``tf.lookup.StaticHashTable``, ragged tensors and one ``tf.while_loop`` over positions), so a
SavedModel holding them loads without tensorflow-text:

- the Viterbi engine MeCab and SentencePiece's unigram model share (the unigram lattice is
  MeCab's without connection costs): `lattice_costs` (each node's cheapest cost, level by
  level), `cheapest_edges` (each node's winning edge; on equal sums the smallest edge index,
  so a caller orders its edges by its library's tie rule) and `best_paths` (the paths back).
- `MecabGraph`: MeCab's own lattice and Viterbi on a dictionary read by `mecab_dictionary`, giving
  the word spans fugashi gives. It follows MeCab 0.996 (``tokenizer.cpp``, ``viterbi.cpp``):

  * before each word, characters are skipped while each shares a category bit with the one
    before (starting from U+0020's categories): MeCab's ``seekToOtherType`` with ``space_``;
  * at the first kept character, every dictionary surface that starts there (the trie's common
    prefix search, here a hash of each substring up to the longest surface, checked character
    by character), each surface's tokens (lcAttr, rcAttr, wcost);
  * unknown words when nothing matched or the character's category has ``invoke``: the grouped
    run (characters chained by shared category bits, when at most ``max-grouping-size`` + 1
    long), then lengths 1..``length`` of characters sharing a bit with the first, stopping before
    the group's length; one character when nothing else was made; each with every unk.dic
    token of the first character's default category;
  * costs: ``node = best(left) + matrix[left.rcAttr + lsize * node.lcAttr] + node.wcost`` in
    int64; among equal totals MeCab keeps the left node it met first: the one whose lookup
    started latest, then the one created first at that lookup;
  * EOS joins the nodes ending at the last position any node reaches (trailing whitespace
    makes no node).

  Dictionary tokens of one surface with the same (lcAttr, rcAttr) are merged into the cheapest
  (the first of equal ones): a dearer twin can never be on the best path and spans are equal.
  Texts are cut as `jbert_tf2.tokenization.mecab.mecab_pieces` cuts them (at NULs, and pieces
  of at most 20,000 characters) before the search, like `MecabWordSplitter`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from jbert_tf2.backend import tensorflow
from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.core_unicode import lower_bound
from jbert_tf2.tokenization.mecab import MECAB_CUT_AFTER, MECAB_MAX_CHARS
from jbert_tf2.tokenization.mecab_dictionary import MecabDictionary

tf = tensorflow()

_BIG = 1 << 50  # the cost of a node no path reaches
# Substring hashes: two polynomial hashes modulo primes below 2**31, so every product fits int64.
_MODULI = (2147483647, 2147483629)
_BASES = (1114111 + 98, 1114111 + 1234)


# ----------------------------------------------------------------------------------------------
# The Viterbi engine (MeCab's lattice and SentencePiece's unigram lattice both run on it)
# ----------------------------------------------------------------------------------------------


def unreached_cost(dtype) -> tf.Tensor:
    """The cost `lattice_costs` gives a node no path reaches (half of it and more: unreached)."""
    return tf.constant(dtype.max if dtype.is_floating else _BIG, dtype)


def lattice_costs(
    num_levels,
    num_roots,
    node_level,
    edge_source,
    edge_target,
    edge_weight,
    levels_per_step: int = 2,
    padded: bool = False,
):
    """The cost of each node's cheapest path from a root, in one ``tf.while_loop`` over levels.

    The lattice's first ``num_roots`` nodes are roots (cost 0); the others come sorted by
    ``node_level`` (int32 [nodes], ``0 <= level < num_levels``; the roots' entries are not
    read). An edge ``source -> target`` (int32 [edges] each, sorted by the target's level)
    weighs ``edge_weight`` (int64 or float [edges]; sums in that dtype, as a sequential
    Viterbi adds them) and leaves a root or a node of an earlier level. Level by level:
    ``cost(node) = min over its edges of cost(source) + weight``, ``levels_per_step`` levels
    per loop step (the loop's own ops cost as much as a level's).

    How a level reads its edges: a slice of the edge list (``padded=False``: for levels of
    very different in-degrees, MeCab's), or a row of a [levels, most edges of a level] table
    padded with edges from an unreached node, sliced once per loop step (``padded=True``: for
    levels of about equal in-degree, SentencePiece's; fewer ops per level).

    Returns [nodes] costs, `unreached_cost` (or more) for nodes no path reaches.
    """
    count = tf.size(node_level)
    far = unreached_cost(edge_weight.dtype)
    unroll = levels_per_step
    levels = num_levels + unroll  # the last loop step may run past the end
    edge_level = tf.gather(node_level, edge_target)
    steps = tf.range(levels + 1)
    edge_splits = lower_bound(edge_level, steps)
    node_splits = lower_bound(node_level[num_roots:], steps) + num_roots
    slot = edge_target - tf.gather(node_splits, edge_level)
    # Each level writes a block of the widest level's size: the slots past its own nodes
    # belong to later levels (or padding), which write them before anything reads them.
    block = tf.maximum(tf.reduce_max(node_splits[1:] - node_splits[:-1]), 1)
    targets = (node_splits[:-1, None] + tf.range(block)[None, :])[:, :, None]
    if padded:
        levels_edges = _padded_levels(
            edge_source, edge_weight, slot, targets, edge_level, edge_splits, count, unroll
        )
    else:
        levels_edges = _sliced_levels(edge_source, edge_weight, slot, targets, edge_splits, unroll)

    def step(p, costs):
        for source, weight, into, target in levels_edges(p):
            best = tf.math.unsorted_segment_min(tf.gather(costs, source) + weight, into, block)
            if not far.dtype.is_floating:  # an empty slot's minimum is int64's max: no sums
                best = tf.minimum(best, far)
            costs = tf.tensor_scatter_nd_update(costs, target, best)
        return p + unroll, costs

    costs = tf.concat(
        [tf.zeros([num_roots], far.dtype), tf.fill([count - num_roots + block], far)], 0
    )
    _, costs = tf.while_loop(
        lambda p, _: p < num_levels,
        step,
        (tf.constant(0), costs),
        shape_invariants=(tf.TensorShape([]), tf.TensorShape([None])),
    )
    return costs[:count]


def _sliced_levels(source, weight, slot, targets, edge_splits, unroll):
    """``levels_edges(p)``: (source, weight, slot, written node indices) of levels ``p .. p +
    unroll - 1``, the edges a slice of the edge lists (bounds gathered per level: slicing by
    tensors adds Pack ops)."""
    begins = edge_splits[:-1, None]
    sizes = edge_splits[1:, None] - begins

    def levels_edges(p):
        for j in range(unroll):
            begin, size = tf.gather(begins, p + j), tf.gather(sizes, p + j)
            edges = [tf.slice(t, begin, size) for t in (source, weight, slot)]
            yield (*edges, tf.gather(targets, p + j))

    return levels_edges


def _padded_levels(source, weight, slot, targets, edge_level, edge_splits, count, unroll):
    """``levels_edges(p)`` from [levels, most edges of a level] tables, padded with edges from
    the unreached node ``count`` into slot 0, sliced once per loop step."""
    levels = tf.shape(targets)[0]
    widest = tf.maximum(tf.reduce_max(edge_splits[1:] - edge_splits[:-1]), 1)
    column = tf.range(tf.size(edge_level)) - tf.gather(edge_splits, edge_level)
    at = tf.stack([edge_level, column], axis=1)

    def table(values, pad):
        return tf.tensor_scatter_nd_update(tf.fill(tf.stack([levels, widest]), pad), at, values)

    tables = (table(source, count), table(weight, tf.zeros([], weight.dtype)), table(slot, 0))

    def levels_edges(p):
        rows = [tf.unstack(tf.slice(t, tf.stack([p, 0]), [unroll, -1]), num=unroll) for t in tables]
        written = tf.slice(targets, tf.stack([p, 0, 0]), [unroll, -1, -1])
        return zip(*rows, tf.unstack(written, num=unroll), strict=True)

    return levels_edges


def cheapest_edges(costs, edge_source, edge_target, edge_weight, num_targets):
    """int32 [num_targets]: for each target, the index of the edge into it with the smallest
    ``costs[source] + weight`` from a reached source; among equal sums the SMALLEST EDGE INDEX
    wins (callers order each target's edges so this is their library's tie rule); the number
    of edges for a target with none. Sums are the same ops as `lattice_costs`' (equal bits)."""
    far = unreached_cost(edge_weight.dtype)
    edges = tf.size(edge_source)
    before = tf.gather(costs, edge_source)
    live = before < far // 2
    total = tf.where(live, before + edge_weight, far)
    best = tf.math.unsorted_segment_min(total, edge_target, num_targets)
    index = tf.where(live & tf.equal(total, tf.gather(best, edge_target)), tf.range(edges), edges)
    return tf.minimum(tf.math.unsorted_segment_min(index, edge_target, num_targets), edges)


def best_paths(parent, finals, size):
    """bool [size]: the nodes on the paths that end at ``finals`` (int32 [n]), following
    ``parent`` (int32 [size]; a root, or a node no path reaches, is its own parent), by
    pointer doubling: after round k the first 2**k ancestors are marked."""
    marked = tf.scatter_nd(finals[:, None], tf.ones_like(finals, tf.int32), [size]) > 0
    rounds = tf.cast(
        tf.math.ceil(tf.math.log(tf.cast(size, tf.float32) + 2.0) / np.log(2.0)), tf.int32
    )

    def step(i, marked, jump):
        reached = tf.math.unsorted_segment_max(tf.cast(marked, tf.int32), jump, size) > 0
        return i + 1, marked | reached, tf.gather(jump, jump)

    _, marked, _ = tf.while_loop(lambda i, *_: i <= rounds, step, (tf.constant(0), marked, parent))
    return marked


# ----------------------------------------------------------------------------------------------
# MeCab
# ----------------------------------------------------------------------------------------------


def _surface_hashes(chars: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """int64 hash of each code point sequence (padded rows of ``chars``): two polynomial hashes
    (Horner's rule modulo primes) packed in one int64, the value
    `MecabGraph._dictionary_words` computes for a substring in the graph."""
    key = np.zeros(len(chars), dtype=np.int64)
    for modulus, base in zip(_MODULI, _BASES, strict=True):
        h = np.zeros(len(chars), dtype=np.int64)
        for k in range(chars.shape[1]):
            h = np.where(k < lengths, (h * base + chars[:, k]) % modulus, h)
        key = key * _MODULI[1] + h
    return key


def _merge_twins(owner: np.ndarray, left: np.ndarray, right: np.ndarray, cost: np.ndarray):
    """Indices of the tokens to keep, in their order: of the tokens of one owner with equal
    (lcAttr, rcAttr), the cheapest, the first of equal ones."""
    index = np.arange(len(owner))
    order = np.lexsort((index, cost, right, left, owner))
    sorted_key = np.stack([owner[order], left[order], right[order]], axis=1)
    first = np.ones(len(order), dtype=bool)
    first[1:] = (sorted_key[1:] != sorted_key[:-1]).any(axis=1)
    return np.sort(order[first])


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, row) for every row ``starts[owner] + k``, ``k < counts[owner]``."""
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return owner, np.repeat(starts, counts) + np.arange(len(owner)) - first


def _ranges(owner: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, count) of each owner's rows in ``owner`` (sorted)."""
    counts = np.bincount(owner, minlength=size).astype(np.int64)
    return np.concatenate([[0], np.cumsum(counts)[:-1]]), counts


def _graph_arrays(dictionary: MecabDictionary) -> dict:
    """The numpy arrays `MecabGraph` turns into constants and tables."""
    system = dictionary.system
    surfaces = system.surfaces
    if any(not surface for surface in surfaces):
        raise JbertError(
            f"{dictionary.directory}/sys.dic has an empty surface; reinstall the dictionary"
        )
    flat = np.frombuffer("\0".join(surfaces).encode("utf-32-le"), dtype="<u4").astype(np.int64)
    separators = np.flatnonzero(flat == 0)  # surfaces hold no NUL (Darts' end-of-key code)
    lengths = np.diff(np.concatenate([[-1], separators, [len(flat)]])) - 1
    flat = flat[flat != 0]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    longest = int(lengths.max())
    padded = np.zeros((len(surfaces), longest), dtype=np.int64)
    column = np.arange(longest)[None, :]
    inside = column < lengths[:, None]
    padded[inside] = flat
    keys = _surface_hashes(padded, lengths)
    if len(np.unique(keys)) != len(keys):
        raise RuntimeError("two surfaces share a substring hash; change lattice._BASES")
    # Tokens: the system dictionary's (merged per surface), then unk.dic's (merged per category).
    owner, token = _expand(system.token_starts, system.token_counts)
    keep = _merge_twins(owner, system.left_ids[token], system.right_ids[token], system.costs[token])
    token, owner = token[keep], owner[keep]
    token_starts, token_counts = _ranges(owner, len(surfaces))
    unknown = dictionary.unknown
    categories = len(dictionary.chars.names)
    unk_owner, unk_token = _expand(dictionary.unknown_token_starts, dictionary.unknown_token_counts)
    keep = _merge_twins(
        unk_owner,
        unknown.left_ids[unk_token],
        unknown.right_ids[unk_token],
        unknown.costs[unk_token],
    )
    unk_token, unk_owner = unk_token[keep], unk_owner[keep]
    unk_starts, unk_counts = _ranges(unk_owner, categories)
    chars = dictionary.chars
    props = (
        chars.default_types
        | (chars.lengths << 8)
        | (chars.groups.astype(np.int32) << 12)
        | (chars.invokes.astype(np.int32) << 13)
    )
    powers = {}
    for modulus, base in zip(_MODULI, _BASES, strict=True):
        inverse = pow(base, -1, modulus)
        powers[modulus] = (
            np.array([pow(inverse, k, modulus) for k in range(longest)], dtype=np.int64),
            np.array([pow(base, k, modulus) for k in range(longest)], dtype=np.int64),
        )
    return {
        "keys": keys,
        "surface_chars": flat.astype(np.int32),
        "surface_offsets": offsets.astype(np.int32),
        "token_starts": token_starts.astype(np.int32),
        "token_counts": token_counts.astype(np.int32),
        "unk_starts": (unk_starts + len(token)).astype(np.int32),
        "unk_counts": unk_counts.astype(np.int32),
        "left": _narrow(np.concatenate([system.left_ids[token], unknown.left_ids[unk_token]])),
        "right": _narrow(np.concatenate([system.right_ids[token], unknown.right_ids[unk_token]])),
        "cost": _narrow(np.concatenate([system.costs[token], unknown.costs[unk_token]])),
        "types": chars.types.astype(np.int32),
        "props": props.astype(np.int32),
        "matrix": dictionary.matrix,
        "powers": powers,
        "longest": longest,
        "max_char_length": max(int(chars.lengths.max()), 1),
    }


def _narrow(values: np.ndarray) -> np.ndarray:
    """int16 when every value fits (MeCab's own token fields are 16-bit), else int32."""
    small = not len(values) or (values.min() >= -(2**15) and values.max() < 2**15)
    return values.astype(np.int16 if small else np.int32)


def _ragged_range(counts):
    """(owner, k) for ``k in range(counts[owner])``, owners in order."""
    counts = tf.cast(counts, tf.int32)
    ranges = tf.ragged.range(counts)
    return tf.cast(ranges.value_rowids(), tf.int32), ranges.flat_values


class MecabGraph(tf.Module):
    """MeCab's word segmentation (fugashi's boundaries) on one dictionary, in core TF ops.

    Built once from a `MecabDictionary` (its arrays become constants and one hash table);
    `word_spans` then runs in eager mode or inside a ``tf.function`` / SavedModel.
    """

    def __init__(self, dictionary: MecabDictionary, name: str | None = None):
        super().__init__(name=name or f"mecab_{dictionary.name or 'dictionary'}")
        arrays = _graph_arrays(dictionary)
        self.dictionary_name = dictionary.name
        self._lsize = int(dictionary.lsize)
        self._space = int(dictionary.space)
        self._max_grouping_size = int(dictionary.max_grouping_size)
        self._longest = int(arrays["longest"])
        self._max_char_length = int(arrays["max_char_length"])
        self._surfaces = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(arrays["keys"], tf.int64),
                tf.range(len(arrays["keys"]), dtype=tf.int32),
            ),
            default_value=-1,
        )
        constant = tf.constant
        self._surface_chars = constant(arrays["surface_chars"])
        self._surface_offsets = constant(arrays["surface_offsets"])
        self._token_starts = constant(arrays["token_starts"])
        self._token_counts = constant(arrays["token_counts"])
        self._unk_starts = constant(arrays["unk_starts"])
        self._unk_counts = constant(arrays["unk_counts"])
        self._left = constant(arrays["left"])
        self._right = constant(arrays["right"])
        self._cost = constant(arrays["cost"])
        self._types = constant(arrays["types"])
        self._props = constant(arrays["props"])
        self._matrix = constant(arrays["matrix"])
        self._powers = [
            (modulus, constant(inverse), constant(power))
            for modulus, (inverse, power) in arrays["powers"].items()
        ]

    def constant_bytes(self) -> int:
        """Bytes of the arrays this graph holds (constants and the hash table's keys/values)."""
        tensors = [
            self._surface_chars,
            self._surface_offsets,
            self._token_starts,
            self._token_counts,
            self._unk_starts,
            self._unk_counts,
            self._left,
            self._right,
            self._cost,
            self._types,
            self._props,
            self._matrix,
        ] + [t for _, a, b in self._powers for t in (a, b)]
        table = int(self._surfaces.size()) * (8 + 4)
        return table + sum(int(tf.size(t)) * t.dtype.size for t in tensors)

    def word_spans(self, codepoints: tf.RaggedTensor) -> tf.RaggedTensor:
        """int32 ragged [batch, words, 2]: (start, end) code point spans of MeCab's words.

        ``codepoints`` (int32 ragged [batch, chars], e.g. ``tf.strings.unicode_decode(texts,
        "UTF-8")`` of NFKC-normalized texts) is cut like `mecab_pieces` (NULs dropped, pieces
        of at most 20,000 characters) and each piece segmented as MeCab segments it.
        """
        codepoints = tf.cast(codepoints, tf.int32)
        pieces, piece_rows, piece_starts = _pieces(codepoints)
        word_piece, word_start, word_end = self._segment(pieces)
        offset = tf.gather(piece_starts, word_piece)
        spans = tf.stack([word_start + offset, word_end + offset], axis=1)
        return tf.RaggedTensor.from_value_rowids(
            spans, tf.gather(piece_rows, word_piece), nrows=codepoints.nrows(out_type=tf.int32)
        )

    # -- the lattice ------------------------------------------------------------------------

    def _segment(self, pieces: tf.RaggedTensor):
        """(piece, start, end) of the best path's words, by piece then position."""
        chars = self._characters(pieces)
        known = self._dictionary_words(chars)
        has_known = tf.math.unsorted_segment_max(tf.ones_like(known.q), known.q, chars.size) > 0
        words = _concat_words(known, self._unknown_words(chars, has_known))
        nodes = self._lattice_nodes(chars, words, pieces.nrows(out_type=tf.int32))
        return self._viterbi(nodes, pieces.nrows(out_type=tf.int32), chars.width)

    def _characters(self, pieces: tf.RaggedTensor) -> _Characters:
        """Per character of the pieces: its place and its ``char.bin`` category fields."""
        cps = pieces.flat_values
        size = tf.size(cps)
        row = tf.cast(pieces.value_rowids(), tf.int32)
        row_lengths = tf.cast(pieces.row_lengths(), tf.int32)
        flat = tf.range(size)
        first_of_row = tf.gather(tf.cast(pieces.row_starts(), tf.int32), row)
        index = tf.where(cps > 0xFFFF, 0, cps)  # MeCab reads code points above U+FFFF as 0
        types = tf.gather(self._types, index)
        props = tf.gather(self._props, index)
        shift = tf.bitwise.right_shift
        local = flat - first_of_row
        # chained[i]: character i shares a category bit with i - 1 (seekToOtherType's test).
        chained = (local > 0) & tf.not_equal(tf.concat([[0], types], 0)[:size] & types, 0)
        breaks = tf.concat([tf.cast(tf.where(~chained)[:, 0], tf.int32), [size]], 0)
        # The end of the chained run after each character, and where MeCab's lookup at each
        # position starts after skipping whitespace (a chain starting from U+0020's bits).
        chain_end = tf.gather(breaks, lower_bound(breaks, flat + 1))
        spaced = tf.not_equal(types & self._space, 0)
        return _Characters(
            cps=cps,
            size=size,
            row=row,
            local=local,
            first_of_row=first_of_row,
            row_end=first_of_row + tf.gather(row_lengths, row),
            width=tf.reduce_max(tf.concat([row_lengths, [0]], 0)),
            types=types,
            default=props & 255,
            length=shift(props, 8) & 15,
            group=(shift(props, 12) & 1) > 0,
            invoke=(shift(props, 13) & 1) > 0,
            chain_end=chain_end,
            surface_start=tf.where(spaced, chain_end, flat),
        )

    def _dictionary_words(self, c: _Characters) -> _Words:
        """The dictionary's words at each position q (the trie's common prefix search): a hash
        of every substring up to the longest surface, looked up, then checked char by char."""
        flat = tf.range(c.size)
        window = flat[:, None] + tf.range(self._longest)[None, :]
        fits = window < c.row_end[:, None]
        chars = tf.gather(tf.concat([c.cps, [0]], 0), tf.minimum(window, c.size))
        chars = tf.cast(chars, tf.int64)
        key = tf.zeros_like(chars)
        for modulus, inverse, power in self._powers:
            # sum_k chars[k] * base**(n-1-k) = base**(n-1) * cumsum(chars[k] * base**-k)
            h = tf.math.floormod(chars * inverse[None, :], modulus)
            h = tf.math.floormod(tf.math.cumsum(h, axis=1), modulus)
            key = key * _MODULI[1] + tf.math.floormod(h * power[None, :], modulus)
        surface = self._surfaces.lookup(tf.where(fits, key, -1))
        hit = tf.cast(tf.where(surface >= 0), tf.int32)  # (q, length - 1), by q then length
        hit_q, hit_length = hit[:, 0], hit[:, 1] + 1
        hit_surface = tf.gather_nd(surface, hit)
        begin = tf.gather(self._surface_offsets, hit_surface)
        same = tf.equal(tf.gather(self._surface_offsets, hit_surface + 1) - begin, hit_length)
        owner, k = _ragged_range(hit_length)
        text_char = tf.gather(c.cps, tf.gather(hit_q, owner) + k)
        last_char = tf.size(self._surface_chars) - 1
        surface_char = tf.gather(
            self._surface_chars, tf.minimum(tf.gather(begin, owner) + k, last_char)
        )
        differs = tf.math.unsorted_segment_max(
            tf.cast(tf.not_equal(text_char, surface_char), tf.int32), owner, tf.size(hit_q)
        )
        real = same & tf.equal(differs, 0)
        hit_q = tf.boolean_mask(hit_q, real)
        hit_length = tf.boolean_mask(hit_length, real)
        hit_surface = tf.boolean_mask(hit_surface, real)
        owner, k = _ragged_range(tf.gather(self._token_counts, hit_surface))
        return _Words(
            q=tf.gather(hit_q, owner),
            length=tf.gather(hit_length, owner),
            token=tf.gather(tf.gather(self._token_starts, hit_surface), owner) + k,
        )

    def _unknown_words(self, c: _Characters, has_dict) -> _Words:
        """Unknown words at each position q, as tokenizer.cpp's lookup makes them (``has_dict``:
        a dictionary word starts at q)."""
        flat = tf.range(c.size)
        group_length = c.chain_end - flat
        group_node = c.group & (group_length - 1 <= self._max_grouping_size)
        # run: how many characters from q share a category bit with q's (up to the longest
        # length any category asks for).
        types_padded = tf.concat([c.types, [0]], 0)
        run = tf.ones_like(flat)
        alive = tf.ones_like(c.group)
        for step in range(1, self._max_char_length):
            after = flat + step
            shares = tf.gather(types_padded, tf.minimum(after, c.size)) & c.types
            alive &= (after < c.row_end) & tf.not_equal(shares, 0)
            run += tf.cast(alive, tf.int32)
        stop = tf.where(c.group, group_length - 1, c.length)  # lengths stop before the group's
        lengths = tf.maximum(0, tf.minimum(tf.minimum(c.length, run), stop))
        need = ~has_dict | c.invoke
        group_node &= need
        lengths = tf.where(need, lengths, 0)
        fallback = ~has_dict & ~group_node & tf.equal(lengths, 0)  # one character
        made = tf.cast(group_node, tf.int32) + lengths + tf.cast(fallback, tf.int32)
        owner, j = _ragged_range(made)
        grouped = tf.cast(tf.gather(group_node, owner), tf.int32)
        word_length = tf.where(j < grouped, tf.gather(group_length, owner), j - grouped + 1)
        category = tf.gather(c.default, owner)
        word, k = _ragged_range(tf.gather(self._unk_counts, category))
        return _Words(
            q=tf.gather(owner, word),
            length=tf.gather(word_length, word),
            token=tf.gather(tf.gather(self._unk_starts, category), word) + k,
        )

    def _lattice_nodes(self, c: _Characters, words: _Words, rows) -> _Nodes:
        """The lattice: at each position p where a node ends (or a piece starts) MeCab looks
        up the words of ``surface_start[p]``; nodes of different p are different nodes. BOS of
        each piece comes first (index = piece), then the nodes by (p, piece, creation)."""
        word_splits = lower_bound(words.q, tf.range(c.size + 1))
        word_created = tf.range(tf.size(words.q)) - tf.gather(word_splits, words.q)
        word_end = tf.minimum(words.q + words.length, c.size)
        ends = tf.math.unsorted_segment_max(tf.ones_like(words.q), word_end, c.size + 1)
        lookup = (tf.equal(c.local, 0) | (ends[: c.size] > 0)) & (c.surface_start < c.row_end)
        p_flat = tf.cast(tf.where(lookup)[:, 0], tf.int32)
        first_word = tf.gather(word_splits, tf.gather(c.surface_start, p_flat))
        last_word = tf.gather(word_splits, tf.gather(c.surface_start, p_flat) + 1)
        owner, k = _ragged_range(last_word - first_word)
        node_word = tf.gather(first_word, owner) + k
        node_p_flat = tf.gather(p_flat, owner)
        by_step = tf.argsort(tf.gather(c.local, node_p_flat), stable=True)
        node_word = tf.gather(node_word, by_step)
        node_p_flat = tf.gather(node_p_flat, by_step)
        start = tf.gather(words.q, node_word) - tf.gather(c.first_of_row, node_p_flat)
        token = tf.gather(words.token, node_word)
        zeros = tf.zeros([rows], tf.int32)

        def with_bos(bos, values):
            return tf.concat([bos, values], 0)

        return _Nodes(
            row=with_bos(tf.range(rows), tf.gather(c.row, node_p_flat)),
            p=with_bos(zeros - 1, tf.gather(c.local, node_p_flat)),
            start=with_bos(zeros, start),
            end=with_bos(zeros, start + tf.gather(words.length, node_word)),
            left=with_bos(zeros, tf.cast(tf.gather(self._left, token), tf.int32)),
            right=with_bos(zeros, tf.cast(tf.gather(self._right, token), tf.int32)),
            cost=with_bos(
                tf.zeros([rows], tf.int64), tf.cast(tf.gather(self._cost, token), tf.int64)
            ),
            created=with_bos(zeros, tf.gather(word_created, node_word)),
        )

    def _viterbi(self, n: _Nodes, rows, width):
        """(piece, start, end) of the nodes on the best path, by piece then position."""
        count = tf.size(n.row)
        # Edges (left node ending at p, right node starting at p), by right node; each right
        # node's left nodes in the order MeCab meets them in its end list (the latest lookup
        # first, then the first created), so the engine's tie rule (the smallest edge index)
        # keeps MeCab's choice. Nodes come by (p, piece, creation): two stable sorts.
        stride = width + 2
        end_key = n.row * stride + n.end
        latest_first = tf.argsort(-n.p, stable=True)
        end_order = tf.gather(
            latest_first, tf.argsort(tf.gather(end_key, latest_first), stable=True)
        )
        sorted_end_key = tf.gather(end_key, end_order)
        right_key = (n.row * stride + n.p)[rows:]
        lo = lower_bound(sorted_end_key, right_key)
        hi = tf.searchsorted(sorted_end_key, right_key, side="right")
        pair_right, k = _ragged_range(hi - lo)
        pair_left = tf.gather(end_order, tf.gather(lo, pair_right) + k)
        pair_right += rows  # index among all nodes
        matrix_index = tf.gather(n.right, pair_left) + self._lsize * tf.gather(n.left, pair_right)
        connection = tf.cast(tf.gather(self._matrix, matrix_index), tf.int64) + tf.gather(
            n.cost, pair_right
        )
        costs = lattice_costs(width, rows, n.p, pair_left, pair_right, connection, 4)
        winner = cheapest_edges(costs, pair_left, pair_right, connection, count)
        parent = tf.where(
            winner < tf.size(pair_left),
            tf.gather(tf.concat([pair_left, [0]], 0), winner),
            tf.range(count),
        )
        # EOS (left id 0) joins the nodes ending at the last position any node reaches, met in
        # the same order.
        reached = costs < _BIG // 2
        last_end = tf.math.unsorted_segment_max(tf.where(reached, n.end, -1), n.row, rows)
        at_eos = tf.cast(
            tf.where(reached & tf.equal(n.end, tf.gather(last_end, n.row)))[:, 0], tf.int32
        )
        at_eos = tf.gather(at_eos, tf.argsort(-tf.gather(n.p, at_eos), stable=True))
        eos_row = tf.gather(n.row, at_eos)
        eos_cost = tf.cast(tf.gather(self._matrix, tf.gather(n.right, at_eos)), tf.int64)
        eos_winner = cheapest_edges(costs, at_eos, eos_row, eos_cost, rows)
        has_eos = eos_winner < tf.size(at_eos)
        last_words = tf.gather(at_eos, tf.boolean_mask(eos_winner, has_eos))
        on_path = best_paths(parent, last_words, count) & (tf.range(count) >= rows)
        chosen = tf.cast(tf.where(on_path)[:, 0], tf.int32)
        chosen = tf.gather(chosen, tf.argsort(tf.gather(n.row, chosen), stable=True))
        return tf.gather(n.row, chosen), tf.gather(n.start, chosen), tf.gather(n.end, chosen)


class _Characters(NamedTuple):
    """Per character of the pieces (flat), from `MecabGraph._characters`."""

    cps: Any
    size: Any
    row: Any
    local: Any
    first_of_row: Any
    row_end: Any
    width: Any  # the longest piece
    types: Any
    default: Any
    length: Any
    group: Any
    invoke: Any
    chain_end: Any
    surface_start: Any  # MeCab's begin2 for a lookup at each position


class _Words(NamedTuple):
    """Words by start position q: (q, length, token), dictionary words first."""

    q: Any
    length: Any
    token: Any


class _Nodes(NamedTuple):
    """Lattice nodes (BOS of each piece first): piece, lookup position, span, ids, cost."""

    row: Any
    p: Any
    start: Any
    end: Any
    left: Any
    right: Any
    cost: Any
    created: Any


def _concat_words(dictionary: _Words, unknown: _Words) -> _Words:
    """All words by q, in the order MeCab creates their nodes (dictionary ones first)."""
    q = tf.concat([dictionary.q, unknown.q], 0)
    order = tf.argsort(q, stable=True)
    return _Words(
        q=tf.gather(q, order),
        length=tf.gather(tf.concat([dictionary.length, unknown.length], 0), order),
        token=tf.gather(tf.concat([dictionary.token, unknown.token], 0), order),
    )


def _pieces(codepoints: tf.RaggedTensor):
    """`mecab_pieces` in the graph: (pieces ragged [pieces, chars], text row, start in text).

    NULs end a piece and are dropped; a piece longer than 20,000 characters is cut after its
    last line break, else whitespace, else sentence end in the second half of the window."""
    cps = codepoints.flat_values
    size = tf.size(cps)
    row = tf.cast(codepoints.value_rowids(), tf.int32)
    row_starts = tf.cast(codepoints.row_starts(), tf.int32)
    flat = tf.range(size)
    local = flat - tf.gather(row_starts, row)
    kept = tf.not_equal(cps, 0)
    after_nul = tf.equal(tf.gather(tf.concat([[1], cps], 0), flat), 0)  # cps[i - 1] == 0
    starts_part = kept & (tf.equal(local, 0) | after_nul)
    part_id = tf.cumsum(tf.cast(starts_part, tf.int32)) - 1
    parts = tf.reduce_sum(tf.cast(starts_part, tf.int32))
    part_first = tf.boolean_mask(flat, starts_part)
    kept_part = tf.boolean_mask(part_id, kept)
    part_length = tf.math.unsorted_segment_sum(tf.ones_like(kept_part), kept_part, parts)
    limit = MECAB_MAX_CHARS
    groups = [tf.constant([ord(c) for c in chars], tf.int32) for chars in MECAB_CUT_AFTER]

    def cut(first, remaining, out_first, out_length):
        long = remaining > limit
        window = tf.boolean_mask(first, long)[:, None] + tf.range(limit)[None, :]
        chars = tf.gather(cps, window)
        cut_at = tf.fill(tf.shape(window)[:1], limit)
        decided = tf.zeros(tf.shape(window)[:1], tf.bool)
        for group in groups:
            member = tf.reduce_any(tf.equal(chars[:, :, None], group[None, None, :]), axis=2)
            found = tf.reduce_max(tf.where(member, tf.range(1, limit + 1)[None, :], 0), axis=1)
            take = ~decided & (found > limit // 2)
            cut_at = tf.where(take, found, cut_at)
            decided |= take
        pieces_length = tf.tensor_scatter_nd_update(
            remaining, tf.cast(tf.where(long), tf.int32), cut_at
        )
        out_first = tf.concat([out_first, first], 0)
        out_length = tf.concat([out_length, pieces_length], 0)
        next_first = tf.boolean_mask(first + pieces_length, long)
        next_remaining = tf.boolean_mask(remaining - pieces_length, long)
        return next_first, next_remaining, out_first, out_length

    empty = tf.zeros([0], tf.int32)
    _, _, piece_first, piece_length = tf.while_loop(
        lambda first, *_: tf.size(first) > 0,
        cut,
        (part_first, part_length, empty, empty),
        shape_invariants=(tf.TensorShape([None]),) * 4,
    )
    order = tf.argsort(piece_first, stable=True)
    piece_first = tf.gather(piece_first, order)
    piece_length = tf.gather(piece_length, order)
    owner, k = _ragged_range(piece_length)
    pieces = tf.RaggedTensor.from_value_rowids(
        tf.gather(cps, tf.gather(piece_first, owner) + k), owner, nrows=tf.size(piece_first)
    )
    piece_rows = tf.gather(row, piece_first)
    return pieces, piece_rows, tf.gather(local, piece_first)
