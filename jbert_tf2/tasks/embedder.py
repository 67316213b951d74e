"""`Embedder`: sentence vectors from chosen layers, pooled over the real tokens.

Pooling: ``cls`` (the [CLS] vector), ``mean`` or ``max`` over every token the input mask marks
(padding never counts; [CLS] and [SEP] do, as in bert-as-service and sentence-transformers).
``layers`` index the hidden states (-1 the last layer, 0 the embeddings); several layers are
concatenated (``combine="concat"``, as BERT's paper did with the last four) or averaged.

Texts longer than ``max_seq_length``: truncated (``long_text="truncate"``, the default) or read
through overlapping windows (``"windows"``, `jbert_tf2.data.windows`): `token_vectors` gives every
token one vector, from the window where it has the most context (run_squad.py's rule), with its
character offsets; `embed` pools those vectors (``cls``: the mean of the windows' [CLS] vectors).
A text that fits gets exactly its single-pass vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jbert_tf2.backend import keras, ops
from jbert_tf2.data.windows import check_long_text, saved_doc_stride
from jbert_tf2.errors import JbertError
from jbert_tf2.models.encoder import INPUT_KEYS
from jbert_tf2.tasks.base import TaskModel

POOLINGS = ("cls", "mean", "max")
COMBINATIONS = ("concat", "mean")


def pool(hidden, mask, pooling: str):
    """[batch, seq, width] -> [batch, width] over the positions where ``mask`` is 1."""
    if pooling == "cls":
        return hidden[:, 0]
    weights = ops.cast(mask, hidden.dtype)[:, :, None]
    if pooling == "mean":
        total = ops.sum(hidden * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)
    lowest = ops.cast(-1e9 if hidden.dtype == "float32" else -6e4, hidden.dtype)
    return ops.max(ops.where(weights > 0, hidden, lowest), axis=1)


@dataclass
class TokenVectors:
    """One text's tokens with a vector each: ``vectors`` float32 [tokens, width], ``offsets``
    (start, end) character spans (into the pair's second text where ``segment_ids`` is 1;
    (0, 0) for [CLS] / [SEP]), ``truncated`` when tokens were cut (``long_text="truncate"``, or
    a pair's shorter text too long for half a window)."""

    tokens: list[str]
    offsets: list[tuple[int, int]]
    segment_ids: list[int]
    vectors: np.ndarray
    truncated: bool = False


@keras.saving.register_keras_serializable(package="jbert_tf2")
class Embedder(TaskModel):
    """Encoder -> pooled sentence vectors [batch, width · len(layers) or width].

    Examples:
        >>> embedder = Embedder.from_pretrained("ja-bert", pooling="mean", layers=(-1, -2))  # doctest: +SKIP
        >>> vectors = embedder.embed(["今日は晴れ。", "明日は雨。"])  # doctest: +SKIP
    """

    task = "embedding"
    needs_labels = False

    def __init__(
        self,
        encoder,
        labels=None,
        max_seq_length: int | None = None,
        pooling: str = "cls",
        layers: Sequence[int] = (-1,),
        combine: str = "concat",
        normalize: bool = False,
        long_text: str = "truncate",
        doc_stride: int | None = None,
        **kwargs,
    ):
        super().__init__(encoder, None, max_seq_length, **kwargs)
        self.doc_stride = check_long_text(long_text, doc_stride, self.max_seq_length)
        self.long_text = long_text
        if pooling not in POOLINGS:
            raise JbertError(f"pooling={pooling!r}: use one of {', '.join(POOLINGS)}")
        if combine not in COMBINATIONS:
            raise JbertError(f"combine={combine!r}: use one of {', '.join(COMBINATIONS)}")
        count = encoder.config.num_hidden_layers + 1
        layers = tuple(int(i) for i in layers)
        if not layers or any(not -count <= i < count for i in layers):
            raise JbertError(
                f"layers={layers}: this model has {count} hidden states (0 = embeddings, "
                f"-1 = last layer); use indices in {-count}..{count - 1}"
            )
        if layers != (-1,) and not encoder.output_hidden_states:
            raise JbertError("layers other than (-1,) need an encoder with output_hidden_states")
        self.pooling = pooling
        self.hidden_layers = layers
        self.combine = combine
        self.normalize = normalize

    @classmethod
    def encoder_options(cls, options: dict) -> dict:
        return {"output_hidden_states": tuple(options.get("layers", (-1,))) != (-1,)}

    def task_options(self) -> dict:
        return {
            **super().task_options(),
            "pooling": self.pooling,
            "layers": list(self.hidden_layers),
            "combine": self.combine,
            "normalize": self.normalize,
            "long_text": self.long_text,
            "doc_stride": saved_doc_stride(self.doc_stride, self.max_seq_length),
        }

    def build_head(self) -> None:
        pass

    def head_weights(self) -> dict:
        return {}

    def _chosen_states(self, inputs, training=None) -> list:
        outputs = self.encoder(inputs, training=training)
        if self.hidden_layers == (-1,):
            return [outputs["sequence_output"]]
        return [outputs["hidden_states"][i] for i in self.hidden_layers]

    def _combine(self, parts: list):
        parts = [ops.cast(p, "float32") for p in parts]
        if self.combine == "concat":
            return ops.concatenate(parts, axis=-1)
        return ops.mean(ops.stack(parts), axis=0)

    def _normalized(self, vector):
        if self.normalize:
            vector = vector / ops.maximum(ops.norm(vector, axis=-1, keepdims=True), 1e-12)
        return vector

    def call(self, inputs, training=None):
        chosen = self._chosen_states(inputs, training)
        mask = (
            inputs["input_mask"]
            if isinstance(inputs, dict) and "input_mask" in inputs
            else (ops.ones_like(chosen[0][:, :, 0]))
        )
        return self._normalized(self._combine([pool(h, mask, self.pooling) for h in chosen]))

    def token_states(self, inputs):
        """Every position's vector [batch, tokens, width]: the chosen layers combined as the
        sentence vectors are (not normalized)."""
        return self._combine(self._chosen_states(inputs, training=False))

    def serve_text(self, tokenizer, texts, text_pairs=None) -> dict:
        """The raw-text signatures' outputs; a windowed Embedder has none (its max-context
        stitching runs in Python only), so its export is refused rather than truncating."""
        if self.long_text == "windows":
            raise JbertError(
                "Embedder with long_text='windows' has no in-graph windowing: its raw-text "
                "signature would truncate. Export it with long_text='truncate' "
                "(Embedder.from_pretrained(path, long_text='truncate')), or serve token ids"
            )
        return super().serve_text(tokenizer, texts, text_pairs)

    def serving_outputs(self, vectors) -> dict:
        """The sentence vectors as ``embeddings`` [batch, width] (an Embedder has no labels)."""
        from jbert_tf2.backend import tensorflow

        tf = tensorflow()
        return {"embeddings": tf.cast(vectors, tf.float32)}

    def embed(
        self,
        texts: Sequence[str] | str,
        text_pairs: Sequence[str] | None = None,
        batch_size: int = 32,
    ) -> np.ndarray:
        """Vectors [n, width] for raw texts (and pairs), in input order."""
        from jbert_tf2.data.examples import text_examples
        from jbert_tf2.data.features import encode_classification

        width = self.compute_width()
        if self.long_text == "windows":
            vectors = [
                self._pool_windows(v) for v in self._window_vectors(texts, text_pairs, batch_size)
            ]
            return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, width))
        examples = text_examples(texts, text_pairs)
        features = encode_classification(
            self.require_tokenizer(), examples, None, self.max_seq_length
        )
        vectors = self.predict_logits(features, batch_size)
        return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, width))

    def token_vectors(
        self,
        texts: Sequence[str] | str,
        text_pairs: Sequence[str] | None = None,
        batch_size: int = 32,
    ) -> list[TokenVectors]:
        """Each text's tokens with one vector each (`token_states`) and their character
        offsets: [CLS] text [SEP] (pair [SEP]), truncated to ``max_seq_length`` or, with
        ``long_text="windows"``, every token from its max-context window."""
        if self.long_text == "windows":
            return [found for found, _ in self._window_vectors(texts, text_pairs, batch_size)]
        texts, text_pairs = self._checked(texts, text_pairs)
        encodings = self.require_tokenizer().encode_batch(texts, text_pairs, self.max_seq_length)
        states = self._run_encodings(encodings, batch_size)
        return [
            TokenVectors(e.tokens, e.offsets, e.segment_ids, v, e.truncated)
            for e, v in zip(encodings, states, strict=True)
        ]

    @staticmethod
    def _checked(texts, text_pairs):
        from jbert_tf2.tokenization.text import check_pairs

        if isinstance(texts, str):
            texts = [texts]
            text_pairs = [text_pairs] if isinstance(text_pairs, str) else text_pairs
        return check_pairs(texts, text_pairs)

    def _run_encodings(self, encodings, batch_size: int) -> list[np.ndarray]:
        """`token_states` [length, width] of unpadded `Encoding`s, in length-bucketed batches."""
        from jbert_tf2.data.buckets import DEFAULT_LENGTH_BUCKETS, bucket
        from jbert_tf2.data.pipeline import batch_indices

        lengths = [e.length for e in encodings]
        found: list[np.ndarray | None] = [None] * len(encodings)
        for batch in batch_indices(lengths, batch_size):
            width = bucket(max(lengths[i] for i in batch), DEFAULT_LENGTH_BUCKETS)
            feed = {key: np.zeros((len(batch), width), np.int32) for key in INPUT_KEYS}
            for row, i in enumerate(batch):
                e = encodings[i]
                feed["input_ids"][row, : e.length] = e.input_ids[: e.length]
                feed["input_mask"][row, : e.length] = 1
                feed["segment_ids"][row, : e.length] = e.segment_ids[: e.length]
            states = ops.convert_to_numpy(self.token_states(feed))
            for row, i in enumerate(batch):
                found[i] = np.asarray(states[row, : lengths[i]], np.float32)
        return found

    def _window_vectors(self, texts, text_pairs, batch_size: int):
        """Per text: its stitched `TokenVectors` and the [CLS] vector of each window."""
        from jbert_tf2.data.windows import split_by_document, stitch, windows_of_encodings

        texts, text_pairs = self._checked(texts, text_pairs)
        whole = self.require_tokenizer().encode_batch(texts, text_pairs, None)
        plans, windows = windows_of_encodings(whole, self.max_seq_length, self.doc_stride)
        groups = split_by_document(plans, self._run_encodings(windows, batch_size))
        results = []
        for encoding, plan, own in zip(whole, plans, groups, strict=True):
            positions, vectors = stitch(plan, own)
            chosen = positions.tolist()
            found = TokenVectors(
                [encoding.tokens[p] for p in chosen],
                [encoding.offsets[p] for p in chosen],
                [encoding.segment_ids[p] for p in chosen],
                vectors,
                len(chosen) < encoding.length,
            )
            results.append((found, np.stack([window[0] for window in own])))
        return results

    def _pool_windows(self, found) -> np.ndarray:
        tokens, cls_vectors = found
        if self.pooling == "cls":
            vector = cls_vectors.mean(axis=0)
        elif self.pooling == "mean":
            vector = tokens.vectors.mean(axis=0)
        else:
            vector = tokens.vectors.max(axis=0)
        if self.normalize:
            vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return vector

    def compute_width(self) -> int:
        width = self.config.hidden_size
        return width * len(self.hidden_layers) if self.combine == "concat" else width
