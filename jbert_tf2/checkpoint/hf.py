"""HF transformers format: ``config.json`` + ``model.safetensors`` with HF's parameter names
(read also from TF's ``tf_model.h5``, `hf_h5`).

The names come from the table in `names` (plus the transpose rule for dense kernels), so any
model that lists canonical weights can be written or read; transformers is not needed here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import NoReturn

import numpy as np

from jbert_tf2.checkpoint.hf_h5 import TF_WEIGHTS_FILE, read_tf_h5
from jbert_tf2.checkpoint.names import HF_BUFFER_SUFFIXES, HF_TIED_NAMES, to_hf_name
from jbert_tf2.config import BertConfig, read_config
from jbert_tf2.errors import CheckpointError, JbertError

_HF_ACT = {
    "gelu": "gelu",
    "gelu_approx": "gelu_new",
    "relu": "relu",
    "tanh": "tanh",
    "silu": "silu",
}


def hf_config_dict(config: BertConfig, architecture: str) -> dict:
    """The HF ``config.json`` for one model (tanh GELU is HF's ``gelu_new``)."""
    data = {
        "architectures": [architecture],
        "model_type": config.model_type,
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "intermediate_size": config.intermediate_size,
        "hidden_act": _HF_ACT[config.hidden_act],
        "hidden_dropout_prob": config.hidden_dropout_prob,
        "attention_probs_dropout_prob": config.attention_probs_dropout_prob,
        "max_position_embeddings": config.max_position_embeddings,
        "type_vocab_size": config.type_vocab_size,
        "initializer_range": config.initializer_range,
        "layer_norm_eps": config.layer_norm_eps,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
    }
    if config.model_type == "electra":
        data["embedding_size"] = config.embedding_size
    return data


def to_hf_weights(weights: dict[str, np.ndarray], generator: bool = False) -> dict[str, np.ndarray]:
    """Rename canonical weights to HF names, transposing dense kernels."""
    out = {}
    for name, value in weights.items():
        hf_name, transpose = to_hf_name(name, generator=generator)
        value = np.asarray(value, dtype=np.float32)
        out[hf_name] = np.ascontiguousarray(value.T if transpose else value)
    return out


def write_hf_model(
    out_dir: Path,
    config: BertConfig,
    architecture: str,
    weights: dict[str, np.ndarray],
    generator: bool = False,
    tokenizer_files: dict[str, Path] | None = None,
) -> None:
    """Fill ``out_dir`` (a fresh partial directory from `atomic_files.write_directory`, as
    `jbert-convert --to hf` passes it) with one HF model directory that
    ``transformers.<architecture>.from_pretrained`` loads."""
    from safetensors.numpy import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(
        json.dumps(hf_config_dict(config, architecture), indent=2) + "\n"
    )
    save_file(
        to_hf_weights(weights, generator),
        str(out_dir / "model.safetensors"),
        metadata={"format": "pt"},
    )
    for key, source in (tokenizer_files or {}).items():
        target = "vocab.txt" if key == "vocab_file" and Path(source).suffix == ".txt" else None
        shutil.copyfile(source, out_dir / (target or Path(source).name))


SAFETENSORS_INDEX = "model.safetensors.index.json"
HF_WEIGHT_FILES = (
    "model.safetensors",
    SAFETENSORS_INDEX,
    TF_WEIGHTS_FILE,
    f"{TF_WEIGHTS_FILE}.index.json",
    "pytorch_model.bin",
)


def has_hf_weights(path: Path) -> bool:
    """Whether ``path`` holds one of the weight files an HF directory has."""
    return any((path / name).is_file() for name in HF_WEIGHT_FILES)


def read_hf_model(path: Path) -> tuple[BertConfig, dict[str, np.ndarray], str]:
    """Read an HF BERT / ELECTRA directory: its config, its weights by HF (PyTorch) name and
    the weight file read (``model.safetensors`` or its shards, else TF's ``tf_model.h5``)."""
    readers = {
        "model.safetensors": _load_safetensors,
        SAFETENSORS_INDEX: _load_safetensors_shards,
        TF_WEIGHTS_FILE: read_tf_h5,
    }
    source = next((name for name in readers if (path / name).is_file()), None)
    if source is None:
        _refuse_weight_files(path)
    config, _ = read_config(path / "config.json")
    return config, readers[source](path / source), source


def _refuse_weight_files(path: Path) -> NoReturn:
    """The weight files an HF directory may hold that are not read, each with the way out."""
    if (path / f"{TF_WEIGHTS_FILE}.index.json").is_file():
        raise JbertError(
            f"{path / (TF_WEIGHTS_FILE + '.index.json')}: sharded TF weights are not read; "
            "download the model's model.safetensors (`hf download REPO model.safetensors`) "
            "and convert that"
        )
    if (path / "pytorch_model.bin").is_file():
        raise JbertError(
            f"{path / 'pytorch_model.bin'}: pickled PyTorch weights are not read (unsafe: "
            "loading a pickle runs the code in it); get model.safetensors instead: "
            "`hf download REPO model.safetensors` (most models on the hub have it), or with "
            "transformers: AutoModel.from_pretrained(DIR).save_pretrained(OUT, "
            "safe_serialization=True), then convert OUT"
        )
    raise JbertError(f"{path}: no model.safetensors or {TF_WEIGHTS_FILE} in this HF directory")


def _load_safetensors(weights_file: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    try:
        return load_file(str(weights_file))
    except Exception as exc:
        raise CheckpointError(f"{weights_file}: cannot be read ({exc})") from None


def _load_safetensors_shards(index_file: Path) -> dict[str, np.ndarray]:
    """The shards ``model.safetensors.index.json`` lists (``weight_map``: name -> file in
    the same directory), every listed weight checked present."""
    try:
        weight_map = json.loads(index_file.read_text(encoding="utf-8"))["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(
            f"{index_file}: not a safetensors index ({exc}); download it again"
        ) from None
    weights: dict[str, np.ndarray] = {}
    for shard in shards:
        if not isinstance(shard, str) or Path(shard).name != shard:
            raise CheckpointError(f"{index_file}: names {shard!r}, not a file beside it")
        if not (index_file.parent / shard).is_file():
            raise CheckpointError(f"{index_file}: lists {shard}, which is missing; download it")
        weights.update(_load_safetensors(index_file.parent / shard))
    missing = sorted(set(weight_map) - set(weights))
    if missing:
        raise CheckpointError(
            f"{index_file}: {', '.join(missing[:5])} not found in the shards it names; "
            "download them again"
        )
    return weights


def from_hf_weights(
    hf_weights: dict[str, np.ndarray], expected: list[str], generator: bool = False
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Map HF weights back to canonical names by running the table forward over the names the
    model expects; returns the weights and the HF names not used (tied copies excluded)."""
    by_hf = {}
    for name in expected:
        hf_name, transpose = to_hf_name(name, generator=generator)
        by_hf[hf_name] = (name, transpose)
    if "cls.predictions.bias" not in hf_weights and "cls.predictions.decoder.bias" in hf_weights:
        hf_weights = dict(hf_weights)
        hf_weights["cls.predictions.bias"] = hf_weights.pop("cls.predictions.decoder.bias")
    out, unused = {}, []
    for hf_name, value in hf_weights.items():
        if hf_name in by_hf:
            name, transpose = by_hf[hf_name]
            out[name] = np.asarray(value.T if transpose else value, dtype=np.float32)
        elif hf_name not in HF_TIED_NAMES and not hf_name.endswith(HF_BUFFER_SUFFIXES):
            unused.append(hf_name)
    return out, unused
