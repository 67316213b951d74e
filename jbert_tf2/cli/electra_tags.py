"""The tag list of an ELECTRA tagging head, in the order ELECTRA's ``run_finetuning`` gave it.

ELECTRA never stored the tags in its checkpoint: ``finetune/tagging/tagging_tasks.py`` built a
``{tag: id}`` mapping from the task's data and kept it in a pickle,
``DATA/models/NAME/finetuning_tfrecords/<tasks>_tfrecords/<task>_label_mapping.pkl``. The rule
(read from ELECTRA's ``_get_label_mapping``): the files ``train.txt``, ``dev.txt``, ``test.txt``
of ``DATA/finetuning_data/<task>/`` that exist, one token a line (the word first, the tag last,
``-DOCSTART-`` lines skipped, a sentence ending at a blank line, so a last sentence with no blank
line after it is not counted); each sentence's tags rewritten in BIOES (spans as ELECTRA's
``get_span_labels`` reads them: an ``I-`` after ``O`` starts a span); the distinct tags sorted,
numbered in that order. The pickle is read with an unpickler that builds nothing but the
dict, strings and integers (no class, no function: never general pickle).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

from jbert_tf2.errors import JbertError

SPLITS = ("train", "dev", "test")


def _spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """ELECTRA's ``get_span_labels``: (start, end, type) of each entity."""
    spans, last, start = [], "O", -1
    for i, tag in enumerate(tags):
        position = None if tag == "O" else tag.split("-", 1)[0]
        if (position in ("S", "B") or tag == "O") and last != "O":
            spans.append((start, i - 1, last.split("-", 1)[-1]))
        if position in ("B", "S") or last == "O":
            start = i
        last = tag
    if tags and tags[-1] != "O":
        spans.append((start, len(tags) - 1, tags[-1].split("-", 1)[-1]))
    return spans


def _bioes(tags: list[str]) -> list[str]:
    """ELECTRA's ``get_tags(spans, len, "BIOES")``."""
    out = ["O"] * len(tags)
    for start, end, kind in _spans(tags):
        for i in range(start, end + 1):
            out[i] = f"I-{kind}"
        out[end] = f"E-{kind}"
        out[start] = f"B-{kind}"
        if start == end:
            out[start] = f"S-{kind}"
    return out


def _sentence_tags(path: Path):
    """The tags of each sentence ELECTRA's ``_get_labeled_sentences`` reads from ``path``."""
    sentence: list[str] = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise JbertError(f"{path}: not UTF-8 ({exc.reason}); save it as UTF-8") from None
    for line in text.splitlines():
        fields = line.strip().split()
        if not fields:
            if sentence:
                yield sentence
                sentence = []
            continue
        if fields[0] == "-DOCSTART-":
            continue
        sentence.append(fields[-1])


def rebuild_tag_list(task_dir: Path) -> list[str]:
    """The tags in ELECTRA's order, rebuilt from ``task_dir``'s data files (module docstring)."""
    found = set()
    files = [task_dir / f"{split}.txt" for split in SPLITS if (task_dir / f"{split}.txt").is_file()]
    if not files:
        raise JbertError(
            f"{task_dir}: no train.txt, dev.txt or test.txt to rebuild ELECTRA's tag list from; "
            'pass the tags in --hparams: {"labels_file": "tags.txt"} (one tag a line, in the '
            "order of ELECTRA's <task>_label_mapping.pkl)"
        )
    for path in files:
        for tags in _sentence_tags(path):
            found.update(_bioes(tags))
    return sorted(found)


class _DataOnlyUnpickler(pickle.Unpickler):
    """Builds dicts, strings and numbers; any class or function in the pickle is refused."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def read_label_mapping(path: Path) -> list[str]:
    """The tags of ELECTRA's ``<task>_label_mapping.pkl`` (``{tag: id}``), in id order."""
    try:
        mapping = _DataOnlyUnpickler(io.BytesIO(path.read_bytes())).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise JbertError(
            f"{path}: not ELECTRA's label mapping (a pickled dict of tag -> id): {exc}; move it "
            'away, or pass the tags in --hparams: {"labels_file": "tags.txt"}'
        ) from None
    if not (
        isinstance(mapping, dict)
        and all(isinstance(k, str) and type(v) is int for k, v in mapping.items())
        and sorted(mapping.values()) == list(range(len(mapping)))
    ):
        raise JbertError(
            f"{path}: expected a dict of tag -> id numbered 0 ... n-1; pass the tags in "
            '--hparams: {"labels_file": "tags.txt"}'
        )
    return sorted(mapping, key=mapping.get)
