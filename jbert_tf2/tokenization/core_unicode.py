"""Python's text transforms in core TensorFlow ops, on flat code point streams, with alignment.

A `Stream` is the characters of many texts (or words) laid end to end: code points, the span
of original code points each came from, and a context id (the string Python would transform
as a whole: a chunk, a word, a text). `aligned_transform` runs the rules the Python tokenizers
apply with ``str.lower`` and ``unicodedata.normalize`` -- lower-casing (final sigma included),
NFD or NFKD, canonical reordering, canonical composition (NFKC), dropping nonspacing marks --
from the tables of `unicode_tables`, and gives each output character the original span that
`alignment.align` gives it:

- each transform is per character except three things, which are done on the whole context as
  Python does: the final sigma (from the case properties of its neighbours), canonical
  reordering (a stable sort of each starter's following marks by combining class) and
  composition (each starter absorbs the unblocked marks, and adjacent starters, that compose
  with it, all starters at once in a loop over the characters each one scans);
- alignment: the input characters are cut into the finest segments that transform apart into
  the same output (where no output character draws on both sides of a cut and no output
  character of the right side comes before one of the left side: `alignment._refine`'s
  rule), and every output character spans its segment.

Only ops that TensorFlow itself registers are used (searchsorted lookups, gathers, cumulative
sums, a stable argsort, one ``tf.while_loop``), so a SavedModel holding them needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from jbert_tf2.backend import tensorflow
from jbert_tf2.tokenization import unicode_tables as tables


def lower_bound(sorted_keys, values):
    """``tf.searchsorted(sorted_keys, values, side="left")`` for integer keys, done as the
    ``side="right"`` search of ``values - 1``: LiteRT's converter has no ``LowerBound`` op."""
    tf = tensorflow()
    return tf.searchsorted(sorted_keys, values - 1, side="right")


@dataclass
class Stream:
    """Characters laid end to end: ``chars[i]`` came from original code points
    ``starts[i]:ends[i]`` and belongs to context ``context[i]`` (non-decreasing)."""

    chars: object  # int32 [n]
    starts: object  # int32 [n]
    ends: object  # int32 [n]
    context: object  # int32 [n]

    def gather(self, indices) -> Stream:
        """The characters at ``indices``, with their spans and contexts."""
        tf = tensorflow()
        return Stream(*(tf.gather(t, indices) for t in self.fields()))

    def where(self, mask) -> Stream:
        """The characters where ``mask`` (bool [n]) is true."""
        tf = tensorflow()
        return self.gather(tf.where(mask)[:, 0])

    def fields(self) -> tuple:
        """``(chars, starts, ends, context)``."""
        return (self.chars, self.starts, self.ends, self.context)


def shift_right(values, fill):
    """``values`` moved one place right, ``fill`` first (empty stays empty)."""
    tf = tensorflow()
    return tf.concat([tf.fill([1], tf.cast(fill, values.dtype)), values], 0)[:-1]


def first_of_context(context):
    """True where a character starts its context."""
    tf = tensorflow()
    return tf.not_equal(context, shift_right(context, -1))


