"""The core-ops twin of every tokenizer: raw ``tf.string`` in, ids with character offsets out,
with no op outside core TensorFlow (no tensorflow-text), so a SavedModel holding it runs in any
TensorFlow runtime (stock TF Serving, a process that never imports tensorflow_text).

`CoreOpsTokenizer` is built, like `in_graph.InGraphTokenizer`, from the tokenizer's own
``graph_spec()`` (plain data) and reproduces its Python twin token for token:

- ``kind`` ``"wordpiece"`` or ``"character"`` with ``words``:
  ``"basic"`` (Google's basic tokenizer: control characters dropped -- Google's or HF's set --,
  whitespace and CJK splitting, lower-casing with the final sigma, NFD and accent stripping,
  punctuation splitting), ``"mecab"`` (NFKC, then MeCab's words from `lattice.MecabGraph` on
  the ``mecab_dic`` dictionary, each lower-cased alone) or ``"none"`` (the text is one word);
  then greedy longest-match-first WordPiece with ``##`` (vocabulary lookups of every
  substring a word could use, then one step per piece), or NFKC characters. Literal special
  tokens in ``specials`` are kept whole, and the text between them tokenized on its own, as
  `base.Tokenizer` does;
- ``kind`` ``"sentencepiece"``: `sentencepiece_graph.SentencePieceGraph` on the model's bytes,
  after lower-casing (``do_lower_case``).

Text is handled as code points (``tf.strings.unicode_decode``); every Unicode rule is a table
from `unicode_tables` (`core_unicode` applies them), so offsets are code point indices into
the original text -- what Python's ``str`` indexing gives -- and equal to the Python
tokenizer's ``tokenize_with_offsets`` offsets.
"""

from __future__ import annotations

import re

from jbert_tf2.backend import keras, tensorflow
from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization import unicode_tables as tables
from jbert_tf2.tokenization.core_unicode import (
    Stream,
    UnicodeTables,
    aligned_transform,
    first_of_context,
    lower_bound,
    shift_right,
    stream_from_texts,
)
from jbert_tf2.tokenization.graph_inputs import (
    SpecTwinConfig,
    missing_spec_keys,
    model_inputs,
    spec_kind,
    text_batch,
)

WORD_SPLITTERS = ("basic", "mecab", "none")
_PLACEHOLDER = re.compile(r"\[jbert-unused-line-(\d+)\]")
UNIDIC = "unidic_lite"


def check_spec(spec: dict) -> None:
    """Refuse a ``graph_spec()`` this twin cannot run, naming what is wrong and the fix."""
    kind = spec_kind(spec)
    missing = missing_spec_keys(spec, kind)
    words = spec.get("words", "basic")
    if kind != "sentencepiece" and words not in WORD_SPLITTERS:
        raise JbertError(f"graph_spec: words={words!r}; use one of {', '.join(WORD_SPLITTERS)}")
    if kind != "sentencepiece" and words == "mecab" and "mecab_dic" not in spec:
        missing.append("mecab_dic")
    if missing:
        raise JbertError(
            f"graph_spec (kind={kind!r}): missing {', '.join(missing)}; add them to the "
            "tokenizer's graph_spec() (see jbert_tf2.tokenization.core_ops)"
        )
    specials = spec.get("specials") or []
    for a in specials:
        for b in specials:
            if a != b and (a in b or any(b.startswith(a[k:]) for k in range(1, len(a)))):
                raise JbertError(
                    f"graph_spec: special tokens {a!r} and {b!r} can overlap in a text; the "
                    "in-graph twin keeps only special tokens that cannot (such as BERT's [CLS])"
                )


class _Traced:
    """The layer's graph functions (one batch of tf.string texts each), traced once. Kept
    out of the layer's attributes: a SavedModel saves only what its own signatures call,
    not every function a layer could run (`word_spans` of a ``"none"`` tokenizer would build
    unidic-lite's MeCab into every export)."""

    def __init__(self, **functions):
        tf = tensorflow()
        signature = [tf.TensorSpec([None], tf.string)]
        for name, function in functions.items():
            setattr(self, name, tf.function(function, input_signature=signature, autograph=False))


