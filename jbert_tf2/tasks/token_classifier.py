"""`TokenClassifier`: NER and other word tagging, with entities as spans of the original text.

Each word's label sits on its first sub-token; the other sub-tokens are left out of the loss and
the metrics (sample weight 0). Predictions are decoded per word with a Viterbi search over the
sequences the tag scheme allows (BIO, BIOES, BILOU or IO), so an ``I-ORG`` never follows ``O`` in the
output. `predict_entities` splits raw text into words (MeCab with unidic-lite by default, the
segmentation of UD Japanese corpora; or the tokenizer's own word splitter), tags them and returns
each entity as a slice of the input string: 「三代目 J SOUL BROTHERS」 comes back whole, spaces
included. That way from text to entities is `TaggingPipeline`'s, which the SavedModel export's
`Preprocessor` shares; the serving methods say what the export's ``serving_default`` takes
(``labeled_positions``) and returns, and `graph_tagger` its raw-text ``predict_entities``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jbert_tf2.tasks.tagging as tagging
from jbert_tf2.backend import keras, ops
from jbert_tf2.data.examples import TaggedSentence
from jbert_tf2.errors import JbertError
from jbert_tf2.tasks.base import TaskModel
from jbert_tf2.tasks.classification_head import ClassificationHead
from jbert_tf2.tasks.tagging_pipeline import TAGGING_TASK, TaggingPipeline, check_word_splitter


@keras.saving.register_keras_serializable(package="jbert_tf2")
class TokenClassifier(TaskModel):
    """Sequence output -> dropout -> dense -> logits [batch, seq, labels].

    Args:
        labels: tags such as ``["O", "B-PSN", "I-PSN", ...]``; the scheme (BIO, BIOES, BILOU, IO) is
            read from them unless ``scheme`` is given.
        segment_id: the token type fed at every position (0; ELECTRA's tagging tasks used 1,
            and a tagger converted from one keeps it).

    Examples:
        >>> tagger = TokenClassifier.from_pretrained("ja-bert", labels=labels)  # doctest: +SKIP
        >>> tagger.compile(optimizer=create_optimizer(5e-5, 1000, 100))  # doctest: +SKIP
        >>> tagger.fit(tagger.dataset(read_conll("train.bio"), batch_size=32, shuffle=True))
        >>> tagger.predict_entities(["三代目 J SOUL BROTHERSが出演した。"])  # doctest: +SKIP
        [[{'text': '三代目 J SOUL BROTHERS', 'label': 'ORG', 'start': 0, 'end': 19}]]
    """

    task = TAGGING_TASK

    def __init__(
        self,
        encoder,
        labels=None,
        max_seq_length: int | None = None,
        dropout=None,
        scheme: str | None = None,
        word_splitter: str = "unidic",
        segment_id: int = 0,
        **kwargs,
    ):
        super().__init__(encoder, labels, max_seq_length, **kwargs)
        if segment_id not in range(encoder.config.type_vocab_size):
            raise JbertError(
                f"segment_id={segment_id}: the model has {encoder.config.type_vocab_size} token "
                f"types; use 0..{encoder.config.type_vocab_size - 1}"
            )
        self.segment_id = int(segment_id)
        self.scheme = tagging.check_scheme(scheme) if scheme else tagging.detect_scheme(self.labels)
        for label in self.labels:
            tagging.spans([label], self.scheme)  # raises a clear error for a malformed tag
        self.word_splitter = check_word_splitter(word_splitter)
        if "O" not in self.labels:
            raise JbertError(f"labels {self.labels} lack 'O' (outside any entity); add it")
        if encoder.pooler is not None:
            encoder.pooler.trainable = False  # tagging reads every token, never the pooler
        self.dropout = encoder.config.hidden_dropout_prob if dropout is None else float(dropout)
        self.head = ClassificationHead(
            self.num_labels, self.dropout, encoder.config.initializer_range, name="head"
        )

    def task_options(self) -> dict:
        return {
            **super().task_options(),
            "dropout": self.dropout,
            "scheme": self.scheme,
            "word_splitter": self.word_splitter,
            **({"segment_id": self.segment_id} if self.segment_id else {}),
        }

    def build_head(self) -> None:
        self.head.build((None, None, self.config.hidden_size))

    def head_weights(self) -> dict:
        return self.head.canonical_weights()

    def call(self, inputs, training=None):
        if self.segment_id:
            # ELECTRA's tagging tasks feed token type 1 at every position (segment_id=1)
            ids = inputs["segment_ids"]
            inputs = {**inputs, "segment_ids": ops.full_like(ids, self.segment_id)}
        sequence = self.encoder(inputs, training=training)["sequence_output"]
        return self.head(sequence, training=training)

    def compile(self, optimizer="adam", loss=None, metrics=None, weighted_metrics=None, **kwargs):
        """Keras ``compile``: cross-entropy averaged over labelled tokens (first sub-tokens,
        via the sample weights the datasets carry) and token accuracy on them."""
        if loss is None:
            loss = keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, reduction="mean_with_sample_weight"
            )
        if weighted_metrics is None and metrics is None:
            weighted_metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            weighted_metrics=weighted_metrics,
            **kwargs,
        )

    # Serving ------------------------------------------------------------------------

    serves_text = False  # raw text gets entities (predict_entities), not predict_text

    def graph_tagger(self, ops: str):
        """`predict_entities`' twin in the graph (`tagging_graph.GraphTagger`) on core-ops
        tokenizers; None for ``ops="text"`` (tensorflow-text gives no character offsets, so
        such an export keeps the ids signature and the `Preprocessor`)."""
        from jbert_tf2.tasks.tagging_graph import graph_tagger

        return graph_tagger(self) if ops == "core" else None

    def serving_input_spec(self) -> dict:
        """The token ids plus ``labeled_positions`` int32 [batch, words]: each word's first
        sub-token (`TaggingPipeline.model_inputs`), as ELECTRA's export took."""
        from jbert_tf2.backend import tensorflow

        tf = tensorflow()
        return {
            **super().serving_input_spec(),
            "labeled_positions": tf.TensorSpec([None, None], tf.int32, name="labeled_positions"),
        }

    def serve_ids(self, inputs: dict) -> dict:
        """The outputs at the labeled positions only: [batch, words, ...]."""
        from jbert_tf2.backend import tensorflow

        tf = tensorflow()
        inputs = dict(inputs)
        positions = inputs.pop("labeled_positions")
        logits = self(inputs, training=False)
        return self.serving_outputs(tf.gather(logits, positions, batch_dims=1))

    def serving_outputs(self, logits) -> dict:
        """Per word: ``logits``, ``probabilities``, ``predicted_ids`` (argmax) and ``label``;
        `Preprocessor.entities` decodes the ``logits`` with this tagger's Viterbi."""
        outputs = super().serving_outputs(logits)
        del outputs["score"]
        return outputs

    # Data ---------------------------------------------------------------------------

    def features(self, sentences):
        """`Features` of `TaggedSentence`s (tags may be None for prediction)."""
        sentences = self.in_scheme(sentences)
        tags = [t for s in sentences if s.tags is not None for t in s.tags]
        unknown = sorted(set(tags) - set(self.labels))
        if unknown:
            first = next(s for s in sentences if s.tags and set(s.tags) & set(unknown))
            where = f"{first.source}: " if first.source else ""
            known = sorted({label.split("-", 1)[-1] for label in self.labels if label != "O"})
            kind = unknown[0].split("-", 1)[-1]
            if kind not in known:
                raise JbertError(
                    f"{where}entity type {kind!r} is not one the model tags "
                    f"({', '.join(known)}); fix the data or create the model with the entity "
                    "types of all data files"
                )
            raise JbertError(
                f"{where}tag {unknown[0]!r} is not one of the model's labels {self.labels}; "
                "fix the data or create the model with the labels of all data files"
            )
        return self.tagging_pipeline().encode(sentences)

    def in_scheme(self, sentences):
        """``sentences`` with their tags converted to this model's scheme (BIO data for a
        BIOES model, say); the same list when they already use it."""
        from dataclasses import replace

        tagged = [s.tags for s in sentences if s.tags]
        if not tagged or tagging.detect_scheme(tagged) == self.scheme:
            return list(sentences)
        return [
            replace(s, tags=tagging.convert_tags(s.tags, to=self.scheme)) if s.tags else s
            for s in sentences
        ]

    def dataset(
        self, sentences, batch_size: int = 32, shuffle: bool = False, seed: int = 0, epoch: int = 0
    ):
        """A length-bucketed `tf.data.Dataset` of ``(inputs, tags, weights)`` for fit."""
        from jbert_tf2.data.pipeline import make_dataset

        return make_dataset(
            self.features(sentences),
            batch_size,
            shuffle,
            seed,
            epoch,
            max_seq_length=self.max_seq_length,
        )

    # Prediction ---------------------------------------------------------------------

    def tagging_pipeline(self) -> TaggingPipeline:
        """This tagger's text -> windows -> inputs and scores -> tags -> entities, as the
        export's `Preprocessor` rebuilds it from ``task.json``."""
        return TaggingPipeline(
            self.require_tokenizer(),
            self.labels,
            self.scheme,
            self.max_seq_length,
            self.word_splitter,
        )

    def _tag_words(
        self, pipeline: TaggingPipeline, word_lists: Sequence[Sequence[str]], batch_size: int
    ) -> list[list[str]]:
        """Viterbi-decoded tags for each list of words, window by window (a word with no
        tokens, or one longer than ``max_seq_length`` by itself, is tagged "O")."""
        windows = pipeline.windows(word_lists)
        logits = self.predict_logits(windows.features, batch_size) if len(windows) else []
        return pipeline.decode(windows, pipeline.word_scores(windows, logits))

    def predict_tags(self, sentences, batch_size: int = 32) -> list[list[str]]:
        """Tags for pre-split sentences (lists of words, or `TaggedSentence`s). Sentences
        longer than ``max_seq_length`` are tagged in windows."""
        word_lists = []
        for sentence in sentences:
            if isinstance(sentence, str):
                raise JbertError("predict_tags takes lists of words; use predict_entities for text")
            word_lists.append(list(getattr(sentence, "words", sentence)))
        return self._tag_words(self.tagging_pipeline(), word_lists, batch_size)

    def predict_entities(
        self, texts: Sequence[str] | str, batch_size: int = 32
    ) -> list[list[dict]]:
        """Entities of each raw text: ``{"text", "label", "start", "end"}`` with
        ``text == texts[i][start:end]`` (character offsets into the input string)."""
        pipeline = self.tagging_pipeline()
        sentences = pipeline.sentences(texts)
        all_tags = self._tag_words(pipeline, [s.words for s in sentences], batch_size)
        return pipeline.entities(sentences, all_tags)

    def entities(
        self, sentences: Sequence[TaggedSentence], all_tags: Sequence[Sequence[str]]
    ) -> list[list[dict]]:
        """The entities of `TaggedSentence`s given their tags (from `predict_tags`), as
        `predict_entities` returns them: character spans of each sentence's text."""
        return self.tagging_pipeline().entities(sentences, all_tags)

    def word_spans(self, text: str) -> list[tuple[int, int]]:
        """The words `predict_entities` tags (see `tagging_pipeline.split_words`)."""
        return self.tagging_pipeline().word_spans(text)

    def evaluate_entities(self, sentences, batch_size: int = 32, strict: bool = False) -> dict:
        """Span-level precision / recall / F1 (seqeval's conventions) on tagged sentences."""
        sentences = self.in_scheme(sentences)
        predicted = self.predict_tags(sentences, batch_size)
        truth = [list(s.tags) for s in sentences]
        return tagging.span_scores(truth, predicted, strict=strict, scheme=self.scheme)
