"""The TF1 names of fine-tuned task heads, and their canonical names in a model directory.

Two TF1 conventions exist, and a task model keeps its head under ``task/`` (`TaskModel`):

- google-research/bert's ``run_classifier.py`` (and the NER and multi-label scripts copied
  from it): ``output_weights`` [num_labels, hidden] and ``output_bias`` [num_labels] at the top
  level, ``logits = x @ output_weights^T + output_bias`` on the pooled output (or every token);
- google-research/electra's ``run_finetuning.py``: one ``tf.layers.dense`` per task under
  ``task_specific/<task name>/`` (``dense/kernel`` [hidden, num_labels], ``dense/bias``) on
  ``[CLS]``'s hidden state (classification) or the first sub-token of each word (tagging); a
  multi-task checkpoint holds one such scope per task.
"""

from __future__ import annotations

import re

import numpy as np

GOOGLE_WEIGHTS = "output_weights"
GOOGLE_BIAS = "output_bias"
ELECTRA_SCOPE = "task_specific"
HEAD_KERNEL = "task/dense/kernel"
HEAD_BIAS = "task/dense/bias"

# ELECTRA's task_builder: which head each of its task names has.
ELECTRA_CLASSIFICATION_TASKS = ("cola", "mrpc", "mnli", "sst", "rte", "qnli", "qqp")
ELECTRA_REGRESSION_TASKS = ("sts",)
ELECTRA_TAGGING_TASKS = ("chunk",)
ELECTRA_QA_TASKS = ("squad", "squadv1", "newsqa", "naturalqs", "triviaqa", "searchqa")

_ELECTRA_DENSE = re.compile(rf"^{ELECTRA_SCOPE}/([^/]+)/dense/(kernel|bias)$")


def is_head_variable(name: str) -> bool:
    """True for a fine-tuned head's variable (Google's ``output_*``, ELECTRA's
    ``task_specific/...``)."""
    return name in (GOOGLE_WEIGHTS, GOOGLE_BIAS) or name.startswith(ELECTRA_SCOPE + "/")


def electra_head_names(task_name: str) -> tuple[str, str]:
    """ELECTRA's ``(kernel, bias)`` names for the head of ``task_name``."""
    return (
        f"{ELECTRA_SCOPE}/{task_name}/dense/kernel",
        f"{ELECTRA_SCOPE}/{task_name}/dense/bias",
    )


def electra_task_names(names) -> list[str]:
    """The task names of the ``task_specific/<task>/`` scopes among ``names``, sorted."""
    return sorted({n.split("/")[1] for n in names if n.startswith(ELECTRA_SCOPE + "/")})


def electra_dense_head(names, task_name: str) -> bool:
    """Whether ``task_name``'s scope holds exactly one dense layer (a classification or tagging
    head; question answering heads hold others)."""
    scope = [n for n in names if n.startswith(f"{ELECTRA_SCOPE}/{task_name}/")]
    return sorted(scope) == sorted(electra_head_names(task_name))


def from_google(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Canonical head weights from Google's ``output_weights`` / ``output_bias``."""
    kernel = np.asarray(weights[GOOGLE_WEIGHTS], np.float32)
    return {
        HEAD_KERNEL: np.ascontiguousarray(kernel.T),
        HEAD_BIAS: np.asarray(weights[GOOGLE_BIAS], np.float32),
    }


def from_electra(weights: dict[str, np.ndarray], task_name: str) -> dict[str, np.ndarray]:
    """Canonical head weights from ELECTRA's ``task_specific/<task_name>/dense``."""
    kernel, bias = electra_head_names(task_name)
    return {
        HEAD_KERNEL: np.asarray(weights[kernel], np.float32),
        HEAD_BIAS: np.asarray(weights[bias], np.float32),
    }


def to_google(head: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Google's ``output_weights`` [num_labels, hidden] / ``output_bias`` from the head."""
    return {
        GOOGLE_WEIGHTS: np.ascontiguousarray(np.asarray(head[HEAD_KERNEL], np.float32).T),
        GOOGLE_BIAS: np.asarray(head[HEAD_BIAS], np.float32),
    }


def to_electra(head: dict[str, np.ndarray], task_name: str) -> dict[str, np.ndarray]:
    """ELECTRA's ``task_specific/<task_name>/dense/{kernel,bias}`` from the head."""
    kernel, bias = electra_head_names(task_name)
    return {
        kernel: np.asarray(head[HEAD_KERNEL], np.float32),
        bias: np.asarray(head[HEAD_BIAS], np.float32),
    }