def _ragged(tf, values, rows, nrows):
    return tf.RaggedTensor.from_value_rowids(
        values, tf.cast(rows, tf.int64), nrows=nrows, validate=False
    )


def _segment_bounds(tf, context, count):
    """First and last index of each context id ``0..count-1`` (contexts are runs)."""
    positions = tf.range(tf.size(context))
    return (
        tf.math.unsorted_segment_min(positions, context, count),
        tf.math.unsorted_segment_max(positions, context, count),
    )


def _renumber(tf, starts_flags):
    """Context ids 0, 1, ... from "starts a new context" flags."""
    return tf.cumsum(tf.cast(starts_flags, tf.int32)) - 1


@keras.saving.register_keras_serializable(package="jbert_tf2")
class CoreOpsTokenizer(SpecTwinConfig, keras.layers.Layer):
    """tf.string texts -> ids with code point offsets, or padded model inputs; core ops only.

    Build it from a Python tokenizer (``CoreOpsTokenizer.from_tokenizer(tok, 128)``) or from
    its ``graph_spec()``. ``tokenize(texts)`` gives ragged int32 ``ids``, ``starts``,
    ``ends`` (code point offsets into each text) and ``word_index``; calling the layer gives
    ``input_ids``, ``input_mask``, ``segment_ids`` [batch, max_seq_length] as
    ``tok(texts, text_pairs, max_seq_length=...)`` does. Runs on the TensorFlow backend only.

    Args:
        spec: the tokenizer's ``graph_spec()``.
        max_seq_length: the padded width of the model inputs.
        mecab_graph: what splits MeCab words: anything with ``word_spans(code_points) ->
            ragged [batch, words, 2]``; default ``lattice.MecabGraph`` on ``spec["mecab_dic"]``
            (``words="mecab"``), or on unidic-lite for `word_spans` of ``words="none"`` and
            SentencePiece (built on first use).
        sentencepiece_graph: what splits SentencePiece pieces (``kind="sentencepiece"``);
            default ``sentencepiece_graph.SentencePieceGraph`` on ``spec["model_proto"]``.

    Examples:
        >>> layer = CoreOpsTokenizer.from_tokenizer(tok, max_seq_length=64)
        >>> layer.tokenize(tf.constant(["東京に行った。"]))["starts"]
    """

    def __init__(
        self,
        spec: dict,
        max_seq_length: int = 128,
        mecab_graph=None,
        sentencepiece_graph=None,
        **kwargs,
    ):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        if keras.backend.backend() != "tensorflow":
            raise JbertError(
                "CoreOpsTokenizer needs the TensorFlow backend (KERAS_BACKEND=tensorflow)"
            )
        check_spec(spec)
        self.spec = dict(spec)
        self.max_seq_length = int(max_seq_length)
        tf = tensorflow()
        kind = spec["kind"]
        self._kind = kind
        self._words = "pieces" if kind == "sentencepiece" else spec.get("words", "basic")
        tokens = list(spec["tokens"])
        self._cls, self._sep, self._unk = spec["cls_id"], spec["sep_id"], spec["unk_id"]
        real = [
            i
            for i, token in enumerate(tokens)
            if not ((m := _PLACEHOLDER.fullmatch(token)) and int(m.group(1)) == i + 1)
        ]
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant([tokens[i] for i in real], tf.string),
                tf.constant(real, tf.int64),
            ),
            default_value=-1,
        )
        self._unicode = UnicodeTables()
        self._mecab = mecab_graph
        if self._words == "mecab" and mecab_graph is None:
            self._mecab = _mecab_graph(spec["mecab_dic"])
        self._sentencepiece = sentencepiece_graph
        if kind == "sentencepiece" and sentencepiece_graph is None:
            from jbert_tf2.tokenization.sentencepiece_graph import SentencePieceGraph

            self._sentencepiece = SentencePieceGraph(spec["model_proto"])
        if kind != "sentencepiece":
            self._specials = [(t, tokens.index(t)) for t in spec["specials"]]
            self._lengths = self._wordpiece_lengths(tokens, real) if kind == "wordpiece" else None
            singles = sorted((ord(tokens[i]), i) for i in real if len(tokens[i]) == 1)
            self._char_keys = tf.constant([c for c, _ in singles] or [-1], tf.int32)
            self._char_ids = tf.constant([i for _, i in singles] or [self._unk], tf.int32)
        self._traced = _Traced(tokenize=self._tokenize, word_spans=self._word_spans)

    @staticmethod
    def _wordpiece_lengths(tokens, real) -> list[int]:
        """Every length (in code points, without ``##``) a vocabulary piece can have."""
        lengths = set()
        for i in real:
            token = tokens[i]
            lengths.add(len(token))
            if token.startswith("##") and len(token) > 2:
                lengths.add(len(token) - 2)
        return sorted(lengths)

    # Public ------------------------------------------------------------------------------

    def tokenize(self, texts) -> dict:
        """Ragged int32 [batch, tokens]: ``ids``, ``starts`` and ``ends`` (code point offsets
        into each text, as ``tokenize_with_offsets``), ``word_index`` (the word of the text
        each token belongs to: basic or MeCab words, special tokens one word each, the whole
        text for ``words="none"``, each piece for SentencePiece)."""
        tf = tensorflow()
        return self._traced.tokenize(text_batch(tf, texts, "texts"))

    def word_spans(self, texts):
        """Ragged int32 [batch, words, 2]: the code point spans of each text's words, as the
        Python tokenizer's ``word_spans(text)`` (MeCab with unidic-lite for ``words="none"``
        and SentencePiece)."""
        tf = tensorflow()
        if self._words in ("none", "pieces") and self._mecab is None:
            self._mecab = _mecab_graph(UNIDIC)
        return self._traced.word_spans(text_batch(tf, texts, "texts"))

    def call(self, texts, text_pairs=None):
        tf = tensorflow()
        a = self._traced.tokenize(text_batch(tf, texts, "texts"))["ids"]
        b = None
        if text_pairs is not None:
            b = self._traced.tokenize(text_batch(tf, text_pairs, "text_pairs"))["ids"]
        return model_inputs(tf, a, b, self._cls, self._sep, self.max_seq_length)

    def compute_output_spec(self, texts, text_pairs=None):
        shape = (texts.shape[0], self.max_seq_length)
        return {
            key: keras.KerasTensor(shape, dtype="int32")
            for key in ("input_ids", "input_mask", "segment_ids")
        }

    # The graph ---------------------------------------------------------------------------

    def _tokenize(self, texts):
        tf = tensorflow()
        batch = tf.shape(texts, out_type=tf.int64)[0]
        if self._kind == "sentencepiece":
            return self._sentencepiece_tokens(texts, batch)
        stream, _ = stream_from_texts(texts)
        parts = self._parts(stream)
        words, word_part = self._split_words(parts["text"], parts["count"])
        tokens = self._subwords(words)
        return self._assemble(parts, words, word_part, tokens, batch)

    def _word_spans(self, texts):
        tf = tensorflow()
        batch = tf.shape(texts, out_type=tf.int64)[0]
        stream, _ = stream_from_texts(texts)
        if self._words in ("none", "pieces"):
            words, word_text = mecab_words(self._unicode, stream, batch, self._mecab, lower=False)
        else:
            words, word_text = self._split_words(stream, tf.cast(batch, tf.int32))
        return disjoint_word_spans(words, word_text, batch)

    def _parts(self, stream: Stream) -> dict:
        """Each text cut at its literal special tokens (``specials``): the text parts as one
        stream (context = part), and the special tokens with their part and span."""
        tf = tensorflow()
        chars, row = stream.chars, stream.context
        n = tf.size(chars)
        found = tf.zeros([n], tf.bool)
        special_id = tf.fill([n], -1)
        ends_here = tf.zeros([n], tf.bool)
        special_end = tf.zeros([n], tf.int32)
        for token, token_id in self._specials:
            code_points = [ord(c) for c in token]
            match = tf.ones([n], tf.bool)
            for k, cp in enumerate(code_points):
                shifted = tf.concat([chars[k:], tf.fill([tf.minimum(k, n)], -1)], 0)
                same_row = tf.concat([row[k:], tf.fill([tf.minimum(k, n)], -1)], 0)
                match &= tf.equal(shifted, cp) & tf.equal(same_row, row)
            found |= match
            special_id = tf.where(match, token_id, special_id)
            length = len(code_points)
            last = tf.concat([tf.zeros([tf.minimum(length - 1, n)], tf.bool), match], 0)[:n]
            ends_here |= last
            special_end = tf.where(match, stream.starts + length, special_end)
        inside = tf.cumsum(tf.cast(found, tf.int32)) - tf.cumsum(
            tf.cast(ends_here, tf.int32), exclusive=True
        )
        after_special = shift_right(ends_here, False)
        new_part = first_of_context(row) | found | after_special
        part = _renumber(tf, new_part)
        count = tf.reduce_sum(tf.cast(new_part, tf.int32))
        text = Stream(stream.chars, stream.starts, stream.ends, part).where(tf.equal(inside, 0))
        return {
            "text": text,
            "count": count,
            "row": tf.boolean_mask(row, new_part),
            "special_part": tf.boolean_mask(part, found),
            "special_id": tf.boolean_mask(special_id, found),
            "special_start": tf.boolean_mask(stream.starts, found),
            "special_end": tf.boolean_mask(special_end, found),
        }

    def _split_words(self, stream: Stream, count):
        """Words of each context of ``stream`` by the spec's word splitter: (a stream whose
        context is the word, each word's context in ``stream``)."""
        if self._words == "basic":
            return self._basic_words(stream)
        if self._words == "mecab":
            return mecab_words(
                self._unicode, stream, count, self._mecab, self.spec["do_lower_case"]
            )
        tf = tensorflow()
        present = tf.math.unsorted_segment_max(tf.ones_like(stream.context), stream.context, count)
        word_part = tf.cast(tf.where(present > 0)[:, 0], tf.int32)
        return Stream(*stream.fields()[:3], _renumber(tf, first_of_context(stream.context))), (
            word_part
        )

    def _basic_words(self, stream: Stream):
        """Google's basic tokenizer on each context, as `basic.BasicWordSplitter` chunk by chunk."""
        tf = tensorflow()
        u = self._unicode
        hf = self.spec["hf_control_chars"]
        removed_bit = tables.REMOVED_HF if hf else tables.REMOVED
        separator_bit = tables.SEPARATOR_HF if hf else tables.SEPARATOR
        props = u.properties(stream.chars)
        separator = tf.not_equal(tf.bitwise.bitwise_and(props, separator_bit), 0)
        cjk = tf.not_equal(tf.bitwise.bitwise_and(props, tables.CJK), 0)
        removed = tf.not_equal(tf.bitwise.bitwise_and(props, removed_bit), 0)
        start = first_of_context(stream.context)
        previous_breaks = shift_right(separator | cjk, True)
        new_chunk = ~separator & (start | previous_breaks | cjk)
        chunk = _renumber(tf, new_chunk)
        chunk_part = tf.boolean_mask(stream.context, new_chunk)
        chunks = Stream(stream.chars, stream.starts, stream.ends, chunk).where(
            ~separator & ~removed
        )
        if self.spec["do_lower_case"]:
            chunks = aligned_transform(u, chunks, lower=True, decompose="NFD", strip_marks=True)
        props = u.properties(chunks.chars)
        gap = tf.not_equal(tf.bitwise.bitwise_and(props, separator_bit), 0)
        punct = tf.not_equal(tf.bitwise.bitwise_and(props, tables.PUNCTUATION), 0)
        start = first_of_context(chunks.context)
        previous = shift_right(gap | punct, True)
        new_word = ~gap & (start | previous | punct)
        word = _renumber(tf, new_word)
        word_part = tf.gather(chunk_part, tf.boolean_mask(chunks.context, new_word))
        words = Stream(chunks.chars, chunks.starts, chunks.ends, word).where(~gap)
        return words, word_part

    def _subwords(self, words: Stream) -> dict:
        """Flat tokens of ``words`` in order: ``ids``, ``starts``, ``ends``, ``word``."""
        if self._kind == "wordpiece":
            return self._wordpiece(words)
        tf = tensorflow()
        chars = aligned_transform(self._unicode, words, decompose="NFKD", compose=True)
        size = tf.size(self._char_keys)
        index = tf.minimum(lower_bound(self._char_keys, chars.chars), size - 1)
        hit = tf.equal(tf.gather(self._char_keys, index), chars.chars)
        ids = tf.where(hit, tf.gather(self._char_ids, index), self._unk)
        return {"ids": ids, "starts": chars.starts, "ends": chars.ends, "word": chars.context}

    def _wordpiece(self, words: Stream) -> dict:
        """`subword.WordpieceSplitter` on every word at once: words split at whitespace into
        runs; each run's every (start, length) substring looked up (``##`` after the first
        character); then a loop taking the longest piece at each run's position."""
        tf = tensorflow()
        u = self._unicode
        space = u.has(words.chars, tables.WHITESPACE)
        start = first_of_context(words.context)
        previous_space = shift_right(space, True)
        new_run = ~space & (start | previous_space)
        run = _renumber(tf, new_run)
        run_word = tf.boolean_mask(words.context, new_run)
        runs = Stream(words.chars, words.starts, words.ends, run).where(~space)
        count = tf.size(run_word)
        n = tf.size(runs.chars)
        first, last = _segment_bounds(tf, runs.context, count)
        run_length = last - first + 1
        limit = self.spec["max_chars_per_word"]
        position = tf.range(n)
        local = position - tf.gather(first, runs.context)
        remaining = tf.gather(last, runs.context) - position + 1
        # every (position, length) substring a piece could be, in runs within the limit (a
        # longer run is unknown whole), each built from its own code points only
        lengths = tf.constant(self._lengths, tf.int32)
        short = tf.gather(run_length <= limit, runs.context)
        valid = (lengths[None, :] <= remaining[:, None]) & short[:, None]
        begin, which = (tf.cast(t, tf.int32) for t in tf.unstack(tf.where(valid), num=2, axis=1))
        size = tf.gather(lengths, which)
        spans = tf.ragged.range(begin, begin + size)
        code_points = spans.with_flat_values(tf.gather(runs.chars, spans.flat_values))
        pieces = tf.strings.unicode_encode(code_points, "UTF-8")
        pieces = tf.where(tf.gather(local, begin) > 0, tf.strings.join(["##", pieces]), pieces)
        found = tf.cast(self._table.lookup(pieces), tf.int32)
        hit = found >= 0
        best_length = tf.maximum(tf.math.unsorted_segment_max(tf.where(hit, size, 0), begin, n), 0)
        best = hit & tf.equal(size, tf.gather(best_length, begin))
        best_id = tf.math.unsorted_segment_max(tf.where(best, found, -1), begin, n)

        candidates = tf.cast(tf.where(run_length <= limit)[:, 0], tf.int32)
        array = tf.TensorArray(tf.int32, size=0, dynamic_size=True, infer_shape=False)
        array = array.write(0, tf.zeros([0], tf.int32))  # concat needs one element

        def step(i, active, at, failed, out):
            length = tf.gather(best_length, at)
            fails = tf.equal(length, 0)
            failed = tf.tensor_scatter_nd_update(
                failed, tf.boolean_mask(active, fails)[:, None], tf.boolean_mask(fails, fails)
            )
            ok = ~fails
            out = out.write(i, tf.boolean_mask(at, ok))
            nxt = at + length
            more = ok & (nxt <= tf.gather(last, active))
            return i + 1, tf.boolean_mask(active, more), tf.boolean_mask(nxt, more), failed, out

        _, _, _, failed, out = tf.while_loop(
            lambda i, active, *_: tf.size(active) > 0,
            step,
            (1, candidates, tf.gather(first, candidates), tf.zeros([count], tf.bool), array),
            shape_invariants=(
                tf.TensorShape([]),
                tf.TensorShape([None]),
                tf.TensorShape([None]),
                tf.TensorShape([None]),
                tf.TensorShape(None),
            ),
        )
        at = tf.reshape(out.concat(), [-1])
        at = tf.boolean_mask(at, ~tf.gather(failed, tf.gather(runs.context, at)))
        unknown = tf.cast(tf.where((run_length > limit) | failed)[:, 0], tf.int32)
        piece_start = tf.concat([at, tf.gather(first, unknown)], 0)
        order = tf.argsort(piece_start, stable=True)
        piece_start = tf.gather(piece_start, order)
        is_unknown = tf.gather(
            tf.concat([tf.zeros_like(at, tf.bool), tf.ones_like(unknown, tf.bool)], 0), order
        )
        piece_end = tf.where(
            is_unknown,
            tf.gather(last, tf.gather(runs.context, piece_start)),
            piece_start + tf.gather(best_length, piece_start) - 1,
        )
        ids = tf.where(is_unknown, self._unk, tf.gather(best_id, piece_start))
        return {
            "ids": ids,
            "starts": tf.gather(runs.starts, piece_start),
            "ends": tf.gather(runs.ends, piece_end),
            "word": tf.gather(run_word, tf.gather(runs.context, piece_start)),
        }

    def _assemble(self, parts: dict, words: Stream, word_part, tokens: dict, batch) -> dict:
        """Text tokens and special tokens in text order, as ragged [batch, tokens]; each
        token's word numbered within its text."""
        tf = tensorflow()
        text_words = tf.size(word_part)
        special_words = tf.size(parts["special_part"])
        # every word (text words, then special tokens) ordered by its part; stable keeps the
        # text words of a part in order.
        word_keys = tf.concat([word_part, parts["special_part"]], 0)
        order = tf.argsort(word_keys, stable=True)
        rank = tf.math.invert_permutation(order)
        word_row = tf.gather(parts["row"], tf.gather(word_keys, order))
        first, last = _segment_bounds(tf, words.context, text_words)
        word_start = tf.concat([tf.gather(words.starts, first), parts["special_start"]], 0)
        word_end = tf.concat([tf.gather(words.ends, last), parts["special_end"]], 0)
        word_start, word_end = tf.gather(word_start, order), tf.gather(word_end, order)
        previous_end = shift_right(word_end, 0)
        new_word = first_of_context(word_row) | (word_start >= previous_end)
        merged = tf.cumsum(tf.cast(new_word, tf.int32)) - 1
        row_first = tf.math.unsorted_segment_min(merged, word_row, tf.cast(batch, tf.int32))
        word_number = merged - tf.gather(row_first, word_row)

        token_word = tf.concat(
            [
                tf.gather(rank, tokens["word"]),
                tf.gather(rank, text_words + tf.range(special_words)),
            ],
            0,
        )
        token_order = tf.argsort(token_word, stable=True)
        token_word = tf.gather(token_word, token_order)

        def ordered(text_values, special_values):
            return tf.gather(tf.concat([text_values, special_values], 0), token_order)

        values = {
            "ids": ordered(tokens["ids"], parts["special_id"]),
            "starts": ordered(tokens["starts"], parts["special_start"]),
            "ends": ordered(tokens["ends"], parts["special_end"]),
            "word_index": tf.gather(word_number, token_word),
        }
        rows = tf.gather(word_row, token_word)
        return {key: _ragged(tf, value, rows, batch) for key, value in values.items()}

    def _sentencepiece_tokens(self, texts, batch) -> dict:
        """SentencePiece pieces (after ``str.lower`` when ``do_lower_case``, spans mapped back
        through it), ids from the vocabulary (``<unk>``, id 0, for pieces it lacks)."""
        tf = tensorflow()
        starts = ends = None
        if self.spec["do_lower_case"]:
            stream, _ = stream_from_texts(texts)
            lowered = aligned_transform(self._unicode, stream, lower=True)
            texts = tf.strings.unicode_encode(
                _ragged(tf, lowered.chars, lowered.context, batch), "UTF-8"
            )
            starts = _ragged(tf, lowered.starts, lowered.context, batch)
            ends = _ragged(tf, lowered.ends, lowered.context, batch)
        found = self._sentencepiece.pieces(texts, starts, ends)
        pieces = found.pieces
        ids = tf.cast(self._table.lookup(pieces.flat_values), tf.int32)
        ids = tf.where(ids < 0, self._unk, ids)
        rows = tf.cast(pieces.value_rowids(), tf.int32)
        word = tf.range(tf.size(rows)) - tf.gather(tf.cast(pieces.row_splits, tf.int32), rows)
        values = {
            "ids": ids,
            "starts": tf.cast(found.starts.flat_values, tf.int32),
            "ends": tf.cast(found.ends.flat_values, tf.int32),
            "word_index": word,
        }
        return {key: _ragged(tf, value, rows, batch) for key, value in values.items()}


