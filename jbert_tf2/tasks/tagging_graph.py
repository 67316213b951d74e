"""`GraphTagger`: `TaggingPipeline`'s way from raw text to entities, in TensorFlow ops, so a
served tagger answers raw text with the entities `TokenClassifier.predict_entities` returns.

The same steps as the Python pipeline, on a whole batch at once:

1. words: each text's word spans (code points), from an in-graph word splitter
   (``word_spans(texts)``: MeCab + unidic-lite short units, or the tokenizer's own words);
2. sub-tokens: each word tokenized alone, as `WordTokenizer` does (``tokenize(words)["ids"]``);
3. windows: runs of words that fit ``max_seq_length`` (a scan with `TaggingPipeline.windows`'
   rule: a word that would overflow the window starts the next one; a word longer than a
   window by itself is alone and untagged), one ``[CLS] ... [SEP]`` row each;
4. the model on the windows; each word's scores at its first sub-token, log-softmax in float64;
5. Viterbi per window with the scheme's rules (`tagging.viterbi_rules`: allowed transitions,
   first and last labels; ties to the lower label index, as `tagging.viterbi_decode`);
6. the words' tags read as `tagging.spans` reads them (non-strict: `tagging.OPENS` /
   `tagging.CONTINUES`), which gives the entities of the repaired sequence, as character spans.

The word splitter and the tokenizer are any objects with those two methods: the core-ops twins
(`jbert_tf2.tokenization.core_ops.CoreOpsTokenizer`) in an export.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

import jbert_tf2.tasks.tagging as tagging
from jbert_tf2.backend import tensorflow
from jbert_tf2.errors import JbertError

NO_ENTITY = -1  # start / end of the padding past a text's entities

# Codes of the prefixes in the graph (BILOU's L / U read as E / S, `tagging.label_parts`).
_PREFIX_CODES = {"O": 0, "B": 1, "I": 2, "E": 3, "S": 4}


class SplitsWords(Protocol):
    def word_spans(self, texts) -> Any:
        """ragged int32 [batch, words, 2]: code point spans of each text's words."""


class TokenizesWords(Protocol):
    def tokenize(self, texts) -> dict:
        """``{"ids": ragged int32 [batch, tokens], ...}`` of each text alone."""


def first_argmax(tf, values, axis: int):
    """The lowest index of the maximum along ``axis`` (numpy's ``argmax``: ties to the lower
    index, which `tagging.viterbi_decode` relies on)."""
    top = tf.reduce_max(values, axis=axis, keepdims=True)
    size = tf.shape(values)[axis]
    shape = [1] * len(values.shape)
    shape[axis] = -1
    index = tf.reshape(tf.range(size), shape)
    return tf.reduce_min(tf.where(values == top, index, size), axis=axis)


def viterbi(tf, scores, lengths, allowed: np.ndarray, first_ok: np.ndarray, last_ok: np.ndarray):
    """`tagging.viterbi_decode` on a padded batch: ``scores`` float64 [rows, steps, labels]
    (log-probabilities), ``lengths`` int32 [rows] -> label indices int32 [rows, steps]
    (0 past each row's length)."""
    neg_inf = tf.constant(-np.inf, tf.float64)
    scores = tf.maximum(tf.cast(scores, tf.float64), tagging.LOG_PROB_FLOOR)
    scores = tf.pad(scores, [[0, 0], [0, 1], [0, 0]])  # one step at least; past every length
    steps = tf.shape(scores)[1]
    transition = tf.where(tf.constant(allowed), tf.constant(0.0, tf.float64), neg_inf)
    best = tf.where(tf.constant(first_ok)[None, :], scores[:, 0], neg_inf)
    rows = tf.shape(scores)[0]
    pointers = tf.TensorArray(tf.int32, size=steps, element_shape=[None, len(first_ok)])
    pointers = pointers.write(0, tf.zeros([rows, len(first_ok)], tf.int32))

    def forward(step, best, pointers):
        candidates = best[:, :, None] + transition[None]  # [rows, from, to]
        came_from = first_argmax(tf, candidates, axis=1)
        reached = tf.reduce_max(candidates, axis=1) + scores[:, step]
        best = tf.where((step < lengths)[:, None], reached, best)
        return step + 1, best, pointers.write(step, came_from)

    _, best, pointers = tf.while_loop(
        lambda step, *_: step < steps, forward, (tf.constant(1), best, pointers)
    )
    pointers = pointers.stack()  # [steps, rows, labels]
    current = first_argmax(tf, tf.where(tf.constant(last_ok)[None, :], best, neg_inf), axis=1)
    path = tf.TensorArray(tf.int32, size=steps, element_shape=[None])

    def backward(step, current, path):
        active = step < lengths
        path = path.write(step, tf.where(active, current, 0))
        previous = tf.gather(pointers[step], current, batch_dims=1)
        return step - 1, tf.where(active, previous, current), path

    _, current, path = tf.while_loop(
        lambda step, *_: step > 0, backward, (steps - 1, current, path)
    )
    path = path.write(0, tf.where(lengths > 0, current, 0))
    return tf.transpose(path.stack())[:, :-1]


