"""In-graph twins of the tokenizers, on tensorflow-text: raw ``tf.string`` in, model inputs out.

`InGraphTokenizer` is a Keras layer that turns a batch of strings (and optionally a batch of
second texts) into ``input_ids``, ``input_mask`` and ``segment_ids`` exactly as the Python
tokenizer's ``tok(texts, max_seq_length=...)`` does, so a SavedModel can take raw text. It is
built from plain data, the tokenizer's ``graph_spec()``, and knows no tokenizer class:

- every kind: ``tokens`` (the vocabulary, index = id), ``cls_id``, ``sep_id``, ``unk_id``,
  ``do_lower_case`` and ``kind``;
- ``kind="wordpiece"`` or ``"character"`` (Google's basic words, then WordPiece or NFKC
  characters): ``max_chars_per_word``, ``hf_control_chars`` (HF's wider control-character
  removal) and ``specials`` (special tokens kept whole);
- ``kind="sentencepiece"``: ``model_proto``, the SentencePiece model's bytes.

It mirrors each rule with graph ops: Google's control-character removal, lower-casing (ICU,
which applies Python's context rules such as the final sigma), NFD and accent stripping,
whitespace / CJK / punctuation splitting with regular expressions over the same character
classes, the 200-character word limit, WordPiece (`WordpieceTokenizer`), NFKC characters, and
SentencePiece (`SentencepieceTokenizer` on the same model). tensorflow-text has no MeCab, so
a spec with ``words`` other than ``"basic"`` (MeCab, none) is refused here: the core-ops twin
(`core_ops.CoreOpsTokenizer`) runs every configuration, with character offsets.

Offsets are not produced in this graph (tensorflow-text reports UTF-8 byte offsets); the
core-ops twin gives them.
"""

from __future__ import annotations

import functools
import re
from types import ModuleType

from jbert_tf2.backend import keras, tensorflow
from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.char_classes import CJK_RANGES, char_classes, re2_class
from jbert_tf2.tokenization.graph_inputs import (
    SpecTwinConfig,
    missing_spec_keys,
    model_inputs,
    spec_kind,
    text_batch,
)
from jbert_tf2.tokenization.graph_inputs import truncated_pair_lengths as truncated_pair_lengths

_CJK = re2_class(list(CJK_RANGES))


def _tensorflow_text() -> ModuleType:
    """tensorflow-text, imported after TensorFlow has come through `jbert_tf2.backend`."""
    tensorflow()
    try:
        import tensorflow_text
    except ImportError:
        raise JbertError(
            "in-graph tokenizers need tensorflow-text: pip install tensorflow-text "
            "(the release matching your TensorFlow)"
        ) from None
    return tensorflow_text


def _check_spec(spec: dict) -> None:
    """Refuse a ``graph_spec()`` that lacks what its kind needs, naming the missing keys."""
    kind = spec_kind(spec)
    if spec.get("words", "basic") != "basic":
        raise JbertError(
            f"graph_spec: words={spec['words']!r} has no tensorflow-text twin (MeCab is not a "
            "tensorflow-text op); use the core-ops twin, CoreOpsTokenizer (jbert-export --ops core)"
        )
    missing = missing_spec_keys(spec, kind)
    if missing:
        raise JbertError(
            f"graph_spec (kind={kind!r}): missing {', '.join(missing)}; add them to the "
            "tokenizer's graph_spec() (see jbert_tf2.tokenization.in_graph)"
        )


@functools.cache
def _re2_classes(hf_control_chars: bool) -> dict[str, str]:
    """Google's (or HF's) character classes as RE2 classes, from Python's `unicodedata`."""
    ranges = char_classes(hf_control_chars).ranges
    return {
        "removed": re2_class(ranges["removed"]),
        "separators": re2_class(ranges["separators"]),
        "punctuation": re2_class(ranges["punctuation"]),
        "marks": re2_class(ranges["nonspacing_marks"]),
    }


def _rows_where(tf, condition, whole, split):
    """Per row of ``split`` (ragged [n, k]): ``[whole[i]]`` where ``condition[i]``, else the row."""
    kept = tf.ragged.boolean_mask(split, tf.ones_like(split, dtype=tf.bool) & ~condition[:, None])
    single = tf.ragged.boolean_mask(whole[:, None], condition[:, None])
    return tf.concat([kept, single], axis=1)


def _lower(tf, texts):
    """Python's ``str.lower`` in the graph. ICU stops at a NUL character, so the text is
    lower-cased piece by piece between NULs and joined back with them."""
    nul = tf.constant("\x00")
    parts = tf.strings.lower(tf.strings.split(texts, nul), encoding="utf-8")
    joined = tf.strings.reduce_join(parts + nul, axis=-1)
    keep = tf.maximum(tf.strings.length(joined) - 1, 0)
    return tf.strings.substr(joined, tf.zeros_like(keep), keep)


