"""run_classifier's ``--task_name`` data layouts: Google's processors (CoLA, MNLI, MRPC, XNLI),
the GLUE tasks ELECTRA adds (SST, QQP, QNLI, RTE), yoheikikuta's ``livedoor`` and a general
``tsv``, reading the same files from ``--data_dir``.

Each processor gives the train / dev / test examples and the label list, with the columns and
quirks of the original (Google's TSVs are read with no quote character, as its ``_read_tsv``
did; XNLI's dev set keeps the chosen language and maps ``contradictory`` to ``contradiction``).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jbert_tf2.data.examples import TextExample, collect_labels, read_utf8
from jbert_tf2.data.tabular import iter_table, read_table
from jbert_tf2.errors import DataError, JbertError

LIVEDOOR_LABELS = [
    "dokujo-tsushin",
    "it-life-hack",
    "kaden-channel",
    "livedoor-homme",
    "movie-enter",
    "peachy",
    "smax",
    "sports-watch",
    "topic-news",
]
NLI_LABELS = ["contradiction", "entailment", "neutral"]


@dataclass(frozen=True)
class Layout:
    """Where one split lives and which columns hold what (indexes, or header names)."""

    file: str
    text: int | str
    text_b: int | str | None = None
    label: int | str | None = None
    header: bool = True


class Processor:
    """A task's files under ``data_dir`` and its labels."""

    name = ""
    layouts: dict[str, Layout] = {}
    fixed_labels: list[str] | None = None
    multi_label = False

    def examples(self, data_dir: str | os.PathLike, split: str) -> list[TextExample]:
        return self._read(data_dir, split, read_table)

    def iter_examples(self, data_dir: str | os.PathLike, split: str) -> Iterator[TextExample]:
        """`examples` one at a time, read from the file as they are taken (a test file of any
        size in little memory); the same errors, each when its line is reached."""
        return self._read(data_dir, split, iter_table)

    def _read(self, data_dir, split: str, reader):
        layout = self.layouts[split]
        path = Path(data_dir) / layout.file
        if not path.is_file():
            raise JbertError(
                f"{path}: not found; --task_name={self.name} reads {layout.file} from "
                f"--data_dir ({data_dir})"
            )
        return reader(
            path,
            text_column=layout.text,
            text_b_column=layout.text_b,
            label_column=layout.label,
            header=layout.header,
            quotechar=None,
            labels=self.fixed_labels,
            multi_label=self.multi_label,
        )

    def labels(self, train: list[TextExample] | None) -> list[str]:
        if self.fixed_labels is not None:
            return list(self.fixed_labels)
        if not train:
            raise JbertError(
                f"--task_name={self.name} takes its labels from the training file; "
                "pass --do_train or a fine-tuned --init_checkpoint that records them"
            )
        return collect_labels(train)


class ColaProcessor(Processor):
    name = "cola"
    layouts = {
        "train": Layout("train.tsv", 3, label=1, header=False),
        "dev": Layout("dev.tsv", 3, label=1, header=False),
        "test": Layout("test.tsv", 1),
    }
    fixed_labels = ["0", "1"]


class MrpcProcessor(Processor):
    name = "mrpc"
    layouts = {
        "train": Layout("train.tsv", 3, 4, 0),
        "dev": Layout("dev.tsv", 3, 4, 0),
        "test": Layout("test.tsv", 3, 4),
    }
    fixed_labels = ["0", "1"]


class MnliProcessor(Processor):
    name = "mnli"
    layouts = {
        "train": Layout("train.tsv", 8, 9, -1),
        "dev": Layout("dev_matched.tsv", 8, 9, -1),
        "test": Layout("test_matched.tsv", 8, 9),
    }
    fixed_labels = NLI_LABELS


