"""`Preprocessor`: the inputs of an export's ``serving_default`` signature from raw text, built
with the export's own tokenizer files (for clients that send ids, e.g. to an ``--ops text``
export of a MeCab model, which has no raw-text signature), and
a tagger's served outputs turned back into entities, by the same `TaggingPipeline` (windows,
Viterbi) as `TokenClassifier.predict_entities`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from jbert_tf2.errors import JbertError
from jbert_tf2.export.saved_model import ASSETS
from jbert_tf2.tasks.tagging_pipeline import TAGGING_TASK, TaggingPipeline


class Preprocessor:
    """Builds the ``serving_default`` inputs (or a TF Serving REST payload) from raw text with
    the export's own tokenizer files, and decodes a tagger's served outputs into entities.

    For a tagger each text is split into words and the words into windows that fit the
    export's ``max_seq_length``: ``pre(texts)`` has one row per window (more rows than texts
    when a text is long), and ``pre.entities(texts, outputs)`` maps the rows back to the texts.

    Args:
        export_path: a version directory `export_saved_model` wrote (``export/ner/1``).

    Examples:
        >>> pre = Preprocessor("export/ner/1")  # doctest: +SKIP
        >>> model = load_saved_model("export/ner/1")  # doctest: +SKIP
        >>> outputs = model.signatures["serving_default"](**pre(texts))  # doctest: +SKIP
        >>> pre.entities(texts, outputs)  # doctest: +SKIP
        [[{'text': 'ソニー', 'label': 'ORG', 'start': 0, 'end': 3}]]
    """

    def __init__(self, export_path: str | os.PathLike):
        from jbert_tf2.model_dir import TOKENIZER_FILE, load_tokenizer, read_task_settings

        directory = Path(export_path) / ASSETS
        if not (directory / TOKENIZER_FILE).is_file():
            raise JbertError(f"{export_path}: the export has no tokenizer files in {ASSETS}")
        settings = read_task_settings(directory)
        if settings is None:
            raise JbertError(
                f"{export_path}: the export has no task.json in {ASSETS}; export it again with "
                "jbert-export"
            )
        self.info = settings.to_dict()
        self.tokenizer = load_tokenizer(directory)
        self.max_seq_length = int(settings.options.get("max_seq_length", 128))
        self.pipeline = (
            TaggingPipeline.from_task_settings(self.tokenizer, settings.labels, settings.options)
            if self.tagging
            else None
        )

    @property
    def tagging(self) -> bool:
        """Whether the export is a tagger (``serving_default`` takes ``labeled_positions``)."""
        return self.info["task"] == TAGGING_TASK

    def __call__(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        """Padded int32 inputs; for a tagger one row per window of words, with
        ``labeled_positions`` (each word's first sub-token, padded with 0)."""
        if not self.tagging:
            return self.tokenizer(texts, text_pairs, self.max_seq_length, padding="longest")
        if text_pairs is not None:
            raise JbertError("a tagger takes single texts; leave text_pairs out")
        sentences = self.pipeline.sentences(texts)
        return self.pipeline.model_inputs(self.pipeline.windows([s.words for s in sentences]))

    def entities(
        self,
        texts: Sequence[str],
        outputs: Mapping | np.ndarray | Sequence | None = None,
        *,
        predicted_ids: np.ndarray | Sequence | None = None,
    ) -> list[list[dict]]:
        """A tagger's served outputs for ``self(texts)`` as each text's entities
        ``{"text", "label", "start", "end"}`` (character offsets into the text).

        ``outputs``: the ``serving_default`` output dict, or its ``logits`` [windows, words,
        labels] (decoded with Viterbi, as `TokenClassifier.predict_entities` does), or its
        ``predicted_ids`` [windows, words] (per-word argmax, repaired into a valid sequence),
        also accepted by keyword as before (``entities(texts, predicted_ids=ids)``).
        """
        if not self.tagging:
            raise JbertError(
                f"entities: this export is a {self.info['task']} model, not a tagger "
                f"({TAGGING_TASK}); read its label / labels outputs instead"
            )
        if (outputs is None) == (predicted_ids is None):
            raise JbertError(
                "entities: pass the served outputs (or predicted_ids=...), one of them"
            )
        scores = _served_scores(outputs if predicted_ids is None else predicted_ids)
        sentences = self.pipeline.sentences(texts)
        windows = self.pipeline.windows([s.words for s in sentences])
        if scores.ndim == 3:
            all_tags = self.pipeline.decode(windows, scores)
        elif scores.ndim == 2 and np.issubdtype(scores.dtype, np.integer):
            all_tags = self.pipeline.decode_ids(windows, scores)
        else:
            raise JbertError(
                f"entities: outputs of shape {scores.shape} and dtype {scores.dtype}; pass the "
                "serving_default outputs, their logits [windows, words, labels] or their "
                "predicted_ids [windows, words]"
            )
        return self.pipeline.entities(sentences, all_tags)

    def rest_payload(self, texts: Sequence[str], text_pairs: Sequence[str] | None = None) -> dict:
        """``{"signature_name": "serving_default", "inputs": {...}}`` for TF Serving's REST
        predict API (columnar format)."""
        inputs = {k: v.tolist() for k, v in self(texts, text_pairs).items()}
        return {"signature_name": "serving_default", "inputs": inputs}


def _served_scores(outputs) -> np.ndarray:
    """The array to decode: ``logits`` of an output dict (``predicted_ids`` without them), or
    the array given (tensors, lists and a REST response's nested lists work)."""
    if isinstance(outputs, Mapping):
        key = next((k for k in ("logits", "predicted_ids") if k in outputs), None)
        if key is None:
            raise JbertError(
                f"entities: outputs has keys {sorted(outputs)}, neither logits nor "
                "predicted_ids; pass serving_default's outputs"
            )
        outputs = outputs[key]
    try:
        array = np.asarray(outputs)
    except ValueError:  # ragged nested lists
        array = np.asarray(None)
    if array.dtype == object:
        raise JbertError(
            f"entities: outputs is a {type(outputs).__name__} that is not one array; pass "
            "serving_default's outputs, their logits or their predicted_ids"
        )
    return array