class UnicodeTables:
    """The tables of `unicode_tables` as constant tensors, built once per tokenizer layer."""

    def __init__(self):
        tf = tensorflow()
        props = tables.properties()
        ccc = tables.combining()
        self._props = (tf.constant(props.starts), tf.constant(props.values))
        self._ccc = (tf.constant(ccc.starts), tf.constant(ccc.values))
        self._maps = {}
        for name, table in (
            ("lower", tables.lower_map()),
            ("NFD", tables.decomposition_map("NFD")),
            ("NFKD", tables.decomposition_map("NFKD")),
        ):
            self._maps[name] = tuple(
                tf.constant(a) for a in (table.keys, table.splits, table.values)
            )
        keys, composites = tables.compositions()
        self._pairs = (tf.constant(keys), tf.constant(composites))
        self._firsts = tf.constant(tables.composition_firsts())

    # Lookups -----------------------------------------------------------------------------

    @staticmethod
    def _range(table, chars):
        tf = tensorflow()
        starts, values = table
        return tf.gather(values, tf.searchsorted(starts, chars, side="right") - 1)

    def properties(self, chars):
        """The `unicode_tables` class bits of each code point."""
        return self._range(self._props, chars)

    def combining(self, chars):
        """The canonical combining class of each code point."""
        return self._range(self._ccc, chars)

    def has(self, chars, bit: int):
        """Whether each code point has property ``bit`` (`unicode_tables`' flags)."""
        tf = tensorflow()
        return tf.not_equal(tf.bitwise.bitwise_and(self.properties(chars), bit), 0)

    @staticmethod
    def _member(keys, values):
        """(index of each value in sorted ``keys`` (clamped), whether it is there)."""
        tf = tensorflow()
        size = tf.shape(keys, out_type=tf.int32)[0]
        index = tf.minimum(lower_bound(keys, values), size - 1)
        return index, tf.equal(tf.gather(keys, index), values)

    def map_chars(self, name: str, chars):
        """Each code point replaced by its mapping in table ``name`` ("lower", "NFD",
        "NFKD"): (output code points, index of the input each came from)."""
        tf = tensorflow()
        keys, splits, values = self._maps[name]
        index, hit = self._member(keys, chars)
        first = tf.gather(splits, index)
        lengths = tf.where(hit, tf.gather(splits, index + 1) - first, 1)
        origin = tf.repeat(tf.range(tf.size(chars)), lengths)
        offsets = tf.cumsum(lengths, exclusive=True)
        within = tf.range(tf.size(origin)) - tf.gather(offsets, origin)
        mapped = tf.gather(values, tf.gather(first, origin) + within)
        return tf.where(tf.gather(hit, origin), mapped, tf.gather(chars, origin)), origin

    def composite(self, first, second):
        """(the primary composite of each pair, whether there is one)."""
        tf = tensorflow()
        keys, composites = self._pairs
        key = tf.cast(first, tf.int64) * tables.COMPOSITION_KEY + tf.cast(second, tf.int64)
        index, hit = self._member(keys, key)
        return tf.gather(composites, index), hit

    def is_first(self, chars):
        """Whether each code point begins a composition pair."""
        return self._member(self._firsts, chars)[1]

    # Transforms --------------------------------------------------------------------------

    def lower(self, chars, context):
        """``str.lower`` of each context: (output code points, origin indices). Capital sigma
        becomes final sigma where CPython's rule says so: a cased character before it (case-
        ignorable ones skipped) and no cased character after it, within its context."""
        tf = tensorflow()
        props = self.properties(chars)
        significant = tf.equal(tf.bitwise.bitwise_and(props, tables.CASE_IGNORABLE), 0)
        cased = tf.not_equal(tf.bitwise.bitwise_and(props, tables.CASED), 0)
        counts = tf.cumsum(tf.cast(significant, tf.int32))
        before = counts - tf.cast(significant, tf.int32)
        positions = tf.cast(tf.where(significant)[:, 0], tf.int32)
        total = tf.size(positions)
        positions = tf.concat([positions, [0]], 0)  # gathers stay in range; guarded below
        previous = tf.gather(positions, tf.maximum(before - 1, 0))
        cased_before = (
            (before > 0)
            & tf.equal(tf.gather(context, previous), context)
            & tf.gather(cased, previous)
        )
        following = tf.gather(positions, counts)
        cased_after = (
            (counts < total)
            & tf.equal(tf.gather(context, following), context)
            & tf.gather(cased, following)
        )
        final = tf.equal(chars, tables.CAPITAL_SIGMA) & cased_before & ~cased_after
        out, origin = self.map_chars("lower", chars)
        return tf.where(tf.gather(final, origin), tables.FINAL_SIGMA, out), origin

    def reorder(self, chars, context):
        """The permutation that puts each run of marks after a starter in canonical order
        (a stable sort by combining class; runs never cross a context)."""
        tf = tensorflow()
        ccc = self.combining(chars)
        group = tf.cumsum(tf.cast(tf.equal(ccc, 0) | first_of_context(context), tf.int64))
        return tf.argsort(group * 256 + tf.cast(ccc, tf.int64), stable=True)

    def compose(self, chars, context, low, high):
        """Canonical composition of reordered text, as CPython's ``nfc_nfkc``: each starter
        that begins a pair scans the characters after it, absorbing the first unblocked one it
        composes with, and so on, until a starter it does not compose with, a blocked end or
        its context's end. Returns (code points, alive, low, high): a composite keeps the
        origin range ``low``..``high`` of everything it absorbed."""
        tf = tensorflow()
        size = tf.size(chars)
        ccc = self.combining(chars)
        starters = tf.cast(tf.where(tf.equal(ccc, 0) & self.is_first(chars))[:, 0], tf.int32)
        alive = tf.ones_like(chars, dtype=tf.bool)
        state = (
            chars,
            alive,
            low,
            high,
            starters,
            starters + 1,  # the next character each starter looks at
            tf.zeros_like(starters),  # combining class of the last mark left in between
            tf.gather(chars, starters),  # the starter as composed so far
        )

        def step(out, alive, low, high, starter, pointer, comb, current):
            inside = pointer < size
            at = tf.minimum(pointer, size - 1)
            inside &= tf.equal(tf.gather(context, at), tf.gather(context, starter))
            code = tf.gather(chars, at)  # the character as it was before any composition
            code_ccc = tf.gather(ccc, at)
            marks_between = comb != 0
            stops = ~inside | (marks_between & tf.equal(code_ccc, 0))
            blocked = marks_between & (comb >= code_ccc)
            composite, pairs = self.composite(current, code)
            composes = ~stops & ~blocked & pairs
            passes = ~stops & ~blocked & ~pairs
            done = stops | (passes & tf.equal(code_ccc, 0)) | (composes & ~self.is_first(composite))
            current = tf.where(composes, composite, current)
            absorbed = tf.boolean_mask(at, composes)[:, None]
            into = tf.boolean_mask(starter, composes)[:, None]
            alive = tf.tensor_scatter_nd_update(
                alive, absorbed, tf.zeros(tf.shape(absorbed)[:1], tf.bool)
            )
            out = tf.tensor_scatter_nd_update(out, into, tf.boolean_mask(current, composes))
            low = tf.tensor_scatter_nd_min(low, into, tf.gather(low, absorbed[:, 0]))
            high = tf.tensor_scatter_nd_max(high, into, tf.gather(high, absorbed[:, 0]))
            comb = tf.where(passes, code_ccc, comb)
            keep = ~done
            return (
                out,
                alive,
                low,
                high,
                tf.boolean_mask(starter, keep),
                tf.boolean_mask(pointer + 1, keep),
                tf.boolean_mask(comb, keep),
                tf.boolean_mask(current, keep),
            )

        vector = tf.TensorShape([None])
        out, alive, low, high, *_ = tf.while_loop(
            lambda *s: tf.size(s[4]) > 0,
            step,
            state,
            shape_invariants=(vector,) * 8,
        )
        return out, alive, low, high


