"""Training-curve PNG: each metric per epoch (training and validation) and the loss per step.

Drawn with matplotlib's Agg canvas directly, without pyplot, so it neither needs a display nor
changes the backend of a notebook that calls `Trainer.fit`.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Sequence
from os import PathLike

import numpy as np

from jbert_tf2.atomic_files import write_bytes

logger = logging.getLogger(__name__)

_noted_missing = False


def plot_training_curves(
    history: dict[str, list[float]],
    step_losses: Sequence[tuple[int, float]],
    path: str | PathLike,
) -> bool:
    """Write the curves to ``path`` (replaced atomically); False, noted once, without matplotlib."""
    global _noted_missing
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        if not _noted_missing:
            logger.warning(
                "matplotlib is not installed; skipping %s (pip install matplotlib)", path
            )
            _noted_missing = True
        return False
    names = [name for name in history if not name.startswith("val_")]
    panels = len(names) + (1 if step_losses else 0)
    if panels == 0:
        return False
    columns = min(panels, 3)
    rows = math.ceil(panels / columns)
    figure = Figure(figsize=(4.5 * columns, 3.4 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        for key, label in ((name, "training"), (f"val_{name}", "validation")):
            values = history.get(key)
            if values:
                ax.plot(range(1, len(values) + 1), values, marker="o", label=label)
        ax.set(title=f"{name} per epoch", xlabel="epoch", ylabel=name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    if step_losses:
        ax = axes[len(names)]
        points = np.asarray(step_losses, dtype=np.float64)
        ax.plot(points[:, 0], points[:, 1], linewidth=0.8)
        ax.set(title="training loss per step (epoch running mean)", xlabel="step", ylabel="loss")
    for ax in axes[panels:]:
        ax.set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_bytes(path, buffer.getvalue(), durable=True)
    return True