def window_of_words(tf, sizes, first_in_text, room: int):
    """Each word's window index (int32, counting from 0 over the batch) by
    `TaggingPipeline.windows`' rule: a word starts a new window when it begins its text, or
    when the window has words and its ``sizes`` (sub-tokens) would pass ``room``."""

    def step(state, word):
        used, count, window = state
        size, first = word
        new = first | ((used + size > room) & (count > 0))
        return (
            tf.where(new, size, used + size),
            tf.where(new, 1, count + 1),
            window + tf.cast(new, tf.int32),
        )

    start = (tf.constant(0), tf.constant(0), tf.constant(-1))
    return tf.scan(step, (sizes, first_in_text), initializer=start)[2]


class GraphTagger:
    """A `TokenClassifier`'s raw texts -> entities in the graph (see the module docstring).

    Args:
        task: the tagger (labels, scheme, ``max_seq_length``, the model).
        tokenizer: in-graph twin of the tagger's tokenizer (``tokenize``).
        word_splitter: in-graph twin of its word splitter (``word_spans``).

    Calling it on a tf.string [batch] returns padded [batch, entities] ``text``, ``label``
    (strings, "" past the text's entities), ``start``, ``end`` (int32 code point offsets into
    the text, -1 past them) and ``num_entities`` [batch].
    """

    def __init__(self, task, tokenizer: TokenizesWords, word_splitter: SplitsWords):
        self.task = task
        self.tokenizer = tokenizer
        self.word_splitter = word_splitter
        vocab_ids = task.require_tokenizer().graph_vocabulary()
        self.cls_id, self.sep_id = int(vocab_ids["cls_id"]), int(vocab_ids["sep_id"])
        self.room = int(task.max_seq_length) - 2
        labels = list(task.labels)
        self.rules = tagging.viterbi_rules(labels, task.scheme)
        parts = tagging.label_parts(labels)
        kinds = sorted({kind for _, kind in parts})
        self.prefix_codes = np.array([_PREFIX_CODES[p] for p, _ in parts], np.int32)
        self.kind_ids = np.array([kinds.index(kind) for _, kind in parts], np.int32)
        self.kind_names = kinds
        self.outside = labels.index("O")

    def __call__(self, texts) -> dict:
        tf = tensorflow()
        texts = tf.convert_to_tensor(texts, tf.string)
        text_of_word, starts, ends = self._words(tf, texts)
        words = tf.strings.substr(
            tf.gather(texts, text_of_word), starts, ends - starts, unit="UTF8_CHAR"
        )
        pieces = self.tokenizer.tokenize(words)["ids"]
        tags = self._tags(tf, pieces, text_of_word)
        return self._entities(tf, texts, tags, text_of_word, starts, ends)

    def _words(self, tf, texts):
        """Flat over the batch: each word's text index, start and end (empty words dropped)."""
        spans = self.word_splitter.word_spans(texts)
        values = spans.values
        if isinstance(values, tf.RaggedTensor):
            values = values.to_tensor(shape=[None, 2])
        values = tf.cast(tf.reshape(values, [-1, 2]), tf.int32)
        text_of_word = tf.cast(spans.value_rowids(), tf.int32)
        keep = values[:, 1] > values[:, 0]
        values = tf.boolean_mask(values, keep)
        return tf.boolean_mask(text_of_word, keep), values[:, 0], values[:, 1]

    def _tags(self, tf, pieces, text_of_word):
        """Each word's label index: the Viterbi path of its window, "O" where no window labels
        it (no sub-tokens, or longer than a window by itself)."""
        sizes = tf.cast(pieces.row_lengths(), tf.int32)
        first_in_text = tf.concat(
            [tf.ones([1], tf.bool)[: tf.size(text_of_word)], text_of_word[1:] != text_of_word[:-1]],
            axis=0,
        )
        window = window_of_words(tf, sizes, first_in_text, self.room)
        windows = tf.reduce_max(tf.concat([[-1], window], axis=0)) + 1
        kept = sizes <= self.room
        kept_sizes = tf.where(kept, sizes, 0)
        tokens = tf.ragged.boolean_mask(pieces, kept).flat_values
        token_window = tf.repeat(tf.boolean_mask(window, kept), tf.boolean_mask(sizes, kept))
        rows = tf.RaggedTensor.from_value_rowids(
            tf.cast(tokens, tf.int32), token_window, nrows=windows
        )
        cls = tf.fill([windows, 1], self.cls_id)
        sep = tf.fill([windows, 1], self.sep_id)
        rows = tf.concat([cls, rows, sep], axis=1)
        width = tf.maximum(tf.cast(rows.bounding_shape()[1], tf.int32), 2)  # [CLS] [SEP]
        shape = tf.stack([windows, width])
        inputs = {
            "input_ids": rows.to_tensor(0, shape=shape),
            "input_mask": tf.ones_like(rows).to_tensor(0, shape=shape),
            "segment_ids": tf.zeros(shape, tf.int32),
        }
        logits = self.task(inputs, training=False)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float64), axis=-1)

        first_token = tf.cumsum(kept_sizes, exclusive=True)  # in the batch's kept tokens
        row_start = tf.cast(rows.row_starts(), tf.int32) - 2 * tf.range(windows)
        position = 1 + first_token - tf.gather(row_start, window)
        labeled = kept & (sizes > 0)
        labeled_window = tf.boolean_mask(window, labeled)
        where = tf.stack([labeled_window, tf.boolean_mask(position, labeled)], axis=1)
        scores = tf.RaggedTensor.from_value_rowids(
            tf.gather_nd(log_probs, where), labeled_window, nrows=windows
        )
        lengths = tf.cast(scores.row_lengths(), tf.int32)
        path = viterbi(tf, scores.to_tensor(), lengths, *self.rules)
        decoded = tf.RaggedTensor.from_tensor(path, lengths=lengths).flat_values
        outside = tf.fill(tf.shape(sizes), self.outside)
        return tf.tensor_scatter_nd_update(outside, tf.where(labeled), decoded)

    def _entities(self, tf, texts, tags, text_of_word, starts, ends):
        """The non-strict reading of the words' tags, as padded entity tensors per text."""
        prefix = tf.gather(self.prefix_codes, tags)
        kind = tf.gather(self.kind_ids, tags)
        first_in_text = tf.concat(
            [tf.ones([1], tf.bool)[: tf.size(tags)], text_of_word[1:] != text_of_word[:-1]],
            axis=0,
        )
        before = tf.concat([[_PREFIX_CODES["O"]], prefix[:-1]], axis=0)[: tf.size(prefix)]
        kind_before = tf.concat([[-1], kind[:-1]], axis=0)[: tf.size(kind)]
        opens = tf.reduce_any(before[:, None] == [_PREFIX_CODES[p] for p in tagging.OPENS], axis=1)
        continuing = tf.reduce_any(
            prefix[:, None] == [_PREFIX_CODES[p] for p in tagging.CONTINUES], axis=1
        )
        continues = ~first_in_text & opens & continuing & (kind == kind_before)
        inside = prefix != _PREFIX_CODES["O"]
        begins = inside & ~continues
        entity = tf.cumsum(tf.cast(begins, tf.int32)) - 1
        count = tf.reduce_sum(tf.cast(begins, tf.int32))
        first_word = tf.cast(tf.where(begins)[:, 0], tf.int32)
        last_word = tf.math.unsorted_segment_max(
            tf.boolean_mask(tf.range(tf.size(tags)), inside),
            tf.boolean_mask(entity, inside),
            count,
        )
        text_index = tf.gather(text_of_word, first_word)
        start = tf.gather(starts, first_word)
        end = tf.gather(ends, last_word)
        found = {
            "text": tf.strings.substr(
                tf.gather(texts, text_index), start, end - start, unit="UTF8_CHAR"
            ),
            "label": tf.gather(tf.constant(self.kind_names), tf.gather(kind, first_word)),
            "start": start,
            "end": end,
        }
        batch = tf.size(texts)
        padding = {"text": "", "label": "", "start": NO_ENTITY, "end": NO_ENTITY}
        outputs = {
            key: tf.RaggedTensor.from_value_rowids(values, text_index, nrows=batch).to_tensor(
                padding[key]
            )
            for key, values in found.items()
        }
        outputs["num_entities"] = tf.math.bincount(
            text_index, minlength=batch, maxlength=batch, dtype=tf.int32
        )
        return outputs