# `alignment._REFINE_LIMIT`: a stretch of merged clusters longer than this keeps one span.
REFINE_LIMIT = 64


def _segments(cut, m):
    """Segment id of each of ``m`` positions, and each segment's first and last position."""
    tf = tensorflow()
    positions = tf.range(m)
    segment = tf.cumsum(tf.cast(cut, tf.int32)) - 1
    count = tf.reduce_sum(tf.cast(cut, tf.int32))
    return (
        segment,
        tf.math.unsorted_segment_min(positions, segment, count),
        tf.math.unsorted_segment_max(positions, segment, count),
    )


def segment_spans(stream: Stream, low, high, cluster_start):
    """Original (starts, ends) of output characters that came from ``stream``'s characters
    ``low``..``high`` (inclusive, in output order): every output character spans the finest
    segment of the input that transforms apart from its neighbours into the same output.

    As `alignment.align`, a stretch of clusters (a starter and its marks: ``cluster_start``)
    that cannot be cut apart and is longer than `REFINE_LIMIT` keeps one span."""
    tf = tensorflow()
    m = tf.size(stream.chars)
    n = tf.size(low)
    merged = high > low
    crossing = tf.math.unsorted_segment_sum(
        tf.concat([tf.ones_like(low), -tf.ones_like(high)], 0),
        tf.concat([tf.where(merged, low + 1, m), tf.where(merged, high + 1, m)], 0),
        m + 1,
    )
    crossing = tf.cumsum(crossing)[:m]
    count = tf.math.unsorted_segment_sum(tf.ones_like(low, tf.int64), low, m)
    where = tf.math.unsorted_segment_sum(tf.range(n, dtype=tf.int64), low, m)
    before = tf.cumsum(count, exclusive=True)
    position_sum = tf.cumsum(where, exclusive=True)
    in_order = tf.equal(2 * position_sum, before * (before - 1))
    cut = (tf.equal(crossing, 0) & in_order) | tf.equal(tf.range(m), 0)
    segment, first, last = _segments(cut, m)
    coarse, coarse_first, coarse_last = _segments(cut & cluster_start, m)
    first, last = tf.gather(first, segment), tf.gather(last, segment)
    whole = tf.gather(coarse_last - coarse_first + 1, coarse) > REFINE_LIMIT
    first = tf.where(whole, tf.gather(coarse_first, coarse), first)
    last = tf.where(whole, tf.gather(coarse_last, coarse), last)
    return (
        tf.gather(stream.starts, tf.gather(first, low)),
        tf.gather(stream.ends, tf.gather(last, low)),
    )


