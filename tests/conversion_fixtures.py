"""Helpers the conversion tests share: run jbert-convert in-process as users do, and compare
our outputs with a reference model's."""

from __future__ import annotations

import numpy as np

from jbert_tf2.cli.convert import main as convert_main

ATOL = 1e-5


def convert(*args, capsys=None) -> tuple[str, str]:
    """Run jbert-convert on ``args`` and assert it succeeded; its stdout and stderr (from this
    run alone; both empty without ``capsys``)."""
    if capsys:
        capsys.readouterr()
    code = convert_main([str(a) for a in args])
    out, err = capsys.readouterr() if capsys else ("", "")
    assert code == 0, err or code
    return out, err


def refused(capsys, *args) -> str:
    """Run jbert-convert on ``args`` and assert it refused them (exit 2); its stderr."""
    capsys.readouterr()
    assert convert_main([str(a) for a in args]) == 2
    return capsys.readouterr().err


def close(ours, theirs, mask=None, what: str = "") -> None:
    """``ours`` equals ``theirs`` (same shape; where ``mask`` is true) to 1e-5 absolute for
    values of order one, relative for larger ones (float32 keeps ~7 significant digits)."""
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs {theirs.shape}"
    if mask is not None:
        ours, theirs = ours[mask], theirs[mask]
    diff = np.abs(ours - theirs).max()
    tolerance = ATOL * max(1.0, float(np.abs(theirs).max()))
    assert diff <= tolerance, f"{what}: max abs diff {diff:.3g} > {tolerance:.3g}"
