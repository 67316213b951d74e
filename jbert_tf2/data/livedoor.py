"""The livedoor news corpus (ldcc-20140209.tar.gz from rondhuit.com) read straight from its
unpacked directory, and a deterministic stratified train / dev / test split.

yoheikikuta/bert-japanese (``notebook/finetune-to-livedoor-corpus.ipynb``) first wrote TSVs:
each article's lines from the title on, stripped, blank ones dropped and joined with ``""``
(tabs turned into full-width spaces), labelled with the category directory, shuffled with pandas
``random_state=23`` and cut test:dev:train = 2:2:6; its ``LivedoorProcessor`` then read the
``text`` and ``label`` columns of ``train.tsv`` / ``dev.tsv`` / ``test.tsv``. Here
``text="title+body"`` gives the same lines joined with ``"\\n"`` instead (a tokenizer reads a
newline as a space, and the title stays separate), the label is the same category name, and
`split_examples` replaces the pandas shuffle: those TSVs still load with `read_table`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import TypeVar

from jbert_tf2.data.examples import TextExample, check_path, read_utf8
from jbert_tf2.errors import DataError

TEXT_CHOICES = ("title", "body", "title+body")
_NOT_ARTICLES = {"license.txt", "readme.txt", "changes.txt"}
_LAYOUT = "expected text/<category>/<category>-<id>.txt as unpacked from ldcc-20140209.tar.gz"

T = TypeVar("T")


def read_livedoor(
    path: str | os.PathLike,
    categories: Iterable[str] | None = None,
    text: str = "title+body",
) -> list[TextExample]:
    """Every article of the corpus as a `TextExample` labelled with its category directory.

    ``path`` is the unpacked ``text/`` directory or the directory holding it. Each article file
    is line 1 URL, line 2 date, line 3 title, then the body; ``LICENSE.txt`` and the top-level
    README / CHANGES are skipped. ``text`` picks ``"title"``, ``"body"`` (non-blank lines joined
    with ``"\\n"``) or ``"title+body"``. ``categories`` keeps only those directories. Order is
    sorted by category, then file name.
    """
    if text not in TEXT_CHOICES:
        raise DataError(f"text={text!r}; choose one of {', '.join(TEXT_CHOICES)}")
    root = _text_dir(path)
    found = {
        entry.name: articles
        for entry in sorted(root.iterdir())
        if entry.is_dir() and not entry.name.startswith((".", "_"))
        if (articles := _articles(entry))
    }
    if not found:
        raise DataError(f"{root}: no category directories with articles (.txt files); {_LAYOUT}")
    chosen = sorted(found) if categories is None else list(dict.fromkeys(categories))
    unknown = [name for name in chosen if name not in found]
    if unknown:
        raise DataError(
            f"{root}: no category {', '.join(unknown)}; the categories are {', '.join(sorted(found))}"
        )
    return [_article(file, category, text) for category in chosen for file in found[category]]


def split_examples(
    examples: Sequence[T], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> tuple[list[T], ...]:
    """Splits examples into ``len(fractions)`` lists, the same for the same input and seed.

    Stratified by label: each label's examples are shuffled and spread evenly over the whole
    order, so every part gets about its fraction of each label, and part sizes are the rounded
    fractions of the total. Examples without a ``label`` attribute count as one label.
    """
    if not fractions or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise DataError(f"fractions={tuple(fractions)}; give non-negative fractions that sum to 1")
    rng = random.Random(seed)
    groups: dict[object, list[int]] = {}
    for index, example in enumerate(examples):
        groups.setdefault(getattr(example, "label", None), []).append(index)
    keyed = []
    for key in sorted(groups, key=repr):
        indexes = groups[key]
        rng.shuffle(indexes)
        keyed += [((rank + 0.5) / len(indexes), rng.random(), i) for rank, i in enumerate(indexes)]
    order = [i for _, _, i in sorted(keyed)]
    bounds = [0]
    total = 0.0
    for fraction in fractions:
        total += fraction
        bounds.append(round(total * len(order)))
    bounds[-1] = len(order)
    return tuple([examples[i] for i in order[a:b]] for a, b in pairwise(bounds))


def _text_dir(path: str | os.PathLike) -> Path:
    root = Path(check_path(path))
    if not root.is_dir():
        raise DataError(f"{path}: no such directory; {_LAYOUT}")
    if (root / "text").is_dir():
        return root / "text"
    return root


def _articles(directory: Path) -> list[Path]:
    return sorted(
        entry
        for entry in directory.iterdir()
        if entry.suffix == ".txt" and entry.is_file() and entry.name.lower() not in _NOT_ARTICLES
    )


def _article(file: Path, category: str, text: str) -> TextExample:
    lines = [line.strip() for line in read_utf8(file).split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < 3:
        raise DataError(
            f"{file}: {len(lines)} lines, an article has at least 3 (URL, date, title); "
            "a truncated file? unpack the corpus again"
        )
    title, body = lines[2], "\n".join(line for line in lines[3:] if line)
    if text == "title+body":
        value = "\n".join(part for part in (title, body) if part)
    else:
        value = title if text == "title" else body
    if not value:
        raise DataError(f"{file} line 3: no {text} text; pick text='title+body' or delete the file")
    return TextExample(value, label=category, source=f"{file}:3")