class XnliProcessor(Processor):
    """Google's XNLI: MultiNLI machine-translated for training, XNLI dev in one language."""

    name = "xnli"
    language = "zh"

    def examples(self, data_dir, split):
        if split == "train":
            path = Path(data_dir) / "multinli" / f"multinli.train.{self.language}.tsv"
            columns = (0, 1, 2, None)
        elif split == "dev":
            path = Path(data_dir) / "xnli.dev.tsv"
            columns = (6, 7, 1, 0)
        else:
            raise JbertError("--task_name=xnli has no test set (as in Google's XnliProcessor)")
        if not path.is_file():
            raise JbertError(f"{path}: not found; --task_name=xnli reads it from --data_dir")
        # lines end at "\n" (and "\r"), as Google's reader read them: not at U+2028 or U+0085
        # inside a sentence, which `str.splitlines` would cut at
        handle = io.StringIO(read_utf8(path), newline="")
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        text, text_b, label, language = columns
        examples = []
        for line, row in enumerate(rows[1:], start=2):
            if len(row) <= max(c for c in columns if c is not None):
                raise DataError(f"{path} line {line}: {len(row)} columns; expected XNLI's layout")
            if language is not None and row[language] != self.language:
                continue
            gold = "contradiction" if row[label] == "contradictory" else row[label]
            if gold not in NLI_LABELS:
                raise DataError(f"{path} line {line}: label {gold!r} is not one of {NLI_LABELS}")
            examples.append(TextExample(row[text], row[text_b], gold, f"{path}:{line}"))
        return examples

    def iter_examples(self, data_dir, split):
        return iter(self.examples(data_dir, split))

    fixed_labels = NLI_LABELS


class SstProcessor(Processor):
    """GLUE SST-2 (as ELECTRA reads it): header, ``sentence`` and ``label`` columns."""

    name = "sst"
    layouts = {
        "train": Layout("train.tsv", "sentence", label="label"),
        "dev": Layout("dev.tsv", "sentence", label="label"),
        "test": Layout("test.tsv", "sentence", label=None),
    }
    fixed_labels = ["0", "1"]


class QqpProcessor(Processor):
    """GLUE QQP: question1 / question2 in columns 3 / 4, is_duplicate in 5 (test: 1 / 2)."""

    name = "qqp"
    layouts = {
        "train": Layout("train.tsv", 3, 4, 5),
        "dev": Layout("dev.tsv", 3, 4, 5),
        "test": Layout("test.tsv", 1, 2),
    }
    fixed_labels = ["0", "1"]


class QnliProcessor(Processor):
    """GLUE QNLI: index, question, sentence, label (entailment / not_entailment)."""

    name = "qnli"
    layouts = {
        "train": Layout("train.tsv", 1, 2, -1),
        "dev": Layout("dev.tsv", 1, 2, -1),
        "test": Layout("test.tsv", 1, 2),
    }
    fixed_labels = ["entailment", "not_entailment"]


class RteProcessor(QnliProcessor):
    """GLUE RTE: the same layout as QNLI."""

    name = "rte"


class LivedoorProcessor(Processor):
    """yoheikikuta/bert-japanese's livedoor TSVs: header, text in column 0, label in 1."""

    name = "livedoor"
    layouts = {split: Layout(f"{split}.tsv", 0, label=1) for split in ("train", "dev", "test")}
    fixed_labels = LIVEDOOR_LABELS


class TsvProcessor(Processor):
    """train.tsv / dev.tsv / test.tsv with a header naming ``text``, optional ``text_b`` and
    ``label`` (comma-separated labels with ``--multi_label``); labels from the training file."""

    name = "tsv"
    layouts = {
        split: Layout(f"{split}.tsv", "text", label="label") for split in ("train", "dev", "test")
    }

    def __init__(self, multi_label: bool = False):
        self.multi_label = multi_label


PROCESSORS = {
    "cola": ColaProcessor,
    "mnli": MnliProcessor,
    "mrpc": MrpcProcessor,
    "xnli": XnliProcessor,
    "sst": SstProcessor,
    "qqp": QqpProcessor,
    "qnli": QnliProcessor,
    "rte": RteProcessor,
    "livedoor": LivedoorProcessor,
    "tsv": TsvProcessor,
}


def get_processor(task_name: str, multi_label: bool = False) -> Processor:
    """The processor ``--task_name`` names (case-insensitive, as Google's lookup)."""
    key = (task_name or "").lower()
    if key not in PROCESSORS:
        raise JbertError(
            f"--task_name={task_name}: unknown task; choose one of {', '.join(PROCESSORS)}"
        )
    if multi_label and key != "tsv":
        raise JbertError("--multi_label works with --task_name=tsv (labels separated by commas)")
    return TsvProcessor(multi_label) if key == "tsv" else PROCESSORS[key]()