def aligned_transform(
    unicode: UnicodeTables,
    stream: Stream,
    lower: bool = False,
    decompose: str | None = None,
    compose: bool = False,
    strip_marks: bool = False,
) -> Stream:
    """``stream`` transformed per context as Python does it on each context's string:
    ``str.lower`` (``lower``), then ``unicodedata.normalize`` with ``decompose`` ("NFD",
    "NFKD"; with ``compose`` NFKD becomes NFKC), then nonspacing marks dropped
    (``strip_marks``, Google's accent stripping); spans as `alignment.align` gives them."""
    tf = tensorflow()
    chars, context = stream.chars, stream.context
    origin = tf.range(tf.size(chars))
    if lower:
        chars, step = unicode.lower(chars, context)
        origin, context = tf.gather(origin, step), tf.gather(context, step)
    if decompose:
        chars, step = unicode.map_chars(decompose, chars)
        origin, context = tf.gather(origin, step), tf.gather(context, step)
        order = unicode.reorder(chars, context)
        chars, origin, context = (tf.gather(t, order) for t in (chars, origin, context))
    low = high = origin
    if compose:
        chars, alive, low, high = unicode.compose(chars, context, origin, origin)
        chars, low, high, context = (tf.boolean_mask(t, alive) for t in (chars, low, high, context))
    if strip_marks:
        keep = ~unicode.has(chars, tables.NONSPACING_MARK)
        chars, low, high, context = (tf.boolean_mask(t, keep) for t in (chars, low, high, context))
    cluster_start = tf.equal(unicode.combining(stream.chars), 0) | first_of_context(stream.context)
    starts, ends = segment_spans(stream, low, high, cluster_start)
    return Stream(chars, starts, ends, context)


def stream_from_texts(texts):
    """The code points of a batch of tf.string texts as a `Stream` (context = text), and the
    ragged code points. Bytes that are not UTF-8 become U+FFFD."""
    tf = tensorflow()
    code_points = tf.strings.unicode_decode(texts, "UTF-8", errors="replace")
    chars = code_points.flat_values
    row = tf.cast(code_points.value_rowids(), tf.int32)
    splits = tf.cast(code_points.row_splits, tf.int32)
    starts = tf.range(tf.size(chars)) - tf.gather(splits, row)
    return Stream(chars, starts, starts + 1, row), code_points
