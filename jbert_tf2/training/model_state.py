"""Everything a compiled Keras model needs to continue training bit for bit, as numpy arrays.

``model.save_weights`` leaves out what an exact resume needs besides the weights: the optimizer's
slots and step counter (learning-rate schedules read it), the loss-scale state under float16,
the running sums of the epoch's metrics, and the state of every layer's
`keras.random.SeedGenerator` (Dropout draws its masks from it; Keras 3 lists those states in
``layer.variables`` but not in ``layer.weights``). Arrays are keyed by group and position, since
variable names change with how many models a process has built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from jbert_tf2.backend import keras
from jbert_tf2.errors import JbertError

GROUPS = ("model", "optimizer", "metrics")


def state_variables(model: keras.Model) -> dict[str, list[Any]]:
    """The model's variables (weights and seed states), its optimizer's and its metrics', by group."""
    seen: set[int] = set()
    groups: dict[str, list[Any]] = {}
    optimizer = model.optimizer
    sources = {
        "model": model.variables,
        "optimizer": optimizer.variables if optimizer is not None else [],
        "metrics": model.metrics_variables,
    }
    for group, variables in sources.items():
        groups[group] = []
        for variable in variables:
            if id(variable) not in seen:
                seen.add(id(variable))
                groups[group].append(variable)
    return groups


def capture(model: keras.Model) -> tuple[dict[str, np.ndarray], list[list[Any]]]:
    """Arrays keyed ``group/index`` and a manifest ``[key, path, shape, dtype]`` describing them."""
    arrays: dict[str, np.ndarray] = {}
    manifest: list[list[Any]] = []
    for group, variables in state_variables(model).items():
        for index, variable in enumerate(variables):
            key = f"{group}/{index:05d}"
            value = np.asarray(variable.numpy())
            if value.dtype.kind == "V":  # bfloat16, float8: .npz cannot name them; keep the bits
                value = value.view(f"u{value.itemsize}")
            arrays[key] = value
            dtype = keras.backend.standardize_dtype(variable.dtype)
            manifest.append([key, variable.path, list(value.shape), dtype])
    return arrays, manifest


def restore(
    model: keras.Model, arrays: dict[str, np.ndarray], manifest: list[list[Any]], source: Path
) -> None:
    """Assign checkpointed arrays to the model; a checkpoint of another model is a `JbertError`.

    Everything is checked before anything is assigned, so a mismatch leaves the model untouched.
    """
    saved = {key: (path, tuple(shape), dtype) for key, path, shape, dtype in manifest}
    pairs = []
    for group, variables in state_variables(model).items():
        saved_count = sum(1 for key in saved if key.startswith(f"{group}/"))
        if saved_count != len(variables):
            _mismatch(
                source,
                f"it has {saved_count} {group} variables, this model {len(variables)}",
            )
        for index, variable in enumerate(variables):
            key = f"{group}/{index:05d}"
            path, shape, dtype = saved[key]
            value = arrays.get(key)
            if value is None:
                raise JbertError(f"checkpoint {source} lacks {key} ({path}); it is incomplete")
            here = (tuple(variable.shape), keras.backend.standardize_dtype(variable.dtype))
            if (shape, dtype) != here:
                _mismatch(
                    source,
                    f"variable {path} is {dtype}{list(shape)} there but {variable.path} is "
                    f"{here[1]}{list(here[0])} here",
                )
            pairs.append((variable, _numpy(value, dtype)))
    for variable, value in pairs:
        variable.assign(value)


def _numpy(value: np.ndarray, dtype: str) -> np.ndarray:
    """The array as ``dtype``, reinterpreting the stored bits of a type numpy lacks."""
    try:
        native = np.dtype(dtype)
    except TypeError:
        import ml_dtypes  # installed with Keras and TensorFlow

        native = np.dtype(getattr(ml_dtypes, dtype))
    return value.view(native) if native.kind == "V" else value


def _mismatch(source: Path, detail: str) -> None:
    raise JbertError(
        f"{source} was written while training a different model ({detail}); pass a new "
        "--output_dir for this model (nothing in the old one was deleted)"
    )
