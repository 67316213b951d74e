"""An HF classification directory as input: ``BertForSequenceClassification``,
``BertForTokenClassification`` and ``ElectraForTokenClassification`` (what ``jbert-convert --to
hf`` writes for a task model directory, or what transformers saves after fine-tuning) -> the head
and ``task.json`` of a task model.

Their heads are one dense layer (``classifier``) on the pooled output or on every token, which
is our task models' head. Labels come from ``config.json``'s ``id2label`` (``--labels FILE``
replaces the names), multi-label from ``problem_type: multi_label_classification``; the task
options jbert wrote (``jbert_task_options``, ``jbert_tf1_task_name``) come back as they were.
``ElectraForSequenceClassification`` puts a dense layer and a GELU before its output layer,
which our classifier (one dense layer on [CLS], ELECTRA's own head) cannot compute: refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from jbert_tf2.checkpoint import task_heads as names
from jbert_tf2.checkpoint.inspection import Report
from jbert_tf2.config import BertConfig
from jbert_tf2.conversion.task_heads import TASKS, TaskHead, resolve_labels
from jbert_tf2.errors import CheckpointError, JbertError
from jbert_tf2.model_dir import TaskSettings

HF_HEAD_WEIGHTS = ("classifier.weight", "classifier.bias")
# config.json keys jbert writes beside HF's own so that a task model converts back whole.
TASK_OPTIONS_KEY = "jbert_task_options"
TF1_TASK_NAME_KEY = "jbert_tf1_task_name"
_TOKEN_ARCHITECTURES = ("BertForTokenClassification", "ElectraForTokenClassification")
_SEQUENCE_ARCHITECTURES = ("BertForSequenceClassification",)


def hf_config_json(directory: Path) -> dict:
    """The raw ``config.json`` (its HF-only keys: ``architectures``, ``id2label``, ...)."""
    try:
        data = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise JbertError(f"{directory / 'config.json'}: cannot be read ({exc})") from None
    return data if isinstance(data, dict) else {}


def has_classifier(hf_weights: dict, raw_config: dict) -> bool:
    """Whether the directory holds a classification model (a head to convert or refuse)."""
    architectures = raw_config.get("architectures") or []
    return any(n.startswith(("classifier.", "classifier/")) for n in hf_weights) or any(
        str(a).endswith(("ForSequenceClassification", "ForTokenClassification"))
        for a in architectures
    )


def _architecture(hf_weights: dict, raw_config: dict, directory: Path) -> str:
    """The classification class, from ``architectures`` or, without it, from the weights."""
    architectures = [str(a) for a in raw_config.get("architectures") or []]
    known = _TOKEN_ARCHITECTURES + _SEQUENCE_ARCHITECTURES
    found = [a for a in architectures if a in known]
    if "ElectraForSequenceClassification" in architectures or "classifier.dense.weight" in (
        hf_weights
    ):
        raise JbertError(
            f"{directory}: an HF ElectraForSequenceClassification, whose head is a dense layer, "
            "a GELU and an output layer on [CLS]; jbert's classifier is ELECTRA's own head (one "
            "dense layer on [CLS]) and cannot compute it. Convert the ELECTRA encoder without "
            "the head (transformers: ElectraModel.from_pretrained(DIR).save_pretrained(OUT)) and "
            "fine-tune it, or keep the model in transformers"
        )
    if found:
        return found[0]
    if architectures:
        raise JbertError(
            f"{directory}: architectures {architectures} is not a classification model jbert "
            f"reads ({', '.join(known)})"
        )
    if "bert.pooler.dense.weight" in hf_weights:
        return "BertForSequenceClassification"
    family = raw_config.get("model_type", "bert")
    return "ElectraForTokenClassification" if family == "electra" else "BertForTokenClassification"


def read_hf_task_head(
    hf_weights: dict[str, np.ndarray],
    raw_config: dict,
    config: BertConfig,
    directory: Path,
    report: Report,
    task: str | None = None,
    labels=None,
    task_name: str | None = None,
) -> tuple[dict[str, np.ndarray], TaskHead]:
    """The HF weights without the classifier, and the converted `TaskHead`."""
    architecture = _architecture(hf_weights, raw_config, directory)
    missing = [n for n in HF_HEAD_WEIGHTS if n not in hf_weights]
    if missing:
        raise CheckpointError(f"{directory}: {architecture} without {', '.join(missing)}")
    rest = {n: v for n, v in hf_weights.items() if n not in HF_HEAD_WEIGHTS}
    weight = np.asarray(hf_weights["classifier.weight"], np.float32)
    bias = np.asarray(hf_weights["classifier.bias"], np.float32)
    if weight.ndim != 2 or weight.shape[1] != config.hidden_size or bias.shape != weight.shape[:1]:
        raise CheckpointError(
            f"{directory}: classifier.weight {list(weight.shape)} does not fit hidden_size "
            f"{config.hidden_size}"
        )
    count = int(weight.shape[0])
    kind = _task_kind(architecture, raw_config, task, count, directory)
    report.add(f"task: {kind} (HF {architecture}" + (", --task)" if task else ")"))
    if labels is None:
        labels = _id2label(raw_config, count, directory)
        names_ = resolve_labels(labels, "config.json id2label", count, "(classifier)", report)
    else:
        names_ = resolve_labels(labels, None, count, "(classifier)", report)
    if kind == "token_classification" and "O" not in names_:
        raise JbertError(
            f"{directory}: a tagger needs 'O' among its labels, and config.json's id2label "
            f"gives {names_[:6]}; pass --labels FILE with the tags, one a line, in order"
        )
    options = raw_config.get(TASK_OPTIONS_KEY)
    if not isinstance(options, dict):
        options = {"max_seq_length": min(128, config.max_position_embeddings)}
    recorded = raw_config.get(TF1_TASK_NAME_KEY)
    tf1_task_name = task_name or (recorded if isinstance(recorded, str) else None)
    head = {names.HEAD_KERNEL: np.ascontiguousarray(weight.T), names.HEAD_BIAS: bias}
    settings = TaskSettings(kind, names_, dict(options), tf1_task_name=tf1_task_name)
    return rest, TaskHead(head, settings)


def _task_kind(architecture: str, raw: dict, task: str | None, count: int, where: Path) -> str:
    token = architecture in _TOKEN_ARCHITECTURES
    if task is not None:
        if task not in TASKS:
            raise JbertError(f"--task {task}: unknown task")
        chosen = TASKS[task]
        if (chosen == "token_classification") != token:
            raise JbertError(
                f"--task {task}: {where} is an HF {architecture}, whose head is computed "
                f"{'on every token' if token else 'on the pooled output'}; drop --task"
            )
        return chosen
    if token:
        return "token_classification"
    problem = raw.get("problem_type")
    if problem == "regression" or count == 1:
        raise JbertError(
            f"{where}: a regression head (problem_type {problem!r}, {count} output); jbert has "
            "no regression task model"
        )
    if problem == "multi_label_classification":
        return "multi_label_classification"
    return "sequence_classification"


def _id2label(raw: dict, count: int, where: Path) -> list[str]:
    id2label = raw.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        return [f"LABEL_{i}" for i in range(count)]  # transformers' own default names
    try:
        by_id = {int(k): str(v) for k, v in id2label.items()}
    except (TypeError, ValueError):
        raise JbertError(f"{where / 'config.json'}: id2label keys are not ids") from None
    if sorted(by_id) != list(range(count)):
        raise JbertError(
            f"{where / 'config.json'}: id2label has ids {sorted(by_id)[:8]}, but the classifier "
            f"has {count} outputs; fix id2label or pass --labels FILE"
        )
    return [by_id[i] for i in range(count)]
