"""A fine-tuned TF1 checkpoint's task head -> the head and ``task.json`` of a task model.

Google's ``output_weights`` cannot tell a softmax classifier from a multi-label (sigmoid) one
or a token tagger: ``task`` picks, softmax single-label is the default, and the report says
which was used. ELECTRA's ``task_specific/<task>/`` scopes are named by task: ``task_name``
picks one of several, ELECTRA's own task names say classification or tagging. Labels come in
(a file, one a line, or a list the command resolved from ``--task_name``) or default to
``label_0 ... label_N-1``. The weights of the other heads of a multi-task checkpoint are left
out and named in the report.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jbert_tf2.checkpoint import task_heads as names
from jbert_tf2.checkpoint.inspection import Report
from jbert_tf2.config import BertConfig
from jbert_tf2.errors import CheckpointError, JbertError
from jbert_tf2.model_dir import TaskSettings

# --task values and the task.json names they select (`load_task` picks the class by it).
TASKS = {
    "sequence_classification": "sequence_classification",
    "multi_label": "multi_label_classification",
    "multi_label_classification": "multi_label_classification",
    "token_classification": "token_classification",
}
TASK_CHOICES = ("sequence_classification", "multi_label", "token_classification")
# Labels of TF1 BERT NER scripts that are no tags: sub-token continuations, the special
# tokens' own labels, padding (kyzhouhzau/BERT-NER numbers its labels from 1, row 0 unused).
NON_TAG_LABELS = ("X", "[CLS]", "[SEP]", "[PAD]", "<PAD>")


@dataclass
class TaskHead:
    """The converted head: canonical weights (``task/dense/...``) and ``task.json``."""

    weights: dict[str, np.ndarray]
    settings: TaskSettings


def _read_labels_file(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise JbertError(f"--labels {path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise JbertError(f"--labels {path}: not UTF-8 text; save it as UTF-8") from None
    labels = [line.strip() for line in lines if line.strip()]
    if not labels:
        raise JbertError(f"--labels {path}: no labels; write one label a line, in model order")
    if len(set(labels)) != len(labels):
        twice = sorted({label for label in labels if labels.count(label) > 1})
        raise JbertError(f"--labels {path}: {', '.join(twice)} listed twice; list each once")
    return labels


def resolve_labels(
    labels: str | os.PathLike | Sequence[str] | None,
    labels_from: str | None,
    count: int,
    where: str,
    report: Report,
) -> list[str]:
    """The head's ``count`` label names: from a file (path), a list (``labels_from`` says
    where it came from, e.g. ``--task_name livedoor``), or ``label_0 ...``."""
    if labels is None:
        report.add(
            f"labels: label_0 ... label_{count - 1} (none given; pass --labels FILE, one label "
            "a line in the model's order, or --task_name)"
        )
        return [f"label_{i}" for i in range(count)]
    if isinstance(labels, (str, os.PathLike)):
        source = f"--labels {labels}"
        names_ = _read_labels_file(Path(labels))
    else:
        source = labels_from or "labels"
        names_ = [str(label) for label in labels]
    if len(names_) != count:
        raise JbertError(
            f"{source}: {len(names_)} labels, but the head {where} has {count} outputs; "
            f"give the {count} labels the model was fine-tuned with, in order"
        )
    report.add(f"labels: {len(names_)} from {source}")
    return names_


def _pick_electra_task(names_: list[str], task_name: str | None, prefix: str) -> str:
    tasks = names.electra_task_names(names_)
    if task_name is None:
        if len(tasks) > 1:
            raise JbertError(
                f"{prefix}: holds the heads of {len(tasks)} ELECTRA tasks ({', '.join(tasks)}); "
                "pick one with --task_name"
            )
        return tasks[0]
    if task_name not in tasks:
        raise JbertError(
            f"--task_name {task_name}: {prefix} has no head task_specific/{task_name}/; its "
            f"tasks: {', '.join(tasks)}"
        )
    return task_name


def _electra_kind(task_name: str, outputs: int, task: str | None, prefix: str) -> str:
    regression = task_name in names.ELECTRA_REGRESSION_TASKS or outputs == 1
    if regression and task is None:
        raise JbertError(
            f"{prefix}: task_specific/{task_name}/ is a regression head (one output, no "
            "softmax, as ELECTRA's STS); jbert has no regression task model, so it cannot be "
            "converted with its head"
        )
    if task is not None:
        return task
    if task_name in names.ELECTRA_TAGGING_TASKS:
        return "token_classification"
    return "sequence_classification"


def _check_task(task: str | None) -> str | None:
    if task is not None and task not in TASKS:
        raise JbertError(f"--task {task}: unknown task; use one of {', '.join(TASK_CHOICES)}")
    return None if task is None else TASKS[task]


def take_task_head(
    weights: dict[str, np.ndarray],
    config: BertConfig,
    prefix: str,
    report: Report,
    task: str | None = None,
    task_name: str | None = None,
    labels: str | os.PathLike | Sequence[str] | None = None,
    labels_from: str | None = None,
    head_optional: bool = False,
) -> tuple[dict[str, np.ndarray], TaskHead | None]:
    """Split a fine-tuned head off ``weights``: the encoder's weights (to match strictly) and
    the `TaskHead`, or None for a checkpoint with no head. ``task`` or ``labels`` for a
    checkpoint with no head is an error unless ``head_optional`` (the commands pass their
    task and labels for the case that ``--init_checkpoint`` is fine-tuned)."""
    task = _check_task(task)
    head_names = [n for n in weights if names.is_head_variable(n)]
    rest = {n: v for n, v in weights.items() if not names.is_head_variable(n)}
    if not head_names:
        if (task is not None or labels is not None) and not head_optional:
            asked = "--task" if task is not None else labels_from or "--labels"
            raise JbertError(
                f"{asked} given, but {prefix} has no fine-tuned head (no output_weights, no "
                f"task_specific/); it is a pretrained checkpoint: drop {asked}"
            )
        return weights, None
    hidden = config.hidden_size
    google = [n for n in head_names if n in (names.GOOGLE_WEIGHTS, names.GOOGLE_BIAS)]
    if google:
        if len(google) != 2:
            raise CheckpointError(
                f"{prefix}: has {google[0]} but not its partner "
                f"({names.GOOGLE_BIAS if google[0] == names.GOOGLE_WEIGHTS else names.GOOGLE_WEIGHTS})"
                "; the checkpoint is incomplete"
            )
        head = names.from_google(weights)
        source = f"output_weights {list(weights[names.GOOGLE_WEIGHTS].shape)}"
        chosen = task or "sequence_classification"
        why = (
            "--task"
            if task is not None
            else "the default for Google's output_weights: softmax, one label per text; "
            "--task multi_label or token_classification picks the others"
        )
        tf1_task_name = None
        extra = [n for n in head_names if n not in google]
        if extra:
            raise CheckpointError(
                f"{prefix}: has Google's output_weights and also {', '.join(extra[:5])}; "
                "a checkpoint holds one of the two kinds of head"
            )
    else:
        tf1_task_name = _pick_electra_task(head_names, task_name, prefix)
        if not names.electra_dense_head(head_names, tf1_task_name):
            scope = sorted(n for n in head_names if n.startswith(f"task_specific/{tf1_task_name}/"))
            raise CheckpointError(
                f"{prefix}: task_specific/{tf1_task_name}/ is not a classification or tagging "
                f"head (it holds {', '.join(scope[:6])}); question answering heads have no "
                "jbert task model"
            )
        head = names.from_electra(weights, tf1_task_name)
        outputs = head[names.HEAD_KERNEL].shape[-1]
        chosen = _electra_kind(tf1_task_name, outputs, task, prefix)
        why = "--task" if task is not None else f"ELECTRA's {tf1_task_name!r} head"
        source = f"task_specific/{tf1_task_name}/dense/kernel {list(head[names.HEAD_KERNEL].shape)}"
        others = [t for t in names.electra_task_names(head_names) if t != tf1_task_name]
        if others:
            report.add(f"other heads (not converted; --task_name picks one): {', '.join(others)}")
    kernel = head[names.HEAD_KERNEL]
    if (
        kernel.ndim != 2
        or kernel.shape[0] != hidden
        or head[names.HEAD_BIAS].shape != (kernel.shape[1],)
    ):
        raise CheckpointError(
            f"{prefix}: {source} and its bias {list(head[names.HEAD_BIAS].shape)} do not fit "
            f"hidden_size {hidden}; the head belongs to another model"
        )
    count = int(kernel.shape[1])
    report.add(f"task: {chosen} ({why}); head: {source}")
    names_ = resolve_labels(labels, labels_from, count, f"({source})", report)
    options: dict = {"max_seq_length": min(128, config.max_position_embeddings)}
    if chosen == "token_classification":
        names_, head = _tags_only(names_, head, labels, prefix, report)
        if tf1_task_name is not None:
            options["segment_id"] = 1  # ELECTRA's tagging feeds token type 1 everywhere
    settings = TaskSettings(chosen, names_, options, tf1_task_name=tf1_task_name)
    return rest, TaskHead(head, settings)


def _tags_only(
    labels: list[str], head: dict[str, np.ndarray], given, prefix: str, report: Report
) -> tuple[list[str], dict[str, np.ndarray]]:
    """A tagger's labels without the non-tag rows (``X``, ``[CLS]``, ``[SEP]``, padding),
    whose logits TF1 NER scripts trained but a word tagger never predicts."""
    if given is None:
        raise JbertError(
            f"{prefix}: token_classification needs its tags: pass --labels FILE (one tag a "
            "line, in the model's order, e.g. O, B-PSN, I-PSN, ...)"
        )
    keep = [i for i, label in enumerate(labels) if label not in NON_TAG_LABELS]
    dropped = [label for label in labels if label in NON_TAG_LABELS]
    if "O" not in [labels[i] for i in keep]:
        raise JbertError(
            f"labels {labels}: a tagger needs 'O' (outside any entity) among its labels; "
            "list the tags the model was fine-tuned with"
        )
    if dropped:
        report.add(
            f"labels left out of the tagger: {', '.join(dropped)} (not tags; each word is "
            "tagged at its first sub-token among the real tags, whose logits are unchanged)"
        )
        head = {
            names.HEAD_KERNEL: np.ascontiguousarray(head[names.HEAD_KERNEL][:, keep]),
            names.HEAD_BIAS: head[names.HEAD_BIAS][keep],
        }
    return [labels[i] for i in keep], head