def mecab_words(unicode: UnicodeTables, stream: Stream, count, mecab, lower: bool):
    """NFKC of each context of ``stream``, MeCab's words on it (``mecab.word_spans``), each
    word lower-cased alone (``lower``), as `mecab.MecabWordSplitter`: (a stream whose context
    is the word, each word's context in ``stream``)."""
    tf = tensorflow()
    normal = aligned_transform(unicode, stream, decompose="NFKD", compose=True)
    code_points = _ragged(tf, normal.chars, normal.context, tf.cast(count, tf.int64))
    spans = tf.cast(mecab.word_spans(code_points), tf.int32)
    word_part = tf.cast(spans.value_rowids(), tf.int32)
    flat = spans.flat_values
    offsets = tf.cast(code_points.row_splits, tf.int32)
    first = flat[:, 0] + tf.gather(offsets, word_part)
    lengths = flat[:, 1] - flat[:, 0]
    keep = lengths > 0
    first, lengths, word_part = (tf.boolean_mask(t, keep) for t in (first, lengths, word_part))
    index = tf.ragged.range(first, first + lengths)
    words = normal.gather(index.flat_values)
    words = Stream(*words.fields()[:3], tf.cast(index.value_rowids(), tf.int32))
    if lower:
        words = aligned_transform(unicode, words, lower=True)
    return words, word_part