def graph_tagger(task) -> GraphTagger | None:
    """A tagger's `GraphTagger` on core-ops twins: its tokenizer's (`CoreOpsTokenizer`), and
    for words MeCab + unidic-lite (``word_splitter="unidic"``, `UnidicWordSplitter`) or the
    tokenizer's own. Both twins use one unidic-lite lattice per process, so a SavedModel
    holds that dictionary once. None when the tagger has no tokenizer or its tokenizer class
    no in-graph description (``graph_spec``)."""
    from jbert_tf2.tokenization.core_ops import CoreOpsTokenizer, UnidicWordSplitter

    try:
        spec = task.require_tokenizer().graph_spec()
    except JbertError:
        return None
    tokenizer = CoreOpsTokenizer(spec, max_seq_length=task.max_seq_length)
    words = tokenizer if task.word_splitter == "tokenizer" else UnidicWordSplitter()
    return GraphTagger(task, tokenizer, words)


def entities_from_outputs(outputs: dict) -> list[list[dict]]:
    """A ``predict_entities`` signature's outputs as `TokenClassifier.predict_entities`'
    lists of ``{"text", "label", "start", "end"}``."""
    counts = np.asarray(outputs["num_entities"])
    found = []
    for row, count in enumerate(counts):
        entities = []
        for k in range(int(count)):
            text, label = (np.asarray(outputs[key])[row, k] for key in ("text", "label"))
            entities.append(
                {
                    "text": text.decode() if isinstance(text, bytes) else str(text),
                    "label": label.decode() if isinstance(label, bytes) else str(label),
                    "start": int(np.asarray(outputs["start"])[row, k]),
                    "end": int(np.asarray(outputs["end"])[row, k]),
                }
            )
        found.append(entities)
    return found
