"""`TokenClassifier`: NER and other word tagging, with entities as spans of the original text.

Each word's label sits on its first sub-token; the other sub-tokens are left out of the loss and
the metrics (sample weight 0). Predictions are decoded per word with a Viterbi search over the
sequences the tag scheme allows (BIO, BIOES or IO), so an ``I-ORG`` never follows ``O`` in the
output. `predict_entities` splits raw text into words (MeCab with unidic-lite by default, the
segmentation of UD Japanese corpora; or the tokenizer's own word splitter), tags them and returns
each entity as a slice of the input string: 「三代目 J SOUL BROTHERS」 comes back whole, spaces
included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jbert_tf2.backend import keras
from jbert_tf2.errors import JbertError
from jbert_tf2.tasks import tagging
from jbert_tf2.tasks.base import TaskModel
from jbert_tf2.tasks.classification_head import ClassificationHead

WORD_SPLITTERS = ("unidic", "tokenizer")


def split_words(text: str, word_splitter: str, tokenizer) -> list[tuple[int, int]]:
    """Character spans of the words a tagger labels in raw text: MeCab + unidic-lite short
    units for ``"unidic"`` (the segmentation of UD Japanese corpora, so the words match the
    training data's), the tokenizer's own word splitter for ``"tokenizer"`` (for data segmented
    that way, e.g. English CoNLL with WordPiece)."""
    from jbert_tf2.tokenization.mecab import unidic_word_spans

    if word_splitter == "unidic":
        return unidic_word_spans(text)
    return [(s, e) for s, e in tokenizer.word_spans(text) if e > s]


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@keras.saving.register_keras_serializable(package="jbert_tf2")
class TokenClassifier(TaskModel):
    """Sequence output -> dropout -> dense -> logits [batch, seq, labels].

    Args:
        labels: tags such as ``["O", "B-PSN", "I-PSN", ...]``; the scheme (BIO, BIOES, IO) is
            read from them unless ``scheme`` is given.

    Examples:
        >>> tagger = TokenClassifier.from_pretrained("ja-bert", labels=labels)  # doctest: +SKIP
        >>> tagger.compile(optimizer=create_optimizer(5e-5, 1000, 100))  # doctest: +SKIP
        >>> tagger.fit(tagger.dataset(read_conll("train.bio"), batch_size=32, shuffle=True))
        >>> tagger.predict_entities(["三代目 J SOUL BROTHERSが出演した。"])  # doctest: +SKIP
        [[{'text': '三代目 J SOUL BROTHERS', 'label': 'ORG', 'start': 0, 'end': 19}]]
    """

    task = "token_classification"

    def __init__(
        self,
        encoder,
        labels=None,
        max_seq_length: int | None = None,
        dropout=None,
        scheme: str | None = None,
        word_splitter: str = "unidic",
        **kwargs,
    ):
        super().__init__(encoder, labels, max_seq_length, **kwargs)
        self.scheme = tagging.check_scheme(scheme) if scheme else tagging.detect_scheme(self.labels)
        for label in self.labels:
            tagging.spans([label], self.scheme)  # raises a clear error for a malformed tag
        if word_splitter not in WORD_SPLITTERS:
            raise JbertError(
                f"word_splitter={word_splitter!r}: use one of {', '.join(WORD_SPLITTERS)}"
            )
        self.word_splitter = word_splitter
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
        }

    def build_head(self) -> None:
        self.head.build((None, None, self.config.hidden_size))

    def head_weights(self) -> dict:
        return self.head.canonical_weights()

    def call(self, inputs, training=None):
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

    # Data ---------------------------------------------------------------------------

    def features(self, sentences):
        """`Features` of `TaggedSentence`s (tags may be None for prediction)."""
        from jbert_tf2.data.features import encode_tagging

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
        return encode_tagging(self.require_tokenizer(), sentences, self.labels, self.max_seq_length)

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

    def _windows(self, word_lists: Sequence[Sequence[str]]):
        """Split each sentence into runs of words that fit ``max_seq_length``, so long
        sentences are tagged whole (window by window) instead of truncated."""
        from jbert_tf2.data.features import WordTokenizer

        pieces = WordTokenizer(self.require_tokenizer())
        room = self.max_seq_length - 2
        windows, origins = [], []
        for index, words in enumerate(word_lists):
            start, used = 0, 0
            for k, word in enumerate(words):
                size = len(pieces(word)[0])
                if used + size > room and k > start:
                    windows.append(list(words[start:k]))
                    origins.append((index, start))
                    start, used = k, 0
                used += size
            windows.append(list(words[start:]))
            origins.append((index, start))
        return windows, origins

    def _tag_words(self, word_lists: Sequence[Sequence[str]], batch_size: int) -> list[list[str]]:
        """Viterbi-decoded tags for each list of words (a word with no tokens, or one longer
        than ``max_seq_length`` by itself, is tagged "O"; the result is repaired to be valid)."""
        from jbert_tf2.data.examples import TaggedSentence
        from jbert_tf2.data.features import encode_tagging

        windows, origins = self._windows(word_lists)
        items = [TaggedSentence(words, None, "", []) for words in windows]
        features = encode_tagging(self.require_tokenizer(), items, None, self.max_seq_length)
        logits = self.predict_logits(features, batch_size) if items else []
        results = [["O"] * len(words) for words in word_lists]
        for row, (index, offset) in enumerate(origins):
            first = np.flatnonzero(features.label_weights[row] > 0)
            if not len(first):
                continue
            decoded = tagging.viterbi_decode(
                _log_softmax(logits[row][first]), self.labels, self.scheme
            )
            for word, tag in zip(features.word_ids[row][first], decoded, strict=True):
                results[index][offset + word] = tag
        return [tagging.repair(tags, self.scheme) for tags in results]

    def predict_tags(self, sentences, batch_size: int = 32) -> list[list[str]]:
        """Tags for pre-split sentences (lists of words, or `TaggedSentence`s). Sentences
        longer than ``max_seq_length`` are tagged in windows."""
        word_lists = []
        for sentence in sentences:
            if isinstance(sentence, str):
                raise JbertError("predict_tags takes lists of words; use predict_entities for text")
            word_lists.append(list(getattr(sentence, "words", sentence)))
        return self._tag_words(word_lists, batch_size)

    def predict_entities(
        self, texts: Sequence[str] | str, batch_size: int = 32
    ) -> list[list[dict]]:
        """Entities of each raw text: ``{"text", "label", "start", "end"}`` with
        ``text == texts[i][start:end]`` (character offsets into the input string)."""
        from jbert_tf2.data.examples import TaggedSentence
        from jbert_tf2.tokenization.base import check_text

        self.require_tokenizer()
        if isinstance(texts, str):
            texts = [texts]
        items = []
        for i, text in enumerate(texts):
            text = check_text(text, f"texts[{i}]")
            word_spans = self.word_spans(text)
            items.append(TaggedSentence([text[s:e] for s, e in word_spans], None, text, word_spans))
        all_tags = self._tag_words([item.words for item in items], batch_size)
        return [
            tagging.entities_in_text(item.text, item.spans, tags, self.scheme)
            for item, tags in zip(items, all_tags, strict=True)
        ]

    def word_spans(self, text: str) -> list[tuple[int, int]]:
        """The words `predict_entities` tags (see `split_words`)."""
        return split_words(text, self.word_splitter, self.require_tokenizer())

    def evaluate_entities(self, sentences, batch_size: int = 32, strict: bool = False) -> dict:
        """Span-level precision / recall / F1 (seqeval's conventions) on tagged sentences."""
        sentences = self.in_scheme(sentences)
        predicted = self.predict_tags(sentences, batch_size)
        truth = [list(s.tags) for s in sentences]
        return tagging.span_scores(truth, predicted, strict=strict, scheme=self.scheme)
