"""HF transformers' TensorFlow weights, ``tf_model.h5``, read without TensorFlow or pickle.

``TFBertModel.save_pretrained`` writes Keras 2's HDF5 weight format: the file's ``layer_names``
attribute lists the model's top-level layers (``bert``, ``mlm___cls``, ``nsp___cls``;
``electra``, ``discriminator_predictions``, ``generator_predictions``, ``generator_lm_head``),
and each layer's group lists its variables in a ``weight_names`` attribute, each name the
variable's full TF name (``tf_bert_for_pre_training/bert/encoder/layer_._0/attention/self/query/
kernel:0``) and the path of its dataset inside the group. These names become the PyTorch names
`checkpoint.hf` reads, by the rules transformers' own TF <-> PyTorch conversion follows: the
model name dropped, ``layer_._N`` -> ``layer.N``, ``mlm___cls`` / ``nsp___cls`` -> ``cls``,
``kernel`` -> ``weight`` transposed to PyTorch's [out, in], ``gamma`` / ``beta`` / ``embeddings``
-> ``weight`` / ``bias`` / ``weight``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from jbert_tf2.errors import CheckpointError

TF_WEIGHTS_FILE = "tf_model.h5"
_TOP_LEVEL = {"mlm___cls": "cls", "nsp___cls": "cls"}
_LAST = {"kernel": "weight", "gamma": "weight", "beta": "bias", "embeddings": "weight"}


def _strings(values) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _attribute(group, name: str, path: Path) -> list[str]:
    """An HDF5 string-list attribute; Keras 2 splits long ones into ``name0``, ``name1``..."""
    if name in group.attrs:
        return _strings(group.attrs[name])
    chunks, index = [], 0
    while f"{name}{index}" in group.attrs:
        chunks += _strings(group.attrs[f"{name}{index}"])
        index += 1
    if not index:
        where = "the file" if group.name == "/" else f"group {group.name}"
        raise CheckpointError(
            f"{path}: no '{name}' attribute in {where}; this is not a weights file "
            "written by transformers' TF save_pretrained (re-save it, or convert model.safetensors)"
        )
    return chunks


def pytorch_name(tf_name: str) -> tuple[str, bool]:
    """The PyTorch parameter name of one TF variable, and whether a kernel is transposed."""
    parts = tf_name.removesuffix(":0").split("/")[1:]  # the model's own name comes first
    if not parts:
        raise KeyError(tf_name)
    parts[0] = _TOP_LEVEL.get(parts[0], parts[0])
    parts = [re.sub(r"^layer_\._(\d+)$", r"layer.\1", p) for p in parts]
    last = parts[-1]
    parts[-1] = _LAST.get(last, last)
    return ".".join(parts), last == "kernel"


def _as_matrix(name: str, value: np.ndarray) -> np.ndarray:
    """transformers 4.2-4.3 stored attention projections as EinsumDense kernels ([hidden,
    heads, head_size], the output's [heads, head_size, hidden]) and biases ([heads,
    head_size]); flattened they are the Dense ones every other release writes."""
    if value.ndim == 3:
        if name.endswith("attention.output.dense.weight"):
            return value.reshape(-1, value.shape[-1])
        return value.reshape(value.shape[0], -1)
    if value.ndim == 2 and name.endswith("bias"):
        return value.reshape(-1)
    return value


def read_tf_h5(path: Path) -> dict[str, np.ndarray]:
    """Every variable of a ``tf_model.h5`` by its HF PyTorch name, in PyTorch's layout."""
    import h5py

    weights: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as file:
            for layer in _attribute(file, "layer_names", path):
                group = file[layer]
                for tf_name in _attribute(group, "weight_names", path):
                    name, transpose = pytorch_name(tf_name)
                    value = _as_matrix(name, np.asarray(group[tf_name], dtype=np.float32))
                    if name in weights:
                        raise CheckpointError(
                            f"{path}: two variables map to {name} ({tf_name}); this file does "
                            "not come from a transformers BERT / ELECTRA model"
                        )
                    weights[name] = np.ascontiguousarray(value.T if transpose else value)
    except CheckpointError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: cannot be read as transformers' TF weights ({exc}); download "
            f"{TF_WEIGHTS_FILE} (or model.safetensors) again"
        ) from None
    if not weights:
        raise CheckpointError(f"{path}: holds no weights; download it again")
    return weights
