"""The one rule for every command's outputs: a file or directory already on disk is replaced
only when this command wrote it, or when the user passes ``--overwrite``.

Each command lists what it writes (`Outputs`: names in one directory, such as
``eval_results.txt``, ``model`` or ``checkpoints``) and checks them before reading any data
(`Outputs.check`: nothing is written and no time is spent when the answer is no). What it
writes is recorded in `MARKER`, a small JSON file in that directory (``{"files": {name:
command}}``): the state a run continues from (checkpoints, a converted model) when the run
starts (`Outputs.claim`, so a killed run's is its own when it runs again), each result once it
is written (`Outputs.record`, so a failed run changes nothing). The same command run again,
after a kill or to continue training, recognises its own outputs and goes on without
``--overwrite``, while an ``eval_results.txt`` an unrelated run left there is refused.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jbert_tf2.atomic_files import restore_moved_aside, write_text
from jbert_tf2.errors import JbertError

MARKER = ".jbert-outputs.json"
# What the Trainer writes in its output directory and continues from when run again.
TRAINING_STATE = ("checkpoints", "logs", "best", "history.json", "training_curves.png")
# A TF1 --init_checkpoint converted for the run (`common.resolve_model_dir`).
CONVERTED_MODEL = ("init_model", "init_model.source")


def add_overwrite_flag(parser: argparse.ArgumentParser) -> None:
    """``--overwrite``: the same flag, with the same meaning, on every command."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace outputs already there that this command did not write (an unrelated "
        "run's, or your own files); without it such outputs are refused",
    )


@dataclass(frozen=True)
class Outputs:
    """What ``prog`` writes in ``directory``: ``names`` (files or directories directly in it),
    named to the user through ``flag``. ``fresh``: the names among them that a run continues
    from (training state, a converted model); with ``--overwrite`` an unrelated one is
    removed before the run, so it starts afresh instead of continuing someone else's work."""

    directory: Path
    names: tuple[str, ...]
    prog: str
    flag: str
    fresh: tuple[str, ...] = ()

    def foreign(self) -> list[str]:
        """The names that exist and that ``prog`` did not write (no record in `MARKER`)."""
        ours = _recorded(self.directory)
        return [
            name
            for name in self.names
            if _exists(self.directory / name) and ours.get(name) != self.prog
        ]

    def check(self, overwrite: bool) -> None:
        """Refuse, before anything is written, to replace what another run or the user left
        (a directory a killed ``--overwrite`` had moved aside is put back first)."""
        for name in self.names:
            restore_moved_aside(self.directory / name)
        if overwrite:
            return
        foreign = self.foreign()
        if foreign:
            shown = ", ".join(str(self.directory / name) for name in foreign)
            raise JbertError(
                f"{shown}: already there and not written by {self.prog} (another run's "
                f"output, or your own file); choose another {self.flag}, or pass --overwrite "
                "to replace it"
            )

    def claim(self, overwrite: bool) -> None:
        """Just before the run writes: make the directory and record the ``fresh`` names as
        ``prog``'s (a killed run's checkpoints are then its own when it runs again); with
        ``overwrite``, first remove the unrelated ones, so the run starts afresh."""
        self.check(overwrite)
        if overwrite:  # without it, `check` has refused any unrelated one
            foreign = set(self.foreign())
            for name in self.fresh:
                if name in foreign:
                    _remove(self.directory / name)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JbertError(
                f"{self.flag}={self.directory}: cannot create it ({exc.strerror or exc})"
            ) from None
        self.record(*self.fresh)

    def record(self, *names: str) -> None:
        """Record ``names`` (written by this run) as ``prog``'s; the record is rewritten only
        when it changes."""
        files = _recorded(self.directory)
        wanted = {**files, **dict.fromkeys(names, self.prog)}
        if wanted == files:
            return
        text = json.dumps({"files": dict(sorted(wanted.items()))}, indent=1, ensure_ascii=False)
        write_text(self.directory / MARKER, text + "\n")


def file_output(path: str | Path, prog: str, flag: str) -> Outputs:
    """A single output file (or directory) named by ``flag``, such as ``--output_file``."""
    path = Path(path)
    return Outputs(path.parent, (path.name,), prog, flag)


def _recorded(directory: Path) -> dict[str, str]:
    """``{name: command}`` from the directory's `MARKER` (empty when there is none)."""
    path = directory / MARKER
    if not path.is_file():
        return {}
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files")
        if not isinstance(files, dict):
            raise ValueError("no 'files' object")
    except (OSError, ValueError, AttributeError) as exc:
        raise JbertError(
            f"{path}: not the record of outputs jbert commands write ({exc}); remove it, or "
            "write to another directory"
        ) from None
    return {str(k): str(v) for k, v in files.items()}


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def converted_model(init_checkpoint: str | None) -> tuple[str, ...]:
    """`CONVERTED_MODEL` when ``--init_checkpoint`` names a TF1 checkpoint (converted into the
    output directory); nothing when it names a model directory (used as it is) or is not given."""
    from jbert_tf2.model_dir import is_model_dir

    return CONVERTED_MODEL if init_checkpoint and not is_model_dir(init_checkpoint) else ()


def run_outputs(
    output_dir: str | Path,
    prog: str,
    init_checkpoint: str | None,
    trains: bool,
    results: Iterable[str] = (),
    model: str = "model",
) -> Outputs:
    """A fine-tuning command's ``--output_dir``: the converted TF1 ``--init_checkpoint`` (when
    it is not a model directory already), the Trainer's state and the trained ``model`` when
    it trains, and its ``results`` files."""
    names = list(converted_model(init_checkpoint))
    fresh = list(names)
    if trains:
        names += [*TRAINING_STATE, model]
        fresh += TRAINING_STATE
    names += results
    return Outputs(Path(output_dir), tuple(names), prog, "--output_dir", tuple(fresh))
