"""`Embedder`: sentence vectors from chosen layers, pooled over the real tokens.

Pooling: ``cls`` (the [CLS] vector), ``mean`` or ``max`` over every token the input mask marks
(padding never counts; [CLS] and [SEP] do, as in bert-as-service and sentence-transformers).
``layers`` index the hidden states (-1 the last layer, 0 the embeddings); several layers are
concatenated (``combine="concat"``, as BERT's paper did with the last four) or averaged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jbert_tf2.backend import keras, ops
from jbert_tf2.errors import JbertError
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
        **kwargs,
    ):
        super().__init__(encoder, None, max_seq_length, **kwargs)
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
        }

    def build_head(self) -> None:
        pass

    def head_weights(self) -> dict:
        return {}

    def call(self, inputs, training=None):
        outputs = self.encoder(inputs, training=training)
        mask = (
            inputs["input_mask"]
            if isinstance(inputs, dict) and "input_mask" in inputs
            else (ops.ones_like(outputs["sequence_output"][:, :, 0]))
        )
        if self.hidden_layers == (-1,):
            chosen = [outputs["sequence_output"]]
        else:
            chosen = [outputs["hidden_states"][i] for i in self.hidden_layers]
        pooled = [ops.cast(pool(h, mask, self.pooling), "float32") for h in chosen]
        vector = (
            ops.concatenate(pooled, axis=-1)
            if self.combine == "concat"
            else ops.mean(ops.stack(pooled), axis=0)
        )
        if self.normalize:
            vector = vector / ops.maximum(ops.norm(vector, axis=-1, keepdims=True), 1e-12)
        return vector

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

        examples = text_examples(texts, text_pairs)
        features = encode_classification(
            self.require_tokenizer(), examples, None, self.max_seq_length
        )
        vectors = self.predict_logits(features, batch_size)
        width = self.compute_width()
        return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, width))

    def compute_width(self) -> int:
        width = self.config.hidden_size
        return width * len(self.hidden_layers) if self.combine == "concat" else width