def disjoint_word_spans(words: Stream, word_text, batch):
    """Ragged int32 [batch, words, 2]: each word's original span, words that overlap (NFKC
    makes several of one character: '…' -> '...') merged, as `text.disjoint_spans`."""
    tf = tensorflow()
    count = tf.size(word_text)
    first, last = _segment_bounds(tf, words.context, count)
    starts, ends = tf.gather(words.starts, first), tf.gather(words.ends, last)
    previous_end = shift_right(ends, 0)
    new = first_of_context(word_text) | (starts >= previous_end)
    group = _renumber(tf, new)
    groups = tf.reduce_sum(tf.cast(new, tf.int32))
    spans = tf.stack(
        [
            tf.math.unsorted_segment_min(starts, group, groups),
            tf.math.unsorted_segment_max(ends, group, groups),
        ],
        axis=1,
    )
    return _ragged(tf, spans, tf.boolean_mask(word_text, new), batch)


@keras.saving.register_keras_serializable(package="jbert_tf2")
class UnidicWordSplitter(keras.layers.Layer):
    """tf.string texts -> ragged int32 [batch, words, 2]: MeCab + unidic-lite short units, as
    `mecab.unidic_word_spans` (the words a tagger labels with ``word_splitter="unidic"``).

    Args:
        mecab_graph: the MeCab splitter (default ``lattice.MecabGraph`` on unidic-lite).

    Examples:
        >>> UnidicWordSplitter()(tf.constant(["東京に行った。"]))
    """

    def __init__(self, mecab_graph=None, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self._unicode = UnicodeTables()
        self._mecab = mecab_graph if mecab_graph is not None else _mecab_graph(UNIDIC)
        self._traced = _Traced(word_spans=self._spans)

    def word_spans(self, texts):
        """The word spans of each text (code point offsets)."""
        return self._traced.word_spans(text_batch(tensorflow(), texts, "texts"))

    def call(self, texts):
        return self.word_spans(texts)

    def _spans(self, texts):
        tf = tensorflow()
        batch = tf.shape(texts, out_type=tf.int64)[0]
        stream, _ = stream_from_texts(texts)
        words, word_text = mecab_words(self._unicode, stream, batch, self._mecab, lower=False)
        return disjoint_word_spans(words, word_text, batch)


_MECAB_GRAPHS: dict = {}


def _mecab_graph(mecab_dic: str):
    """`lattice.MecabGraph` on an installed MeCab dictionary; built once per process (its
    tables are read-only, and reading a dictionary takes seconds), eagerly."""
    tf = tensorflow()
    graph = _MECAB_GRAPHS.get(mecab_dic)
    if graph is None:
        from jbert_tf2.tokenization.lattice import MecabGraph
        from jbert_tf2.tokenization.mecab_dictionary import read_mecab_dictionary

        with tf.init_scope():
            graph = MecabGraph(read_mecab_dictionary(mecab_dic))
        _MECAB_GRAPHS[mecab_dic] = graph
    return graph
