"""`Preprocessor`: the inputs of an export's ``serving_default`` signature from raw text, built
with the export's own tokenizer files (for MeCab tokenizers, which cannot run in the graph), and
a tagger's served outputs turned back into entities."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from jbert_tf2.errors import JbertError
from jbert_tf2.export.saved_model import ASSETS


class Preprocessor:
    """Builds the ``serving_default`` inputs (or a TF Serving REST payload) from raw text with
    the export's own tokenizer files: for MeCab tokenizers, which cannot run in the graph."""

    def __init__(self, export_path: str | os.PathLike):
        from jbert_tf2.model_dir.tokenizer_loading import tokenizer_from_settings

        directory = Path(export_path) / ASSETS
        if not (directory / "tokenizer.json").is_file():
            raise JbertError(f"{export_path}: the export has no tokenizer files in {ASSETS}")
        self.info = json.loads((directory / "task.json").read_text(encoding="utf-8"))
        settings = json.loads((directory / "tokenizer.json").read_text(encoding="utf-8"))
        self.tokenizer = tokenizer_from_settings(settings, directory)
        self.max_seq_length = int(self.info["options"].get("max_seq_length", 128))

    @property
    def tagging(self) -> bool:
        return self.info["task"] == "token_classification"

    def __call__(self, texts, text_pairs=None) -> dict[str, np.ndarray]:
        """Padded int32 inputs; for a tagger also ``labeled_positions`` (each word's first
        sub-token, padded with 0)."""
        if not self.tagging:
            return self.tokenizer(texts, text_pairs, self.max_seq_length, padding="longest")
        features, _ = self._tagging_features(texts)
        width = max(len(ids) for ids in features.input_ids)
        count = max(int(w.sum()) for w in features.label_weights)
        batch = {
            k: np.zeros((len(texts), width), np.int32)
            for k in ("input_ids", "input_mask", "segment_ids")
        }
        positions = np.zeros((len(texts), max(count, 1)), np.int32)
        for row, ids in enumerate(features.input_ids):
            batch["input_ids"][row, : len(ids)] = ids
            batch["input_mask"][row, : len(ids)] = 1
            first = np.flatnonzero(features.label_weights[row])
            positions[row, : len(first)] = first
        batch["labeled_positions"] = positions
        return batch

    def _tagging_features(self, texts):
        from jbert_tf2.data.examples import TaggedSentence
        from jbert_tf2.data.features import encode_tagging
        from jbert_tf2.tasks.token_classifier import split_words

        splitter = self.info["options"].get("word_splitter", "unidic")
        items = []
        for text in texts:
            spans = split_words(text, splitter, self.tokenizer)
            items.append(TaggedSentence([text[s:e] for s, e in spans], None, text, spans))
        return encode_tagging(self.tokenizer, items, None, self.max_seq_length), items

    def entities(self, texts, predicted_ids: np.ndarray) -> list[list[dict]]:
        """A tagger's ``predicted_ids`` [batch, words] (from ``serving_default``) as entities
        with character offsets into ``texts``."""
        from jbert_tf2.tasks import tagging

        labels, scheme = self.info["labels"], self.info["options"]["scheme"]
        features, items = self._tagging_features(texts)
        results = []
        for row, item in enumerate(items):
            owners = features.word_ids[row][np.flatnonzero(features.label_weights[row])]
            tags = ["O"] * len(item.words)
            for k, word in enumerate(owners):
                tags[word] = labels[int(predicted_ids[row][k])]
            repaired = tagging.repair(tags, scheme)
            results.append(tagging.entities_in_text(item.text, item.spans, repaired, scheme))
        return results

    def rest_payload(self, texts, text_pairs=None) -> dict:
        """``{"signature_name": "serving_default", "inputs": {...}}`` for TF Serving's REST
        predict API (columnar format)."""
        inputs = {k: v.tolist() for k, v in self(texts, text_pairs).items()}
        return {"signature_name": "serving_default", "inputs": inputs}