@keras.saving.register_keras_serializable(package="jbert_tf2")
class InGraphTokenizer(SpecTwinConfig, keras.layers.Layer):
    """tf.string texts (and optional pair texts) -> ``input_ids``, ``input_mask``, ``segment_ids``.

    Build it from a Python tokenizer: ``InGraphTokenizer.from_tokenizer(tok, max_seq_length=128)``
    or ``tok.in_graph(max_seq_length=128)``. Runs on the TensorFlow backend only.

    Examples:
        >>> layer = tok.in_graph(max_seq_length=64)
        >>> layer(tf.constant(["今日は晴れ。"]))["input_ids"].shape
        TensorShape([1, 64])
    """

    def __init__(self, spec: dict, max_seq_length: int = 128, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        if keras.backend.backend() != "tensorflow":
            raise JbertError(
                "InGraphTokenizer needs the TensorFlow backend (KERAS_BACKEND=tensorflow)"
            )
        _check_spec(spec)
        self.spec = dict(spec)
        self.max_seq_length = int(max_seq_length)
        tf = tensorflow()
        text = _tensorflow_text()
        self._text = text
        kind = spec["kind"]
        tokens = spec["tokens"]
        self._cls = spec["cls_id"]
        self._sep = spec["sep_id"]
        init = tf.lookup.KeyValueTensorInitializer(
            tf.constant(tokens), tf.range(len(tokens), dtype=tf.int64)
        )
        self._table = tf.lookup.StaticHashTable(init, default_value=spec["unk_id"])
        if kind == "wordpiece":
            self._wordpiece = text.WordpieceTokenizer(
                self._table,
                suffix_indicator="##",
                max_bytes_per_word=4 * spec["max_chars_per_word"] + 8,
                token_out_type=tf.int64,
                unknown_token="[UNK]",
            )
        if kind == "sentencepiece":
            self._sentencepiece = text.SentencepieceTokenizer(
                model=spec["model_proto"], out_type=tf.string
            )

    def _basic_words(self, texts):
        """Google's basic tokenizer: a ragged [batch, words] of normalized words, and which of
        them are special tokens kept whole. As in Google's code: drop control characters, split
        on whitespace and around CJK ideographs, lower-case and strip accents per word, then
        split off punctuation (which NFD can create: ≠ -> = + U+0338)."""
        tf, text, spec = tensorflow(), self._text, self.spec
        classes = _re2_classes(spec["hf_control_chars"])
        texts = tf.strings.regex_replace(texts, classes["removed"], "")
        keep = _CJK
        if spec["specials"]:
            keep = "|".join(re.escape(t) for t in spec["specials"]) + "|" + keep
        words = text.regex_split(texts, f"{classes['separators']}+|{keep}", keep)
        flat = words.flat_values
        special = tf.zeros_like(flat, dtype=tf.bool)
        for token in spec["specials"]:
            special = special | tf.equal(flat, token)
        if spec["do_lower_case"]:
            lowered = text.normalize_utf8(_lower(tf, flat), "NFD")
            flat = tf.where(special, flat, tf.strings.regex_replace(lowered, classes["marks"], ""))
        punct = classes["punctuation"]
        pieces = text.regex_split(flat, punct, punct)
        pieces = _rows_where(tf, special, flat, pieces)
        special_pieces = _rows_where(tf, special, special, tf.zeros_like(pieces, dtype=tf.bool))
        special = words.with_flat_values(special_pieces).merge_dims(1, 2)
        words = words.with_flat_values(pieces).merge_dims(1, 2)
        keep_word = tf.strings.length(words.flat_values) > 0
        return (
            tf.ragged.boolean_mask(words, words.with_flat_values(keep_word)),
            tf.ragged.boolean_mask(special, special.with_flat_values(keep_word)),
        )

    def _ids(self, texts):
        """A ragged [batch, tokens] of int32 ids, before [CLS] / [SEP]."""
        tf, text, spec = tensorflow(), self._text, self.spec
        kind = spec["kind"]
        if kind == "sentencepiece":
            if spec["do_lower_case"]:
                texts = _lower(tf, texts)
            return tf.cast(self._table.lookup(self._sentencepiece.tokenize(texts)), tf.int32)
        words, special = self._basic_words(texts)
        flat = words.flat_values
        if kind == "wordpiece":
            too_long = tf.strings.length(flat, unit="UTF8_CHAR") > spec["max_chars_per_word"]
            flat = tf.where(too_long, tf.constant("[UNK]"), flat)
            pieces = tf.cast(self._wordpiece.tokenize(flat), tf.int32)
            return words.with_flat_values(pieces).merge_dims(1, 2)
        chars = tf.strings.unicode_split(text.normalize_utf8(flat, "NFKC"), "UTF-8")
        is_special = special.flat_values
        char_ids = tf.ragged.boolean_mask(
            tf.cast(self._table.lookup(chars), tf.int32),
            tf.ones_like(chars, dtype=tf.bool) & tf.logical_not(is_special)[:, None],
        )
        whole = tf.cast(self._table.lookup(flat), tf.int32)[:, None]
        whole_ids = tf.ragged.boolean_mask(whole, is_special[:, None])
        per_word = tf.concat([char_ids, whole_ids], axis=1)
        return words.with_flat_values(per_word).merge_dims(1, 2)

    def call(self, texts, text_pairs=None):
        tf = tensorflow()
        a = self._ids(text_batch(tf, texts, "texts"))
        b = None if text_pairs is None else self._ids(text_batch(tf, text_pairs, "text_pairs"))
        return model_inputs(tf, a, b, self._cls, self._sep, self.max_seq_length)

    def compute_output_spec(self, texts, text_pairs=None):
        shape = (texts.shape[0], self.max_seq_length)
        return {
            key: keras.KerasTensor(shape, dtype="int32")
            for key in ("input_ids", "input_mask", "segment_ids")
        }
